"""`kotae ingest --ray` against a local ingest, on a two-node Ray cluster started on this machine.

Needs: the project installed with the ray extra (pip install -e '.[ray]'),
../shared/eval/jsquad-valid-v1.3.json. Writes benchmarks/results/ray.json. Run:

    python benchmarks/bench_ray.py               # about 10 minutes here
    python benchmarks/bench_ray.py --limit 300   # the first 300 contexts only

The JSQuAD contexts are written as one .txt file each (a Ray ingest sends files by path).
Every ingest runs in a process of its own, so that its peak memory is its own; the
cluster is Ray's two nodes on one machine (a head and a second node, one CPU each, by
ray.cluster_utils.Cluster: what `ray start --head` and `ray start --address` make).

1. Speed, with the default embedder: the contexts ingested locally, then with ``--ray``;
   wall seconds of each (the cluster's start apart), the share of the driver's time spent
   outside waiting for tasks, and each process's peak resident memory.
2. Driver memory against corpus size: half the contexts, all of them, and all of them three
   times over (renamed copies), each ingested locally and with ``--ray``. The engine is not
   what is measured here, so these runs embed with a stand-in (:class:`StandInEmbedder`:
   384 floats a unit, as e5-small, made from a hash of the text, in the driver and in every
   Ray worker): the index holds as many vectors as with e5, in minutes instead of an hour.
   Beside each peak: the size of the vectors written (e5's of units and passages, 4 bytes a
   float, and multilingual USE's of units, 2 bytes a float, when that package is installed:
   those are real, embedded by the workers, or locally).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
JSQUAD = ROOT.parent / "shared" / "eval" / "jsquad-valid-v1.3.json"
DIM = 384  # e5-small's


def write_contexts(target: Path, limit: int, copies: int = 1) -> int:
    """One file per JSQuAD context (``copies`` times over, renamed); return the characters written."""
    sys.path.insert(0, str(ROOT))
    from retriever.evaluate import read_questions

    docs = read_questions(JSQUAD).documents or []
    docs = docs[:limit] if limit else docs
    target.mkdir(parents=True)
    for copy in range(copies):
        for i, d in enumerate(docs):
            (target / f"{copy}-{i:05d}.txt").write_text(d.text, encoding="utf-8")
    return copies * sum(len(d.text) for d in docs)


class StandInEmbedder:
    """Unit vectors of e5-small's size made from a hash of each text: for measuring the
    driver's memory, which holds the vectors but never runs the engine."""

    spec = "e5-small-q4"
    dim = DIM

    def passages(self, texts: Sequence[str], progress: Any = None) -> np.ndarray:
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).standard_normal(DIM)
            out[i] = v / np.linalg.norm(v)
        if progress:
            progress(sum(map(len, texts)))
        return out

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.passages(texts)


def use_stand_in() -> None:
    """Make this process (the driver, or a Ray worker as it starts) embed with the stand-in."""
    sys.path.insert(0, str(ROOT))
    import ingest.embed
    import ingest.index

    stand_in = StandInEmbedder()
    ingest.embed.get_embedder = ingest.index.get_embedder = lambda spec=None: stand_in  # type: ignore[assignment]


def one_run(corpus: str, index: str, ray: str | None, stand_in: bool) -> dict:
    """Ingest in this process (a child of main) and report its figures as JSON."""
    sys.path.insert(0, str(ROOT))
    from ingest import build_index
    from ingest.generations import generation
    from ingest.use_vectors import USE_DIM, USE_FILE

    joined = 0.0
    if stand_in:
        use_stand_in()
    if ray:
        import ray as ray_module

        t = time.perf_counter()
        ray_module.init(address=ray, logging_level="ERROR", log_to_driver=False,
                        runtime_env={"worker_process_setup_hook": use_stand_in} if stand_in else None)
        joined = time.perf_counter() - t
    t0 = time.perf_counter()
    s = build_index([corpus], index, "e5-small-q4", ray=ray)
    use = (generation(Path(index)) / USE_FILE).is_file()
    out = {"wall_s": round(time.perf_counter() - t0, 2), "documents": s.documents, "units": s.units,
           "passages": s.passages, "chars": s.chars,
           # e5's float32 rows of units and passages, and USE's float16 rows of units if written
           "vectors_mb": round(((s.units + s.passages) * DIM * 4 + (s.units * USE_DIM * 2 if use else 0)) / 2**20, 1),
           "use_vectors": use,
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if s.cluster is not None:
        c = s.cluster
        out.update({"join_s": round(joined, 2), "tasks": c.tasks, "workers": c.workers,
                    "cluster_s": round(c.seconds, 2), "waiting_s": round(c.waiting, 2),
                    # the driver's own work (hashing, planning, receiving, writing) over the whole ingest
                    "driver_outside_waiting": round(1 - c.waiting / s.seconds, 4),
                    "driver_outside_waiting_while_tasks_run": round(1 - c.waiting / c.seconds, 4)})
    return out


def child(corpus: Path, index: Path, ray: str | None, stand_in: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--child", str(corpus), str(index)] + (["--ray", ray] if ray else [])
    cmd += ["--stand-in"] if stand_in else []
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    shutil.rmtree(index, ignore_errors=True)
    print(json.dumps({"corpus": corpus.name, "ray": bool(ray), "stand_in": stand_in, **result}), flush=True)
    return result


def memory_runs(tmp: Path, address: str, limit: int) -> list[dict]:
    """Peak driver memory, locally and with --ray, for three corpus sizes (stand-in vectors):
    half the contexts (or of the first ``limit``), all of them, all three times over."""
    runs = []
    for name, first, copies in (("half", (limit or 1145) // 2, 1), ("all", limit, 1), ("all x3", limit, 3)):
        corpus = tmp / name.replace(" ", "")
        chars = write_contexts(corpus, first, copies)
        local = child(corpus, tmp / "index-local", None, stand_in=True)
        remote = child(corpus, tmp / "index-ray", address, stand_in=True)
        runs.append({"corpus": name, "chars": chars, "documents": local["documents"], "units": local["units"],
                     "passages": local["passages"], "vectors_mb": local["vectors_mb"],
                     "local_peak_rss_mb": local["peak_rss_mb"], "ray_peak_rss_mb": remote["peak_rss_mb"],
                     "local_wall_s": local["wall_s"], "ray_wall_s": remote["wall_s"]})
        shutil.rmtree(corpus)
    return runs


def growth(runs: list[dict]) -> dict:
    """From the smallest corpus to the largest: how much each driver's peak grew, and the vectors."""
    a, b = runs[0], runs[-1]
    return {"from": a["corpus"], "to": b["corpus"], "chars_x": round(b["chars"] / a["chars"], 2),
            "vectors_mb": round(b["vectors_mb"] - a["vectors_mb"], 1),
            "local_peak_mb": round(b["local_peak_rss_mb"] - a["local_peak_rss_mb"], 1),
            "ray_peak_mb": round(b["ray_peak_rss_mb"] - a["ray_peak_rss_mb"], 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=0, help="first N contexts for the speed runs (0: all)")
    ap.add_argument("--skip-memory", action="store_true", help="only the speed runs")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "ray.json"))
    ap.add_argument("--child", nargs=2, metavar=("CORPUS", "INDEX"), help=argparse.SUPPRESS)
    ap.add_argument("--ray", help=argparse.SUPPRESS)
    ap.add_argument("--stand-in", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one_run(*args.child, args.ray, args.stand_in)))
        return
    load_before = round(os.getloadavg()[0], 2)
    from ray.cluster_utils import Cluster

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "jsquad"
        chars = write_contexts(corpus, args.limit)
        local = child(corpus, Path(tmp) / "local", None)
        t = time.perf_counter()
        # Ray's own two-node cluster on one machine; shutdown() stops only the processes it started.
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
        try:
            cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
            started = time.perf_counter() - t
            remote = child(corpus, Path(tmp) / "ray", cluster.address)
            shutil.rmtree(corpus)
            memory = [] if args.skip_memory else memory_runs(Path(tmp), cluster.address, args.limit)
        finally:
            cluster.shutdown()
    result = {
        "data": "JSQuAD v1.3 validation contexts (JGLUE, CC BY-SA 4.0), one file each",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_1min_before_after": [load_before, round(os.getloadavg()[0], 2)]},
        "contexts": local["documents"], "chars": chars, "cluster": "2 nodes on this machine, 1 CPU each",
        "cluster_start_s": round(started, 2), "local": local, "ray": remote,
        "ray_vs_local_wall": round(remote["wall_s"] / local["wall_s"], 3),
        "memory": {"embedder": "e5 replaced by a stand-in: 384 floats a unit from a hash of its text (the "
                               "engine is not measured here); USE's rows are real",
                   "runs": memory, "growth": growth(memory) if memory else None},
    }
    print(json.dumps(result, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
