"""Train the short-answer ranker on JSQuAD v1.3 validation (JGLUE, CC BY-SA 4.0), with
cross-validation, and ship it as retriever/short_ranker.json.

Needs: the project installed with the bench extra, ../shared/eval/jsquad-valid-v1.3.json.
Run: python benchmarks/train_short_ranker.py [--index DIR] [--folds 5]

What it does:
1. Runs kotae (defaults, open retrieval over all 1,145 contexts) on every question and keeps
   the sentences its short-answer step looks at. These inputs are cached by the index, the
   questions and the code of ingest/ and retriever/: a rerun with none of them changed only
   trains (a change to the features re-collects, about 2.5 minutes).
2. Lists the candidates kotae ranks, with their features (retriever.short.first_candidates,
   the code kotae runs), and labels those that equal a gold answer.
3. Fits a linear ranker by softmax over each question's candidates (L2, L-BFGS).
4. Cross-validates with folds by article, so no article's questions are in both the training
   and the test folds. Short-answer EM and character F1 are measured over all 4,442 questions
   on the sentences kotae picked, each question answered by the model that did not see its
   article (as kotae would: learned weights for Japanese questions, hand-set ones for the
   few JSQuAD questions detected as mixed or other), next to the hand-set weights.
5. Trains on everything and writes the weights, with the cross-validated figures beside them,
   to retriever/short_ranker.json, and the figures to benchmarks/results/short_ranker.json.

The figures to quote are the cross-validated ones: bench_jsquad.py runs the shipped model on
the data it was trained on, so its short-answer figures are in-sample. Only the weights are
held out: the candidate rules and the list of features were written while looking at JSQuAD
questions, so the cross-validated figures are, if anything, a little optimistic.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from common import CACHE, SHARED, char_f1, exact, write_result
from scipy.optimize import minimize

import retriever
from ingest.tokens import Tokenizer
from retriever import Answer, Retriever
from retriever.evaluate import QuestionSet, corpus_index, evaluate, read_questions
from retriever.question import Question
from retriever.retriever import ShortCandidates
from retriever.short import FEATURES, HEURISTIC, first_candidates, weights

Candidates = list[tuple[str, np.ndarray]]  # one question's candidate texts and feature vectors

JSQUAD = SHARED / "eval" / "jsquad-valid-v1.3.json"
SHIPPED = Path(__file__).resolve().parents[1] / "retriever" / "short_ranker.json"
L2 = 1.0
HEURISTIC_W = weights(HEURISTIC)


class Recorder(Retriever):
    """kotae as it is, keeping what its short-answer step is given."""

    seen: list[dict]

    def short_candidates(self, q: Question, units: list[int]) -> ShortCandidates | None:
        self.seen.append({"question": q.text, "lang": q.language,
                          "sentences": [self.index.units.text[u] for u in units]})
        return super().short_candidates(q, units)


def collect(index: Path, qset: QuestionSet) -> list[dict]:
    """Per question: its gold answers, its article, whether kotae abstained, and the sentences."""
    return recorded(index, qset, "short-inputs", lambda: Recorder.load(index), k=5)


def recorded(index: Path, qset: QuestionSet, name: str, load: Callable[[], Any], k: int) -> list[dict]:
    """Per question, the row ``load()``'s recorder kept (its ``seen``, one dict per question),
    with the gold answers, the article and whether kotae abstained; cached under CACHE as
    ``{name}-{key}.json``. Shared by this script and train_confidence.py."""
    # Keyed by everything that decides them: the index, the questions and their answers, and
    # the code that picks sentences and analyses questions (ingest/ and retriever/).
    root = Path(retriever.__file__).parents[1]
    code = b"".join(p.read_bytes() for d in ("ingest", "retriever") for p in sorted((root / d).glob("*.py")))
    # ... and the models that pick the answer sentence, its short answer and abstention (not
    # confidence.json: the recorders collect without it).
    code += b"".join(p.read_bytes() for p in sorted((root / "retriever").glob("*.json")) if p.name != "confidence.json")
    asked = json.dumps([(q.id, q.question, list(q.answers)) for q in qset.questions], ensure_ascii=False)
    manifest = (index / "current" / "manifest.json").read_bytes()
    key = hashlib.sha256(manifest + asked.encode() + code).hexdigest()[:16]
    cache = CACHE / f"{name}-{key}.json"
    if cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    r = load()
    rows: list[dict] = []

    def ask(batch: list[str]) -> list[Answer]:
        r.seen = []
        answers = r.ask_many(batch, k=k)
        assert len(r.seen) == len(batch), "every question is recorded once"
        for a, seen in zip(answers, r.seen, strict=True):
            seen["abstained"] = a.abstained
            rows.append(seen)
        return answers

    outcomes, _ = evaluate(ask, qset.questions, batch=64, progress=True)
    if len(outcomes) < len(qset.questions):
        raise SystemExit(f"stopped after {len(outcomes)} of {len(qset.questions)} questions; nothing cached")
    for row, o in zip(rows, outcomes, strict=True):
        row.update(id=o.question.id, answers=list(o.question.answers),
                   article=qset.context_of[o.question.id].rsplit("/", 1)[0])
    CACHE.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return rows


def featurise(rows: list[dict], tokenizer: Tokenizer) -> list[Candidates]:
    """Per question, the candidates kotae ranks (none when it abstained), by kotae's own code."""
    out: list[Candidates] = []
    for row in rows:
        # The question is analysed again, as kotae did: the same text gives the same Question.
        q = Question.of(row["question"], tokenizer, row["lang"])
        found = None if row["abstained"] else first_candidates(tokenizer, q, row["sentences"])
        out.append([(c.text, x) for c, x in found[1]] if found else [])
    return out


def fit(cands: list[Candidates], golds: list[list[str]]) -> np.ndarray:
    """Softmax-over-candidates weights, trained on the questions with an exact candidate
    (character-F1 targets for near misses were tried: the same figures within 0.003)."""
    xs, seg, target = [], [], []
    for q, (found, gold) in enumerate(zip(cands, golds, strict=False)):
        hit = [any(exact(t, g) for g in gold) for t, _ in found]
        if not any(hit) or all(hit):
            continue  # nothing to learn from: no right candidate, or no wrong one
        for (_, x), h in zip(found, hit, strict=False):
            xs.append(x)
            seg.append(q)
            target.append(h / sum(hit))
    X, seg_a, t = np.array(xs), np.array(seg), np.array(target)
    mu, sd = X.mean(0), X.std(0)
    sd[sd == 0] = 1.0
    Z = (X - mu) / sd
    starts = np.flatnonzero(np.r_[True, seg_a[1:] != seg_a[:-1]])
    owner = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(seg_a)]))

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = Z @ w
        top = np.maximum.reduceat(s, starts)
        e = np.exp(s - top[owner])
        norm = np.add.reduceat(e, starts)
        p = e / norm[owner]
        logp = s - top[owner] - np.log(norm)[owner]
        value = -(t * logp).sum() + L2 * (w @ w)
        return value, Z.T @ (p - t) + 2 * L2 * w

    w = minimize(loss, np.zeros(Z.shape[1]), jac=True, method="L-BFGS-B").x
    return w / sd  # in raw feature units: the per-question shift of the mean changes no ranking


def judge(cands: list[Candidates], golds: list[list[str]], langs: list[str], w: np.ndarray) -> tuple[float, float]:
    """EM and character F1 of the best candidate over every question (no answer scores 0).
    ``w`` ranks Japanese questions; the others keep the hand-set weights, as in kotae."""
    em = f1 = 0.0
    for found, gold, lang in zip(cands, golds, langs, strict=False):
        if not found:
            continue
        text = found[int(np.argmax(np.stack([x for _, x in found]) @ (w if lang == "ja" else HEURISTIC_W)))][0]
        em += any(exact(text, g) for g in gold)
        f1 += max(char_f1(text, g) for g in gold)
    return em / len(golds), f1 / len(golds)


def training_inputs(doc: str, inputs_help: str, collect: Callable[[Path, QuestionSet], list[dict]]
                    ) -> tuple[argparse.Namespace, QuestionSet, Path, list[dict]]:
    """The command line this script and train_confidence.py share: the JSQuAD index (built once and
    cached unless given), the number of folds, and the inputs (``collect`` now, or an earlier run's)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--index", help="a JSQuAD index built before (default: built once and cached)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--inputs", help=inputs_help)
    args = ap.parse_args()
    qset = read_questions(JSQUAD)
    index = Path(args.index) if args.index else corpus_index(qset, CACHE / "eval", progress=True)
    rows = json.loads(Path(args.inputs).read_text(encoding="utf-8")) if args.inputs else collect(index, qset)
    return args, qset, index, rows


def main() -> None:
    t0 = time.perf_counter()
    args, _, index, rows = training_inputs(__doc__, "inputs collected by train_confidence.py (a confidence-inputs-"
                                           "*.json of the cache), which hold these: only right if nothing that "
                                           "picks answers changed since", collect)
    tokenizer = Retriever.load(index).tokenizer
    cands = featurise(rows, tokenizer)
    golds = [row["answers"] for row in rows]
    langs = [row["lang"] for row in rows]
    articles = sorted({row["article"] for row in rows})
    fold_of = {a: i % args.folds for i, a in enumerate(np.random.default_rng(0).permutation(articles))}
    fold = np.array([fold_of[row["article"]] for row in rows])

    ja = [i for i, lang in enumerate(langs) if lang == "ja"]  # the learned weights are for these
    oof_em = oof_f1 = 0.0
    per_fold = []
    for k in range(args.folds):
        test = np.flatnonzero(fold == k)
        train = np.flatnonzero(fold != k)
        train = np.intersect1d(train, ja)
        w = fit([cands[i] for i in train], [golds[i] for i in train])
        em, f1 = judge([cands[i] for i in test], [golds[i] for i in test], [langs[i] for i in test], w)
        h_em, h_f1 = judge([cands[i] for i in test], [golds[i] for i in test], [langs[i] for i in test],
                           HEURISTIC_W)
        per_fold.append({"fold": k, "questions": len(test), "em": round(em, 4), "f1": round(f1, 4),
                         "heuristic_em": round(h_em, 4), "heuristic_f1": round(h_f1, 4)})
        oof_em += em * len(test)
        oof_f1 += f1 * len(test)
        print(f"fold {k}: {len(test)} questions · EM {em:.3f} F1 {f1:.3f} "
              f"(hand-set weights: EM {h_em:.3f} F1 {h_f1:.3f})", flush=True)
    n = len(rows)
    h_em, h_f1 = judge(cands, golds, langs, HEURISTIC_W)
    cv = {"folds": args.folds, "by": "article", "questions": n, "articles": len(articles),
          "em": round(oof_em / n, 4), "f1": round(oof_f1 / n, 4),
          "heuristic_em": round(h_em, 4), "heuristic_f1": round(h_f1, 4), "per_fold": per_fold}
    w = fit([cands[i] for i in ja], [golds[i] for i in ja])
    SHIPPED.write_text(json.dumps({
        "trained_on": "JSQuAD v1.3 validation (JGLUE by Yahoo Japan, CC BY-SA 4.0)",
        "by": "benchmarks/train_short_ranker.py",
        "languages": ["ja"],
        "cross_validated": {k: cv[k] for k in ("folds", "by", "questions", "em", "f1")},
        "weights": {name: r for name, v in zip(FEATURES, w, strict=False) if (r := round(float(v), 6))}},
        ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    write_result("short_ranker", {"data": "JSQuAD v1.3 validation (JGLUE by Yahoo Japan, CC BY-SA 4.0)",
                                  "cross_validated": cv, "seconds": round(time.perf_counter() - t0, 1)})
    print(f"cross-validated over {n} questions: EM {cv['em']:.3f} F1 {cv['f1']:.3f} "
          f"(hand-set weights: EM {h_em:.3f} F1 {h_f1:.3f}); wrote {SHIPPED}")


if __name__ == "__main__":
    main()
