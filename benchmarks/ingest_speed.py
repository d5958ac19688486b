"""Ingest speed and memory on the JSQuAD contexts (1,145 paragraphs).

Needs: the project installed, ../shared/eval/jsquad-valid-v1.3.json.
Writes benchmarks/results/ingest_speed.json. Run:

    python benchmarks/ingest_speed.py            # pipeline without embedding, then a full ingest
    python benchmarks/ingest_speed.py --no-embed # only the pipeline figure

Figures:
* pipeline_chars_per_s: read + decode the file, build documents, clean, segment,
  MeCab tokens, passages; no embedding. Best of 3 runs.
* full ingest with the default embedder: total seconds, seconds inside the embedder,
  and the overhead the rest of the pipeline adds to the embedder's own time.
* peak_rss_mb: peak resident memory of the process after the full ingest.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.embed import Embedder, NoEmbedder, Progress, get_embedder  # noqa: E402
from ingest.index import build_index, prepare  # noqa: E402
from ingest.tokens import Tokenizer  # noqa: E402
from retriever.evaluate import read_questions  # noqa: E402

JSQUAD = ROOT.parent / "shared" / "eval" / "jsquad-valid-v1.3.json"


def pipeline_once(tokenizer: Tokenizer) -> tuple[float, int, int, int]:
    t0 = time.perf_counter()
    qset = read_questions(JSQUAD)
    docs = qset.documents or []
    prepared = prepare(docs, tokenizer, NoEmbedder())
    seconds = time.perf_counter() - t0
    chars = sum(len(d.text) for d in docs)
    return seconds, chars, sum(len(p.units) for p in prepared), sum(len(p.passages) for p in prepared)


class TimedEmbedder:
    """Wraps an embedder and adds up the seconds spent inside it."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.seconds = inner, 0.0
        self.spec, self.dim = inner.spec, inner.dim

    def passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        t0 = time.perf_counter()
        try:
            return self.inner.passages(texts, progress)
        finally:
            self.seconds += time.perf_counter() - t0

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.queries(texts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-embed", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "ingest_speed.json"))
    ap.add_argument("--keep", metavar="DIR", help="keep the JSQuAD index built here (else a temporary directory)")
    args = ap.parse_args()
    tokenizer = Tokenizer()
    pipeline_once(tokenizer)  # warm MeCab and imports
    runs = [pipeline_once(tokenizer) for _ in range(3)]
    best = min(runs)
    seconds, chars, units, passages = best
    result: dict = {
        "data": "JSQuAD v1.3 validation contexts (JGLUE, CC BY-SA 4.0)",
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "documents": 1145, "chars": chars, "units": units, "passages": passages,
        "pipeline_seconds": round(seconds, 3),
        "pipeline_chars_per_s": round(chars / seconds),
        "pipeline_runs_s": [round(r[0], 3) for r in runs],
    }
    print(f"pipeline without embedding: {chars:,} chars in {seconds:.2f} s = {chars / seconds:,.0f} chars/s")
    if not args.no_embed:
        import ingest.index as index_module

        timed = TimedEmbedder(get_embedder("e5-small-q4"))
        original = index_module.get_embedder
        index_module.get_embedder = lambda spec=None: timed  # measure inside the real build
        qset = read_questions(JSQUAD)
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(args.keep) if args.keep else Path(tmp) / "index"
            t0 = time.perf_counter()
            summary = build_index(None, target, "e5-small-q4", documents=qset.documents)
            total = time.perf_counter() - t0
        index_module.get_embedder = original
        embedded_chars = chars  # units' text plus section titles are what the embedder reads
        result.update({
            "full_ingest_seconds": round(total, 2),
            "embedder_seconds": round(timed.seconds, 2),
            "pipeline_overhead_vs_embedder": round((total - timed.seconds) / timed.seconds, 4),
            "embedder_chars_per_s": round(embedded_chars / timed.seconds),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "index_units": summary.units, "index_passages": summary.passages,
        })
        print(f"full ingest: {total:.1f} s, embedder {timed.seconds:.1f} s, overhead "
              f"{100 * result['pipeline_overhead_vs_embedder']:.1f}%, peak RSS {result['peak_rss_mb']} MB")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
