"""Abstention by evidence: is the best sentence an answer, or only the nearest text?

The rules of ``Retriever.abstain`` catch a question that shares too few words with its
answer sentence. A question about something the corpus never mentions ("What is the
chemical formula of table salt?" of an encyclopedia without chemistry) often passes them:
some sentence always shares a word or two. What tells the two apart is how the answer
stands against the whole corpus, so each question gets an :class:`Evidence` record and a
small logistic model per question language says how likely the corpus answers it.

The models are fitted by benchmarks/train_abstain.py on JSQuAD validation with half of its
articles indexed: questions of the indexed articles are answerable, those of the other
articles are not (natural near-misses: same kind of text, same kind of question), with
cross-validation by article; the threshold is chosen there for the false-abstention target.
Weights and thresholds live in ``abstain.json`` beside this module.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.facts import COUNTERS

WEIGHTS = Path(__file__).with_name("abstain.json")

# What is known about the best sentence and the question, by name (Evidence's fields).
EVIDENCE = ("dense", "dense_z", "top_z", "coverage", "known", "missing_fact",
            "passage_coverage", "anchor_coverage", "absent", "held_rare", "lead", "second", "second_top",
            "unplaced")
LEAD_OVER = 10  # the best sentence's lead is measured over the 10th most similar


# A number a sentence states: any digit, or a kanji numeral with a counter after it (二度,
# 三か所, 十数人; not 一 of 一般 or 統一). Wider than the short-answer step's quantities on
# purpose: 2度の優勝 and 60日程度 are counts it has no counter for.
_NUMERAL = r"(?:[0-9０-９][0-9０-９,，.．]*|[一二三四五六七八九十百千数]+)[万億兆]?"
_NUMBER = re.compile(r"[0-9０-９]|[一二三四五六七八九十百千万数]+(?:"
                     + COUNTERS + r"|度|日|年|月|週|か所|ヶ所|カ所|箇所|世紀|代)")
# Counters that count the same thing as the one an English noun was given (times -> 回).
_SAME_COUNT = {"回": "回|度", "年間": "年間|年", "%": "%|％|パーセント|割", "か国": "か国|カ国|ヶ国|箇国",
               "人": "人|名"}


def states_number(text: str, counter: str | None = None) -> bool:
    """Whether a sentence states a number, of ``counter`` when the question names one: what
    "how many / how long" needs of it.

    Asked "How many times has Dominica won the Cricket World Cup?", the sentence
    …クリケット・ワールドカップで2度の優勝経験がある。 answers it although no short answer
    of the kind asked (a number of 回) is found in it: 度 counts times as 回 does. Whether the
    sentence has the fact is read off its text, not off what the short-answer step made of
    it; "How many ICBM silos…" still needs a number of 基, not the 5つ of 5つの核兵器国.
    """
    if counter is None:
        return _NUMBER.search(text) is not None
    same = _SAME_COUNT.get(counter, re.escape(counter))
    return re.search(_NUMERAL + "(?:" + same + ")", text) is not None


@dataclass(frozen=True)
class Evidence:
    """What the abstain step knows about a question and its best sentence."""

    dense: float  # the best sentence's cosine similarity to the question (e5)
    dense_z: float  # the same in standard deviations above the corpus's mean sentence
    top_z: float  # the corpus's most similar sentence, in the same units
    coverage: float  # share of the question's content words (or bridged terms) the sentence holds
    known: float  # share of them the indexed documents hold anywhere
    missing_fact: bool  # a date/person/place/quantity question whose sentence offers none
    # The rest by :func:`term_evidence` and :func:`lead` (defaults: nothing to judge by).
    passage_coverage: float = 1.0  # share of the question's terms (rarity-weighted) the best passage holds
    anchor_coverage: float = 1.0  # the same for its names, numbers and foreign words alone
    absent: float = 0.0  # share of those the indexed documents hold nowhere (and the dictionary names)
    held_rare: float = 1.0  # rarity of the rarest question term the sentence holds (1: a word no other passage has)
    lead: float = 0.0  # the most similar sentence's lead over the 10th, in sd of the corpus
    # The second cross-lingual vector (multilingual USE; English questions on an index that has it):
    second: float = 0.0  # the best sentence's similarity to the question (NaN: an English question, no USE vectors)
    second_top: float = 0.0  # the corpus's most similar sentence's
    # Share of the names that neither the dictionary nor the indexed documents can place: no
    # evidence either way (English: "arrhenius", said アレニウス in a passage the bridge never heard).
    unplaced: float = 0.0
    word: str = ""  # the name an abstention points to: absent from the corpus, or from the passage

    def vector(self, names: tuple[str, ...]) -> np.ndarray:
        return np.array([float(getattr(self, n)) for n in names])


@dataclass(frozen=True)
class Term:
    """One word (or bridged English term) of a question that an answer should share."""

    text: str  # as the question says it: オーストラリア, budapest
    rarity: float  # idf over the passages as a share of the largest possible (a word no passage has: 1)
    anchor: bool  # a name, number or foreign word: the question's topic rather than its frame
    in_sentence: bool
    in_passage: bool  # any passage that holds the best sentence
    in_corpus: bool
    named: bool = True  # the dictionary names it (English); a Japanese word is its own name


def term_evidence(terms: Sequence[Term]) -> dict[str, float | str]:
    """The term-level fields of :class:`Evidence`.

    Why names first: a generic word always finds a match in a large corpus. Asked
    "オーストラリアの首都はどこですか", JSQuAD answers with 憲法上の首都はアムステルダム: 首都 is held,
    and only the name, オーストラリア, says the sentence is about something else. An English
    name that the bridge cannot place at all ("Which river flows through Budapest?": no
    ブダペスト anywhere) is absent, and the river the passage names (メコン川) is no answer.

    Absent only when the dictionary names it: then the corpus holds none of the dictionary's
    Japanese for it (Budapest is ブダペスト to EDICT). A name the dictionary lacks too
    ("Svante Arrhenius" of a passage on アレニウス, "Tanegawa" for 種川) is unplaced: the
    bridge could not hear it, which says nothing of the corpus. (On JSQuAD's English dev
    questions, fitted with the two apart, absent weighs against an answer and unplaced for it.)
    """
    total = sum(t.rarity for t in terms)
    anchors = [t for t in terms if t.anchor]
    weight = sum(t.rarity for t in anchors)
    absent = [t for t in anchors if not t.in_corpus and t.named]
    unheld = sorted((t for t in anchors if not t.in_passage), key=lambda t: -t.rarity)
    return {
        "passage_coverage": sum(t.rarity for t in terms if t.in_passage) / total if total else 1.0,
        "anchor_coverage": sum(t.rarity for t in anchors if t.in_passage) / weight if weight else 1.0,
        "absent": len(absent) / len(anchors) if anchors else 0.0,
        "unplaced": sum(not t.in_corpus and not t.named for t in anchors) / len(anchors) if anchors else 0.0,
        "held_rare": max((t.rarity for t in terms if t.in_sentence), default=0.0) if terms else 1.0,
        "word": (absent or unheld or [Term("", 0.0, False, False, False, False)])[0].text,
    }


def lead(du: np.ndarray) -> float:
    """How far the corpus's most similar sentence leads the 10th, in sd of all sentences: a
    question about something the corpus holds finds a few sentences far ahead; one about
    something it lacks finds many vaguely alike."""
    live = du[du != 0.0]
    if len(live) <= LEAD_OVER:
        return 0.0
    ranked = np.partition(live, len(live) - LEAD_OVER)[len(live) - LEAD_OVER:]
    return (float(ranked.max()) - float(ranked.min())) / (float(live.std()) or 1.0)


def standing(du: np.ndarray, best: int) -> tuple[float, float]:
    """(best sentence, top sentence) similarity in standard deviations above the mean of all
    sentences: e5's cosines crowd into 0.7-0.9 whatever is asked, so a raw 0.83 means little,
    while 4 sd above the corpus means the question found its topic."""
    # Headings have no vector and score exactly 0: a quarter of JSQuAD's units, they would
    # halve the mean and double the spread, so the corpus is the units that have one.
    live = du[du != 0.0]
    if len(live) < 2:
        return 0.0, 0.0
    mean, sd = float(live.mean()), float(live.std()) or 1.0
    return (float(du[best]) - mean) / sd, (float(du.max()) - mean) / sd


@dataclass(frozen=True)
class AbstainModel:
    """A logistic model of P(answerable | evidence) for one question language."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float  # below this probability the question is abstained on
    # The coverage rule's abstention (Retriever.abstain_rules) stands only below this probability:
    # above it the model, which reads coverage along with the rest, answers (1.0: the rule always stands).
    overrule: float = 1.0

    def contributions(self, ev: Evidence) -> np.ndarray:
        x = (ev.vector(self.features) - np.array(self.mean)) / np.array(self.scale)
        # Evidence not measured (NaN: USE's similarity on an index built without USE vectors)
        # weighs nothing, as if at its mean, rather than as a similarity of 0.
        return np.where(np.isnan(x), 0.0, np.array(self.coef) * np.nan_to_num(x))

    def probability(self, ev: Evidence) -> float:
        z = self.intercept + float(self.contributions(ev).sum())
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def why(self, ev: Evidence, fact: str = "") -> str | None:
        """One sentence naming the weakest evidence when the probability is under the threshold
        (``fact``: the kind of fact asked, "a number of 発", for a missing one)."""
        p = self.probability(ev)
        if p >= self.threshold:
            return None
        weakest = self.features[int(np.argmin(self.contributions(ev)))]
        return (f"the corpus likely does not answer this (estimated {p:.1%} likely, "
                f"{self.threshold:.1%} needed): {describe(weakest, ev, fact)}")


def describe(name: str, ev: Evidence, fact: str = "") -> str:
    """The piece of evidence ``name`` in words, for the ``why`` of an abstention."""
    if name == "dense":
        return f"the best sentence's similarity to the question is only {ev.dense:.2f}"
    if name == "dense_z":
        return f"the best sentence is only {ev.dense_z:.1f} sd more similar than the corpus's average sentence"
    if name == "top_z":
        return f"no sentence of the corpus stands out (the closest is {ev.top_z:.1f} sd above average)"
    if name == "coverage":
        return f"the best sentence holds {ev.coverage:.0%} of the question's content words"
    if name == "known":
        return f"the indexed documents hold {ev.known:.0%} of the question's content words anywhere"
    if name == "passage_coverage":
        return f"the best passage holds {ev.passage_coverage:.0%} of the question's words (rare ones weighing most)"
    if name in ("absent", "anchor_coverage") and ev.word:
        # ev.word is a name absent from the corpus when there is one, else one the passage lacks
        where = "the indexed documents never mention" if ev.absent > 0 else "the best passage does not mention"
        return f"{where} {ev.word!r}"
    if name in ("absent", "anchor_coverage"):
        return f"the best passage holds {ev.anchor_coverage:.0%} of the question's names and numbers"
    if name == "unplaced":
        return "the question's names are ones neither the dictionary nor the indexed documents place"
    if name == "held_rare":
        return "the best sentence shares only common words with the question"
    if name in ("second", "second_top"):
        return (f"the second vector (USE) finds the question no closer than {ev.second_top:.2f} to any sentence "
                f"({ev.second:.2f} to the best)")
    if name == "lead":
        return "no sentence stands out: many are about as similar to the question as the best"
    return f"the question asks for {fact or 'a kind of fact'} and the best sentence has none"


def model_from(d: dict) -> AbstainModel:
    return AbstainModel(features=tuple(d["features"]), mean=tuple(d["mean"]), scale=tuple(d["scale"]),
                        coef=tuple(d["coef"]), intercept=float(d["intercept"]), threshold=float(d["threshold"]),
                        overrule=float(d.get("overrule", 1.0)))


@functools.cache
def models() -> dict[str, AbstainModel]:
    """The fitted models by question language, read on first use ({} without the file: an
    install without it abstains by the rules alone)."""
    if not WEIGHTS.exists():
        return {}
    data = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    return {lang: model_from(d) for lang, d in data["models"].items()}
