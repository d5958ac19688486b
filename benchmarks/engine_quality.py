"""Issue 11's quality row for the default spec's two graphs: q4 against mixed.

Needs: the project installed with the bench extra. Writes benchmarks/results/engine_quality.json.
Run: python benchmarks/engine_quality.py   (about 15 minutes: two runs of three benchmarks)

Both graphs serve the spec ``e5-small-q4`` (``e5_onnx.default_variant`` picks ``mixed`` on
an x86 CPU with VNNI, else ``q4``). Each benchmark (bench_report.py, bench_tatoeba.py,
bench_jsquad.py, each with ``e5-small-q4`` so its index is built afresh) runs in a child
process with the graph forced, one after the other on the same code. The mixed graph's
activation maxima came from JSQuAD's even articles and Tatoeba's even lines
(calibrate_engine.py), so both are also reported split: dev (even) and held out (odd).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from common import RESULTS, ROOT, write_result

GRAPHS = ("q4", "mixed")

CHILD = """
import json, sys
sys.path[:0] = [{bench!r}, {root!r}]
import ingest.e5_onnx
ingest.e5_onnx.default_variant = lambda: {graph!r}
halves = {{}}
if {name!r} == "tatoeba":
    import bench_tatoeba as b
    top = b.top
    def split(ranked, gold):
        halves["dev_even"], halves["held_odd"] = top(ranked[0::2], gold[0::2]), top(ranked[1::2], gold[1::2])
        return top(ranked, gold)
    b.top = split
    sys.argv = ["bench_tatoeba.py", "e5-small-q4"]
elif {name!r} == "jsquad":
    import bench_jsquad as b
    from train_abstain import articles
    article = articles()[1]
    figures = b.kotae_figures
    def split(outcomes, context_of, ask_s):
        for key, parity in (("dev_even", 0), ("held_odd", 1)):
            halves[key] = figures([o for o in outcomes if article[context_of[o.question.id]] % 2 == parity],
                                  context_of, ask_s)
        return figures(outcomes, context_of, ask_s)
    b.kotae_figures = split
    sys.argv = ["bench_jsquad.py", "--embedder", "e5-small-q4"]
else:
    import bench_report as b
    sys.argv = ["bench_report.py", "e5-small-q4"]
b.main()
print("HALVES " + json.dumps(halves))
"""


def run(name: str, graph: str) -> dict:
    code = CHILD.format(bench=str(ROOT / "benchmarks"), root=str(ROOT), graph=graph, name=name)
    load = os.getloadavg()[0]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT)
    if out.returncode != 0:  # the child's own traceback, not subprocess's
        raise SystemExit(f"{name} on the {graph} graph failed:\n" + out.stderr.replace("\r", "\n")[-3000:])
    halves = json.loads(out.stdout.rsplit("HALVES ", 1)[1])
    whole = json.loads((RESULTS / f"{name}-e5-small-q4.json").read_text(encoding="utf-8"))
    return {"load_average_at_start": round(load, 1), "halves": halves,
            **({"kotae": whole["kotae"]} if "kotae" in whole else {"systems": {"kotae": whole["systems"]["kotae"]}})}


def main() -> None:
    result: dict = {"graphs": {}}
    for graph in GRAPHS:
        result["graphs"][graph] = {name: run(name, graph) for name in ("report", "tatoeba", "jsquad")}
        print(graph, "done", file=sys.stderr, flush=True)
    write_result("engine_quality", result)


if __name__ == "__main__":
    main()
