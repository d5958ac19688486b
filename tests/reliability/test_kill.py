"""Reliability 5: kill -9 during ``kotae ingest``, at timed moments and at named stages.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from reliability_support import (
    QUESTIONS,
    answers,
    kotae_cmd,
    live_version,
    paused_kotae_cmd,
    run_kotae,
)

from ingest import build_index
from ingest.generations import CURRENT, KEEP_GENERATIONS, read_record, remember
from ingest.manifest import MANIFEST


def _where_killed(index: Path, live_before: str, gens_before: set[str]) -> str:
    if (index / CURRENT).resolve().name != live_before:
        return "after publishing (current switched)"
    if {p.name for p in index.glob("gen-*")} - gens_before:
        return "after renaming the new generation, before switching current"
    tmps = list(index.glob(".tmp-*"))
    if not tmps:
        return "before writing (starting, loading, segmenting or waiting for the lock)"
    have = [n for n in ("store.sqlite", "lexical/passages", "lexical/units", MANIFEST) if (tmps[0] / n).exists()]
    return "while writing the temporary generation (present: " + (", ".join(have) or "nothing yet") + ")"


def _kill_and_check(index: Path, versions: dict, target: int, delay: float | None, stage: str | None,
                    env: dict[str, str]) -> str:
    """Start ingesting version ``target`` over the index, kill -9 it, check the index, finish it."""
    old = live_version(index, versions)
    live_before = (index / CURRENT).resolve().name
    gens_before = {p.name for p in index.glob("gen-*")}
    args = ("ingest", versions[target]["corpus"], "--index", index, "--embedder", "none", "--prune", "-q")
    cmd = paused_kotae_cmd(stage, 60, *args) if stage else kotae_cmd(*args)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        if stage:
            watchdog = threading.Timer(60, proc.kill)
            watchdog.start()
            line = proc.stderr.readline()
            watchdog.cancel()
            assert line.strip() == f"kotae: test pause at {stage}", line
        else:
            time.sleep(delay or 0)
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    where = "finished before the kill" if finished else _where_killed(index, live_before, gens_before)
    # the index loads and answers exactly as one whole corpus does: the old one unless the
    # kill came after the new one was published
    now = live_version(index, versions)
    if not where.startswith(("after publishing", "finished")):
        assert now == old, where
    assert answers(index, QUESTIONS) == versions[now]["answers"], where
    # a new ingest completes (the killed one's lock died with it) and clears its litter
    summary = build_index([versions[target]["corpus"]], index, "none", prune=True)
    assert summary.documents == len(versions[target]["sha"])
    assert live_version(index, versions) == target
    assert answers(index, QUESTIONS) == versions[target]["answers"]
    assert not list(index.glob(".tmp-*")) and not list(index.glob(f".{CURRENT}.*"))
    assert len(list(index.glob("gen-*"))) <= KEEP_GENERATIONS + 1
    return where


KILL_REPORT: list[tuple[str, str]] = []


STAGES = ["loaded", "prepared", "store-written", "lexical-written", "renamed", "published"]


@pytest.mark.parametrize("stage", STAGES)
def test_kill_at_a_named_stage(kill_index: Path, versions: dict, env: dict[str, str], stage: str) -> None:
    where = _kill_and_check(kill_index, versions, 2, None, stage, env)
    KILL_REPORT.append((f"stage {stage}", where))
    # Documents are written as they are prepared: by "prepared" the temporary generation exists.
    expected = {"loaded": "before writing", "prepared": "while writing",
                "store-written": "while writing", "lexical-written": "while writing",
                "renamed": "after renaming", "published": "after publishing"}[stage]
    assert where.startswith(expected), where


def test_kill_at_timed_moments(kill_index: Path, versions: dict, env: dict[str, str]) -> None:
    # How long a whole ingest of v2 over v1 takes here decides where the kills land.
    t0 = time.perf_counter()
    proc = run_kotae(env, "ingest", versions[2]["corpus"], "--index", kill_index, "--embedder", "none",
                     "--prune", "-q")
    whole = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    target = 1
    for fraction in (0.0, 0.3, 0.5, 0.65, 0.8, 0.9, 0.97, 1.1):
        delay = max(0.05, fraction * whole)
        where = _kill_and_check(kill_index, versions, target, delay, None, env)
        KILL_REPORT.append((f"{delay:.2f} s of {whole:.2f} s", where))
        target = 3 - target
    print("\nkill -9 points:\n" + "\n".join(f"  {a:>22}: {b}" for a, b in KILL_REPORT))


def test_stale_litter_is_cleared_by_the_next_ingest(kill_index: Path, versions: dict) -> None:
    # What a killed ingest leaves is named in the record before it was made, so the next
    # ingest clears it; what kotae did not make is left alone, whatever its name.
    remember(kill_index, ".tmp-999-1")
    (kill_index / ".tmp-999-1").mkdir()
    (kill_index / ".tmp-999-1" / "store.sqlite").write_bytes(b"half")
    (kill_index / f".{CURRENT}.new").symlink_to("gen-nothing")
    (kill_index / ".tmp-mine").mkdir()
    (kill_index / "gen-2019-photos").mkdir()
    build_index([versions[2]["corpus"]], kill_index, "none", prune=True)
    assert sorted(p.name for p in kill_index.iterdir() if not p.name.startswith("gen-2")) == [
        ".kotae-index", ".lock", ".tmp-mine", "current"]
    assert (kill_index / "gen-2019-photos").is_dir()
    assert ".tmp-999-1" not in (read_record(kill_index) or [])
