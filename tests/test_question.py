"""A question analysed once: the record every later step reads."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.tokens import Tokenizer
from retriever.question import DATE, DESCRIPTION, PERSON, QUANTITY, QUESTION_WORDS, TERM, Question

# (question, language, kind asked, intents)
CASES = [
    ("安保理決議2231はいつ終了するか", "ja", DATE, frozenset()),  # ja-20
    ("この論考の筆者は誰か", "ja", PERSON, frozenset({"byline"})),
    ("What position does the author hold?", "en", TERM, frozenset({"byline"})),  # en-25
    # the author's view is the content, not the byline (issue 15)
    ("What does the author expect for US-China arms control?", "en", TERM, frozenset()),
    ("筆者は米中間の軍備管理について何を主張しているか", "ja", TERM, frozenset()),
    ("英国が保有する核弾頭数は何発か", "ja", QUANTITY, frozenset()),  # ja-u1
    ("米国はNDS2022で中国をどのように位置付けたか", "ja", DESCRIPTION, frozenset()),  # ja-04
    ("What does the photo show?", "en", TERM, frozenset({"caption"})),
    ("Who became Iran's foreign minister?", "en", PERSON, frozenset()),  # en-15
]


@pytest.mark.parametrize(("text", "language", "kind", "intents"), CASES)
def test_question_of(tokenizer: Tokenizer, text: str, language: str, kind: str, intents: frozenset[str]) -> None:
    q = Question.of(text, tokenizer)
    assert (q.text, q.language, q.asked.kind, q.intents) == (text, language, kind, intents)
    assert q.content == frozenset(q.tokens) - QUESTION_WORDS
    # the wh-span and every morpheme index the NFKC text
    assert all(q.nfkc[m.start:m.end] == m.surface for m in q.morphemes)
    assert 0 <= q.asked.wh_start <= q.asked.wh_end <= len(q.nfkc)


def test_full_width_text_is_analysed_in_its_nfkc_form(tokenizer: Tokenizer) -> None:
    q = Question.of("ＮＰＴの締約国はいくつか", tokenizer)
    assert q.nfkc == "NPTの締約国はいくつか" and q.normalized == "nptの締約国はいくつか"
    assert "npt" in q.tokens and q.asked.kind == QUANTITY


def test_language_can_be_given(tokenizer: Tokenizer) -> None:
    assert Question.of("NPT", tokenizer, language="ja").language == "ja"


# Japanese and Latin letters, digits, full-width forms, punctuation and spaces.
_ALPHABET = st.sampled_from(list("安保理決議はいつ終了するかのアラグチ氏外相ＮＰＴnptAUKUS"
                                 "２０２４2025年月日、。？「」（） 　"))


@settings(max_examples=60, deadline=None)
@given(st.text(_ALPHABET, max_size=40))
def test_a_question_gets_the_tokens_a_passage_would(text: str) -> None:
    # One token rule: a question's tokens (from its morphemes) are the lexical index's
    # tokens of the same text, so BM25 compares like with like.
    tokenizer = Tokenizer()
    assert Question.of(text, tokenizer).tokens == tuple(tokenizer(text))
