"""Load on `kotae serve`: concurrent clients on 127.0.0.1 while `kotae ingest` publishes.

Needs: the project installed with the serve extra (`kotae` on PATH). Writes
benchmarks/results/load_serve.json. Run: python benchmarks/load_serve.py [--clients 8 --per-client 250]

1. Index corpus/ into a temporary directory; ask every question of
   corpus/questions/report.jsonl through `kotae ask - --json` once: the reference answers.
2. Start `kotae serve --port 0` on that index (127.0.0.1 only).
3. CLIENTS threads, each on its own keep-alive connection, POST PER_CLIENT questions to
   /api/ask one after another (the question list, each client from its own offset). Every
   reply must be 200 and equal the reference without its timings.
4. Meanwhile `kotae ingest` runs INGESTS times on the same corpus: each publishes a new
   generation (same content, so the answers stay the same) and, after two, removes the one
   the server started with. The server must switch to the last one and fail no request.

Bounded: at most CLIENTS x PER_CLIENT requests, each with a 60 s timeout, and the whole
run stops after --deadline seconds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT, write_result

QUESTIONS = ROOT / "corpus" / "questions" / "report.jsonl"


@dataclass
class Tally:
    """What the clients saw, added to under a lock."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def comparable(answer: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in answer.items() if k != "timings_ms"}, ensure_ascii=False, sort_keys=True)


def reference(index: Path, questions: list[str]) -> dict[str, str]:
    """The answers of `kotae ask - --json`, keyed by question."""
    proc = subprocess.run(["kotae", "ask", "-", "--json", "--index", str(index)], input="\n".join(questions) + "\n",
                          capture_output=True, text=True, timeout=600, check=True)
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(answers) == len(questions), proc.stderr
    return {q: comparable(a) for q, a in zip(questions, answers, strict=True)}


def start_server(index: Path) -> tuple[subprocess.Popen[str], str, int]:
    proc = subprocess.Popen(["kotae", "serve", "--index", str(index), "--port", "0"], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if " at http://" not in line:
        proc.kill()
        raise SystemExit(f"kotae serve did not start: {line}{proc.stderr.read()}")
    url = line.split(" at ")[1].split()[0]
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    return proc, host, int(port)


def get(host: str, port: int, path: str) -> dict[str, Any]:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.request("GET", path)
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def client(host: str, port: int, questions: list[str], expected: dict[str, str], tally: Tally,
           deadline: float) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        for q in questions:
            if time.monotonic() > deadline:
                with tally.lock:
                    tally.errors.append("deadline reached before all questions were asked")
                return
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/api/ask", body=json.dumps({"question": q}).encode(),
                             headers={"content-type": "application/json"})
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=60)
                with tally.lock:
                    tally.errors.append(f"{q}: {type(e).__name__}: {e}")
                continue
            ms = (time.perf_counter() - t0) * 1000
            with tally.lock:
                tally.done += 1
                tally.latencies_ms.append(ms)
                if response.status != 200:
                    tally.errors.append(f"{q}: HTTP {response.status} {body[:200]!r}")
                elif comparable(json.loads(body)) != expected[q]:
                    tally.mismatches.append(q)
    finally:
        conn.close()


def ingest_while_serving(corpus: Path, index: Path, tally: Tally, total: int, times: int) -> list[dict[str, Any]]:
    """Run `kotae ingest` ``times`` times, starting once a fifth of the requests are done."""
    runs = []
    while tally.done < total // 5:
        time.sleep(0.1)
    for _ in range(times):
        t0 = time.perf_counter()
        proc = subprocess.run(["kotae", "ingest", str(corpus), "--index", str(index), "-q"],
                              capture_output=True, text=True, timeout=600, check=False)
        runs.append({"seconds": round(time.perf_counter() - t0, 2), "exit": proc.returncode,
                     "generation": os.readlink(index / "current"), "requests_done": tally.done,
                     "stdout": proc.stdout.strip()})
    return runs


def run(clients: int, per_client: int, ingests: int, deadline_s: float) -> dict[str, Any]:
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    before_load = os.getloadavg()[0]  # the machine is shared: what else ran shows here
    with tempfile.TemporaryDirectory(prefix="kotae-load-") as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        shutil.copytree(ROOT / "corpus", corpus, ignore=shutil.ignore_patterns("questions"))
        subprocess.run(["kotae", "ingest", str(corpus), "--index", str(index), "-q"], check=True, timeout=600,
                       stdout=subprocess.DEVNULL)
        expected = reference(index, questions)
        first_generation = os.readlink(index / "current")
        server, host, port = start_server(index)
        try:
            tally = Tally()
            total = clients * per_client
            deadline = time.monotonic() + deadline_s
            threads = [threading.Thread(target=client, args=(host, port, [questions[(c * 7 + i) % len(questions)]
                                                                           for i in range(per_client)],
                                                             expected, tally, deadline)) for c in range(clients)]
            ingest_runs: list[dict[str, Any]] = []
            ingester = threading.Thread(target=lambda: ingest_runs.extend(
                ingest_while_serving(corpus, index, tally, total, ingests)))
            t0 = time.perf_counter()
            for t in [*threads, ingester]:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            ingester.join()
            last = os.readlink(index / "current")
            first_removed = not (index / first_generation).exists()
            health = get(host, port, "/api/health")
            for _ in range(100):  # the last generation may still be loading
                if health["generation"] == last:
                    break
                time.sleep(0.1)
                health = get(host, port, "/api/health")
        finally:
            server.terminate()
            server.wait(timeout=30)
    lat = np.array(tally.latencies_ms)
    return {
        "clients": clients, "questions_per_client": per_client, "requests": total, "answered": tally.done,
        "errors": len(tally.errors), "error_examples": tally.errors[:5],
        "mismatches": len(tally.mismatches), "mismatch_examples": tally.mismatches[:5],
        "distinct_questions": len(set(questions)),
        "latency_ms": {"p50": round(float(np.percentile(lat, 50)), 1), "p95": round(float(np.percentile(lat, 95)), 1),
                       "p99": round(float(np.percentile(lat, 99)), 1), "max": round(float(lat.max()), 1)},
        "throughput_per_s": round(tally.done / wall, 1), "wall_s": round(wall, 1),
        "ingests": ingest_runs,
        "load_average_1min_before_after": [round(before_load, 2), round(os.getloadavg()[0], 2)],
        "first_generation": first_generation, "last_generation": last,
        "served_generation_at_end": health["generation"], "reloads": health["reloads"],
        "first_generation_removed": first_removed,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--per-client", type=int, default=250)
    p.add_argument("--ingests", type=int, default=3, help="generations published while the clients run")
    p.add_argument("--deadline", type=float, default=900, help="seconds after which clients stop asking")
    args = p.parse_args()
    result = run(args.clients, args.per_client, args.ingests, args.deadline)
    write_result("load_serve", result)
    print(json.dumps({k: v for k, v in result.items() if k != "ingests"}, ensure_ascii=False, indent=1))
    ok = (not result["errors"] and not result["mismatches"] and result["answered"] == result["requests"]
          and result["served_generation_at_end"] == result["last_generation"])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
