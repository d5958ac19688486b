"""The abstain model: evidence in, a probability and a one-sentence why out."""

from __future__ import annotations

import numpy as np
import pytest

from retriever import Retriever
from retriever.abstain import (
    EVIDENCE,
    AbstainModel,
    Evidence,
    Term,
    lead,
    model_from,
    models,
    standing,
    states_number,
    term_evidence,
)
from retriever.english import BridgedTerm, anchor_words, heard_in, sound_of
from retriever.question import anchor_runs

# A model that trusts the answer sentence's standing and its coverage, nothing else.
MODEL = AbstainModel(features=EVIDENCE[:6], mean=(0.8, 2.0, 3.0, 0.5, 0.9, 0.0),
                     scale=(0.05, 1.0, 1.0, 0.25, 0.1, 1.0), coef=(0.0, 2.0, 0.0, 1.0, 0.0, 0.0), intercept=0.0,
                     threshold=0.2)
# One that reads the question's names alone.
NAMES = AbstainModel(features=("anchor_coverage", "absent"), mean=(0.5, 0.0), scale=(0.5, 0.5), coef=(2.0, -2.0),
                     intercept=0.0, threshold=0.2)


def evidence(dense_z: float = 2.0, coverage: float = 0.5) -> Evidence:
    return Evidence(dense=0.8, dense_z=dense_z, top_z=3.0, coverage=coverage, known=0.9, missing_fact=False)


# (evidence, abstains, words its why must hold)
WHY_CASES = [
    (evidence(), False, None),  # average on every count: p 0.5
    (evidence(dense_z=0.5), True, "sd more similar"),  # the sentence is no nearer than most: standing is weakest
    (evidence(dense_z=2.2, coverage=0.0), True, "holds 0% of the question's content words"),
    (evidence(dense_z=4.0, coverage=0.0), False, None),  # a standout sentence outweighs missing words
]


@pytest.mark.parametrize(("ev", "abstains", "words"), WHY_CASES)
def test_model_why_names_the_weakest_evidence(ev: Evidence, abstains: bool, words: str | None) -> None:
    why = MODEL.why(ev)
    assert (why is not None) == abstains
    if words is not None:
        assert why is not None and words in why and "\n" not in why


def test_probability_rises_with_the_evidence() -> None:
    ps = [MODEL.probability(evidence(dense_z=z)) for z in (0.0, 1.0, 2.0, 3.0)]
    assert ps == sorted(ps) and ps[0] < 0.2 < ps[-1] and MODEL.probability(evidence()) == pytest.approx(0.5)


def test_standing_is_in_standard_deviations() -> None:
    du = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])  # the heading (0) aside: mean 3, sd sqrt(2)
    best, top = standing(du, 4)
    assert best == pytest.approx(1 / np.sqrt(2)) and top == pytest.approx(2 / np.sqrt(2))


def test_shipped_models_cover_both_languages() -> None:
    shipped = models()
    assert set(shipped) == {"ja", "en"}
    for m in shipped.values():
        assert set(m.features) <= set(EVIDENCE) and len(m.coef) == len(m.features) and 0 < m.threshold < 1
        # A sentence nearer the question, and standing further out of the corpus, is evidence
        # of an answer (single weights may take either sign: the three are correlated).
        mean = dict(zip(m.features, m.mean, strict=True))
        base = Evidence(**{**BASE, **mean})
        nearer = Evidence(**{**BASE, **{n: v + (2 * s if n in ("dense", "dense_z", "top_z") else 0.0)
                                        for n, v, s in zip(m.features, m.mean, m.scale, strict=True)}})
        assert m.probability(nearer) > m.probability(base)
        held = Evidence(**{**BASE, **mean, "coverage": 1.0, "passage_coverage": 1.0})
        assert m.probability(held) > m.probability(base)  # holding the question's words too
        named = Evidence(**{**BASE, **mean, "anchor_coverage": 1.0, "absent": 0.0})
        unnamed = Evidence(**{**BASE, **mean, "anchor_coverage": 0.0, "absent": 1.0})
        assert m.probability(named) > m.probability(unnamed)  # the passage names what is asked about


BASE = {"dense": 0.8, "dense_z": 3.0, "top_z": 3.0, "coverage": 0.5, "known": 1.0, "missing_fact": False}


def term(text: str, rarity: float, anchor: bool = False, where: str = "", named: bool = True) -> Term:
    """where: "s" sentence (and so passage and corpus), "p" passage, "c" corpus only, "" nowhere;
    named: the dictionary names it."""
    return Term(text, rarity, anchor, where == "s", where in "sp" and where != "", where != "", named)


# (terms, expected fields of term_evidence)
TERM_CASES = [
    # オーストラリアの首都はどこですか -> 憲法上の首都はアムステルダム: 首都 held, the name not
    ([term("オーストラリア", 0.8, True, "c"), term("首都", 0.4, False, "s")],
     {"passage_coverage": pytest.approx(0.4 / 1.2), "anchor_coverage": 0.0, "absent": 0.0, "held_rare": 0.4,
      "word": "オーストラリア"}),
    # Which river flows through Budapest? -> a sentence on the Mekong: budapest is nowhere
    ([term("river", 0.5, False, "s"), term("flows", 0.4, False, "s"), term("budapest", 1.0, True, "")],
     {"anchor_coverage": 0.0, "absent": 1.0, "held_rare": 0.5, "word": "budapest"}),
    # "In what year did Svante Arrhenius put forward his idea?": neither name is one the
    # dictionary knows or the bridge heard, so neither says the corpus lacks them
    ([term("year", 0.2, False, "s"), term("svante", 1.0, True, "", named=False),
      term("arrhenius", 1.0, True, "", named=False)],
     {"anchor_coverage": 0.0, "absent": 0.0, "unplaced": 1.0, "word": "svante"}),
    # one name the dictionary knows and the corpus lacks, one it does not know: half absent
    ([term("budapest", 1.0, True, ""), term("tanegawa", 1.0, True, "", named=False)],
     {"absent": 0.5, "unplaced": 0.5, "word": "budapest"}),
    # everything held: nothing to point at
    ([term("iran", 0.3, True, "s"), term("president", 0.6, False, "s")],
     {"passage_coverage": 1.0, "anchor_coverage": 1.0, "absent": 0.0, "held_rare": 0.6, "word": ""}),
    # no names in the question: its names cannot be missing
    ([term("首都", 0.4, False, "p")], {"anchor_coverage": 1.0, "absent": 0.0, "held_rare": 0.0}),
    # no terms at all: nothing to judge by
    ([], {"passage_coverage": 1.0, "anchor_coverage": 1.0, "absent": 0.0, "held_rare": 1.0, "word": ""}),
]


@pytest.mark.parametrize(("terms", "expected"), TERM_CASES)
def test_term_evidence(terms: list[Term], expected: dict) -> None:
    got = term_evidence(terms)
    for name, value in expected.items():
        assert got[name] == value, name


@pytest.mark.parametrize(("fields", "words"), [
    ({"anchor_coverage": 0.0, "absent": 1.0, "word": "budapest"}, "never mention 'budapest'"),
    ({"anchor_coverage": 0.0, "absent": 0.0, "word": "オーストラリア"}, "does not mention 'オーストラリア'"),
])
def test_why_names_the_missing_name(fields: dict, words: str) -> None:
    why = NAMES.why(Evidence(**{**BASE, **fields}))
    assert why is not None and words in why and "\n" not in why


def test_lead_is_the_best_sentences_lead_over_the_tenth() -> None:
    flat = np.array([0.0] + [0.8] * 30)  # 30 alike sentences and a heading: nothing stands out
    assert lead(flat) == 0.0
    du = np.concatenate([flat, [0.9]])
    assert lead(du) > 5  # one sentence far ahead of the rest
    assert lead(np.array([0.0, 0.9, 0.8])) == 0.0  # fewer than 10 sentences: no 10th to lead


# (question, its anchors): names, acronyms and numbers, not the capital that starts it
ANCHOR_CASES = [
    ("Which river flows through Budapest?", {"budapest"}),
    ("How many NBA titles did the Lakers win in 2020?", {"nba", "lakers", "2020"}),
    ("Who became Iran's president?", {"iran"}),
    ("What is the capital?", set()),
]


@pytest.mark.parametrize(("question", "anchors"), ANCHOR_CASES)
def test_anchor_words(question: str, anchors: set[str]) -> None:
    assert anchor_words(question) == anchors


# (Japanese text, English name, heard in it by sound)
HEARD_CASES = [
    ("スヴァンテ・アレニウスが唱えた", "Arrhenius", True),  # one unknown morpheme, split at ・
    ("ウィキデータは", "Wikidata", True),  # w / u, data / deta
    ("ブダペストを流れる", "Budapest", True),
    ("メコン川とその支流が流れている。", "Budapest", False),
    ("モナコ公国の首都", "Mona", False),  # monako: the name would end inside a morpheme
    ("安倍首相", "Abe", False),  # too short to be heard safely
]


@pytest.mark.parametrize(("text", "name", "heard"), HEARD_CASES)
def test_heard_in(text: str, name: str, heard: bool, report_retriever: Retriever) -> None:
    from ingest.tokens import analyse

    assert heard_in(name, sound_of(analyse(report_retriever.tokenizer, text))) is heard


# (Japanese question, its anchor tokens)
JA_ANCHOR_CASES = [
    ("オーストラリアの首都はどこですか？", {"オーストラリア"}),
    ("DNAの二重らせん構造を1953年に発表した研究者は誰ですか？", {"dna", "1953"}),
    ("世界で一番長い川はどれですか？", set()),
]


# (Japanese question, its names: adjacent anchors are one)
RUN_CASES = [
    ("ラグビーワールドカップで最も多く優勝している国はどこですか？", [("ラグビー", "ワールド", "カップ")]),
    ("グスタフ・マーラーが生まれたのはいつですか？", [("グスタフ", "マーラー")]),
    ("DNAの二重らせん構造を1953年に発表した研究者は誰ですか？", [("dna",), ("1953",)]),
]


@pytest.mark.parametrize(("question", "runs"), RUN_CASES)
def test_anchor_runs(question: str, runs: list[tuple[str, ...]], report_retriever: Retriever) -> None:
    assert anchor_runs(report_retriever.analyse(question)) == runs


@pytest.mark.parametrize(("question", "anchors"), JA_ANCHOR_CASES)
def test_japanese_anchors(question: str, anchors: set[str], report_retriever: Retriever) -> None:
    assert set(report_retriever.analyse(question).anchors) == anchors



# Off-topic for the report: only the model catches these (the rules let them through:
# each word has a counterpart somewhere, and an English question has no fact rule for when/what).
OFF_TOPIC = ["What does a koala eat?", "How long should pasta boil?"]


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_the_model_abstains_where_the_rules_answer(report_retriever: Retriever, question: str) -> None:
    rules_only = report_retriever.with_settings(abstain_model=False)
    a = report_retriever.ask(question)
    assert a.abstained and a.why is not None and "likely does not answer" in a.why
    assert not rules_only.ask(question).abstained


# Off-topic for the report, naming what the dictionary knows and the report never says
# (エッフェル, ブダペスト, チェルノブイリ): the rule abstains whatever the model says.
ABSENT_NAMES = [("When was the Eiffel Tower built?", "eiffel"),
                ("Which river flows through Budapest?", "budapest"),
                ("What does the author say about the Chernobyl accident?", "chernobyl")]


@pytest.mark.parametrize(("question", "name"), ABSENT_NAMES)
def test_a_name_the_dictionary_knows_and_the_index_lacks_abstains(report_retriever: Retriever, question: str,
                                                                   name: str) -> None:
    for r in (report_retriever, report_retriever.with_settings(abstain_model=False)):
        a = r.ask(question)
        assert a.abstained and a.why == f"the indexed documents never mention {name!r} (a name the dictionary knows)"
    # Half the names suffice; with the share out of reach, the rule leaves them to the rest.
    lenient = report_retriever.with_settings(abstain_absent_names=1.01, abstain_model=False).ask(question)
    assert lenient.why is None or "never mention" not in lenient.why


# Off-topic Japanese questions of the report: the coverage rule catches them, reading the best
# sentence with its neighbours.
OFF_TOPIC_JA = ["オーストラリアの首都はどこですか？", "ラグビーワールドカップで最も多く優勝している国はどこですか？"]


@pytest.mark.parametrize("question", OFF_TOPIC_JA)
def test_japanese_off_topic_abstains_by_coverage(report_retriever: Retriever, question: str) -> None:
    a = report_retriever.ask(question)
    assert a.abstained and a.why is not None and "its neighbours hold" in a.why


def sure(logit: float, overrule: float) -> AbstainModel:
    """A model of one probability whatever the evidence (the logistic of ``logit``)."""
    return AbstainModel(features=("coverage",), mean=(0.0,), scale=(1.0,), coef=(0.0,), intercept=logit,
                        threshold=0.2, overrule=overrule)


# (model's logit, its overrule, question, abstains, words the why holds): the coverage rule
# stands where the model is not sure of an answer (p 0.007 under 0.5) or never overrules
# (1.0), and gives way where it is (p 0.993); the fact rule (何発, no number of 発) always stands.
OVERRULE_CASES = [(5.0, 0.5, OFF_TOPIC_JA[0], False, None),
                  (5.0, 1.0, OFF_TOPIC_JA[0], True, "its neighbours hold"),
                  (-5.0, 0.5, OFF_TOPIC_JA[0], True, "its neighbours hold"),
                  (5.0, 0.5, "中国が現在保有している核弾頭は何発か", True, "no number of 発")]


@pytest.mark.parametrize(("logit", "overrule", "question", "abstains", "words"), OVERRULE_CASES)
def test_the_model_overrules_the_coverage_rule_only_when_sure(report_retriever: Retriever,
                                                              monkeypatch: pytest.MonkeyPatch, logit: float,
                                                              overrule: float, question: str, abstains: bool,
                                                              words: str | None) -> None:
    monkeypatch.setattr("retriever.retriever.models", lambda: {"ja": sure(logit, overrule)})
    a = report_retriever.ask(question)
    assert a.abstained == abstains
    if words is not None:
        assert a.why is not None and words in a.why


def test_model_from_reads_the_overrule() -> None:
    d = {"features": ["coverage"], "mean": [0.5], "scale": [0.2], "coef": [1.0], "intercept": 0.0, "threshold": 0.1}
    assert model_from(d).overrule == 1.0  # a model without one leaves the rules standing
    assert model_from({**d, "overrule": 0.1}).overrule == 0.1
    assert models()["ja"].overrule < 1.0


def test_window_coverage_holds_at_least_the_sentences(report_retriever: Retriever) -> None:
    r = report_retriever
    q = r.analyse("イランの大統領に就任したのは誰か")
    window = [r._window_coverage(q, u) for u in range(len(r.index.units.text))]
    sentence = [r._coverage(q, u) for u in range(len(r.index.units.text))]
    assert all(w >= s for w, s in zip(window, sentence, strict=True))
    assert any(w > s for w, s in zip(window, sentence, strict=True))  # a neighbour adds words somewhere
    assert max(sentence) == 1.0  # the answer sentence (ペゼシュキアン…大統領に就任) holds them all


# The words of a bridge's keys, and of the dictionary's, for the cases below.
PHRASED = frozenset({"pacific", "ocean", "president"})
DICTIONARY = frozenset({"pacific", "ocean", "president", "budapest", "nordic"})
# (English word, its Japanese alternatives in the corpus, (absent, unplaced) as term_evidence counts it)
BRIDGED_CASES = [
    ("19th", (), (0.0, 0.0)),  # 19世紀: a number in another spelling, not a name the corpus lacks
    ("1860s", (), (0.0, 0.0)),
    ("budapest", (), (1.0, 0.0)),  # the dictionary's ブダペスト is nowhere in the corpus: absent
    ("nordic", (), (1.0, 0.0)),  # ノルディック, the dictionary's, is not either (北欧 is a paraphrase)
    ("pacific", (), (0.0, 0.0)),  # no entry of its own, but the corpus's 太平洋 is keyed "pacific ocean"
    ("arrhenius", (), (0.0, 1.0)),  # no dictionary names it: unplaced, no evidence either way
    ("president", ((("大統領",), 1.0),), (0.0, 0.0)),
    # a term of several words, word by word: placed when each is, named when the dictionary holds each
    ("pacific ocean", (), (0.0, 0.0)),
    ("nordic budapest", (), (1.0, 0.0)),
    ("pacific arrhenius", (), (0.0, 1.0)),
    ("svante arrhenius", (), (0.0, 1.0)),
]


@pytest.mark.parametrize(("word", "alternatives", "counted"), BRIDGED_CASES)
def test_an_unplaced_word_is_absent_only_when_the_dictionary_names_it(word: str, alternatives: tuple,
                                                                       counted: tuple[float, float]) -> None:
    term = Retriever.bridged_term(BridgedTerm(word, alternatives, "dictionary" if alternatives else "unbridged"),
                                   frozenset(word.split()), lambda token: 0.5, frozenset(), frozenset(), PHRASED,
                                   DICTIONARY)
    assert not term.in_sentence and not term.in_passage
    got = term_evidence([term])
    assert (got["absent"], got["unplaced"]) == counted


# (sentence, states a number): what an English "how many" needs of its best sentence
NUMBER_CASES = [
    ("過去にはクリケット・ワールドカップで2度の優勝経験がある。", True),  # 度: no counter "times" maps to
    ("水温8℃では、60日程度かかって孵化する。", True),
    ("全国に約千三百か所ある。", True),  # a kanji numeral with its counter
    ("十数人が参加した。", True),
    ("電子基準点は、その観測点である。", False),
    ("一般に統一された基準はない。", False),  # 一 inside words is no number
]


@pytest.mark.parametrize(("text", "stated"), NUMBER_CASES)
def test_states_number(text: str, stated: bool) -> None:
    assert states_number(text) is stated


# (sentence, the counter an English noun was given, states a number of it)
COUNTED_CASES = [
    ("過去にはクリケット・ワールドカップで2度の優勝経験がある。", "回", True),  # 度 counts times as 回 does
    ("比例票は参院選としては18年ぶりの10%越えを達成した。", "年間", True),
    ("5つの核兵器国の中で、唯一核弾頭数を増加させている。", "基", False),  # silos: a number of 基, not 5つ
    ("サイロを三百基建設した。", "基", True),
    ("190か国が加盟している。", "か国", True),
]


@pytest.mark.parametrize(("text", "counter", "stated"), COUNTED_CASES)
def test_states_number_of_a_counter(text: str, counter: str, stated: bool) -> None:
    assert states_number(text, counter) is stated


def test_an_english_quantity_is_missing_only_from_a_sentence_without_a_number(report_retriever: Retriever) -> None:
    r = report_retriever
    q = r.analyse("How much did the budget grow?")
    assert q.asked.kind == "quantity" and q.asked.counter is None
    texts = r.index.units.text
    with_number = next(u for u in range(len(texts)) if states_number(texts[u]))
    without = next(u for u in range(len(texts)) if not states_number(texts[u]))
    # No short answer was found in either: the sentence's own text decides.
    assert not r.missing_fact(q, with_number, None)
    assert r.missing_fact(q, without, None)
    assert r.missing_fact(r.analyse("何回会談したか"), with_number, None)  # Japanese: by the short answer, as before
