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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).with_name("abstain.json")

# What is known about the best sentence and the question, by name (Evidence's fields).
EVIDENCE = ("dense", "dense_z", "top_z", "coverage", "known", "missing_fact")


@dataclass(frozen=True)
class Evidence:
    """What the abstain step knows about a question and its best sentence."""

    dense: float  # the best sentence's cosine similarity to the question (e5)
    dense_z: float  # the same in standard deviations above the corpus's mean sentence
    top_z: float  # the corpus's most similar sentence, in the same units
    coverage: float  # share of the question's content words (or bridged terms) the sentence holds
    known: float  # share of them the indexed documents hold anywhere
    missing_fact: bool  # a date/person/place/quantity question whose sentence offers none

    def vector(self, names: tuple[str, ...]) -> np.ndarray:
        return np.array([float(getattr(self, n)) for n in names])


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

    def contributions(self, ev: Evidence) -> np.ndarray:
        x = (ev.vector(self.features) - np.array(self.mean)) / np.array(self.scale)
        return np.array(self.coef) * x

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
    return f"the question asks for {fact or 'a kind of fact'} and the best sentence has none"


def model_from(d: dict) -> AbstainModel:
    return AbstainModel(features=tuple(d["features"]), mean=tuple(d["mean"]), scale=tuple(d["scale"]),
                        coef=tuple(d["coef"]), intercept=float(d["intercept"]), threshold=float(d["threshold"]))


@functools.cache
def models() -> dict[str, AbstainModel]:
    """The fitted models by question language, read on first use ({} without the file: an
    install without it abstains by the rules alone)."""
    if not WEIGHTS.exists():
        return {}
    data = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    return {lang: model_from(d) for lang, d in data["models"].items()}
