"""The report's question set: kotae against BM25 alone, the dense model alone, and LangChain.

Needs: the project installed (pip install -e '.[bench]'). Writes
benchmarks/results/report.json. Run: python benchmarks/bench_report.py [SPEC]
(with an embedder SPEC such as e5-small-int8: kotae alone, to results/report-SPEC.json)

kotae is measured as a user runs it (defaults, k=5 for hit@5). The baselines retrieve
the report's sentences (BM25, dense; units as kotae's cleaner cuts them, their top
sentence is their answer) or LangChain chunks of the raw text; none of them abstains.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from common import ROOT, Bm25, Dense, LangChainNaive, figures, rank_of, write_result

from ingest import build_index
from ingest.load import load
from ingest.segment import segment
from ingest.tokens import Tokenizer
from retriever import Retriever
from retriever.evaluate import Question, evaluate, read_questions, summarize

QUESTIONS = ROOT / "corpus" / "questions" / "report.jsonl"
K = 5


def baseline_figures(questions: Sequence[Question], ranked_texts: Sequence[Sequence[str]]) -> dict:
    out = {}
    for lang in ("all", "ja", "en"):
        sel = [(q, t) for q, t in zip(questions, ranked_texts, strict=True)
               if q.answers and (lang == "all" or q.lang == lang)]
        ranks = [rank_of(q.answers, t) for q, t in sel]
        out[lang] = figures(ranks, [r == 1 for r in ranks])
    out["abstention"] = {"unanswerable": sum(not q.answers for q in questions), "abstained": 0}
    return out


def main() -> None:
    # python benchmarks/bench_report.py e5-small-int8: kotae alone with that embedder spec
    spec = sys.argv[1] if len(sys.argv) > 1 else None
    qs = read_questions(QUESTIONS).questions
    docs = load([ROOT / "corpus"]).documents
    with tempfile.TemporaryDirectory() as tmp:
        build_index([ROOT / "corpus"], Path(tmp) / "index", spec)
        r = Retriever.load(Path(tmp) / "index")
        outcomes, seconds = evaluate(lambda batch: r.ask_many(batch, k=K), qs)
    s = summarize(outcomes, seconds).as_dict()
    kotae = {lang: {k: v[k] for k in ("n", "answerable", "hit@1", "hit@5", "mrr", "answer_accuracy", "abstention")}
             for lang, v in [("all", s), *s["by_lang"].items()]}
    # Short answers: the short span equals or contains a gold answer (issue: narrow answers).
    from common import contains
    for lang in ("all", "ja", "en"):
        sel = [o for o in outcomes if o.answerable and (lang == "all" or o.question.lang == lang)]
        kotae[lang]["short_contains_gold"] = round(
            sum(bool(o.answer.short) and contains(o.question.answers, o.answer.short.text) for o in sel) / len(sel), 4)
        # Shown (the → line, confidence at or above the default threshold) and wrong: issue 15 asks ≤ 1.
        shown = [o for o in sel if o.answer.short and o.answer.short.shown]
        kotae[lang]["short_shown"] = len(shown)
        kotae[lang]["short_shown_wrong"] = sum(not contains(o.question.answers, o.answer.short.text) for o in shown)
        una = [o for o in outcomes if not o.answerable and (lang == "all" or o.question.lang == lang)]
        kotae[lang]["short_null_on_unanswerable"] = sum(o.answer.short is None for o in una)
    if spec:
        write_result(f"report-{spec}", {"data": "corpus/questions/report.jsonl", "k": K, "questions": len(qs),
                                        "embedder": spec, "systems": {"kotae": kotae}})
        return

    units = [u for d in docs for u in segment(d).units if u.kind in ("sentence", "caption", "byline")]
    texts = [u.text for u in units]
    tok = Tokenizer()
    k_texts = lambda idx: [[texts[i] for i in row] for row in idx]  # noqa: E731
    questions = [q.question for q in qs]
    bm25 = baseline_figures(qs, k_texts(Bm25(texts, tok).search(questions, K)))
    dense = baseline_figures(qs, k_texts(Dense(texts).search(questions, K)))
    lc = LangChainNaive([(d.doc, d.text) for d in docs])
    lang_chain = baseline_figures(qs, [[t for _, t in hits] for hits in lc.search(questions, K)])
    for lang in ("all", "ja", "en"):
        lang_chain[lang].pop("answer_accuracy", None)  # it returns chunks, not an answer sentence
    result = {"data": "corpus/questions/report.jsonl on corpus/nuclear-outlook-2025.txt",
              "k": K, "questions": len(qs),
              "systems": {"kotae": kotae, "bm25": bm25, "dense": dense,
                          "langchain": {**lang_chain, "chunks": lc.chunks}}}
    write_result("report", result)
    print(f"{'system':<10} {'lang':<4} {'hit@1':>6} {'ans.acc':>8} {'MRR':>6}")
    for name, sys_ in result["systems"].items():
        for lang in ("ja", "en"):
            f = sys_[lang]
            accuracy = f.get('answer_accuracy', float('nan'))
            print(f"{name:<10} {lang:<4} {f['hit@1']:>6.3f} {accuracy:>8.3f} {f['mrr']:>6.3f}")
    print("kotae abstention:", kotae["all"]["abstention"], "short answers:",
          {lang: kotae[lang]["short_contains_gold"] for lang in ("ja", "en")})


if __name__ == "__main__":
    main()
