"""A question analysed once: the record every later step reads."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.tokens import Tokenizer
from retriever.question import (
    DATE,
    DESCRIPTION,
    PERSON,
    QUANTITY,
    QUESTION_WORDS,
    TERM,
    VIEW_CUES,
    Question,
    japanese_view,
    states_reason,
    states_view,
    takes_up,
    view_asked,
)

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
    # a why inside the clause about the thing asked: the wh-word after it asks (JSQuAD)
    ("その理由について述べているのは誰か", "ja", PERSON, frozenset()),
    ("インドはなぜ貧しいのかという疑問から経済学者となった人物は誰か", "ja", PERSON, frozenset()),
    ("最高幹部を大事するとの理由で設置されている部隊の別称は何か", "ja", TERM, frozenset()),
    ("工業化が遅れた理由は何か", "ja", DESCRIPTION, frozenset()),  # the reason itself is asked
    ("What does the photo show?", "en", TERM, frozenset({"caption"})),
    ("Who became Iran's foreign minister?", "en", PERSON, frozenset()),  # en-15
    # who or when of "this report" is the byline's, without the word "author"
    ("When was this report finished?", "en", DATE, frozenset({"byline"})),
    ("Who put out this notice?", "en", PERSON, frozenset({"byline"})),
    ("When does the treaty described in this report expire?", "en", DATE, frozenset()),  # about the treaty
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


@pytest.mark.parametrize(("text", "view"), [
    ("Why did the ministry delay the reform?", "reason"),
    ("What is the new levy intended to discourage?", "reason"),
    ("What are the ministry's new inspections for?", "reason"),  # a purpose is asked as a reason
    ("What is the aim of the new levy?", "reason"),
    ("What is the town famous for?", None),  # a thing, not a purpose
    ("What prompted the city to rewrite its plan?", "reason"),  # what caused it: why it did
    ("What drove up the price of fishing rights?", "reason"),
    ("What could a clash over the programme lead to?", None),  # a consequence, not a cause
    ("Who drove the delegation to the airport?", None),  # drove, but not what caused
    ("What pushback did the ministry face?", None),  # a noun that starts as the verb does
    ("What drivers of growth does the report list?", None),
    ("What has pushed the yen down?", "reason"),
    ("What should the prefecture do about empty houses?", "recommendation"),
    ("What kind of subsidy does the author want instead?", "recommendation"),  # what is wanted done
    ("What has to go hand in hand with better relations?", "recommendation"),  # an obligation, as "must"
    ("Why should Japan join the initiative?", "reason"),  # the reason is asked, not the proposal
    ("How does the ministry plan to fund the reform?", "plan"),
    ("How do the island states position themselves between the powers?", "plan"),  # a stance
    ("What is the bank doing to cut its emissions?", "plan"),
    ("What does the author expect from the next summit?", "expectation"),
    ("Is the deal likely to survive the election?", "expectation"),
    ("When was the treaty signed?", None),
    ("Who chairs the committee?", None),
])
def test_view_asked(text: str, view: str | None) -> None:
    assert view_asked(text) == view


@pytest.mark.parametrize(("view", "sentence", "holds"), [
    ("reason", "人手が足りないため、計画は遅れている。", True),
    ("reason", "計画は2026年度に始まる。", False),
    ("recommendation", "政府は支援を拡充すべきである。", True),
    ("recommendation", "・地域の担い手を育てること。", True),
    ("expectation", "交渉は難航する見通しである。", True),
    ("expectation", "会議は東京で開かれた。", False),
    ("plan", "市は2027年度までに備蓄を増やすことを目指す。", True),
    # an approach asked is a stance taken: "What kind of approach … is Washington expected to take?"
    ("plan", "大統領は対話を通じて発射をやめさせるとの姿勢を打ち出している。", True),
    ("plan", "会議は東京で開かれた。", False),
])
def test_view_cues(view: str, sentence: str, holds: bool) -> None:
    assert bool(VIEW_CUES[view].search(sentence)) == holds


@pytest.mark.parametrize(("sentence", "stated"), [
    ("島嶼国は大国間競争の駒として扱われることを最も嫌うからである。", True),  # closes on its cause
    ("運転手が足りないためだ。", True),
    ("遅れの理由は、近隣住民の確保が難しいことにある。", True),  # names it
    ("入漁料の引き上げは経営を圧迫している。", False),
    ("これは商品の安定供給を守るための施策でもある。", False),  # ため of a purpose, mid-sentence
    ("このため、備蓄を7日分に増やす。", False),  # このため answers the sentence before it
])
def test_states_reason(sentence: str, stated: bool) -> None:
    assert states_reason(sentence) == stated


@pytest.mark.parametrize(("sentence", "taken_up"), [
    ("しかし、交渉で合意に至るまでには長い時間がかかる。", True),  # a turn
    ("これに応えるため、アプリの配信を始めます。", True),  # a response
    ("その結果、乗り継ぎの時刻は合わない。", True),  # a consequence
    ("また、市は訓練を毎年行います。", False),  # また adds a point of its own
    ("交渉は来月に再開される。", False),
])
def test_takes_up(sentence: str, taken_up: bool) -> None:
    assert takes_up(sentence) == taken_up


# A Japanese question asks for a view only when it asks why; a cause asked as a noun is a fact.
JAPANESE_VIEW_CASES = [
    ("なぜ省は改革を遅らせたのか", "reason"),
    ("津波の際に2か所の小学校を避難先として使わないことにしたのはなぜか。", "reason"),  # natural nat-22
    ("プーチン大統領は、軍備管理の話し合いを拒む理由として何を挙げているか。", "reason"),  # natural nat-04
    ("どうして備蓄を7日分に増やすのか", "reason"),
    ("梅雨前線による豪雨の原因は？", None),  # JSQuAD: the cause as a noun
    ("安保理決議2231はいつ終了するか", None),
]


@pytest.mark.parametrize(("text", "view"), JAPANESE_VIEW_CASES)
def test_japanese_view(text: str, view: str | None) -> None:
    assert japanese_view(text) == view


def test_english_and_japanese_questions_get_a_view(tokenizer: Tokenizer) -> None:
    assert Question.of("Why did the ministry delay the reform?", tokenizer).view == "reason"
    assert Question.of("なぜ省は改革を遅らせたのか", tokenizer).view == "reason"
    assert Question.of("省は改革をいつ遅らせたのか", tokenizer).view is None
    # なぜ in the clause about what is asked: the question asks for a person (JSQuAD)
    assert Question.of("「あの二人は、なぜ顔を見せないのだろう？」とアルマに尋ねたのは誰", tokenizer).view is None


def test_a_consequence_marks_its_reason_and_its_response() -> None:
    reason, response = "道路が寸断されると物資の到着が遅れる。", "このため、備蓄を7日分に増やす。"
    assert states_view("reason", reason, response)  # the sentence このため follows gives the reason
    assert not states_view("reason", response, None)  # このため's ため is no reason of its own sentence
    assert states_view("plan", "そこで、市は補助金を増やす。", None)
    assert not states_view("reason", reason, "市は補助金を増やす。")
