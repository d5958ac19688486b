"""Train the answer-sentence ranker on JSQuAD v1.3 validation (JGLUE, CC BY-SA 4.0), with
cross-validation by article, and ship it as retriever/sentence_ranker.json.

Needs: the project installed with the bench extra, ../shared/eval/jsquad-valid-v1.3.json.
Run: python benchmarks/train_sentence_ranker.py [--index DIR] [--folds 5] [--inputs FILE]

What it does:
1. Runs kotae on every question and keeps every candidate answer sentence (the sentences of
   the top passages) with its SENTENCE_FEATURES, as retriever.Retriever computes them: the
   inputs train_confidence.py collects, and caches, too.
2. Labels a candidate right when it holds a gold answer (what bench_jsquad.py's answer
   accuracy counts) and fits a linear ranker: a softmax over each question's candidates,
   maximising the probability of picking any right one (L2, L-BFGS).
3. Cross-validates with folds by article (the folds of train_confidence.py), so no
   article's questions are in both the training and the test folds, and compares the
   share of questions whose top sentence is right with the hand-set weights (HAND_SET).
4. Trains on every Japanese question and writes the weights, with the held-out figures,
   to retriever/sentence_ranker.json, and the figures to benchmarks/results/sentence_ranker.json.

English questions keep the hand-set weights: their words are not in the Japanese sentences
for the echo features to see. Honest about leaks: the features were chosen while reading
wrong picks of fold 0 and comparing cross-validated accuracy over all folds; fold 0 and
folds 1-4 are reported apart.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from common import CACHE, SHARED, write_result
from scipy.optimize import minimize

from retriever.evaluate import corpus_index, found, read_questions
from retriever.retriever import (
    ENGLISH_ONLY,
    HAND_SET,
    JAPANESE_VIEW_SCALE,
    SENTENCE_FEATURES,
    SENTENCE_RANKER_FILE,
    VIEW_FEATURES,
    sentence_weights,
)

JSQUAD = SHARED / "eval" / "jsquad-valid-v1.3.json"
DATA = "JSQuAD v1.3 validation (JGLUE by Yahoo Japan, CC BY-SA 4.0)"
L2 = 1.0


def folds_by_article(rows: list[dict], folds: int) -> np.ndarray:
    """Each question's fold: articles dealt round-robin in a fixed random order (seed 0)."""
    articles = sorted({row["article"] for row in rows})
    fold_of = {a: i % folds for i, a in enumerate(np.random.default_rng(0).permutation(articles))}
    return np.array([fold_of[row["article"]] for row in rows])


def labelled(row: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """A question's candidates (features) and which hold a gold answer; None when kotae
    abstained before ranking or found no candidate."""
    if row["abstained"] or not row.get("x"):
        return None
    return np.array(row["x"], dtype=float), np.array([found(row["answers"], t) for t in row["texts"]])


def fit(items: list[tuple[np.ndarray, np.ndarray]], l2: float = L2) -> np.ndarray:
    """Weights (raw feature units) maximising, over questions with a right and a wrong
    candidate, the log of the softmax probability that the pick is right.

    Any right candidate will do: a gold answer such as 1972 may stand in two sentences, and
    spreading the target over both (a plain softmax) was 0.8 points worse held out.

    The VIEW_FEATURES are not learned (too few JSQuAD questions ask for a view): they weigh
    HAND_SET's weights times JAPANESE_VIEW_SCALE; the ENGLISH_ONLY features weigh nothing."""
    kept = [(x, y) for x, y in items if y.any() and not y.all()]
    hand = [SENTENCE_FEATURES.index(name) for name in VIEW_FEATURES]
    english = [SENTENCE_FEATURES.index(name) for name in ENGLISH_ONLY]
    X = np.vstack([x for x, _ in kept])
    X[:, hand + english] = 0.0  # nothing to learn from: their weights are set below
    t = np.concatenate([y for _, y in kept]).astype(float)
    sizes = np.array([len(y) for _, y in kept])
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    owner = np.repeat(np.arange(len(kept)), sizes)
    mu, sd = X.mean(0), X.std(0)
    sd[sd == 0] = 1.0
    Z = (X - mu) / sd

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = Z @ w
        top = np.maximum.reduceat(s, starts)
        e = np.exp(s - top[owner])
        p = e / np.add.reduceat(e, starts)[owner]
        right = np.add.reduceat(p * t, starts)
        g = p - t * p / right[owner]  # d(-log right)/ds
        return float(-np.log(right).sum() + l2 * (w @ w)), Z.T @ g + 2 * l2 * w

    # in raw feature units: the per-question shift of the mean changes no ranking
    w = minimize(loss, np.zeros(Z.shape[1]), jac=True, method="L-BFGS-B").x / sd
    w[hand] = [JAPANESE_VIEW_SCALE * HAND_SET.get(name, 0.0) for name in VIEW_FEATURES]
    w[english] = 0.0
    return w


def right_first(item: tuple[np.ndarray, np.ndarray], w: np.ndarray) -> bool:
    x, y = item
    return bool(y[int(np.argmax(x @ w))])


def cross_validate(rows: list[dict], items: list, fold: np.ndarray, folds: int) -> tuple[np.ndarray, np.ndarray]:
    """Per question: is the top sentence right with the ranker that did not see its fold, and
    with the hand-set weights (False where no candidate was ranked)."""
    hand = sentence_weights(HAND_SET)
    learned, handset = np.zeros(len(rows), bool), np.zeros(len(rows), bool)
    ja = np.array([row["lang"] == "ja" for row in rows])
    for k in range(folds):
        w = fit([items[i] for i in np.flatnonzero((fold != k) & ja) if items[i] is not None])
        for i in np.flatnonzero(fold == k):
            if items[i] is not None:
                learned[i] = right_first(items[i], w if ja[i] else hand)
                handset[i] = right_first(items[i], hand)
    return learned, handset


def collect_jsquad(index_dir: str | None) -> list[dict]:
    """Every JSQuAD validation question's candidate sentences and features (train_confidence.collect)."""
    from train_confidence import collect  # imports this module: not at the top

    qset = read_questions(JSQUAD)
    index = Path(index_dir) if index_dir else corpus_index(qset, CACHE / "eval", progress=True)
    return collect(index, qset)


def check_trainable(rows: list[dict], items: list, source: str) -> None:
    """Stop in one line unless some Japanese question has a right and a wrong candidate: the
    ranker is fitted on those alone (inputs of English questions only left nothing to fit)."""
    usable = sum(1 for row, it in zip(rows, items, strict=True)
                 if row.get("lang") == "ja" and it is not None and it[1].any() and not it[1].all())
    if not usable:
        languages = ", ".join(sorted({str(row.get("lang")) for row in rows})) or "none"
        raise SystemExit(f"train_sentence_ranker: {source} holds no Japanese question with both a right and a "
                         f"wrong candidate sentence ({len(rows)} questions, languages: {languages}), and the "
                         "ranker is fitted on those alone; give inputs collected on JSQuAD's Japanese questions")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", help="a JSQuAD index built before (default: built once and cached)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--inputs", help="the inputs of an earlier run (a confidence-inputs-*.json of the cache)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = json.loads(Path(args.inputs).read_text(encoding="utf-8")) if args.inputs else collect_jsquad(args.index)
    items = [labelled(row) for row in rows]
    check_trainable(rows, items, args.inputs or "the JSQuAD run")
    fold = folds_by_article(rows, args.folds)
    learned, handset = cross_validate(rows, items, fold, args.folds)
    kinds = sorted({row["kind"] for row in rows if row.get("kind")})

    def share(mask: np.ndarray, of: np.ndarray) -> float:
        return round(float(of[mask].mean()), 4) if mask.any() else 0.0

    kind = np.array([row.get("kind", "") for row in rows])
    everyone = np.ones(len(rows), bool)
    cv = {"folds": args.folds, "by": "article", "questions": len(rows),
          "answer_accuracy": share(everyone, learned), "hand_set": share(everyone, handset),
          "fold_0": {"learned": share(fold == 0, learned), "hand_set": share(fold == 0, handset)},
          "folds_1_to_4": {"learned": share(fold != 0, learned), "hand_set": share(fold != 0, handset)},
          "gold_among_candidates": share(everyone, np.array([it is not None and bool(it[1].any()) for it in items])),
          "by_kind": {k: {"questions": int((kind == k).sum()), "learned": share(kind == k, learned),
                          "hand_set": share(kind == k, handset)} for k in kinds}}
    ja = [items[i] for i, row in enumerate(rows) if row["lang"] == "ja" and items[i] is not None]
    w = fit(ja)
    SENTENCE_RANKER_FILE.write_text(json.dumps({
        "trained_on": DATA, "by": "benchmarks/train_sentence_ranker.py", "languages": ["ja"],
        "cross_validated": {k: cv[k] for k in ("folds", "by", "questions", "answer_accuracy", "hand_set")},
        "weights": {name: round(float(v), 6) for name, v in zip(SENTENCE_FEATURES, w, strict=True)}},
        ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    write_result("sentence_ranker", {"data": DATA, "cross_validated": cv,
                                     "seconds": round(time.perf_counter() - t0, 1)})
    print(f"held out by article, {len(rows)} questions: the top sentence holds a gold answer for "
          f"{cv['answer_accuracy']:.3f} (hand-set weights {cv['hand_set']:.3f}; a candidate does for "
          f"{cv['gold_among_candidates']:.3f}); fold 0 {cv['fold_0']}, folds 1-4 {cv['folds_1_to_4']}")
    for k, f in cv["by_kind"].items():
        print(f"  {k:12s} {f['questions']:5d} questions: {f['learned']:.3f} (hand-set {f['hand_set']:.3f})")
    print(f"wrote {SENTENCE_RANKER_FILE}")


if __name__ == "__main__":
    main()
