"""Calibrated confidence (retriever.confidence) and how kotae uses it (issue 15)."""

from __future__ import annotations

import json
import math
import unicodedata
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest import build_index
from ingest.clean import normalize
from ingest.errors import IndexFileError
from ingest.tokens import Morpheme, Tokenizer, analyse
from qa_cli.main import main, render
from retriever import Answer, Citation, Retriever, ShortAnswer
from retriever.confidence import (
    CALIBRATION_FILE,
    GRAMMAR_PARTS,
    GRAMMAR_REACH,
    GRAMMAR_WORDS,
    TOPIC_UNKNOWN,
    Calibration,
    Calibrator,
    Forest,
    area_under_risk_coverage,
    asked_heads,
    by_confidence,
    expected_calibration_error,
    head_evidence,
    names_topic,
    pick_lead,
    recurrence,
    rerank_evidence,
    reranked,
    risk_coverage,
    sentence_evidence,
    shipped_calibration,
    short_context,
    short_evidence,
    span_evidence,
    span_grammar,
    topic_evidence,
)
from retriever.evaluate import Question, judge, summarize
from retriever.short import FEATURES, Candidate

# (confidences, right or not, ECE over 10 bins)
ECE_CASES = [
    ([0.95, 0.95, 0.95, 0.95], [1, 1, 1, 1], 0.05),  # sure and right: off by the missing 0.05
    ([0.25, 0.25, 0.25, 0.25], [1, 0, 0, 0], 0.0),  # a quarter said, a quarter right
    ([0.9, 0.1], [0, 1], 0.9),  # sure of the wrong one, unsure of the right one
    ([0.55, 0.65, 0.95], [1, 0, 1], (0.45 + 0.65 + 0.05) / 3),  # three bins of one
]


@pytest.mark.parametrize(("p", "y", "ece"), ECE_CASES)
def test_expected_calibration_error(p: list[float], y: list[int], ece: float) -> None:
    assert expected_calibration_error(p, y) == pytest.approx(ece)


def test_risk_coverage_counts_what_each_threshold_shows() -> None:
    p = [0.95, 0.85, 0.55, 0.15, -1.0]  # the last has no short answer: never shown
    y = [1, 1, 0, 0, 0]
    curve = {round(point["threshold"], 1): point for point in risk_coverage(p, y)}
    assert [round(t, 1) for t in curve] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert (curve[0.1]["coverage"], curve[0.1]["precision"]) == (0.8, 0.5)
    assert (curve[0.5]["coverage"], curve[0.5]["precision"]) == (0.6, pytest.approx(2 / 3))
    assert (curve[0.9]["coverage"], curve[0.9]["precision"]) == (0.2, 1.0)
    assert curve[0.9]["shown"] == 1


# (confidences, right or not, area under the risk-coverage curve)
AREA_CASES = [
    ([0.9, 0.8, 0.2], [1, 1, 0], (1 + 1 + 2 / 3) / 3),  # the right ones first
    ([0.9, 0.8, 0.2], [0, 1, 1], (0 + 1 / 2 + 2 / 3) / 3),  # the wrong one first
]


@pytest.mark.parametrize(("p", "y", "area"), AREA_CASES)
def test_area_under_risk_coverage(p: list[float], y: list[int], area: float) -> None:
    assert area_under_risk_coverage(p, y) == pytest.approx(area)


def test_calibrator_is_logistic_then_isotonic() -> None:
    plain = Calibrator(("margin", "share"), (2.0, 0.0), -1.0, (1.0, 0.5), (0.5, 1.0))
    # z = (3 - 1) / 0.5 * 2 - 1 = 7
    assert plain.probability({"margin": 3.0, "share": 0.9}) == pytest.approx(1 / (1 + math.exp(-7)))
    assert plain.probability({}) == pytest.approx(1 / (1 + math.exp(-(-2 * 2 - 1))))  # missing counts as 0
    stepped = Calibrator(plain.features, plain.weights, plain.bias, plain.mean, plain.scale,
                         (0.0, 0.5, 1.0), (0.1, 0.3, 0.9))
    # z = -1, logistic 0.2689, between the knots 0 -> 0.1 and 0.5 -> 0.3: 0.1 + 0.2689 / 0.5 * 0.2
    assert stepped.probability({"margin": 1.0, "share": 0.5}) == pytest.approx(0.2076, abs=1e-4)
    assert Calibrator.from_dict(json.loads(json.dumps(stepped.as_dict()))) == stepped


# Two trees over (margin, type): the first splits on margin at 1.5, then on type; the second
# is one split on type. Leaves: tree one -1.0 / 0.5 / 2.0, tree two -0.5 / 0.5.
TREES = {"features": ["margin", "type"], "knots": [], "values": [], "trees": [
    {"feature": [0, -1, 1, -1, -1], "threshold": [1.5, 0, 0.5, 0, 0], "left": [1, 0, 3, 0, 0],
     "right": [2, 0, 4, 0, 0], "value": [0, -1.0, 0, 0.5, 2.0]},
    {"feature": [1, -1, -1], "threshold": [0.5, 0, 0], "left": [1, 0, 0], "right": [2, 0, 0],
     "value": [0, -0.5, 0.5]}]}


@pytest.mark.parametrize(("margin", "kind_fits", "raw"), [
    (1.0, 1.0, -1.0 + 0.5),  # a narrow margin: tree one stops at its first leaf
    (1.5, 0.0, -1.0 - 0.5),  # at the threshold goes left, as LightGBM's <= does
    (3.0, 0.0, 0.5 - 0.5),  # a wide margin and no fact of the kind asked
    (3.0, 1.0, 2.0 + 0.5),  # a wide margin and the fact: sure
])
def test_forest_sums_the_leaves_each_tree_reaches(margin: float, kind_fits: float, raw: float) -> None:
    forest = Forest.from_dict(TREES)
    assert forest.raw(np.array([[margin, kind_fits]]))[0] == pytest.approx(raw)
    assert forest.probability({"margin": margin, "type": kind_fits}) == pytest.approx(1 / (1 + math.exp(-raw)))
    assert Forest.from_dict(json.loads(json.dumps(forest.as_dict()))) == forest
    # Many rows at once give what each gives alone.
    rows = np.array([[margin, kind_fits], [0.0, 0.0], [9.0, 1.0]])
    assert forest.raw(rows)[0] == pytest.approx(raw) and forest.raw(rows)[2] == pytest.approx(2.5)


def test_a_forest_that_points_outside_itself_is_refused() -> None:
    bad = json.loads(json.dumps(TREES))
    bad["trees"][1]["right"][0] = 7  # no node 7
    with pytest.raises(ValueError, match="outside"):
        Forest.from_dict(bad)
    bad = json.loads(json.dumps(TREES))
    bad["trees"][0]["feature"][0] = 2  # only features 0 and 1
    with pytest.raises(ValueError, match="outside"):
        Forest.from_dict(bad)
    bad = json.loads(json.dumps(TREES))
    bad["trees"][0]["left"][2] = 1  # node 2 sends rows back to node 1, listed before it
    with pytest.raises(ValueError, match="before"):
        Forest.from_dict(bad)
    stepped = dict(TREES, knots=[0.0, 1.0], values=[0.2, 0.8])
    assert Calibration.from_dict({"sentence": stepped, "short": Calibrator(("margin",), (1.0,), 0.0, (0.0,), (1.0,))
                                  .as_dict(), "min_confidence": 0.5, "min_sentence_confidence": 0.5}).sentence \
        == Forest.from_dict(stepped)


def test_evidence_is_relative_to_the_rivals() -> None:
    e = short_evidence(np.array([3.0, 1.0, 0.5]), 0, {"fit": 3.0, "echo_before": 9.0}, 0.8, "date")
    assert (e["margin"], e["gap"], e["top"], e["short_fit"], e["short_echo_before"]) == (2.0, 0.0, 1.0, 3.0, 9.0)
    assert e["sentence_logit"] == pytest.approx(math.log(0.8 / 0.2))
    assert e["asks_date"] == 1.0 and e["asks_person"] == 0.0
    runner_up = short_evidence(np.array([3.0, 1.0, 0.5]), 1, {}, 0.8, "date")
    assert (runner_up["margin"], runner_up["gap"], runner_up["top"]) == (-2.0, -2.0, 0.0)
    s = sentence_evidence(np.array([1.0, 2.0]), 1, {"dense_raw": 0.9}, 0.5, "person")
    assert (s["margin"], s["sentence_dense_raw"], s["coverage"], s["asks_person"]) == (1.0, 0.9, 0.5, 1.0)


# (document title, candidate sentence, question, topic_elsewhere, back_reference)
TOPIC_CASES = [
    # JSQuAD asks for its article's topic with a question that rewords one sentence of it
    ("オランダ", "大麻等ソフトドラッグの販売・所持・使用が合法化されている。",
     "ソフトドラッグの販売・所持・使用が合法化されている国は", 1.0, 0.0),
    ("ドミニカ国", "同国は旧イギリス植民地であり、現在はイギリス連邦の一員である。",
     "旧イギリス植民地であり、現在はイギリス連邦の一員である国は？", 1.0, 1.0),
    # the topic in the sentence, or asked about by name: the answer is something else
    ("梅雨", "梅雨（つゆ、ばいう）は、5月から7月にかけて来る曇りや雨の多い期間のこと。", "梅雨はいつ来るか", 0.0, 0.0),
    ("オランダ", "この国では安楽死が合法化されている。", "オランダで合法化されているのは何か", 0.0, 1.0),
    # matched after normalisation (full-width letters, spaces)
    ("ＲＫＢ ラジオ", "RKBラジオは福岡の放送局である。", "九州の放送局はどこか", 0.0, 0.0),
    # a back-reference the question holds too points at nothing new
    ("東京", "同社は1950年に設立された。", "同社はいつ設立されたか", 1.0, 0.0),
    # a long title describes its document and names no topic; none at all names none either
    ("汐見市　地域防災計画の見直しについて（市民の皆さまへのお知らせ）", "避難先を変更した。", "避難先はどこか",
     TOPIC_UNKNOWN, 0.0),
    (None, "彼は首相に就任した。", "誰が首相に就任したか", TOPIC_UNKNOWN, 1.0),
]


@pytest.mark.parametrize(("title", "sentence", "question", "elsewhere", "back"), TOPIC_CASES)
def test_topic_evidence(title: str | None, sentence: str, question: str, elsewhere: float, back: float) -> None:
    e = topic_evidence(title, sentence, question)
    assert (e["topic_elsewhere"], e["back_reference"]) == (elsewhere, back)
    carried = sentence_evidence(np.array([1.0]), 0, {}, 1.0, "term", topic=e)
    assert (carried["topic_elsewhere"], carried["back_reference"]) == (elsewhere, back)


LEAD_NAMES = ("coverage", "echo", "echo_cover", "lexical", "dense_raw", "anchor_before", "anchor_after", "type")


def test_pick_lead_compares_the_pick_with_the_best_other_and_the_next_sentence() -> None:
    # three candidates: the pick rewords the question (coverage 0.9), the sentence after it
    # (row 1) holds fewer of its words but ranks second, another (row 2) holds as many echoes
    x = np.array([[0.9, 0.5, 0.4, 1.0, 0.88, 1.0, 0.0, 0.0],
                  [0.6, 0.2, 0.1, 0.5, 0.86, 0.0, 0.0, 1.0],
                  [0.3, 0.5, 0.6, 0.2, 0.80, 0.0, 1.0, 0.0]])
    scores = np.array([3.0, 2.5, 1.0])
    lead = pick_lead(scores, x, LEAD_NAMES, 0, 1)
    assert lead["lead_coverage"] == pytest.approx(0.3) and lead["lead_echo"] == pytest.approx(0.0)
    assert lead["lead_echo_cover"] == pytest.approx(-0.2) and lead["lead_type"] == pytest.approx(-1.0)
    assert lead["next_gap"] == pytest.approx(-0.5) and lead["next_second"] == 1.0
    # the last sentence of its document, or one whose next sentence did not compete
    alone = pick_lead(scores, x, LEAD_NAMES, 0, -1)
    assert alone["next_second"] == 0.0 and alone["next_gap"] < -5
    # a lone candidate leads by its own values
    assert pick_lead(scores[:1], x[:1], LEAD_NAMES, 0, -1)["lead_coverage"] == pytest.approx(0.9)
    assert set(lead) <= set(sentence_evidence(scores, 0, {}, 0.9, "date", None, lead))


def _features(**named: float) -> np.ndarray:
    return np.array([named.get(name, 0.0) for name in FEATURES])


def test_short_context_reads_the_cut_the_rival_and_agreement() -> None:
    sentence = "ラオスは社会主義共和制国家である。"
    socialism = Candidate(4, 6, "社会", "term")  # cut out of 社会主義共和制国家: kanji on the right
    laos = Candidate(0, 3, "ラオス", "place")
    ranked = [(socialism, 2.0, _features(kind_match=1.0, proximity=0.5)),
              (laos, 1.0, _features(kind_match=1.0, particle_match=1.0, proximity=0.25))]
    later = ["社会主義の国である。", "首都はビエンチャン。", "社会保障は手厚い。"]
    c = short_context(ranked, 0, sentence, later)
    assert (c["next_char"], c["prev_char"]) == (1.0, 3.0)  # 主 after it, は before it
    assert c["kind_matches"] == 2.0 and c["sentence_chars"] == len(sentence)
    assert (c["agree_next"], c["agree_count"]) == (1.0, 2.0)
    assert (c["rival_particle_match"], c["rival_proximity"], c["rival_overlap"]) == (1.0, 0.25, 0.0)
    # The runner-up's rival is the pick; ラオス opens the sentence (nothing before it).
    r = short_context(ranked, 1, sentence, later[1:])
    assert (r["prev_char"], r["next_char"], r["rival_proximity"], r["agree_next"]) == (0.0, 3.0, 0.5, 0.0)
    # A lone candidate has no rival, and its evidence says so by leaving the rival out.
    assert not any(k.startswith("rival_") for k in short_context(ranked[:1], 0, sentence, []))
    e = short_evidence(np.array([2.0, 1.0]), 0, dict(zip(FEATURES, ranked[0][2], strict=True)), 0.8, "term", c)
    assert e["agree_count"] == 2.0 and e["short_proximity"] == 0.5 and e["margin"] == 1.0
    # The shipped calibrator scores candidates together as it scores each alone.
    rows = [e, short_evidence(np.array([2.0, 1.0]), 1, dict(zip(FEATURES, ranked[1][2], strict=True)), 0.8, "term", r)]
    cal = shipped_calibration()
    for language in ("ja", "en"):
        assert cal.short_probabilities(rows, language) == pytest.approx(
            [cal.short_probability(x, language) for x in rows], abs=1e-12)
    assert cal.short_probabilities([], "ja") == []


def test_short_context_tells_a_doubt_about_the_edges_from_a_doubt_about_the_answer() -> None:
    sentence = "1500年にインドを目指したペドロ・アルヴァレス・カブラルがブラジルを発見した。"
    whole = Candidate(14, 29, "ペドロ・アルヴァレス・カブラル", "person")
    first = Candidate(14, 17, "ペドロ", "person")
    brazil = Candidate(30, 34, "ブラジル", "place")
    ranked = [(whole, 11.2, _features()), (first, 9.9, _features()), (brazil, 6.2, _features())]
    c = short_context(ranked, 0, sentence, [])
    assert c["overlap_margin"] == pytest.approx(1.3) and c["disjoint_margin"] == pytest.approx(5.0)
    e = np.exp(np.array([11.2, 9.9, 6.2]) - 11.2)
    assert c["cluster_share"] == pytest.approx((e[0] + e[1]) / e.sum())
    assert c["disjoint_share"] == pytest.approx(e[0] / (e[0] + e[2]))
    # ペドロ, second: below the pick that holds it, above the other answer
    r = short_context(ranked, 1, sentence, [])
    assert r["overlap_margin"] == pytest.approx(-1.3) and r["disjoint_margin"] == pytest.approx(3.7)
    # with no rival of a kind, the margin over it is the cap of a lone candidate
    lone = short_context(ranked[:1], 0, sentence, [])
    assert lone["overlap_margin"] == lone["disjoint_margin"] == 10.0 and lone["cluster_share"] == 1.0


@given(st.lists(st.floats(0.0, 1.0), max_size=8))
def test_by_confidence_offers_the_most_probable_first(p: list[float]) -> None:
    order = by_confidence(p)
    assert sorted(order) == list(range(len(p)))
    assert [p[i] for i in order] == sorted(p, reverse=True)
    # between equals, the ranker's order
    assert all(order[k] < order[k + 1] for k in range(len(order) - 1) if p[order[k]] == p[order[k + 1]])
    # questions other than Japanese keep the ranker's order
    assert by_confidence(p, "en") == list(range(len(p)))


# Scores and shifts in 1/64ths, which add exactly: with any float, a tie between two candidates
# can round one way before the shift and the other way after it.
@given(st.lists(st.integers(-1280, 1280).map(lambda v: v / 64), min_size=1, max_size=12),
       st.integers(-400, 400).map(lambda v: v / 8), st.data())
def test_sentence_evidence_does_not_move_with_the_rankers_offset(scores: list[float], shift: float,
                                                                 data: st.DataObject) -> None:
    # Rankers trained on different folds put every candidate's score higher or lower by an
    # offset that decides nothing; the calibrator must read the same evidence either way.
    i = data.draw(st.integers(0, len(scores) - 1))
    s = np.array(scores)
    plain, shifted = sentence_evidence(s, i, {}, 0.5, "date"), sentence_evidence(s + shift, i, {}, 0.5, "date")
    assert plain.keys() == shifted.keys() and "score" not in plain
    for name, value in plain.items():
        assert shifted[name] == pytest.approx(value, abs=1e-6), name
    assert plain["score_centred"] == pytest.approx(scores[i] - float(np.mean(s)))


def test_the_pick_and_the_cited_sentences_have_their_own_calibrators() -> None:
    pick = Calibrator(("margin",), (1.0,), 2.0, (0.0,), (1.0,))
    cited = Calibrator(("margin",), (1.0,), -2.0, (0.0,), (1.0,))
    both = Calibration(pick, pick, 0.5, 0.5, cited=cited)
    e = {"margin": 0.0}
    assert both.sentence_probability(e, "ja") == pytest.approx(1 / (1 + math.exp(-2)))
    assert both.sentence_probability(e, "ja", pick=False) == pytest.approx(1 / (1 + math.exp(2)))
    # A calibration without one (written before it existed) scores every sentence with the pick's.
    assert Calibration(pick, pick, 0.5, 0.5).sentence_probability(e, "ja", pick=False) == pytest.approx(
        1 / (1 + math.exp(-2)))
    d = {"sentence": pick.as_dict(), "short": pick.as_dict(), "cited": cited.as_dict(), "min_confidence": 0.5,
         "min_sentence_confidence": 0.5}
    assert Calibration.from_dict(d) == both


def test_a_pick_whose_title_names_no_topic_has_its_own_trees_and_threshold() -> None:
    titled = Calibrator(("topic_elsewhere",), (-1.0,), 2.0, (0.0,), (1.0,))
    untitled = Calibrator(("back_reference",), (1.0,), -1.0, (0.0,), (1.0,))  # 同社: back_reference 1
    cal = Calibration(titled, titled, 0.5, 0.84, untitled=untitled, min_untitled_sentence_confidence=0.87)
    # a topic named and in the pick, named and elsewhere, none named
    for title, sentence, p in [("オランダ", "オランダは立憲君主制国家である。", 1 / (1 + math.exp(-2))),
                               ("オランダ", "同国は立憲君主制国家である。", 1 / (1 + math.exp(-1))),
                               ("ミナトフーズ株式会社 統合報告書2025（抜粋）", "同社は増収となった。", 0.5)]:
        e = sentence_evidence(np.array([1.0]), 0, {}, 1.0, "term", topic=topic_evidence(title, sentence, "政体は何か"))
        assert cal.sentence_probability(e, "ja") == pytest.approx(p)
        assert cal.sentence_threshold(names_topic(title)) == (0.84 if p != 0.5 else 0.87)
    # The cited sentences keep their own calibrator (here, the titled one) whatever the title.
    assert cal.sentence_probability({"topic_elsewhere": TOPIC_UNKNOWN}, "ja", pick=False) == pytest.approx(
        1 / (1 + math.exp(-3)))
    # A calibration written before the untitled trees existed scores and marks every pick alike.
    older = Calibration(titled, titled, 0.5, 0.84)
    assert older.sentence_threshold(False) == 0.84
    assert older.sentence_probability({"topic_elsewhere": TOPIC_UNKNOWN}, "ja") == pytest.approx(1 / (1 + math.exp(-3)))
    d = {"sentence": titled.as_dict(), "short": titled.as_dict(), "untitled": untitled.as_dict(),
         "min_confidence": 0.5, "min_sentence_confidence": 0.84, "min_untitled_sentence_confidence": 0.87}
    assert Calibration.from_dict(d) == cal


def test_shipped_calibration_reads_and_says_what_was_measured() -> None:
    cal = shipped_calibration()
    assert 0.0 < cal.min_confidence < 1.0 and 0.0 < cal.min_sentence_confidence < 1.0
    data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    assert "JSQuAD" in data["trained_on"] and data["held_out"]["short"]["precision_at_threshold"] >= 0.9
    assert cal == Calibration.from_dict(data)
    assert cal.cited is not None and "score_centred" in cal.sentence.features and "score" not in cal.cited.features


def test_english_short_answers_have_their_own_threshold() -> None:
    # Chosen on the English sets as the Japanese one is on JSQuAD; without one, English uses the Japanese.
    data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    cal = Calibration.from_dict(data)
    assert cal.short_threshold("ja") == cal.min_confidence
    assert cal.short_threshold("en") == data["english"]["min_confidence"]
    del data["english"]["min_confidence"]
    assert Calibration.from_dict(data).short_threshold("en") == cal.min_confidence


def test_the_english_sentence_scaling_reads_the_logit_and_the_margin() -> None:
    # Platt scaling over the Japanese probability's logit and the pick's margin over the runner-up:
    # with one weight each (unit scale), an English pick at p = 0.5 and margin 2 gets sigmoid(2)
    pick = Calibrator(("margin",), (0.0,), 0.0, (0.0,), (1.0,))
    english = Calibrator(("logit", "margin"), (1.0, 1.0), 0.0, (0.0, 0.0), (1.0, 1.0))
    cal = Calibration(pick, pick, 0.5, 0.5, english_sentence=english)
    assert cal.sentence_probability({"margin": 2.0}, "en") == pytest.approx(1 / (1 + math.exp(-2)))
    assert cal.sentence_probability({"margin": 2.0}, "ja") == pytest.approx(0.5)
    # a scaling over the logit alone (as written before) ignores the margin
    logit_only = Calibration(pick, pick, 0.5, 0.5, english_sentence=Calibrator(("logit",), (1.0,), 0.0, (0.0,), (1.0,)))
    assert logit_only.sentence_probability({"margin": 2.0}, "en") == pytest.approx(0.5)


def test_a_damaged_calibration_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "confidence.json"
    bad.write_text('{"sentence": {}}', encoding="utf-8")
    with pytest.raises(IndexFileError, match=r"damaged.*train_confidence\.py"):
        shipped_calibration(bad)
    with pytest.raises(IndexFileError, match="missing"):
        shipped_calibration(tmp_path / "none.json")


# -- on the report ------------------------------------------------------------------------

QUESTIONS = ["安保理決議2231はいつ終了するか", "誰が外相になったか", "北朝鮮は何を進めているか",
             "Who became Iran's president?", "What does the author expect for US-China arms control?",
             "新START条約の期限はいつか", "この論考の筆者は誰か"]


@pytest.fixture(scope="module")
def answers(report_retriever: Retriever) -> list[Answer]:
    return report_retriever.ask_many(QUESTIONS, k=5)


def test_confidences_are_probabilities_and_decide_what_is_shown(report_retriever: Retriever,
                                                                answers: list[Answer]) -> None:
    cal = report_retriever.calibration
    (report,) = report_retriever.index.sources
    threshold = cal.sentence_threshold(names_topic(report.title))  # the report's long title names no topic
    for a in answers:
        if a.abstained:
            assert a.confidence is None and a.short is None and not a.confident
            continue
        assert a.confidence is not None and 0.0 <= a.confidence <= 1.0
        assert a.confident == (a.confidence >= threshold)
        assert len(a.short_candidates) <= 3 and a.short == (a.short_candidates[0] if a.short_candidates else None)
        for rank, s in enumerate(a.short_candidates):
            assert s.confidence is not None and 0.0 <= s.confidence <= 1.0
            assert s.shown == (rank == 0 and s.confidence >= cal.short_threshold(a.language))
        assert len({s.text for s in a.short_candidates}) == len(a.short_candidates)  # each text once
        # for a Japanese question the most probable is offered first (by_confidence), the others after it
        if a.language == "ja":
            assert [s.confidence for s in a.short_candidates] == sorted(
                (s.confidence for s in a.short_candidates), reverse=True)


def test_citations_lead_with_the_answer_then_go_by_score(answers: list[Answer]) -> None:
    for a in answers:
        if a.answer is None:
            continue
        first = a.citations[0]
        assert first.start <= a.answer.start and a.answer.end <= first.end  # the answer's own passage
        assert first.score == pytest.approx(a.confidence)  # the one scale: answer.confidence
        rest = [c.score for c in a.citations[1:]]
        assert rest == sorted(rest, reverse=True) and all(0.0 <= s <= 1.0 for s in rest)


def test_the_threshold_is_a_setting(report_retriever: Retriever) -> None:
    q = "安保理決議2231はいつ終了するか"
    assert report_retriever.with_settings(min_confidence=0.0).ask(q).short.shown
    never = report_retriever.with_settings(min_confidence=1.01, min_sentence_confidence=1.01).ask(q)
    assert never.short is not None and not never.short.shown and never.shown_short is None and not never.confident
    d = never.as_dict()["answer"]
    assert d["short"]["shown"] is False and d["short"]["confidence"] == round(never.short.confidence, 4)
    assert d["confident"] is False and len(d["short_candidates"]) == len(never.short_candidates)


def test_cli_min_confidence(report_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    q = "安保理決議2231はいつ終了するか"
    assert main(["ask", q, "--index", str(report_index), "--min-confidence", "0"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "→ 2025年10月18日"
    assert main(["ask", q, "--index", str(report_index), "--min-confidence", "1"]) == 0
    assert "→" not in capsys.readouterr().out
    assert main(["ask", q, "--index", str(report_index), "--min-confidence", "7"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "--min-confidence must be between 0 and 1" in err


def cite(text: str, score: float) -> Citation:
    return Citation(text=text, doc="corpus/x.txt", start=0, end=len(text), section=None, lines=(1, 1),
                    pages=None, score=score)


def test_a_low_confidence_answer_leads_with_the_passages() -> None:
    sentence = "（脱稿日2024年12月11日　秋山信将）"
    low = Answer("What does the author expect?", "en", False, cite(sentence, 0.3),
                 (cite(sentence, 0.3), cite("米中間の軍備管理については、当面は進展しないだろう。", 0.2)),
                 short=ShortAnswer("秋山信将", 12, 16, "person", 0.2, False), confidence=0.3, confident=False)
    lines = render(low, tty=False).splitlines()
    assert lines[0].startswith("Low confidence · confidence 0.30")
    assert lines[2].startswith("[1] ") and "→" not in "\n".join(lines)
    assert lines[-3:-1] == ["Best guess (low confidence):", sentence]


def test_eval_reports_the_risk_coverage_curve() -> None:
    def given(text: str, p: float, shown: bool) -> Answer:
        short = ShortAnswer(text, 0, len(text), "date", p, shown)
        return Answer("q", "ja", False, cite("…" + text, p), (cite("…" + text, p),), short=short,
                      confidence=p, confident=shown, short_candidates=(short,))

    outcomes = [judge(Question("a", "q", ("2025年",), "ja"), given("2025年", 0.95, True)),
                judge(Question("b", "q", ("2026年",), "ja"), given("2024年", 0.35, False)),
                judge(Question("c", "q", ("2024年",), "ja"), given("2024年", 0.65, False))]
    s = summarize(outcomes).short_confidence
    curve = {round(p["threshold"], 1): p for p in s["risk_coverage"]}
    assert curve[0.3]["coverage"] == 1.0 and curve[0.3]["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert curve[0.9]["coverage"] == pytest.approx(1 / 3, abs=1e-4) and curve[0.9]["precision"] == 1.0
    assert (s["shown"], s["shown_right"]) == (1, 1) and s["area"] == pytest.approx((1 + 1 + 2 / 3) / 3, abs=1e-4)


# -- the second stage that re-orders the best candidate sentences -------------------------

@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5), st.integers(0, 4))
def test_reranked_moves_the_most_probable_first_and_keeps_the_rest_in_order(p: list[float], more: int) -> None:
    order = [10 * i + 7 for i in range(len(p) + more)]  # units; only the first len(p) were scored
    out = reranked(order, p)
    best = p.index(max(p))  # the first of equals
    assert out[0] == order[best] and sorted(out) == sorted(order)
    assert out[1:] == [u for u in order if u != order[best]]


def test_rerank_evidence_is_the_sentence_evidence_with_its_rank_and_no_short_answer() -> None:
    x = np.array([[0.9, 0.5, 0.4, 1.0, 0.88, 1.0, 0.0, 0.0],
                  [0.6, 0.2, 0.1, 0.5, 0.86, 0.0, 0.0, 1.0]])
    scores = np.array([3.0, 2.5])
    topic = topic_evidence("オランダ", "同国は立憲君主制国家である。", "政体は何か")
    e = rerank_evidence(scores, x, LEAD_NAMES, 1, 1, -1, 0.4, "term", topic)
    named = dict(zip(LEAD_NAMES, x[1].tolist(), strict=True))
    assert e == {**sentence_evidence(scores, 1, named, 0.4, "term", None, pick_lead(scores, x, LEAD_NAMES, 1, -1),
                                     topic), "rank": 1.0}
    assert e["topic_elsewhere"] == 1.0 and e["back_reference"] == 1.0 and e["margin"] == pytest.approx(-0.5)
    assert not any(k.startswith("short_") for k in e)


def test_the_second_stage_is_read_from_the_calibration_file() -> None:
    pick = Calibrator(("margin",), (1.0,), 0.0, (0.0,), (1.0,))
    second = Calibrator(("rank",), (1.0,), 0.0, (0.0,), (1.0,))
    d = {"sentence": pick.as_dict(), "short": pick.as_dict(), "rerank": second.as_dict(), "min_confidence": 0.5,
         "min_sentence_confidence": 0.5}
    assert Calibration.from_dict(d).rerank == second
    del d["rerank"]
    assert Calibration.from_dict(d).rerank is None  # written before it existed: the linear order stands


class Titled(Retriever):
    """The report as if its title named its topic, as a JSQuAD article's does."""

    def title_of(self, u: int) -> str | None:
        return "核軍備管理"


def test_the_second_stage_reorders_a_japanese_questions_best_sentences(report_retriever: Retriever) -> None:
    # A second stage that prefers the linear ranker's third makes it the answer of a Japanese
    # question, and leaves an English question, one asked with rerank off, or one whose
    # candidates come from a document whose title names no topic (the report's), as it was. A
    # runner-up with fewer of the question's words than the abstention rules ask for does not
    # compete (here every candidate may, then none but the first).
    r = report_retriever.with_settings(abstain_coverage=0.0)
    prefers_third = replace(r.calibration, rerank=Calibrator(("rank",), (5.0,), 0.0, (0.0,), (1.0,)))
    second = Titled(r.index, r.embedder, r.settings, r.tokenizer, prefers_third)
    analysed = r.analyse("北朝鮮は何を進めているか")
    fused = r.fuse(analysed, None, None)[0]  # BM25 alone: the order is beside the point
    top = [int(p) for p in np.argsort(-fused, kind="stable")[:3]]
    ranking = r.rank_sentences(analysed, r.candidates(analysed, top), fused, None)
    assert len(ranking.order) > 3
    moved = second.rerank(analysed, ranking)
    assert moved.order[0] == ranking.order[2] and moved.order[1:] == [u for u in ranking.order if u != moved.order[0]]
    assert second.with_settings(rerank=False).rerank(analysed, ranking) == ranking
    assert second.with_settings(abstain_coverage=1.01).rerank(analysed, ranking) == ranking
    assert second.rerank(r.analyse("Who became Iran's president?"), ranking) == ranking
    untitled = Retriever(r.index, r.embedder, r.settings, r.tokenizer, prefers_third)
    assert untitled.rerank(analysed, ranking) == ranking


# (candidate, document, article, times in the document, times in the article): issue 15, a span
# the whole article names (its topic) against a detail of one paragraph
RECURRENCE_CASES = [
    ("オランダ", "オランダはアメリカ合衆国に次ぐ。", "オランダの農業。\nオランダはアメリカ合衆国に次ぐ。\nオランダ語。",
     1, 3),
    ("アメリカ合衆国", "オランダはアメリカ合衆国に次ぐ。", "オランダの農業。\nオランダはアメリカ合衆国に次ぐ。", 1, 1),
    ("ＩＡＥＡ", "IAEAの査察。", "IAEAの査察。\nIAEA総会。", 1, 2),  # counted as normalised: full width folds
    ("ロゾー", "首都はロゾー。", "首都はロゾー。", 1, 1),  # an untitled document is its own article
    ("", "首都はロゾー。", "首都はロゾー。", 0, 0),  # nothing to count
]


@pytest.mark.parametrize(("text", "document", "article", "in_document", "in_article"), RECURRENCE_CASES)
def test_recurrence_counts_the_answer_in_its_document_and_article(text: str, document: str, article: str,
                                                                  in_document: int, in_article: int) -> None:
    e = recurrence(text, normalize(document), normalize(article))
    assert e == {"doc_count": pytest.approx(math.log1p(in_document)),
                 "article_count": pytest.approx(math.log1p(in_article))}



def full_width(text: str) -> str:
    """ASCII's printable characters as their full-width forms (IAEA -> ＩＡＥＡ), the rest as they are."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@given(st.text(alphabet="IAEAnpt09-カナ漢字ｶﾅ ", min_size=1, max_size=6), st.integers(min_value=0, max_value=4))
def test_recurrence_counts_the_answer_however_it_is_written(word: str, times: int) -> None:
    # A span is counted as normalised: full or half width, upper or lower case, spaced or not
    # (ＩＡＥＡ, IAEA and i a e a are one name), in a text that says it ``times`` times.
    document = normalize("前文。" + "".join(f"{word}。" for _ in range(times)))
    e = recurrence(word, document, document)
    assert e == recurrence(full_width(word), document, document) == recurrence(word.lower(), document, document)
    if normalize(word):
        assert e["doc_count"] == e["article_count"] >= math.log1p(times)
    else:  # nothing left to count (spaces only)
        assert e == {"doc_count": 0.0, "article_count": 0.0}


def test_an_article_is_the_documents_that_share_a_title(tmp_path: Path) -> None:
    # Two paragraphs of one article (their first line, the title, says オランダ) and a document
    # of its own: what Retriever.short hands recurrence for a short answer in each.
    docs = tmp_path / "docs"
    docs.mkdir()
    texts = {"a.txt": "オランダ\n\nオランダは農産物の輸出国である。\n",
             "b.txt": "オランダ\n\n首都はアムステルダムである。\n",
             "c.txt": "ドミニカ国の首都はロゾーである。\n"}
    for name, text in texts.items():
        (docs / name).write_text(text, encoding="utf-8")
    build_index([docs], tmp_path / "index", "none")
    r = Retriever.load(tmp_path / "index")
    by_name = {Path(s.doc).name: i for i, s in enumerate(r.index.sources)}
    document, article = r.recurrence_texts(by_name["a.txt"])
    assert document == normalize(r.index.sources[by_name["a.txt"]].text)
    assert article.count("オランダ") == 3 and "アムステルダム" in article and "ロゾー" not in article
    assert r.recurrence_texts(by_name["c.txt"]) == (normalize(texts["c.txt"]),) * 2
    answer = r.ask("ドミニカ国の首都はどこか")
    assert answer.short is not None and answer.short.text == "ロゾー"


def part(name: str) -> float:
    """span_grammar's number for a part of speech of GRAMMAR_PARTS."""
    return float(GRAMMAR_PARTS.index(name) + 1)


def test_span_grammar_reads_the_words_that_touch_the_span() -> None:
    # 建築家に設計が[依頼]されている。: a noun cut out of a predicate, a verb (さ) and an
    # auxiliary (れ) after it, the particle が and the noun 設計 before it.
    sentence = "建築家に設計が依頼されている。"
    morphs = analyse(Tokenizer(), sentence)
    at = sentence.index("依頼")
    assert span_grammar(morphs, at, at + 2) == {
        "grammar_first": part("名詞-普通名詞"), "grammar_last": part("名詞-普通名詞"),
        "grammar_before_1": part("助詞"), "grammar_before_2": part("名詞-普通名詞"),
        "grammar_after_1": part("動詞"), "grammar_after_2": part("助動詞"),
        # が is named, 設計, さ and れ are other words
        "word_before_1": GRAMMAR_WORDS["が"], "word_before_2": 0.0, "word_after_1": 0.0, "word_after_2": 0.0}
    # at the sentence's edges there is nothing beyond the span (part 0, word -1): 建築家 opens
    # it, 。 closes it
    opening = span_grammar(morphs, 0, 3)
    assert (opening["grammar_last"], opening["grammar_before_1"], opening["grammar_before_2"]) == (
        part("接尾辞"), 0.0, 0.0)
    assert (opening["word_before_1"], opening["word_after_1"]) == (-1.0, GRAMMAR_WORDS["に"])
    closing = span_grammar(morphs, len(sentence) - 1, len(sentence))
    assert (closing["grammar_after_1"], closing["grammar_after_2"]) == (0.0, 0.0)
    assert (closing["word_after_1"], closing["word_after_2"]) == (-1.0, -1.0)


POS_NAMES = ("名詞-普通名詞-一般", "名詞-固有名詞-地名-国", "助詞-格助詞", "動詞-一般", "接尾辞-名詞的-一般",
             "感動詞-一般")
SURFACES = ("の", "を", "から", "、", "（", "ケプラー", "法則")


@given(st.lists(st.tuples(st.sampled_from(SURFACES), st.sampled_from(POS_NAMES)), min_size=1, max_size=9), st.data())
def test_span_grammar_is_the_parts_of_the_morphemes_at_and_around_the_offsets(
        words: list[tuple[str, str]], data: st.DataObject) -> None:
    # Any sentence (morphemes end to end) and any span of whole morphemes [i, j): the first and
    # last are morphemes i and j - 1, the others the GRAMMAR_REACH on each side, 0 past the edges
    # and for a part GRAMMAR_PARTS does not list (感動詞); the words beside it by GRAMMAR_WORDS,
    # 0 for another word (ケプラー), -1 past the edges.
    morphs, at = [], 0
    for surface, pos in words:
        morphs.append(Morpheme(surface, at, at + len(surface), pos, surface))
        at += len(surface)
    i = data.draw(st.integers(0, len(morphs) - 1))
    j = data.draw(st.integers(i + 1, len(morphs)))

    def expected(k: int) -> float:
        if not 0 <= k < len(morphs):
            return 0.0
        return next((part(name) for name in GRAMMAR_PARTS if morphs[k].pos.startswith(name)), 0.0)

    def word(k: int) -> float:
        return GRAMMAR_WORDS.get(morphs[k].surface, 0.0) if 0 <= k < len(morphs) else -1.0

    want = {"grammar_first": expected(i), "grammar_last": expected(j - 1)}
    for d in range(1, GRAMMAR_REACH + 1):
        want |= {f"grammar_before_{d}": expected(i - d), f"grammar_after_{d}": expected(j - 1 + d),
                 f"word_before_{d}": word(i - d), f"word_after_{d}": word(j - 1 + d)}
    assert span_grammar(morphs, morphs[i].start, morphs[j - 1].end) == want
    # a span that starts or ends inside a morpheme reads the morpheme it starts or ends in
    if morphs[i].end - morphs[i].start > 1 and j - 1 > i:
        assert span_grammar(morphs, morphs[i].start + 1, morphs[j - 1].end) == want


HEAD_CASES = [
    ("太陽系で…説明できるのは何の法則か", {"法則"}, "ケプラーの第3法則", 1.0),
    ("太陽系で…説明できるのは何の法則か", {"法則"}, "ケプラー", 0.0),  # cut short of its head
    ("日本共産党の地区組織の最高機関は何か。", {"最高機関"}, "地区党会議", 0.0),  # a topic before は何
    ("日本共産党の地区組織の最高機関は何か。", {"最高機関"}, "中央委員会の最高機関", 1.0),
    ("打楽器は何楽器と何楽器に分類されるか", {"打楽器", "楽器"}, "体鳴楽器", 1.0),  # the topic and the head: both
    ("ｵﾗﾝﾀﾞの首都はどこ", {"首都"}, "ｱﾑｽﾃﾙﾀﾞﾑ", 0.0),  # half-width katakana read as full width
    ("ルノアール・エンジンが発明されたのはいつ？", set(), "1858年", 0.0),  # no noun names the answer
]


@pytest.mark.parametrize(("question", "heads", "span", "ends"), HEAD_CASES)
def test_head_evidence_says_whether_the_span_ends_with_the_noun_asked(question: str, heads: set[str], span: str,
                                                                      ends: float) -> None:
    assert asked_heads(question) == heads
    assert head_evidence(asked_heads(question), span) == {"head_asked": float(bool(heads)), "head_end": ends}


# What asked_heads reads (wh-words, は, kanji, katakana in both widths, ー) and what it does not.
_QUESTION_CHARS = list("何なにんどのういうとはか最高機関法則首都ケプラーｹﾌﾟﾗｰｵﾗﾝﾀﾞ、。？?　 ABＡＢ1１")


@given(st.text(alphabet=st.sampled_from(_QUESTION_CHARS), max_size=24),
       st.text(alphabet=st.sampled_from(_QUESTION_CHARS), max_size=8))
def test_asked_heads_read_the_question_as_normalised(question: str, before: str) -> None:
    # A question and its NFKC form (ｹﾌﾟﾗｰ -> ケプラー, Ａ -> A) name the same heads; each head
    # is 1-4 kanji or katakana in NFKC form; and a span that ends with a head, whatever comes
    # before it (half-width katakana too), is read as ending with it.
    heads = asked_heads(question)
    assert heads == asked_heads(unicodedata.normalize("NFKC", question))
    for h in heads:
        assert 1 <= len(h) <= 4 and h == unicodedata.normalize("NFKC", h)
        assert head_evidence(heads, before + h) == {"head_asked": 1.0, "head_end": 1.0}
    assert head_evidence(heads, before)["head_asked"] == float(bool(heads))


def test_the_short_calibrator_reads_the_span_grammar_and_the_head() -> None:
    # what kotae computes of a short answer's span (Retriever.short and train_confidence both call
    # span_evidence) is what the shipped trees were fitted on
    features = set(shipped_calibration().short.features)
    sentence = "設計が依頼された。"
    morphs = analyse(Tokenizer(), sentence)
    read = span_evidence(Candidate(3, 5, "依頼", "term"), morphs, asked_heads("設計が何をされたか"), sentence, sentence)
    assert set(span_grammar(morphs, 3, 5)) | {"head_asked", "head_end", "doc_count", "article_count"} <= set(read)
    assert set(read) <= features
