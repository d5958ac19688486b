"""`kotae ingest --ray` against a local ingest, on a two-node Ray cluster started on this machine.

Needs: the project installed with the ray extra (pip install -e '.[ray]'),
../shared/eval/jsquad-valid-v1.3.json. Writes benchmarks/results/ray.json. Run:

    python benchmarks/bench_ray.py               # all 1,145 JSQuAD contexts (about 7 minutes here)
    python benchmarks/bench_ray.py --limit 300   # the first 300

The contexts are written as one .txt file each (a Ray ingest sends files by path), then
ingested twice with the default embedder, each run in a process of its own so that its
peak memory is its own: once locally, once through a cluster of two nodes started here
(a head and a second node with one CPU each, by ray.cluster_utils.Cluster).

Figures: wall seconds of each ingest (the cluster's start apart), the Ray run's share of
driver time outside waiting for tasks, and each driver's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JSQUAD = ROOT.parent / "shared" / "eval" / "jsquad-valid-v1.3.json"


def write_contexts(target: Path, limit: int) -> int:
    """One file per JSQuAD context; return the characters written."""
    sys.path.insert(0, str(ROOT))
    from retriever.evaluate import read_questions

    docs = read_questions(JSQUAD).documents or []
    docs = docs[:limit] if limit else docs
    for i, d in enumerate(docs):
        (target / f"{i:05d}.txt").write_text(d.text, encoding="utf-8")
    return sum(len(d.text) for d in docs)


def one_run(corpus: str, index: str, ray: str | None) -> dict:
    """Ingest in this process (the child of main) and report its figures as JSON."""
    sys.path.insert(0, str(ROOT))
    from ingest import build_index

    if ray:
        from ingest.cluster import connect

        t = time.perf_counter()
        connect(ray)
        joined = time.perf_counter() - t
    t0 = time.perf_counter()
    s = build_index([corpus], index, "e5-small-q4", ray=ray)
    out = {"wall_s": round(time.perf_counter() - t0, 2), "documents": s.documents, "units": s.units,
           "chars": s.chars, "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if s.cluster is not None:
        c = s.cluster
        out.update({"join_s": round(joined, 2), "tasks": c.tasks, "workers": c.workers,
                    "cluster_s": round(c.seconds, 2), "waiting_s": round(c.waiting, 2),
                    # the driver's own work (hashing, planning, receiving, writing) over the whole ingest
                    "driver_outside_waiting": round(1 - c.waiting / s.seconds, 4),
                    "driver_outside_waiting_while_tasks_run": round(1 - c.waiting / c.seconds, 4)})
    return out


def child(corpus: Path, index: Path, ray: str | None) -> dict:
    cmd = [sys.executable, __file__, "--child", str(corpus), str(index)] + (["--ray", ray] if ray else [])
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=0, help="first N contexts (0: all)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "ray.json"))
    ap.add_argument("--child", nargs=2, metavar=("CORPUS", "INDEX"), help=argparse.SUPPRESS)
    ap.add_argument("--ray", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one_run(*args.child, args.ray)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "jsquad"
        corpus.mkdir()
        chars = write_contexts(corpus, args.limit)
        local = child(corpus, Path(tmp) / "local", None)
        from ray.cluster_utils import Cluster

        t = time.perf_counter()
        # Ray's own two-node cluster on one machine (what `ray start --head` and a second
        # `ray start --address` make); shutdown() stops only the processes it started.
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
        try:
            cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
            started = time.perf_counter() - t
            remote = child(corpus, Path(tmp) / "ray", cluster.address)
        finally:
            cluster.shutdown()
        shutil.rmtree(corpus)
    result = {
        "data": "JSQuAD v1.3 validation contexts (JGLUE, CC BY-SA 4.0), one file each",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_at_end": round(os.getloadavg()[0], 2)},
        "contexts": local["documents"], "chars": chars, "cluster": "2 nodes on this machine, 1 CPU each",
        "cluster_start_s": round(started, 2), "local": local, "ray": remote,
        "ray_vs_local_wall": round(remote["wall_s"] / local["wall_s"], 3),
    }
    print(json.dumps(result, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
