"""Fit kotae's confidence calibrators on JSQuAD v1.3 validation (JGLUE, CC BY-SA 4.0), with
cross-validation by article, and ship them as retriever/confidence.json.

Needs: the project installed with the bench extra, ../shared/eval/jsquad-valid-v1.3.json.
Run: python benchmarks/train_confidence.py [--index DIR] [--folds 5]

What it does:
1. Runs kotae (defaults, open retrieval over all 1,145 contexts) on every question and keeps,
   per question, every candidate answer sentence with its named features and coverage, and
   the sentences its short-answer step reads. Cached by the index, the questions and the code
   of ingest/ and retriever/ (a rerun with none of them changed only fits, in seconds).
2. Sentences: the candidates are ranked by a sentence ranker trained without the question's
   fold (train_sentence_ranker.fit; hand-set weights for questions other than Japanese); the
   evidence of the top ones (retriever.confidence.sentence_evidence, the function kotae runs)
   is labelled by whether the sentence holds a gold answer; boosted trees (LightGBM, shipped as
   retriever.confidence.Forest) for the picks (the answer sentences), and a logistic model then
   an isotonic step for the runners-up (the cited passages' best sentences), are fitted on four
   folds of articles and judged on the fifth.
3. Short answers: the candidates (in the held-out sentence ranker's pick) are ranked by a
   short-answer ranker trained without the
   question's fold (train_short_ranker.fit), as kotae's ranker will rank questions it never
   saw; their evidence (short_evidence, with the held-out sentence confidence, and
   short_context: the rival, the characters around the span, the same text in the next
   sentences by rank; and span_evidence, as kotae reads it: recurrence, how often its text
   recurs in its document and article; span_grammar, the parts of speech and the particles at
   and around the span; head_evidence, whether it ends with the noun the question names its
   answer by) is labelled by exact match with a gold answer, and calibrated by boosted
   trees (SHORT_FOREST). Of the ranker's best three, the most probable is the short answer
   (offered; retriever.confidence.by_confidence, as kotae picks it).
4. Thresholds: for short answers, the smallest confidence (in steps of 0.01) at which the
   held-out precision of those shown is at least 0.91 (0.90 asked, one point to spare); for
   answer sentences, the smallest in steps of 0.01 at which the held-out precision on folds
   0-2 (DEV_FOLDS) is at least 0.95, then judged on folds 3-4 too.
5. Fits on everything (held-out sentence confidences and ranker scores as inputs) and writes
   retriever/confidence.json and benchmarks/results/confidence.json (held-out ECE, precision
   and coverage at the thresholds, the risk-coverage curve).

Honest about leaks: the short ranker's features and the list of evidence were written while
looking at JSQuAD; the calibrator of one fold reads ranker scores of other folds' questions
that were produced by rankers which saw the held-out fold. Both make the figures, if
anything, a little optimistic.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common import RESULTS, ROOT, SHARED, exact, write_result
from scipy.optimize import minimize
from train_sentence_ranker import fit as fit_sentence_ranker
from train_sentence_ranker import folds_by_article
from train_short_ranker import HEURISTIC_W, recorded, training_inputs
from train_short_ranker import fit as fit_ranker

from ingest.tokens import Morpheme
from retriever import Answer, Retriever, Settings
from retriever.confidence import (
    AGREEMENT_SENTENCES,
    RERANK_SENTENCES,
    Calibration,
    Calibrator,
    Forest,
    area_under_risk_coverage,
    asked_heads,
    by_confidence,
    expected_calibration_error,
    logit,
    pick_lead,
    rerank_evidence,
    reranked,
    risk_coverage,
    sentence_evidence,
    short_context,
    short_evidence,
    short_summary,
    span_evidence,
    topic_evidence,
)
from retriever.evaluate import QuestionSet, found, read_questions
from retriever.question import Question
from retriever.retriever import SENTENCE_FEATURES, Ranking, Scope, ShortCandidates
from retriever.short import FEATURES, Candidate, first_candidates, ranked

JSQUAD = SHARED / "eval" / "jsquad-valid-v1.3.json"
ENGLISH = [ROOT / "benchmarks" / "data" / f"jsquad_en.{part}.jsonl" for part in ("a1", "a2")]
SHIPPED = Path(__file__).resolve().parents[1] / "retriever" / "confidence.json"
DATA = "JSQuAD v1.3 validation (JGLUE by Yahoo Japan, CC BY-SA 4.0)"
DEV_FOLDS = 3  # folds whose held-out confidences choose the answer-sentence threshold
SENTENCES_KEPT = 5  # candidate sentences per question the sentence calibrator learns from
SHORTS_KEPT = 3  # short-answer candidates per question (answer.short_candidates)
L2 = 1.0
Scored = list[tuple[Candidate, np.ndarray]]  # one question's short-answer candidates and features


# Collecting needs no calibration (none may exist yet): every probability is 0.5 meanwhile.
UNINFORMED = Calibrator((), (), 0.0, (), ())
COLLECTING = Calibration(UNINFORMED, UNINFORMED, 0.5, 0.5)


class Recorder(Retriever):
    """kotae as it is, keeping what its sentence ranking and short-answer step are given."""

    seen: list[dict]

    def _answer(self, question: str, du: np.ndarray | None, dp: np.ndarray | None, k: int,
                scope: Scope | None = None) -> Answer:
        self.seen.append({})
        return super()._answer(question, du, dp, k, scope)

    def sentence_weights(self, language: str) -> np.ndarray:
        # Every feature is computed (kotae skips those no weight looks at), for the sentence
        # ranker to learn from; a weight of 1e-9 changes no ranking.
        w = super().sentence_weights(language)
        return np.where(w == 0, 1e-9, w)

    def _sentence_features(self, q: Question, cand: list[int], fused: np.ndarray,
                           du: np.ndarray | None, known: Ranking | None = None) -> np.ndarray:
        x = super()._sentence_features(q, cand, fused, du, known)
        if "x" not in self.seen[-1]:  # the ranking that picks the answer, not a citation's scoring
            idf = self._idf(q)
            self.seen[-1].update({"lang": q.language, "kind": q.asked.kind, "x": x.round(5).tolist(),
                                  "coverage": [round(self._coverage(q, u, idf), 5) for u in cand],
                                  "next": self.next_candidates(cand),
                                  "texts": [self.index.units.text[u] for u in cand],
                                  "titles": [self.title_of(u) for u in cand], "as_read": self.question_as_read(q),
                                  "docs": [int(self.index.units.doc[u]) for u in cand]})
        return x

    def short_candidates(self, q: Question, units: list[int]) -> ShortCandidates | None:
        self.seen[-1].update(question=q.text, sentences=[self.index.units.text[u] for u in units])
        return super().short_candidates(q, units)


def collect(index: Path, qset: QuestionSet) -> list[dict]:
    """Per question: gold answers, article, abstention, candidate sentences, short-step input."""
    return recorded(index, qset, "confidence-inputs", lambda: Recorder.load(index, calibration=COLLECTING), k=3)


@dataclass(frozen=True)
class Items:
    """Candidates of many questions as evidence rows: ``q`` the question, ``top`` the pick."""

    x: np.ndarray
    y: np.ndarray
    q: np.ndarray
    top: np.ndarray


def stack(rows: list[dict], names: tuple[str, ...]) -> Items:
    """Evidence dicts (key "e") with labels (key "y") into arrays, in ``names`` order."""
    return Items(np.array([[r["e"].get(n, 0.0) for n in names] for r in rows]).reshape(len(rows), len(names)),
                 np.array([r["y"] for r in rows], dtype=float), np.array([r["q"] for r in rows]),
                 np.array([r["rank"] == 0 for r in rows]))


def sentence_items(rows: list[dict], s_by_q: list[np.ndarray], cands: list[Scored],
                   w_by_q: list[np.ndarray], orders: list[list[int] | None]) -> list[dict]:
    """The top candidate sentences of each question (in ``orders[q]``, the pick first; scored by
    ``s_by_q[q]``) with their evidence and label; the answer sentence's evidence includes its
    short-answer candidates, ranked by ``w_by_q[q]``."""
    out = []
    for q, row in enumerate(rows):
        order = orders[q]
        if order is None:
            continue
        x = np.array(row["x"])
        scores = x @ s_by_q[q]
        short = short_summary(ranked(cands[q], row["lang"], w_by_q[q])) if cands[q] else None
        for rank, i in enumerate(order[:SENTENCES_KEPT]):
            named = dict(zip(SENTENCE_FEATURES, x[i], strict=True))
            lead = pick_lead(scores, x, SENTENCE_FEATURES, int(i), row["next"][i])
            e = sentence_evidence(scores, int(i), named, row["coverage"][i], row["kind"], short if rank == 0 else None,
                                  lead, topic_of(row, int(i)))
            out.append({"q": q, "rank": rank, "y": found(row["answers"], row["texts"][i]), "e": e})
    return out


def topic_of(row: dict, i: int) -> dict[str, float]:
    """Whether candidate ``i`` of a recorded question leaves the answer to what was named before it."""
    return topic_evidence(row["titles"][i], row["texts"][i], row["as_read"])


def short_items(rows: list[dict], cands: list[Scored], w_by_q: list[np.ndarray],
                sentence_p: dict[int, float], texts: list[list[str] | None],
                documents: list[tuple[str, str]], morphemes: Callable[[str], Sequence[Morpheme]]) -> list[dict]:
    """The top short-answer candidates of each question, ranked by ``w_by_q[q]``, in the first
    of ``texts[q]`` (the candidate sentences best first, the others read for agreement), whose
    document's and article's texts are ``documents[q]`` (Retriever.recurrence_texts); the
    sentence's ``morphemes`` (Retriever.morphemes, as kotae reads them) give span_grammar."""
    out = []
    for q, (row, scored) in enumerate(zip(rows, cands, strict=True)):
        if not scored or q not in sentence_p:
            continue
        best = ranked(scored, row["lang"], w_by_q[q])
        scores = np.array([s for _, s, _ in best])
        sentences = texts[q] or [""]
        morphs, heads = morphemes(sentences[0]), asked_heads(row["question"])
        for rank, (c, _, x) in enumerate(best[:SHORTS_KEPT]):
            context = short_context(best, rank, sentences[0], sentences[1:AGREEMENT_SENTENCES + 1]) | span_evidence(
                c, morphs, heads, *documents[q])
            e = short_evidence(scores, rank, dict(zip(FEATURES, x, strict=True)), sentence_p[q], row["kind"], context)
            out.append({"q": q, "rank": rank, "y": any(exact(c.text, g) for g in row["answers"]), "e": e})
    return out


def isotonic(p: np.ndarray, y: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Pool-adjacent-violators: a non-decreasing map from ``p`` to the rate of ``y``, as knots
    (mean ``p`` of each pooled block) and values (its rate, with one right and one wrong added
    so that no block claims a certainty of 0 or 1), interpolated between."""
    order = np.argsort(p, kind="stable")
    blocks: list[list[float]] = []  # [sum p, sum y, count]
    for pi, yi in zip(p[order], y[order], strict=True):
        blocks.append([pi, yi, 1.0])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            a, b = blocks.pop(), blocks.pop()
            blocks.append([a[0] + b[0], a[1] + b[1], a[2] + b[2]])
    return (tuple(float(b[0] / b[2]) for b in blocks), tuple(float((b[1] + 1) / (b[2] + 2)) for b in blocks))


def fit_calibrator(items: Items, names: tuple[str, ...], isotonic_step: bool = True) -> Calibrator:
    """Logistic regression (L2, L-BFGS) on standardised evidence, then PAV on its output."""
    mu, sd = items.x.mean(0), items.x.std(0)
    sd[sd == 0] = 1.0
    z = (items.x - mu) / sd
    y = items.y

    def loss(wb: np.ndarray) -> tuple[float, np.ndarray]:
        s = z @ wb[:-1] + wb[-1]
        p = 1 / (1 + np.exp(-np.clip(s, -30, 30)))
        value = -(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)).sum() + L2 * (wb[:-1] @ wb[:-1])
        g = p - y
        return value, np.r_[z.T @ g + 2 * L2 * wb[:-1], g.sum()]

    wb = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B").x
    cal = Calibrator(names, tuple(wb[:-1]), float(wb[-1]), tuple(mu), tuple(sd))
    if not isotonic_step:
        return cal
    # The isotonic step sees every kept candidate, not only the picks: the runners-up are
    # shown with confidences too (answer.short_candidates, citations).
    knots, values = isotonic(cal.logistic(items.x), items.y)
    return Calibrator(names, cal.weights, cal.bias, cal.mean, cal.scale, knots, values)


def offered(q: np.ndarray, p: np.ndarray, languages: list[str]) -> np.ndarray:
    """Which item of each question kotae offers as its short answer (by_confidence: for a
    Japanese question the most probable of its candidates, the first of equals); ``q`` the
    question of each item, items of a question together and in the ranker's order, and
    ``languages[q]`` the question's language."""
    out = np.zeros(len(p), dtype=bool)
    starts = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
    for a, b in zip(starts, np.r_[starts[1:], len(q)], strict=True):
        out[a + by_confidence(p[a:b].tolist(), languages[int(q[a])])[0]] = True
    return out


def subset(items: Items, mask: np.ndarray) -> Items:
    return Items(items.x[mask], items.y[mask], items.q[mask], items.top[mask])


def cross_validate(items: Items, names: tuple[str, ...], fold: np.ndarray, folds: int,
                   isotonic_step: bool = True, forest: dict | None = None) -> np.ndarray:
    """Held-out probabilities of every item, each from a calibrator (a logistic model, or trees
    with the LightGBM parameters ``forest``) that did not see its fold."""
    p = np.zeros(len(items.y))
    for k in range(folds):
        test = fold[items.q] == k
        train = subset(items, ~test)
        model = fit_forest(train, names, forest) if forest else fit_calibrator(train, names, isotonic_step)
        p[test] = model.probabilities(items.x[test])
    return p


# The answer sentence's trees, chosen on the dev folds (0-2) by the share marked confident at
# 0.95: 7 leaves, 300 rounds of 0.03, at least 40 picks a leaf. Sampling is seeded and on one
# thread, so a rerun writes the same trees.
FOREST = {"objective": "binary", "num_leaves": 7, "learning_rate": 0.03, "min_data_in_leaf": 40,
          "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "seed": 0, "num_threads": 1,
          "deterministic": True, "verbose": -1}
FOREST_ROUNDS = 300
# The short answer's trees: 15 leaves (7 marked fewer answers at 0.90 precision on the dev folds,
# 0.346 of the questions against 0.350; 31 no more), the rest as for the answer sentence.
SHORT_FOREST = {**FOREST, "num_leaves": 15}


def fit_forest(items: Items, names: tuple[str, ...], params: dict | None = None) -> Forest:
    """Boosted trees (LightGBM, the bench extra) on the evidence, as the numpy-only Forest kotae runs;
    with a ranking objective (lambdarank), each question's items are one group to order."""
    import lightgbm

    params = params or FOREST
    group = None
    if params["objective"] == "lambdarank":
        if (np.diff(items.q) < 0).any():
            raise SystemExit("a ranking's items must come question by question, in the order of the questions")
        group = np.unique(items.q, return_counts=True)[1]
    booster = lightgbm.train(params, lightgbm.Dataset(items.x, items.y, group=group), FOREST_ROUNDS)
    forest = forest_of(booster.dump_model(), names)
    if not np.allclose(forest.raw(items.x), booster.predict(items.x, raw_score=True), atol=1e-6):
        raise SystemExit("the trees read back from LightGBM's dump do not give its own scores; "
                         "check forest_of against this LightGBM version")
    return forest


def forest_of(dump: dict, names: tuple[str, ...]) -> Forest:
    """LightGBM's dump_model() as a Forest: each tree's nodes in preorder, the root first."""
    columns: list[list[tuple]] = [[], [], [], [], []]  # feature, threshold, left, right, value
    for info in dump["tree_info"]:
        nodes: list[tuple] = []
        preorder(info["tree_structure"], nodes)
        for column, values in zip(columns, zip(*nodes, strict=True), strict=True):
            column.append(values)
    feature, threshold, left, right, value = (tuple(c) for c in columns)
    return Forest(names, feature, threshold, left, right, value)


def preorder(node: dict, nodes: list[tuple]) -> int:
    """Append ``node`` and those under it to ``nodes`` as (feature, threshold, left, right, value)
    rows, a leaf's feature -1; returns the row of ``node``."""
    at = len(nodes)
    nodes.append(())
    if "leaf_value" in node:
        nodes[at] = (-1, 0.0, 0, 0, float(node["leaf_value"]))
        return at
    if node["decision_type"] != "<=":
        raise SystemExit(f"a split of kind {node['decision_type']!r}: only numeric splits (<=) are read")
    left, right = preorder(node["left_child"], nodes), preorder(node["right_child"], nodes)
    nodes[at] = (int(node["split_feature"]), float(node["threshold"]), left, right, 0.0)
    return at


def threshold(p: np.ndarray, y: np.ndarray, precision: float, step: float = 0.05,
              fallback: float | None = None, least: int = 1) -> float:
    """The smallest multiple of ``step`` whose shown items (``least`` of them or more) are right at
    least ``precision`` of the time; ``fallback`` (default: the last step) when none is."""
    for t in np.arange(step, 1.0, step):
        shown = p >= t
        if shown.sum() >= least and y[shown].mean() >= precision:
            return round(float(t), 2)
    return round(1.0 - step, 2) if fallback is None else fallback


NEVER = 1.01  # a threshold no probability reaches: nothing is shown
ENGLISH_LEAST = 20  # English short answers shown on the dev set for its threshold to be read from them


# Short answers: the precision curve is flat enough near 0.9 that steps of 0.05 gave away a
# fifth of the coverage (0.80: 0.89 precision, 0.85: 0.92); steps of 0.01 with one point of
# precision to spare (0.91) for question sets the threshold was not chosen on.
SHORT_PRECISION = 0.91
SHORT_STEP = 0.01


def figures(p: np.ndarray, y: np.ndarray, t: float, n_questions: int) -> dict:
    shown = p >= t
    return {"picks": len(p), "accuracy": round(float(y.mean()), 4),
            "ece_10_bins": round(expected_calibration_error(p, y), 4), "threshold": t,
            "precision_at_threshold": round(float(y[shown].mean()), 4) if shown.any() else None,
            "coverage_at_threshold": round(float(shown.sum()) / n_questions, 4),
            "area_under_risk_coverage": round(area_under_risk_coverage(p, y), 4),
            "risk_coverage": [{k: round(v, 4) for k, v in r.items()} for r in risk_coverage(p, y)]}


def plot(curves: dict[str, tuple[np.ndarray, np.ndarray, float]], n_questions: int, path: Path) -> None:
    """The held-out risk-coverage curves (precision of what is shown against the share of
    questions shown, as the threshold falls), the default thresholds marked."""
    import matplotlib

    matplotlib.use("Agg")  # a file, no display
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for label, (p, y, t) in curves.items():
        points = risk_coverage(p, y, thresholds=np.round(np.arange(0.0, 1.0001, 0.01), 2))
        ax.plot([q["coverage"] * len(p) / n_questions for q in points], [q["precision"] for q in points], label=label)
        at = risk_coverage(p, y, thresholds=[t])[0]
        ax.scatter([at["coverage"] * len(p) / n_questions], [at["precision"]], zorder=3)
        ax.annotate(f"default {t:.2f}", (at["coverage"] * len(p) / n_questions, at["precision"]),
                    textcoords="offset points", xytext=(6, -12), fontsize=8)
    ax.set_xlabel("share of questions shown")
    ax.set_ylabel("precision of what is shown")
    ax.set_xlim(0, 1)
    ax.set_ylim(0.4, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title("kotae on JSQuAD v1.3 validation, held out by article\n(JGLUE, Yahoo Japan, CC BY-SA 4.0)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"wrote {path}")


def oof_sentence_weights(rows: list[dict], r: Retriever, fold: np.ndarray, folds: int) -> list[np.ndarray]:
    """Per question, the sentence ranker kotae would use had it not seen the question's fold:
    learned for Japanese questions (train_sentence_ranker.fit), hand-set for the others."""
    items = [(np.array(row["x"], dtype=float), np.array([found(row["answers"], t) for t in row["texts"]]))
             if not row["abstained"] and row.get("x") else None for row in rows]
    ja = np.array([row["lang"] == "ja" for row in rows])
    out = [r.sentence_weights(row["lang"]) for row in rows]
    for k in range(folds):
        w = fit_sentence_ranker([items[i] for i in np.flatnonzero((fold != k) & ja) if items[i] is not None])
        for i in np.flatnonzero((fold == k) & ja):
            out[i] = w
    return out


def linear_orders(rows: list[dict], s_by_q: list[np.ndarray]) -> list[list[int] | None]:
    """Per question, its candidates (positions in its row) best first by ``s_by_q[q]``, or None
    when kotae abstained before ranking."""
    return [[int(i) for i in np.argsort(-(np.array(row["x"]) @ w), kind="stable")]
            if not row["abstained"] and row.get("x") else None for row, w in zip(rows, s_by_q, strict=True)]


def ordered(rows: list[dict], orders: list[list[int] | None]) -> list[list[str] | None]:
    """Per question, the candidate sentences in ``orders[q]``, or None when kotae abstained before ranking."""
    return [None if order is None else [row["texts"][i] for i in order]
            for row, order in zip(rows, orders, strict=True)]


def rerank_items(rows: list[dict], s_by_q: list[np.ndarray], orders: list[list[int] | None],
                 keep: int = RERANK_SENTENCES) -> list[dict]:
    """The ``keep`` best candidates of each Japanese question by ``orders[q]`` (the linear ranker's)
    that may compete (the first, and those holding Settings.abstain_coverage of the question's words
    by themselves: Retriever.rerank),
    with the second stage's evidence (rerank_evidence) and whether each holds a gold answer."""
    out = []
    least = Settings().abstain_coverage
    for q, (row, order) in enumerate(zip(rows, orders, strict=True)):
        if order is None or row["lang"] != "ja":
            continue
        competing = [(rank, i) for rank, i in enumerate(order[:keep]) if rank == 0 or row["coverage"][i] >= least]
        if len(competing) < 2:
            continue
        x = np.array(row["x"])
        scores = x @ s_by_q[q]
        for rank, i in competing:
            e = rerank_evidence(scores, x, SENTENCE_FEATURES, i, rank, row["next"][i], row["coverage"][i],
                                row["kind"], topic_of(row, i))
            out.append({"q": q, "rank": rank, "y": found(row["answers"], row["texts"][i]), "e": e})
    return out


# The second stage's trees: the answer sentence's (FOREST) with a ranking objective (lambdarank,
# each question's best three one group), chosen on folds 0-2 by the share of picks right: 0.836
# with the linear ranker alone; 0.843 with FOREST's binary objective (0.845 over the best two,
# 0.843 over four, 0.841 over five); 0.847 with lambdarank (over two or four: 0.847); without
# topic_elsewhere, 0.845. Folds 3-4 were read once, for the chosen trees.
RERANK_FOREST = {**FOREST, "objective": "lambdarank", "lambdarank_truncation_level": RERANK_SENTENCES}


def rerank(rows: list[dict], s_by_q: list[np.ndarray], fold: np.ndarray, folds: int
           ) -> tuple[list[list[int] | None], dict, dict]:
    """The second stage (retriever.confidence.rerank_evidence) held out by article: per question,
    the candidates in the order kotae would give them had neither stage seen its fold; the
    figures (share of picks right, linear ranker alone and re-ranked, on folds 0-2 and 3-4);
    and the trees to ship, fitted on every question."""
    linear = linear_orders(rows, s_by_q)
    r_rows = rerank_items(rows, s_by_q, linear)
    names = tuple(sorted({k for it in r_rows for k in it["e"]}))
    items = stack(r_rows, names)
    p = cross_validate(items, names, fold, folds, forest=RERANK_FOREST)
    orders = list(linear)
    ranks = np.array([it["rank"] for it in r_rows])
    for q in np.unique(items.q):
        mine = np.flatnonzero(items.q == q)
        scores = np.full(ranks[mine].max() + 1, -np.inf)  # a candidate that does not compete: never first
        scores[ranks[mine]] = p[mine]
        orders[int(q)] = reranked(linear[int(q)], scores.tolist())
    right = {name: np.array([o is not None and found(row["answers"], row["texts"][o[0]])
                             for row, o in zip(rows, order_of, strict=True)])
             for name, order_of in (("linear", linear), ("reranked", orders))}
    dev = fold < DEV_FOLDS
    moved = np.array([a is not None and a[0] != b[0] for a, b in zip(linear, orders, strict=True)])
    summary = {"candidates": RERANK_SENTENCES, "moved": round(float(moved.mean()), 4),
               **{f"{part}_{name}": round(float(v[m].mean()), 4) for name, v in right.items()
                  for part, m in (("all", np.ones_like(dev)), ("dev_folds", dev), ("held_out_folds", ~dev))}}
    return orders, summary, fit_forest(items, names, RERANK_FOREST).as_dict()


def oof_ranker_weights(rows: list[dict], cands: list[Scored], fold: np.ndarray,
                       folds: int) -> list[np.ndarray]:
    """Per question, the short-answer ranker kotae would use had it not seen the question's
    fold: learned for Japanese questions, hand-set for the others."""
    golds = [row["answers"] for row in rows]
    ja = np.array([row["lang"] == "ja" for row in rows])
    out: list[np.ndarray] = [HEURISTIC_W] * len(rows)
    for k in range(folds):
        train = np.flatnonzero((fold != k) & ja)
        w = fit_ranker([[(c.text, x) for c, x in cands[i]] for i in train], [golds[i] for i in train])
        for i in np.flatnonzero((fold == k) & ja):
            out[i] = w
    return out


def japanese(rows: list[dict], r: Retriever, folds: int, short_forest: dict | None = None) -> tuple[dict, dict, dict]:
    """Steps 2-4 on the Japanese questions: held-out figures, the calibration to ship, the curves;
    the short answers' trees with the LightGBM parameters ``short_forest`` (SHORT_FOREST)."""
    short_forest = short_forest or SHORT_FOREST
    n = len(rows)
    fold = folds_by_article(rows, folds)
    s_by_q = oof_sentence_weights(rows, r, fold, folds)
    orders, rerank_figures, rerank_shipped = rerank(rows, s_by_q, fold, folds)
    texts = ordered(rows, orders)
    cands = featurise(rows, r, [t[:1] if t else None for t in texts])
    w_by_q = oof_ranker_weights(rows, cands, fold, folds)
    s_items, s_p, u_p, sentence_shipped = sentence_calibrators(sentence_items(rows, s_by_q, cands, w_by_q, orders),
                                                               fold, folds)
    sentence_p = {int(q): float(p) for q, p in zip(s_items.q, s_p, strict=True)}
    # The sentence threshold, in steps of 0.01, is chosen on the dev folds alone (0 to DEV_FOLDS - 1)
    # and judged on the others as well ("sentence_held_out_folds").
    dev = fold[s_items.q] < DEV_FOLDS
    s_t = threshold(s_p[dev], s_items.y[dev], 0.95, step=0.01)
    u_t = threshold(u_p[dev], s_items.y[dev], 0.95, step=0.01)  # the same rule for the untitled trees
    documents = [documents_of(r, row, order[0]) if order else ("", "") for row, order in zip(rows, orders, strict=True)]
    h_items = stack(h_rows := short_items(rows, cands, w_by_q, sentence_p, texts, documents, r.morphemes),
                    h_names := tuple(sorted({k for it in h_rows for k in it["e"]})))
    h_p = cross_validate(h_items, h_names, fold, folds, forest=short_forest)
    h_top = offered(h_items.q, h_p, [row["lang"] for row in rows])
    h_t = threshold(h_p[h_top], h_items.y[h_top], SHORT_PRECISION, SHORT_STEP)
    held_out = {"folds": folds, "by": "article", "questions": n, "rerank": rerank_figures,
                "sentence": figures(s_p, s_items.y, s_t, n),
                "sentence_dev_folds": figures(s_p[dev], s_items.y[dev], s_t, int((fold < DEV_FOLDS).sum())),
                "sentence_held_out_folds": figures(s_p[~dev], s_items.y[~dev], s_t, int((fold >= DEV_FOLDS).sum())),
                # every pick scored as if its title named no topic: what a report's picks get
                "sentence_untitled": figures(u_p, s_items.y, u_t, n),
                "sentence_untitled_held_out_folds": figures(u_p[~dev], s_items.y[~dev], u_t,
                                                            int((fold >= DEV_FOLDS).sum())),
                "cited": sentence_shipped.pop("figures"),
                "short": figures(h_p[h_top], h_items.y[h_top], h_t, n),
                **short_by_folds(h_p[h_top], h_items.y[h_top], fold[h_items.q[h_top]], fold, h_t),
                "short_em_all_questions": round(float(h_items.y[h_top].sum()) / n, 4)}
    shipped = {"min_confidence": h_t, "min_sentence_confidence": s_t, "min_untitled_sentence_confidence": u_t,
               **sentence_shipped, "rerank": rerank_shipped,
               "short": fit_forest(h_items, h_names, short_forest).as_dict()}
    curves = {"short answer (→)": (h_p[h_top], h_items.y[h_top], h_t),
              "answer sentence": (s_p, s_items.y, s_t)}
    return held_out, shipped, curves


def documents_of(r: Retriever, row: dict, i: int) -> tuple[str, str]:
    """The normalised texts of the document and the article of a recorded question's candidate
    sentence ``i`` (Retriever.recurrence_texts), where its short answer's text is counted."""
    return r.recurrence_texts(row["docs"][i])


def short_by_folds(p: np.ndarray, y: np.ndarray, fold_of_pick: np.ndarray, fold: np.ndarray, t: float) -> dict:
    """The short answers' figures on the dev folds (0-2) and the others at the shipped threshold
    ``t`` (chosen on all folds), and on the others at the threshold the dev folds alone would
    choose: what a question set the threshold never saw gets."""
    dev, n_dev = fold_of_pick < DEV_FOLDS, int((fold < DEV_FOLDS).sum())
    t_dev = threshold(p[dev], y[dev], SHORT_PRECISION, SHORT_STEP)
    return {"short_dev_folds": figures(p[dev], y[dev], t, n_dev),
            "short_held_out_folds": figures(p[~dev], y[~dev], t, len(fold) - n_dev),
            "short_held_out_folds_dev_threshold": figures(p[~dev], y[~dev], t_dev, len(fold) - n_dev)}


def sentence_calibrators(s_rows: list[dict], fold: np.ndarray, folds: int
                         ) -> tuple[Items, np.ndarray, np.ndarray, dict]:
    """The answer sentences (the picks) as items with their held-out probabilities (from the trees
    that read topic_elsewhere, and from those that do not), and the calibrators to ship:
    ``sentence`` for the picks (trees: at 0.95 precision they marked 0.67 of the dev folds'
    questions confident where the logistic model marked 0.62), ``untitled`` for the picks of
    documents whose title names no topic (retriever.confidence.TOPIC_UNKNOWN: the same trees
    without topic_elsewhere), ``cited`` for the runners-up (a cited passage's best sentence;
    a logistic model, which does not read topic_elsewhere either: a line cannot give
    TOPIC_UNKNOWN the rate over all topics), each fitted on its own population, with the held-out
    figures of ``cited`` under "figures"."""
    names = tuple(sorted({k for it in s_rows for k in it["e"]}))
    untitled = tuple(n for n in names if n != "topic_elsewhere")
    everything = stack(s_rows, names)
    chosen, chosen_untitled = subset(everything, everything.top), subset(stack(s_rows, untitled), everything.top)
    others = subset(stack(s_rows, untitled), ~everything.top)
    p_others = cross_validate(others, untitled, fold, folds)
    shipped = {"sentence": fit_forest(chosen, names).as_dict(),
               "untitled": fit_forest(chosen_untitled, untitled).as_dict(),
               "cited": fit_calibrator(others, untitled).as_dict(),
               "figures": {"candidates": len(others.y), "right": round(float(others.y.mean()), 4),
                           "ece_10_bins": round(expected_calibration_error(p_others, others.y), 4)}}
    return (chosen, cross_validate(chosen, names, fold, folds, forest=FOREST),
            cross_validate(chosen_untitled, untitled, fold, folds, forest=FOREST), shipped)


# What the English answer sentence's scaling reads beside the Japanese calibrator's logit: the
# pick's margin over the runner-up. Chosen on a1 by folds of its articles (ECE 0.032 with the
# logit alone, 0.022 with the margin; the cosine to the question, 0.024; the passage margin,
# 0.038); on a2, held out, 0.095 -> 0.071.
ENGLISH_SENTENCE_EVIDENCE = ("margin",)


def english(index: Path, ja: QuestionSet, cal: Calibration, r: Retriever, folds: int) -> tuple[dict, dict]:
    """Platt scaling of the Japanese calibrators for English questions (benchmarks/data/jsquad_en.*:
    JSQuAD questions rendered in English, answered against the same contexts), fitted on the dev
    set (a1; its figures by folds of its articles) and judged on a2, held out. Returns the figures
    and the two scalings to ship."""
    parts = [read_questions(path) for path in ENGLISH]
    qset = QuestionSet([q for part in parts for q in part.questions], context_of=ja.context_of)
    a1 = {q.id for q in parts[0].questions}
    rows = [row for row in collect(index, qset) if not row["abstained"] and row.get("x")]
    dev = np.array([row["id"] in a1 for row in rows])
    fold = folds_by_article(rows, folds)
    cands = featurise(rows, r)
    s_logit, s_y = np.zeros(len(rows)), np.zeros(len(rows))
    s_extra = np.zeros((len(rows), len(ENGLISH_SENTENCE_EVIDENCE)))
    for q, row in enumerate(rows):
        x = np.array(row["x"])
        scores = x @ r.sentence_weights(row["lang"])
        i = int(np.argsort(-scores, kind="stable")[0])
        short = short_summary(ranked(cands[q], "ja")) if cands[q] else None  # bridged: Japanese weights
        e = sentence_evidence(scores, i, dict(zip(SENTENCE_FEATURES, x[i], strict=True)), row["coverage"][i],
                              row["kind"], short, pick_lead(scores, x, SENTENCE_FEATURES, i, row["next"][i]),
                              topic_of(row, i))
        s_logit[q], s_y[q] = logit(cal.sentence.probability(e)), found(row["answers"], row["texts"][i])
        s_extra[q] = [e[name] for name in ENGLISH_SENTENCE_EVIDENCE]
    s_p, s_cal = platt(s_logit, s_y, dev, fold, folds, s_extra, ENGLISH_SENTENCE_EVIDENCE)
    with_short = [q for q in range(len(rows)) if cands[q]]
    h_logit, h_y = english_short(rows, cands, with_short, s_p, cal, r)
    h_dev = dev[with_short]
    h_p, h_cal = platt(h_logit, h_y, h_dev, fold[with_short], folds)
    # English short answers get their own threshold, by the Japanese rule on the dev set's
    # probabilities (NEVER when no step is precise enough: better no → than a wrong one), read
    # from ENGLISH_LEAST shown answers or more: a1's 0.77 showed 6 answers, all right, and a2's
    # 2 at that threshold were one right, one wrong (a rule right 70% of the time gets 6 of 6
    # right 12% of the time).
    h_t = threshold(h_p[h_dev], h_y[h_dev], SHORT_PRECISION, SHORT_STEP, fallback=NEVER, least=ENGLISH_LEAST)
    figures_of = {}
    for name, m, hm, n in (("dev", dev, h_dev, len(parts[0].questions)),
                           ("held_out", ~dev, ~h_dev, len(parts[1].questions))):
        alone = {"sentence_ece": expected_calibration_error(1 / (1 + np.exp(-s_logit[m])), s_y[m]),
                 "short_ece": expected_calibration_error(1 / (1 + np.exp(-h_logit[hm])), h_y[hm])}
        figures_of[name] = {"set": ENGLISH[name == "held_out"].name, "questions": n, "picks": int(m.sum()),
                            "sentence": figures(s_p[m], s_y[m], cal.min_sentence_confidence, n),
                            "short": figures(h_p[hm], h_y[hm], h_t, n),
                            "japanese_calibrators_alone": {k: round(v, 4) for k, v in alone.items()}}
    return figures_of, {"min_confidence": h_t, "sentence": s_cal.as_dict(), "short": h_cal.as_dict()}


def english_short(rows: list[dict], cands: list[Scored], with_short: list[int], s_p: np.ndarray, cal: Calibration,
                  r: Retriever) -> tuple[np.ndarray, np.ndarray]:
    """The Japanese short calibrator's logit for the short answer kotae offers to each English
    question of ``with_short`` (those with candidates, ``cands``; ``s_p``: the answer sentence's
    scaled probability), and whether it is right (exact match with a gold answer)."""
    texts = ordered(rows, linear_orders(rows, [r.sentence_weights(row["lang"]) for row in rows]))
    h_logit, h_y = np.zeros(len(with_short)), np.zeros(len(with_short))
    for j, q in enumerate(with_short):
        best = ranked(cands[q], "ja")
        # kotae searched its own pick (row["sentences"]); the others by rank are read for agreement
        searched = rows[q]["sentences"][0]
        others = [t for t in texts[q] or () if t != searched][:AGREEMENT_SENTENCES]
        scores = np.array([s for _, s, _ in best])
        # as kotae offers it (by_confidence: the ranker's best, for a question other than Japanese)
        pick = by_confidence([0.0] * len(best), rows[q]["lang"])[0]
        c = best[pick][0]
        context = short_context(best, pick, searched, others) | span_evidence(
            c, r.morphemes(searched), asked_heads(rows[q]["question"]),
            *documents_of(r, rows[q], rows[q]["texts"].index(searched)))
        e = short_evidence(scores, pick, dict(zip(FEATURES, best[pick][2], strict=True)), float(s_p[q]),
                           rows[q]["kind"], context)
        h_logit[j] = logit(cal.short.probability(e))
        h_y[j] = any(exact(c.text, g) for g in rows[q]["answers"])
    return h_logit, h_y


def platt(logits: np.ndarray, y: np.ndarray, dev: np.ndarray, fold: np.ndarray, folds: int,
          extra: np.ndarray | None = None, names: tuple[str, ...] = ()) -> tuple[np.ndarray, Calibrator]:
    """Platt scaling fitted on the ``dev`` items: their probabilities by folds of articles within
    them (``fold``), the others' from the scaling fitted on all of dev, which is returned. ``extra``
    (one column per name of ``names``) is evidence read beside the Japanese calibrator's logit."""
    x = logits[:, None] if extra is None else np.column_stack([logits, extra])
    columns = ("logit", *names)
    p = np.zeros(len(y))
    p[dev] = cross_validate(platt_items(x[dev], y[dev]), columns, fold[dev], folds, isotonic_step=False)
    fitted = fit_calibrator(platt_items(x[dev], y[dev]), columns, False)
    p[~dev] = fitted.probabilities(x[~dev])
    return p, fitted


def platt_items(x: np.ndarray, y: np.ndarray) -> Items:
    """One question per row: the Japanese calibrator's logit, then any other evidence."""
    return Items(x, y, np.arange(len(y)), np.ones(len(y), dtype=bool))


def main() -> None:
    t0 = time.perf_counter()
    args, qset, index, rows = training_inputs(__doc__, "the collected inputs of an earlier run (a confidence-"
                                              "inputs-*.json of the cache) to fit on without collecting again: "
                                              "only right if nothing that picks answers changed", collect)
    r = Retriever.load(index, calibration=COLLECTING)
    held_out, shipped, curves = japanese(rows, r, args.folds)
    held_out["english"], shipped["english"] = english(index, qset, Calibration.from_dict(shipped), r, args.folds)
    plot(curves, len(rows), RESULTS / "confidence.png")
    summary = {k: {m: held_out[k][m] for m in ("ece_10_bins", "precision_at_threshold", "coverage_at_threshold")}
               for k in ("sentence", "short")}
    SHIPPED.write_text(json.dumps({"trained_on": DATA, "by": "benchmarks/train_confidence.py", "languages": ["ja"],
                                   "held_out": summary, **shipped}, ensure_ascii=False, indent=1) + "\n",
                       encoding="utf-8")
    write_result("confidence", {"data": DATA, "held_out": held_out, "seconds": round(time.perf_counter() - t0, 1)})
    japanese_keys = ("sentence", "sentence_dev_folds", "sentence_held_out_folds", "sentence_untitled",
                     "sentence_untitled_held_out_folds", "short", "short_dev_folds",
                     "short_held_out_folds", "short_held_out_folds_dev_threshold")
    for name, f in [(k, held_out[k]) for k in japanese_keys] + [
            (f"english {part} {k}", held_out["english"][part][k]) for part in ("dev", "held_out")
            for k in ("sentence", "short")]:
        print(f"{name}: ECE {f['ece_10_bins']:.3f} · threshold {f['threshold']} · precision "
              f"{f['precision_at_threshold']} · coverage {f['coverage_at_threshold']} · AURC "
              f"{f['area_under_risk_coverage']:.3f} (accuracy of picks {f['accuracy']:.3f})")
    f = held_out["rerank"]
    print(f"answer sentence right, linear ranker / re-ranked (best {f['candidates']}, {f['moved']:.3f} of picks "
          f"moved): folds 0-{DEV_FOLDS - 1} {f['dev_folds_linear']:.3f} / {f['dev_folds_reranked']:.3f}, folds "
          f"{DEV_FOLDS}-{args.folds - 1} {f['held_out_folds_linear']:.3f} / {f['held_out_folds_reranked']:.3f}")
    print(f"short EM over all questions, held out: {held_out['short_em_all_questions']:.3f}; wrote {SHIPPED}")


def featurise(rows: list[dict], r: Retriever, sentences: list[list[str] | None] | None = None) -> list[Scored]:
    """Per question, the short-answer candidates kotae ranks (none when it abstained) in the
    sentences it searched, or in ``sentences[q]`` (the pick of a held-out sentence ranker)."""
    out = []
    for q, row in enumerate(rows):
        searched = row.get("sentences") if sentences is None else sentences[q]
        # The question is analysed again, as kotae did (an English one bridged through the index).
        got = None if row["abstained"] or searched is None else first_candidates(
            r.tokenizer, r.analyse(row["question"]), searched)
        out.append(got[1] if got else [])
    return out


if __name__ == "__main__":
    main()
