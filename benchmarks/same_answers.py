"""Whether a change left kotae's answers as they were: every answer's JSON, saved before the
change and compared after it.

Needs: the project installed with the bench extra, ../shared/eval/jsquad-valid-v1.3.json and
benchmarks/data/jsquad_en.a1.jsonl. Writes nothing under benchmarks/ (a speed-up is checked,
not measured). Run, on the tree before the change and then on the tree after it:

    python benchmarks/same_answers.py --save /tmp/before.json
    python benchmarks/same_answers.py --check /tmp/before.json

The questions are the report's (corpus/questions/report.jsonl, both languages) on the report's
index and the first N English a1 questions with their Japanese originals on the whole JSQuAD
validation index (N=100 by default; ``--n``), asked at k=5. Answers are compared field by field,
floats to 1e-9: two runs of the same tree already differ in the 16th digit of some citation
scores (the order of a float sum), so a bit-for-bit comparison would fail for no change.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cached_index import cached_index
from common import ROOT, SHARED

from ingest import build_index
from retriever import Retriever
from retriever.evaluate import read_questions

DATA = ROOT / "benchmarks" / "data"
DIGITS = 9


def rounded(x: Any) -> Any:
    """``x`` with every float rounded to DIGITS decimals (in lists and dicts too)."""
    if isinstance(x, float):
        return round(x, DIGITS)
    if isinstance(x, dict):
        return {k: rounded(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [rounded(v) for v in x]
    return x


def answers(r: Retriever, questions: list[str]) -> list[dict]:
    """Each question's answer as JSON-ready data, its timings left out (they always differ)."""
    out = []
    for q in questions:
        a = asdict(r.ask(q, k=5))
        a.pop("timings_ms", None)
        out.append(json.loads(json.dumps(a, ensure_ascii=False, default=str)))
    return out


def all_answers(n: int) -> dict[str, list[dict]]:
    report = [q.question for q in read_questions(ROOT / "corpus" / "questions" / "report.jsonl").questions]
    rows = [json.loads(line) for line in (DATA / "jsquad_en.a1.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()][:n]
    jsquad = read_questions(SHARED / "eval" / "jsquad-valid-v1.3.json").documents or []
    with tempfile.TemporaryDirectory() as tmp:
        build_index([ROOT / "corpus"], Path(tmp) / "index")
        out = {"report": answers(Retriever.load(Path(tmp) / "index"), report)}
    r = Retriever.load(cached_index(jsquad, "jsquad"))
    out["jsquad-en"] = answers(r, [row["question"] for row in rows])
    out["jsquad-ja"] = answers(r, [row["ja"] for row in rows])
    return out


def differences(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> list[str]:
    """One line per answer that differs beyond float rounding: set, position, question, fields."""
    lines = []
    for name in before:
        if len(before[name]) != len(after.get(name, [])):
            lines.append(f"{name}: {len(before[name])} answers before, {len(after.get(name, []))} after")
            continue
        for i, (a, b) in enumerate(zip(before[name], after[name], strict=True)):
            fields = [k for k in a if rounded(a[k]) != rounded(b.get(k))]
            if fields:
                lines.append(f"{name}[{i}] {a['question'][:60]!r}: {', '.join(fields)}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--save", type=Path, help="write this tree's answers here")
    mode.add_argument("--check", type=Path, help="compare this tree's answers with those saved here")
    ap.add_argument("--n", type=int, default=100, help="English a1 questions (and their Japanese originals)")
    args = ap.parse_args()
    found = all_answers(args.n)
    if args.save:
        args.save.write_text(json.dumps(found, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
        print(f"saved {sum(map(len, found.values()))} answers to {args.save}")
        return
    lines = differences(json.loads(args.check.read_text(encoding="utf-8")), found)
    print("\n".join(lines) or f"the same {sum(map(len, found.values()))} answers (floats to 1e-{DIGITS})")
    sys.exit(1 if lines else 0)


if __name__ == "__main__":
    main()
