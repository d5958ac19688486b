"""``kotae ingest --ray``: the index prepared on a (local, two-CPU) Ray instance is the index
a local ingest writes, for a fresh ingest, an incremental one and a --prune.

One Ray instance for the module (~8 s to start); lexical-only except the test of vectors.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import ingest.cluster
import ingest.index
import ingest.load
import ingest.use_vectors
from ingest import build_index
from ingest.generations import generation
from ingest.manifest import read_manifest
from ingest.use_vectors import USE_FILE
from tests.helpers import count_live_at_each_write, error_line, short_reports

ray = pytest.importorskip("ray")

SMALL = {
    "a.txt": "日本は核兵器不拡散条約を重視する。\n米国は2026年に交渉を始める。\n",
    "b.md": "◆◆見通し\n中国は核戦力を増強している。\nロシアは新STARTの履行を停止した。\n",
    "sub/c.txt": "北朝鮮は2024 年 11 月に ICBM を発射した。\n国連安保理決議2231は2025年10月18日に終了する。\n",
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture()
def corpus(tmp_path: Path, report_path: Path) -> Path:
    d = tmp_path / "corpus"
    for name, text in SMALL.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(text, encoding="utf-8")
    (d / "cp932.txt").write_bytes("防衛白書は毎年公表される。\n".encode("cp932"))
    (d / "empty.txt").write_text("  \n", encoding="utf-8")
    shutil.copy(report_path, d / report_path.name)
    return d


def _table(conn: sqlite3.Connection, table: str) -> list[tuple]:
    cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] != "vector"]
    return conn.execute(f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in cols)} FROM {table} "
                        "ORDER BY id").fetchall()


def _vectors(conn: sqlite3.Connection) -> np.ndarray:
    rows = conn.execute("SELECT vector FROM units ORDER BY id").fetchall()
    return np.array([np.frombuffer(r[0] or b"", np.float32) for r in rows])


def _manifest(index: Path) -> dict:
    """The manifest less what records when it was written."""
    m = read_manifest(generation(index)).as_dict()
    del m["created"]
    for d in m["documents"].values():
        del d["ingested"]
    return m


def assert_same_index(local: Path, remote: Path) -> None:
    """Same documents, units, passages (spans, tokens), BM25 arrays and manifest; vectors within 1e-6."""
    a, b = generation(local), generation(remote)
    assert _manifest(local) == _manifest(remote)
    ca, cb = sqlite3.connect(a / "store.sqlite"), sqlite3.connect(b / "store.sqlite")
    try:
        for table in ("documents", "units", "passages"):
            assert _table(ca, table) == _table(cb, table), table
        va, vb = _vectors(ca), _vectors(cb)
        assert va.shape == vb.shape
        assert np.abs(va - vb).max(initial=0.0) <= 1e-6
    finally:
        ca.close()
        cb.close()
    arrays = sorted(p.relative_to(a) for p in (a / "lexical").rglob("*") if p.is_file())
    assert arrays and arrays == sorted(p.relative_to(b) for p in (b / "lexical").rglob("*") if p.is_file())
    for rel in arrays:
        if rel.suffix == ".npy":
            assert np.array_equal(np.load(a / rel), np.load(b / rel)), rel
        else:
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    assert (a / "bridge.json").read_bytes() == (b / "bridge.json").read_bytes()
    assert (a / USE_FILE).is_file() == (b / USE_FILE).is_file()
    if (a / USE_FILE).is_file():
        with np.load(a / USE_FILE) as ua, np.load(b / USE_FILE) as ub:
            assert np.array_equal(ua["keys"], ub["keys"])
            assert np.abs(ua["vectors"].astype(np.float32) - ub["vectors"].astype(np.float32)).max(initial=0) <= 2e-3


def _both(paths: list[Path], tmp_path: Path, **kw) -> tuple:
    local = build_index(paths, tmp_path / "local", "none", **kw)
    remote = build_index(paths, tmp_path / "ray", "none", ray="auto", **kw)
    assert_same_index(tmp_path / "local", tmp_path / "ray")
    return local, remote


def test_fresh_ingest_equals_local(cluster: None, corpus: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest.cluster, "BATCH_CHARS", 100)  # several tasks, not one
    local, remote = _both([corpus], tmp_path)
    assert remote.documents == local.documents == 5
    assert remote.skipped == local.skipped == (("corpus/empty.txt", "empty"),)
    assert remote.cluster is not None and remote.cluster.sent == 6 and remote.cluster.tasks >= 3
    assert local.cluster is None


def test_incremental_and_prune_equal_local(cluster: None, corpus: Path, tmp_path: Path) -> None:
    _both([corpus], tmp_path)
    (corpus / "a.txt").write_text(SMALL["a.txt"] + "欧州は防衛費を増やす。\n", encoding="utf-8")
    (corpus / "d.txt").write_text("インドは核実験を行っていない。\n", encoding="utf-8")
    (corpus / "sub" / "c.txt").unlink()
    (corpus / "empty.txt").write_text("豪州はAUKUSに参加した。\n", encoding="utf-8")
    local, remote = _both([corpus], tmp_path)
    assert (remote.added, remote.updated, remote.kept) == (local.added, local.updated, local.kept)
    assert set(remote.added) == {"corpus/d.txt", "corpus/empty.txt"} and remote.updated == ("corpus/a.txt",)
    assert remote.kept == ("corpus/sub/c.txt",)
    assert remote.cluster is not None and remote.cluster.sent == 3  # only the changed files went out
    local, remote = _both([corpus], tmp_path, prune=True)
    assert remote.removed == local.removed == ("corpus/sub/c.txt",)
    assert remote.embedded_units == local.embedded_units == 0
    assert remote.cluster is not None and remote.cluster.sent == 0


def test_file_emptied_is_kept_as_locally(cluster: None, corpus: Path, tmp_path: Path) -> None:
    _both([corpus], tmp_path)
    (corpus / "a.txt").write_text("\n", encoding="utf-8")  # found empty by a worker, not the driver
    local, remote = _both([corpus], tmp_path)
    assert remote.kept == local.kept == ("corpus/a.txt",)
    assert remote.skipped == local.skipped


def test_vectors_equal_local(cluster: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in SMALL.items():
        (docs / name.replace("/", "-")).write_text(text, encoding="utf-8")
    monkeypatch.setattr(ingest.cluster, "BATCH_CHARS", 50)
    build_index([docs], tmp_path / "local")  # the default embedder, e5-small-q4
    if ingest.use_vectors.installed():
        # USE rows are embedded with the units, by the workers: the driver embeds none.
        monkeypatch.setattr(ingest.use_vectors, "shared_use_encoder", lambda: pytest.fail("the driver embedded"))
    summary = build_index([docs], tmp_path / "ray", ray="auto")
    assert summary.cluster is not None and summary.cluster.tasks == 3
    assert_same_index(tmp_path / "local", tmp_path / "ray")
    assert read_manifest(generation(tmp_path / "ray")).embedder_dim == 384


def test_unreadable_file_stops_the_ingest_as_locally(cluster: None, corpus: Path, tmp_path: Path) -> None:
    (corpus / "bad.txt").write_bytes(b"binary\x00data\n")
    with pytest.raises(ingest.InputError) as here:
        build_index([corpus], tmp_path / "local", "none")
    with pytest.raises(ingest.InputError) as there:
        build_index([corpus], tmp_path / "ray", "none", ray="auto")
    assert str(there.value) == str(here.value)
    assert not (tmp_path / "ray" / "current").exists()


def _kotae(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa_cli", *args], capture_output=True, text=True, timeout=60)


def test_address_that_does_not_answer_is_one_line(tmp_path: Path, corpus: Path) -> None:
    r = _kotae("ingest", str(corpus), "--index", str(tmp_path / "i"), "--embedder", "none", "--ray", "127.0.0.1:9")
    assert r.returncode == 2
    assert "no Ray cluster answers at 127.0.0.1:9" in error_line(r.stderr)


def test_missing_extra_is_one_line(tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    from qa_cli.main import main

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, as without the extra
    assert main(["ingest", str(corpus), "--index", str(tmp_path / "i"), "--embedder", "none", "--ray"]) == 2
    assert "pip install 'kotae[ray]'" in error_line(capsys.readouterr().err)
    assert not (tmp_path / "i").exists()


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])  # the field after the (name), which may hold spaces


def _running_task(title: bytes) -> int | None:
    """A process of this test's Ray instance (a descendant of this process) running the task
    ``title``: Ray names a worker process ``ray::<task>`` while it runs one."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if not cmdline.read_bytes().startswith(title):
                continue
        except OSError:
            continue
        pid = ancestor = int(cmdline.parent.name)
        while ancestor > 1:
            ancestor = _parent(ancestor)
            if ancestor == os.getpid():
                return pid
    return None


def test_worker_killed_mid_run_still_gives_the_same_index(cluster: None, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(4):
        (docs / f"{i}.txt").write_text("".join(SMALL.values()) * 3 + f"第{i}の文書である。\n", encoding="utf-8")
    monkeypatch.setattr(ingest.cluster, "BATCH_CHARS", 100)  # one file a task
    build_index([docs], tmp_path / "local")
    result: list = []
    run = threading.Thread(target=lambda: result.append(build_index([docs], tmp_path / "ray", ray="auto")))
    run.start()
    killed = False
    while not killed and run.is_alive():
        victim = _running_task(b"ray::prepare_batch")
        try:
            if victim is not None:
                os.kill(victim, signal.SIGKILL)
                killed = True
        except ProcessLookupError:
            pass  # its task ended between the look and the kill: look for the next one
        time.sleep(0.05)
    assert killed, "no task was seen running"
    run.join(timeout=120)
    assert result and result[0].cluster.tasks == 4
    assert_same_index(tmp_path / "local", tmp_path / "ray")


@pytest.mark.parametrize(("total", "workers", "size"), [
    (30_000, 2, 3_750),  # a small corpus: about four tasks a worker, not one task of all
    (10**9, 2, ingest.cluster.BATCH_CHARS),  # a large one: tasks of BATCH_CHARS
    (3, 2, 1),  # fewer characters than tasks wanted: one document a task
])
def test_batch_size(total: int, workers: int, size: int) -> None:
    assert ingest.cluster.batch_size(total, workers) == size


def test_batches_keep_order_and_put_a_big_document_alone() -> None:
    from ingest.load import documents_from_texts

    docs = documents_from_texts([("a", "あ" * 5), ("b", "い" * 5), ("c", "う" * 20), ("d", "え")])
    assert [[d.doc for d in b] for b in ingest.cluster.batches(docs, 10)] == [["a", "b"], ["c"], ["d"]]


def test_the_driver_decodes_no_file(cluster: None, corpus: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver only hashes the files; decoding them (their text) happens on the workers,
    whose processes do not see this test's patches."""
    def refuse(*args: object) -> None:
        raise AssertionError("the driver decoded a file")

    monkeypatch.setattr(ingest.cluster, "load_file", refuse)
    monkeypatch.setattr(ingest.index, "load", refuse)
    monkeypatch.setattr(ingest.load, "decode", refuse)
    summary = build_index([corpus], tmp_path / "ray", "none", ray="auto")
    assert summary.documents == 5 and summary.skipped == (("corpus/empty.txt", "empty"),)


def test_the_driver_holds_a_window_of_batches_not_the_corpus(cluster: None, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Results are written in the order given as they come back; the driver holds at most the
    # batches sent or finished ahead of the first one not yet written (AHEAD_PER_CPU a CPU).
    docs = short_reports(tmp_path / "docs", 30)
    monkeypatch.setattr(ingest.cluster, "BATCH_CHARS", 1)  # one document a task
    monkeypatch.setattr(ingest.cluster, "AHEAD_PER_CPU", 2)
    seen = count_live_at_each_write(monkeypatch)
    summary = build_index([docs], tmp_path / "ray", "none", ray="auto")
    assert summary.documents == 30 and summary.cluster is not None and summary.cluster.tasks == 30
    assert len(seen) == 30 and max(seen) <= 2 * summary.cluster.workers, seen
    build_index([docs], tmp_path / "local", "none")
    assert_same_index(tmp_path / "local", tmp_path / "ray")


def test_a_new_embedder_reprepares_kept_documents_as_locally(cluster: None, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Kept documents (in the index, not in this ingest) are prepared again for a new embedder:
    # read back from the old store, sent out as documents, written after the given ones.
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in SMALL.items():
        (docs / name.replace("/", "-")).write_text(text, encoding="utf-8")
    monkeypatch.setattr(ingest.cluster, "BATCH_CHARS", 50)
    for index in ("local", "ray"):
        build_index([docs], tmp_path / index, "none")
    (docs / "a.txt").write_text(SMALL["a.txt"] + "欧州は防衛費を増やす。\n", encoding="utf-8")
    local = build_index([docs / "a.txt"], tmp_path / "local", "e5-small-q4")
    remote = build_index([docs / "a.txt"], tmp_path / "ray", "e5-small-q4", ray="auto")
    assert remote.kept == local.kept and len(remote.kept) >= 2
    assert remote.embedded_units == local.embedded_units == remote.units
    assert remote.cluster is not None and remote.cluster.sent == 1 + len(remote.kept)
    assert_same_index(tmp_path / "local", tmp_path / "ray")
