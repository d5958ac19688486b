"""JSQuAD v1.3 validation (JGLUE, CC BY-SA 4.0) in open retrieval: every question against
all 1,145 contexts. kotae against BM25 alone, the dense model alone, and LangChain.

Needs: the project installed with the bench extra, ../shared/eval/jsquad-valid-v1.3.json.
Writes benchmarks/results/jsquad.json. Run: python benchmarks/bench_jsquad.py [--limit N]
(``--embedder e5-small-int8``: kotae alone with that spec, to results/jsquad-e5-small-int8.json)

Figures for kotae (defaults, k=5): hit@1/hit@5/MRR (a citation holds a gold answer),
context@1 (the first citation comes from the question's own paragraph), answer accuracy
(the answer sentence holds a gold answer), false abstentions, short-answer exact match
and character F1 (NFKC, whitespace removed, best over the gold list), and the wall time
of the whole run: index build + all questions. Baselines rank whole contexts.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from common import (
    RESULTS,
    SHARED,
    Bm25,
    CachedE5,
    Dense,
    LangChainNaive,
    char_f1,
    exact,
    figures,
    rank_of,
    write_result,
)

from ingest import build_index
from ingest.tokens import Tokenizer
from retriever import Retriever
from retriever.evaluate import QuestionSet, evaluate, read_questions, summarize

JSQUAD = SHARED / "eval" / "jsquad-valid-v1.3.json"
K = 5


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="first N questions only (quick look)")
    ap.add_argument("--index", help="reuse a JSQuAD index built before (skips the timed build)")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--embedder", help="another spec (e5-small-int8): kotae only, to results/jsquad-SPEC.json")
    args = ap.parse_args()
    t_start = time.perf_counter()
    qset = read_questions(JSQUAD)
    qs = qset.questions[: args.limit] if args.limit else qset.questions
    result: dict = {"data": "JSQuAD v1.3 validation (JGLUE by Yahoo Japan, CC BY-SA 4.0)",
                     "questions": len(qs), "contexts": len(qset.documents or []), "k": K}
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(args.index) if args.index else Path(tmp) / "index"
        t0 = time.perf_counter()
        if not args.index:
            build_index(None, index, args.embedder, documents=qset.documents, progress=True)
        build_s = time.perf_counter() - t0
        r = Retriever.load(index)
        outcomes, ask_s = evaluate(lambda b: r.ask_many(b, k=K), qs, batch=64, progress=True)
    whole = time.perf_counter() - t_start
    result["kotae"] = kotae_figures(outcomes, qset.context_of, ask_s)
    reused = bool(args.index)  # a reused index was not built in this run: no build or whole-run time
    result["kotae"].update({"index_build_s": None if reused else round(build_s, 1),
                            "whole_run_s": None if reused else round(whole, 1)})
    print("kotae:", result["kotae"])
    if args.embedder:
        result["embedder"] = args.embedder
        write_result(f"jsquad-{args.embedder}", result)
        return
    name = "jsquad" if not args.limit else f"jsquad-first{args.limit}"
    if args.no_baselines:  # keep the baselines of the last full run (they do not change with kotae)
        result.update(previous_baselines(name))
    else:
        result.update(baselines(qset, qs))
    write_result(name, result)


def kotae_figures(outcomes: list, context_of: dict[str, str], ask_s: float) -> dict:
    """kotae's row: the evaluator's summary, the right context first, the short answers."""
    s = summarize(outcomes, ask_s, with_langs=False).as_dict()
    ctx1 = sum(bool(o.answer.citations) and o.answer.citations[0].doc == context_of[o.question.id]
               for o in outcomes) / len(outcomes)
    shorts = [o.answer.short.text if o.answer.short else "" for o in outcomes]
    em = sum(any(exact(p, g) for g in o.question.answers)
             for p, o in zip(shorts, outcomes, strict=True)) / len(outcomes)
    f1 = sum(max((char_f1(p, g) for g in o.question.answers), default=0.0) if p else 0.0
             for p, o in zip(shorts, outcomes, strict=True)) / len(outcomes)
    row = {k: s[k] for k in ("n", "hit@1", "hit@5", "mrr", "answer_accuracy", "abstention", "latency_ms")}
    row.update({"context@1": round(ctx1, 4), "short_exact_match": round(em, 4),
                "short_char_f1": round(f1, 4), "short_given": sum(bool(p) for p in shorts),
                "questions_s": round(ask_s, 1)})
    return row


def baselines(qset: QuestionSet, qs: list) -> dict:
    """BM25, dense e5 and the naive LangChain pipeline over the same contexts."""
    docs = qset.documents or []
    texts = [d.text for d in docs]
    ids = [d.doc for d in docs]
    questions = [q.question for q in qs]
    e5 = CachedE5("jsquad")

    def ctx_figures(ranked_ids: list[list[str]], ranked_texts: list[list[str]]) -> dict:
        ranks = [rank_of(q.answers, t) for q, t in zip(qs, ranked_texts, strict=False)]
        f = figures(ranks)
        f["context@1"] = round(sum(bool(r) and r[0] == qset.context_of[q.id]
                                   for q, r in zip(qs, ranked_ids, strict=False)) / len(qs), 4)
        return f

    out: dict = {}
    for name, system in (("bm25", Bm25(texts, Tokenizer())), ("dense", Dense(texts, e5))):
        t0 = time.perf_counter()
        idx = system.search(questions, K)
        f = ctx_figures([[ids[i] for i in row] for row in idx], [[texts[i] for i in row] for row in idx])
        f["seconds"] = round(time.perf_counter() - t0, 1)
        out[name] = f
        print(name, f)
    lc = LangChainNaive(list(zip(ids, texts, strict=False)), embedder=e5)
    hits = lc.search(questions, K)
    out["langchain"] = {**ctx_figures([[d for d, _ in h] for h in hits], [[t for _, t in h] for h in hits]),
                        "chunks": lc.chunks}
    print("langchain", out["langchain"])
    return out


def previous_baselines(name: str) -> dict:
    """The baselines of the last run written to results/NAME.json, if there is one."""
    previous = RESULTS / f"{name}.json"
    if not previous.exists():
        return {}
    old = json.loads(previous.read_text(encoding="utf-8"))
    return {k: old[k] for k in ("bm25", "dense", "langchain") if k in old}


if __name__ == "__main__":
    main()
