"""How a sentence echoes a question (retriever.alignment) and the learned sentence ranker."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.clean import normalize
from ingest.errors import IndexFileError
from ingest.tokens import Tokenizer
from retriever.alignment import ECHO_FEATURES, Echo, Paired, bigrams, chain, covered, hits, pairs_of
from retriever.question import Question
from retriever.retriever import (
    ENGLISH_SET,
    HAND_SET,
    JAPANESE_VIEW_SCALE,
    SENTENCE_FEATURES,
    VIEW_FEATURES,
    sentence_rankers,
    sentence_weights,
)


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


# (text, the text its pairs come from, characters covered, longest chain)
PAIR_CASES = [
    ("日本の山", "日本で最も高い山", 2, 2),  # 日本; の and 山 stand alone
    ("日本で最も", "日本で最も高い山", 5, 5),
    ("最も高い日本で", "日本で最も高い山", 7, 4),  # two runs: 最も高い, 日本で (い日 is a seam, not shared)
    ("山", "山", 0, 0),  # one character has no pair
    ("", "日本", 0, 0),
    ("ICBM開発", "icbm開発", 2, 2),  # pairs are compared as given: normalise both first
]


@pytest.mark.parametrize(("text", "source", "n_covered", "n_chain"), PAIR_CASES)
def test_covered_and_chain(text: str, source: str, n_covered: int, n_chain: int) -> None:
    marks = hits(pairs_of(text), bigrams(source))
    assert (covered(marks), chain(marks)) == (n_covered, n_chain)


@given(st.text(alphabet="日本の山はでありがとう高い最も", max_size=30))
def test_a_text_covers_itself(text: str) -> None:
    marks = hits(pairs_of(text), bigrams(text))
    whole = len(text) if len(text) >= 2 else 0
    assert covered(marks) == whole and chain(marks) == whole


@given(st.text(alphabet="日本の山はで最も高い富士ある。何か", max_size=40),
       st.text(alphabet="日本の山はで最も高い富士ある。", max_size=40))
def test_features_are_shares(question: str, sentence: str) -> None:
    before, after = Paired.of(question[: len(question) // 2]), Paired.of(question[len(question) // 2:])
    f = Echo(before, after, before.set | after.set).features(Paired.of(sentence))
    assert set(f) == set(ECHO_FEATURES)
    assert all(0.0 <= f[k] <= 1.0 for k in ECHO_FEATURES if k != "log_rest")
    assert 0.0 <= f["log_rest"] <= math.log1p(len(sentence)) + 1e-12


# (question, sentence, features that must hold)
ECHO_CASES = [
    # the question is the sentence with 富士山 swapped for 何: all echoed, before the wh-word
    ("日本で最も高い山は何か", "日本で最も高い山は富士山である。",
     {"echo_cover": 1.0, "anchor_before": 1.0, "anchor_after": 0.0, "rest": 7 / 16}),
    # both sides of the wh-word found, in the question's order: the answer sits between them
    ("前座と真打の間のことを、かつての上方落語では何と呼んだ？", "かつての上方落語では中座（なかざ）と呼んだ。",
     {"anchor_before": 1.0, "anchor_after": 1.0, "anchor_order": 1.0}),
    # a sentence the question repeats whole has nothing left over to answer with
    ("前座と真打の間のことを、かつての上方落語では何と呼んだ？", "前座と真打の間。",
     {"rest": 1 / 8, "anchor_order": 0.0}),
    # nothing shared
    ("日本で最も高い山は何か", "ICBMの開発が進む。", {"echo": 0.0, "echo_cover": 0.0, "anchor_before": 0.0}),
]


@pytest.mark.parametrize(("question", "sentence", "expected"), ECHO_CASES)
def test_echo_features(tokenizer: Tokenizer, question: str, sentence: str, expected: dict[str, float]) -> None:
    f = Echo.of(Question.of(question, tokenizer)).features(Paired.of(normalize(sentence)))
    assert {k: round(f[k], 4) for k in expected} == {k: round(v, 4) for k, v in expected.items()}


def test_the_answer_echoes_better_than_a_stranger(tokenizer: Tokenizer) -> None:
    echo = Echo.of(Question.of("拍の周期の長短によって、音楽の速度を感じることを何というか", tokenizer))
    near = echo.features(Paired.of(normalize("拍の周期の長短によって、音楽の速度を感じる。")))
    far = echo.features(Paired.of(normalize("次はパルスの例である。")))
    assert near["echo"] > far["echo"] and near["echo_cover"] > far["echo_cover"]


def test_sentence_rankers_by_language(tmp_path: Path) -> None:
    hand, english = sentence_weights(HAND_SET), sentence_weights(ENGLISH_SET)
    missing = sentence_rankers(tmp_path / "none.json")  # a checkout without the learned ranker
    assert set(missing) == {"en", "other"} and np.array_equal(missing["other"], hand)
    assert np.array_equal(missing["en"], english) and not np.array_equal(english, hand)
    path = tmp_path / "sentence_ranker.json"
    path.write_text(json.dumps({"languages": ["ja"], "weights": {"coverage": 2.0, "echo": 1.0}}), encoding="utf-8")
    got = sentence_rankers(path)
    assert set(got) == {"ja", "en", "other"} and np.array_equal(got["other"], hand)
    assert got["ja"][SENTENCE_FEATURES.index("coverage")] == 2.0 and got["ja"].sum() == 3.0


def test_a_damaged_sentence_ranker_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "sentence_ranker.json"
    path.write_text('{"languages": ["ja"]}', encoding="utf-8")
    with pytest.raises(IndexFileError, match=r"damaged.*train_sentence_ranker\.py"):
        sentence_rankers(path)


def test_the_shipped_japanese_ranker_weighs_a_view_by_hand() -> None:
    # train_sentence_ranker.fit learns every weight but those of a view asked (なぜ), which it
    # sets to HAND_SET's times JAPANESE_VIEW_SCALE: the shipped file must say the same
    learned = sentence_rankers()["ja"]
    for name in VIEW_FEATURES:
        assert learned[SENTENCE_FEATURES.index(name)] == pytest.approx(JAPANESE_VIEW_SCALE * HAND_SET[name]), name
    assert all(HAND_SET[name] > 0 for name in VIEW_FEATURES)


def test_training_the_sentence_ranker_on_english_inputs_alone_is_one_line(tmp_path: Path) -> None:
    # the ranker is fitted on Japanese questions only (English keeps the hand-set weights):
    # inputs of English questions alone left it nothing to fit, and np.vstack of nothing crashed
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "train_sentence_ranker.py"
    row = {"lang": "en", "article": "Tokyo", "abstained": False, "kind": "who", "answers": ["アラグチ"],
           "texts": ["アラグチ氏が外相に就任した。", "大統領はペゼシュキアン氏である。"],
           "x": [[0.5] * len(SENTENCE_FEATURES), [0.1] * len(SENTENCE_FEATURES)]}
    inputs = tmp_path / "confidence-inputs-en.json"
    inputs.write_text(json.dumps([dict(row, article=f"a{i}") for i in range(10)], ensure_ascii=False),
                      encoding="utf-8")
    ranker = script.parent.parent / "retriever" / "sentence_ranker.json"
    before = ranker.read_bytes()
    done = subprocess.run([sys.executable, str(script), "--inputs", str(inputs)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Japanese" in lines[0] and str(inputs) in lines[0], done.stderr
    assert ranker.read_bytes() == before
