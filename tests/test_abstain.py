"""The abstain model: evidence in, a probability and a one-sentence why out."""

from __future__ import annotations

import numpy as np
import pytest

from retriever import Retriever
from retriever.abstain import EVIDENCE, AbstainModel, Evidence, models, standing

# A model that trusts the answer sentence's standing and its coverage, nothing else.
MODEL = AbstainModel(features=EVIDENCE, mean=(0.8, 2.0, 3.0, 0.5, 0.9, 0.0), scale=(0.05, 1.0, 1.0, 0.25, 0.1, 1.0),
                     coef=(0.0, 2.0, 0.0, 1.0, 0.0, 0.0), intercept=0.0, threshold=0.2)


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
        assert m.features == EVIDENCE and len(m.coef) == len(EVIDENCE) and 0 < m.threshold < 1
        # A sentence nearer the question, and standing further out of the corpus, is evidence
        # of an answer (single weights may take either sign: the three are correlated).
        base = Evidence(**dict(zip(EVIDENCE, m.mean, strict=True)))
        nearer = Evidence(**{n: v + (2 * s if n in ("dense", "dense_z", "top_z") else 0.0)
                             for n, v, s in zip(EVIDENCE, m.mean, m.scale, strict=True)})
        assert m.probability(nearer) > m.probability(base)
        held = Evidence(**{**dict(zip(EVIDENCE, m.mean, strict=True)), "coverage": 1.0})
        assert m.probability(held) > m.probability(base)  # holding the question's words too


# Off-topic for the report: only the model catches these (the rules let them through:
# each word has a counterpart somewhere, and an English question has no fact rule for when/what).
OFF_TOPIC = ["When was the Eiffel Tower built?", "What does a koala eat?"]


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_the_model_abstains_where_the_rules_answer(report_retriever: Retriever, question: str) -> None:
    rules_only = report_retriever.with_settings(abstain_model=False)
    a = report_retriever.ask(question)
    assert a.abstained and a.why is not None and "likely does not answer" in a.why
    assert not rules_only.ask(question).abstained
