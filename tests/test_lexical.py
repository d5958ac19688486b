"""The BM25 index built from counts, a document at a time, scores exactly as bm25s's own."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import bm25s
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import lexical
from ingest.lexical import Bm25Builder, LexicalIndex

WORDS = ["安保理", "決議", "終了", "する", "核", "icbm", "npt", "日本", "米国", "交渉"]

# (rows, why the case is here)
CASES = [
    ([["安保理", "決議", "終了", "する"], ["核", "核", "核"], ["日本", "米国", "交渉", "核"]], "plain"),
    ([["安保理"], [], ["決議", "決議"]], "an empty row keeps its row number"),
    ([["icbm"] * 40, ["icbm", "npt"]], "a long row: length normalisation"),
    ([["日本"]], "one row"),
]


def _bm25s(rows: list[list[str]], directory: Path) -> LexicalIndex:
    model = bm25s.BM25(k1=lexical.K1, b=lexical.B, method="lucene")
    model.index(rows, show_progress=False)
    model.save(str(directory), show_progress=False)
    return LexicalIndex(directory)


def _same_scores(rows: list[list[str]], pieces: list[list[list[str]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        builder = Bm25Builder()
        for piece in pieces:
            builder.add(piece)
        builder.write(Path(tmp) / "ours")
        ours, theirs = LexicalIndex(Path(tmp) / "ours"), _bm25s(rows, Path(tmp) / "bm25s")
        assert ours.size == theirs.size == len(rows)
        assert set(ours.vocab) == set(theirs.vocab)
        for word in {w for r in rows for w in r}:
            assert np.array_equal(ours.scores([word]), theirs.scores([word])), word  # bit for bit
            assert ours.document_frequency(word) == theirs.document_frequency(word)


@pytest.mark.parametrize(("rows", "why"), CASES, ids=[c[1] for c in CASES])
@pytest.mark.parametrize("chunk", [lexical.SCORE_CHUNK, 3])
def test_scores_equal_bm25s(rows: list[list[str]], why: str, chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical, "SCORE_CHUNK", chunk)  # 3: scored a few entries at a time
    _same_scores(rows, [rows])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from(WORDS), max_size=30), min_size=1, max_size=25).filter(
    lambda rows: any(rows)), st.integers(min_value=1, max_value=5))
def test_rows_added_in_pieces_score_as_bm25s_at_once(rows: list[list[str]], piece: int) -> None:
    # An ingest adds one document's rows at a time: the pieces must not change a score.
    _same_scores(rows, [rows[i:i + piece] for i in range(0, len(rows), piece)])


def test_the_files_are_bm25s_format(tmp_path: Path) -> None:
    rows = CASES[0][0]
    lexical.build(rows, tmp_path / "ours")
    loaded = bm25s.BM25.load(str(tmp_path / "ours"))
    model = bm25s.BM25(k1=lexical.K1, b=lexical.B, method="lucene")
    model.index(rows, show_progress=False)
    assert np.array_equal(loaded.get_scores(["核", "日本"]), model.get_scores(["核", "日本"]))


def test_vocabulary_in_order_of_first_occurrence(tmp_path: Path) -> None:
    # bm25s numbers a set of strings, whose order changes with PYTHONHASHSEED: the same
    # corpus would give a different vocab.index.json in every process.
    lexical.build([["米国", "核"], ["日本", "核"]], tmp_path)
    assert list(LexicalIndex(tmp_path).vocab) == ["米国", "核", "日本", ""]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from(WORDS), max_size=8), min_size=1, max_size=25))
def test_a_word_weighs_less_the_more_rows_hold_it(rows: list[list[str]]) -> None:
    # The idf the retriever weighs a question's words by (coverage, the abstain evidence's
    # rarity): a word in more rows weighs less, in as many the same, in none the most (rarity 1).
    with tempfile.TemporaryDirectory() as tmp:
        lexical.build(rows, Path(tmp))
        index = LexicalIndex(Path(tmp))
    held = sorted(WORDS, key=index.document_frequency)
    for rarer, commoner in itertools.pairwise(held):
        if index.document_frequency(rarer) < index.document_frequency(commoner):
            assert index.idf(rarer) > index.idf(commoner) > 0
        else:
            assert index.idf(rarer) == index.idf(commoner)
    assert index.rarity("未知語") == 1.0 and all(0 < index.rarity(w) <= 1 for w in WORDS)
