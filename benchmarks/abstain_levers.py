"""Levers for the abstain model compared at equal false abstentions, on the whole JSQuAD index.

Needs: the project installed with the bench extra, ../shared/eval/jsquad-valid-v1.3.json
(KOTAE_SHARED) and benchmarks/data/; train_abstain.py's evidence cache (run it first).
Run: python benchmarks/abstain_levers.py [--refresh]   (writes benchmarks/results/abstain_levers.json)

Only dev sets are read. Each model is fitted as train_abstain.py fits it (even articles indexed,
odd articles' questions and the dev off-topic sets unanswerable), five times, and each fit
judges the whole-index evidence of the questions it did not see: JSQuAD questions of the
articles of its left-out fold, and the off-topic questions of one left-out file (first, dev2 or
dev3: the file, not single questions, is held out, so a model cannot learn one file's way of
asking). On the whole index the threshold is then set where the answerable dev questions (all
4,442 Japanese JSQuAD questions; the 287 English a1 questions) are abstained on a given number
of times, rules included, and the off-topic questions abstained at that threshold are counted.
Levers: the logistic model, boosted trees (LightGBM, small, monotone where the sign is known),
unanswerable questions made by swapping a question's name for another article's
(:func:`swapped`), the model without the rules, and the coverage rule overruled by the model
above a probability (AbstainModel.overrule). (Pair evidence — whether one passage, or the
best sentence's window, holds the question's two rarest terms, and how far apart the best
sentence says them — was measured by this script at commit 0ba2c2c and gave nothing.)
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import re
from collections.abc import Callable, Sequence

import numpy as np
from cached_index import cached_index
from common import CACHE, SHARED, write_result
from train_abstain import (
    DATA,
    FEATURES,
    FOLDS,
    OFFTOPIC_FILES,
    OFFTOPIC_WEIGHT,
    Recorder,
    articles,
    collect,
    fit_logistic,
    hash_fold,
    matrix,
    ruled,
)

from retriever.abstain import EVIDENCE
from retriever.evaluate import read_questions
from retriever.question import anchor_runs

# Answerable dev questions abstained on (rules and model) at which off-topic ones are counted,
# among them the shipped models' whole-index figures at 164ad82, the session these levers were
# weighed in (English a1 2 of 287; Japanese 32 of 4,442, and 21: the rules' alone).
AT = {"en": (2, 3, 5, 8), "ja": (21, 26, 32, 40)}
# Evidence that can only speak for an answer as it grows (+1) or against it (-1), for the trees.
SIGN = {"dense": 1, "dense_z": 1, "top_z": 1, "coverage": 1, "passage_coverage": 1, "anchor_coverage": 1,
        "absent": -1, "second": 1, "second_top": 1}
OVERRULES = (0.05, 0.1, 0.2, 0.3, 0.5)
# A fitted model: the probability of an answer for each row of evidence; and what fits one on
# (rows, features, row weights).
Predict = Callable[[list[dict]], np.ndarray]
Fit = Callable[[list[dict], tuple[str, ...], np.ndarray], Predict]
_NAME = re.compile(r"(?<=\s)[A-Z][\w'’.-]*(?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][\w'’.-]*)*")


def offtopic_file(lang: str) -> dict[str, int]:
    """Each dev off-topic question's file, by its position in OFFTOPIC_FILES."""
    return {json.loads(line)["question"]: i for i, name in enumerate(OFFTOPIC_FILES[lang])
            for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()}


def fold_of(row: dict, files: dict[str, int]) -> int:
    """The fold a row is judged in: its dev file's for an off-topic question, its article's else."""
    return files[row["question"]] if row["offtopic"] else hash_fold(row["article"])


def swapped(r: Recorder, asked: Sequence[tuple[str, str, int]], seed: int = 14) -> list[tuple[str, str, int]]:
    """Unanswerable questions made from answerable ones: each indexed article's question with
    its name swapped for a name another indexed article's question asks about, so both names
    are in the corpus but never with the question's predicate. 「ショパンが作曲した曲は」 asked of
    an article on Mahler becomes 「マーラーが作曲した曲は」 of one on, say, Laos: ラオスが作曲した曲は."""
    rng = random.Random(seed)
    out = []
    for lang in ("ja", "en"):
        mine = [(q, a) for lg, q, a in asked if lg == lang and a % 2 == 0 and a < 10_000]
        names = [(name_spans(r, lang, q), a) for q, a in mine]
        pool = [(q[s:e], a) for (q, _), (spans, a) in zip(mine, names, strict=True) for s, e in spans]
        for (q, a), (spans, _) in zip(mine, names, strict=True):
            if not spans:
                continue
            s, e = spans[0]
            other = [n for n, b in pool if b != a and n != q[s:e]]
            out.append((lang, q[:s] + rng.choice(other) + q[e:], a + 1))  # odd: unanswerable, same fold
    return out


def name_spans(r: Recorder, lang: str, question: str) -> list[tuple[int, int]]:
    """Where the question names what it is about, the longest name first."""
    if lang == "en":
        spans = [(m.start(), m.end()) for m in _NAME.finditer(question)]
    else:
        q = r.analyse(question)
        if q.nfkc != question:
            return []
        ms = {m.token(): m for m in q.morphemes}
        spans = [(ms[run[0]].start, ms[run[-1]].end) for run in anchor_runs(q) if run[0] in ms and run[-1] in ms]
    return sorted(spans, key=lambda se: se[0] - se[1])


def record(r: Recorder, asked: Sequence[tuple[str, str, int]], offtopic: bool = False) -> list[dict]:
    """Each (language, question, article) asked, with the evidence and rules' verdict recorded."""
    rows = []
    for start in range(0, len(asked), 200):
        chunk = asked[start:start + 200]
        r.records = []
        r.ask_many([q for _, q, _ in chunk])
        for (lg, q, ai), rec in zip(chunk, r.records, strict=True):
            rows.append({"lang": lg, "question": q, "article": ai, "answerable": ai % 2 == 0 and not offtopic,
                         "offtopic": offtopic, **rec})
        print(len(rows), "of", len(asked), flush=True)
    return rows


def collect_more(refresh: bool) -> tuple[list[dict], list[dict]]:
    """(swapped questions on the even-article index, dev questions on the whole index)."""
    path = CACHE / "abstain-levers.json"
    if path.exists() and not refresh:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data["swapped"], data["whole"]
    even, _, asked = articles()
    r = Recorder.load(cached_index(even, "jsquad-even"))
    swaps = record(r, swapped(r, asked))
    qset = read_questions(SHARED / "eval" / "jsquad-valid-v1.3.json")
    r = Recorder.load(cached_index(qset.documents or [], "jsquad"))
    answerable = [(lg, q, a - a % 2) for lg, q, a in asked if a < 10_000]  # every article is indexed here
    offtopic = [(lg, q, a) for lg, q, a in asked if a >= 10_000]
    whole = record(r, answerable) + record(r, offtopic, offtopic=True)
    path.write_text(json.dumps({"swapped": swaps, "whole": whole}, ensure_ascii=False), encoding="utf-8")
    return swaps, whole


def logistic(train: list[dict], features: tuple[str, ...], weight: np.ndarray) -> Predict:
    """The abstain model as train_abstain.py fits it (standardised evidence, L2 logistic)."""
    x, y = matrix(train, features), np.array([r["answerable"] for r in train], float)
    mean, scale = x.mean(0), x.std(0) + 1e-9
    coef, b = fit_logistic((x - mean) / scale, y, weight)
    return lambda rows: 1 / (1 + np.exp(-((matrix(rows, features) - mean) / scale @ coef + b)))


def trees(train: list[dict], features: tuple[str, ...], weight: np.ndarray, leaves: int = 4,
          rounds: int = 150, min_leaf: int = 40) -> Predict:
    """Boosted trees (LightGBM, the bench extra) on the same evidence, monotone where SIGN says."""
    import lightgbm
    x, y = matrix(train, features), np.array([r["answerable"] for r in train], float)
    params = {"objective": "binary", "num_leaves": leaves, "learning_rate": 0.05, "min_data_in_leaf": min_leaf,
              "lambda_l2": 1.0, "feature_fraction": 0.9, "bagging_fraction": 0.8, "bagging_freq": 1,
              "monotone_constraints": [SIGN.get(n, 0) for n in features], "verbose": -1, "seed": 14,
              "num_threads": 1}
    booster = lightgbm.train(params, lightgbm.Dataset(x, y, weight=weight), rounds)
    return lambda rows: np.asarray(booster.predict(matrix(rows, features)))


def out_of_fold(train: list[dict], whole: list[dict], files: dict[str, int], make: Fit,
                features: tuple[str, ...], made: float = 1.0) -> np.ndarray:
    """Each ``whole`` row's probability by the model ``make`` fits on the ``train`` rows of the
    other folds (``made``: the weight of the swapped questions among them)."""
    tf = np.array([fold_of(r, files) for r in train])
    wf = np.array([fold_of(r, files) for r in whole])
    w = np.array([OFFTOPIC_WEIGHT[train[0]["lang"]] if r["offtopic"] else made if r.get("made") else 1.0
                  for r in train])
    p = np.zeros(len(whole))
    for f in range(FOLDS):
        keep = tf != f
        if (wf == f).any():
            model = make([r for r, k in zip(train, keep, strict=True) if k], features, w[keep])
            p[wf == f] = model([r for r, g in zip(whole, wf == f, strict=True) if g])
    return p


def at_budgets(lang: str, whole: list[dict], p: np.ndarray, files: dict[str, int], alone: bool = False,
               overrule: float = 1.0) -> list[dict]:
    """Off-topic abstained (per dev file) at each count of answerable dev questions abstained on
    (``alone``: by the model without the rules; ``overrule``: the coverage rule's abstentions
    stand only below this probability, as AbstainModel.overrule has it)."""
    rules = ruled(whole, p, overrule) & (not alone)
    free = np.array([r["byline"] for r in whole])
    pos = np.array([r["answerable"] for r in whole])
    off = np.array([r["offtopic"] for r in whole])
    file = np.array([files.get(r["question"], -1) if r["offtopic"] else -1 for r in whole])
    out = []
    for count in AT[lang]:
        best = 0.0
        for t in np.unique(p):
            if (rules | ((p < t) & ~free))[pos].sum() <= count:
                best = max(best, float(t))
        abst = rules | ((p < best) & ~free)
        out.append({"false": int(abst[pos].sum()), "offtopic": int(abst[off].sum()), "of": int(off.sum()),
                    "by_file": [int(abst[file == i].sum()) for i in range(len(OFFTOPIC_FILES[lang]))]})
    return out


def report(results: list[dict], lang: str, name: str, features: tuple[str, ...], figures: list[dict]) -> None:
    """Print one lever's row and keep it for the JSON."""
    print(lang, f"{name:30}", " · ".join(f"{f['false']}: {f['offtopic']}/{f['of']} {f['by_file']}"
                                         for f in figures), flush=True)
    results.append({"lang": lang, "model": name, "features": list(features), "at": figures})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--refresh", action="store_true", help="recollect the evidence")
    args = ap.parse_args()
    base = collect(False)
    swaps, whole = collect_more(args.refresh)
    results: list[dict] = []
    for lang in ("en", "ja"):
        files = offtopic_file(lang)
        train = [r for r in base if r["lang"] == lang]
        more = [r for r in swaps if r["lang"] == lang]
        mine = [r for r in whole if r["lang"] == lang]
        plain = FEATURES[lang]
        more = [{**r, "made": True} for r in more]
        for name, make, rows, made, alone in (
                ("logistic", logistic, train, 1.0, False),
                ("trees", trees, train, 1.0, False),
                ("trees 8 leaves", functools.partial(trees, leaves=8, min_leaf=20), train, 1.0, False),
                ("logistic + swapped", logistic, train + more, 1.0, False),
                ("logistic + swapped 0.3", logistic, train + more, 0.3, False),
                ("logistic alone", logistic, train, 1.0, True)):
            p = out_of_fold(rows, mine, files, make, plain, made)
            report(results, lang, name, plain, at_budgets(lang, mine, p, files, alone))
            if name == "logistic" and lang == "ja":  # English has no coverage rule to overrule
                for overrule in OVERRULES:
                    report(results, lang, f"logistic, coverage rule overruled above {overrule}", plain,
                           at_budgets(lang, mine, p, files, overrule=overrule))
    write_result("abstain_levers", {"rows": results, "evidence": list(EVIDENCE)})


if __name__ == "__main__":
    main()
