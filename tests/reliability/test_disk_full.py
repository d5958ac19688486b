"""Reliability 6: disk full and read-only index directories (simulated in-process; for
real on a tmpfs).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from reliability_support import (
    QUESTIONS,
    answers,
    comparable,
    live_version,
    one_error,
    paused_kotae_cmd,
    run_kotae,
    write_files,
)

from ingest import build_index
from ingest.errors import KotaeError
from ingest.generations import CURRENT, generation
from ingest.manifest import read_manifest


def _old_state(index: Path) -> tuple[str, dict, list[dict]]:
    return (index / CURRENT).resolve().name, read_manifest(generation(index)), answers(index, QUESTIONS)


def _one_line(e: KotaeError) -> str:
    assert "\n" not in str(e)
    return str(e)


def _full_sqlite() -> sqlite3.OperationalError:
    e = sqlite3.OperationalError("database or disk is full")
    e.sqlite_errorcode = sqlite3.SQLITE_FULL  # what sqlite3 sets on a real one
    return e


# (case, the function that fails, what it raises): each is how that writer reports a
# full disk (seen for real on a full tmpfs; see test_disk_full_for_real).
DISK_FULL = [
    ("sqlite", "ingest.store.StoreWriter.add", _full_sqlite),
    ("oserror", "ingest.store.StoreWriter.add", lambda: OSError(errno.ENOSPC, "No space left on device")),
    ("faiss", "ingest.lexical.Bm25Builder.write", lambda: RuntimeError(  # (raised where a lexical-only index can fail)
        "Error in void faiss::write_index(...): write error in units.faiss: 2023 != 7680 (No space left on device)")),
    ("numpy short write", "ingest.lexical.Bm25Builder.write", lambda: OSError("1920000 requested and 505824 written")),
    ("fsync", "ingest.generations.fsync_tree", lambda: OSError(errno.ENOSPC, "No space left on device")),
    ("quota", "ingest.store.StoreWriter.add", lambda: OSError(errno.EDQUOT, "Disk quota exceeded")),
]


@pytest.mark.parametrize(("case", "target", "error"), DISK_FULL, ids=[c[0] for c in DISK_FULL])
def test_disk_full_keeps_the_old_index(kill_index: Path, versions: dict, monkeypatch: pytest.MonkeyPatch,
                                       case: str, target: str, error) -> None:
    before = _old_state(kill_index)

    def fail(*args: object, **kwargs: object) -> None:
        raise error()

    monkeypatch.setattr(target, fail)
    if case == "numpy short write":  # numpy gives no errno: the free space says it
        monkeypatch.setattr(shutil, "disk_usage", lambda p: SimpleNamespace(total=10, used=10, free=0))
    with pytest.raises(KotaeError, match="disk full") as err:
        build_index([versions[2]["corpus"]], kill_index, "none", prune=True)
    assert err.value.exit_code == 2
    assert "previous index is intact" in _one_line(err.value)
    monkeypatch.undo()
    assert _old_state(kill_index) == before
    assert not list(kill_index.glob(".tmp-*"))
    build_index([versions[2]["corpus"]], kill_index, "none", prune=True)  # space again: it works
    assert live_version(kill_index, versions) == 2


@pytest.mark.parametrize("where", ["mkdir", "rename"])
def test_read_only_index_directory_keeps_the_old_index(kill_index: Path, versions: dict,
                                                       monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    # Root writes through chmod 0o555, so the refusal of a read-only mount (EROFS) or a
    # directory the user may not write (EACCES) is simulated where the new generation
    # is created (mkdir) or published (rename).
    before = _old_state(kill_index)
    if where == "mkdir":
        real_mkdir = Path.mkdir

        def mkdir(self: Path, *a: object, **k: object) -> None:
            if self.name.startswith(".tmp-"):
                raise OSError(errno.EROFS, "Read-only file system", str(self))
            real_mkdir(self, *a, **k)

        monkeypatch.setattr(Path, "mkdir", mkdir)
        says = "Read-only file system"
    else:
        real_rename = os.rename

        def rename(src: object, dst: object) -> None:
            if Path(str(src)).name.startswith(".tmp-"):
                raise PermissionError(errno.EACCES, "Permission denied", str(dst))
            real_rename(src, dst)

        monkeypatch.setattr(os, "rename", rename)
        says = "Permission denied"
    with pytest.raises(KotaeError, match="cannot write the index") as err:
        build_index([versions[2]["corpus"]], kill_index, "none", prune=True)
    assert says in _one_line(err.value)
    monkeypatch.undo()
    assert _old_state(kill_index) == before
    assert not list(kill_index.glob(".tmp-*"))


@pytest.fixture()
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs: a disk that really fills up and can really be made read-only."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        pytest.skip(f"cannot mount a tmpfs here ({e}); the monkeypatched disk-full tests stand in")
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}); the monkeypatched tests stand in")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30)


def _big_corpus(root: Path, chars: int) -> Path:
    sentence = "日本は核兵器不拡散条約の運用検討会議を重視すると述べた。"
    text = "\n".join((sentence * (chars // len(sentence) + 1))[i:i + 40] for i in range(0, chars, 40))
    return write_files(root / "corpus", {"big.txt": text + "\n"})


def test_disk_full_for_real(tmpfs: Path, tmp_path: Path, versions: dict, env: dict[str, str]) -> None:
    index = tmpfs / "index"
    build_index([versions[1]["corpus"]], index, "none")
    before = _old_state(index)
    # 1. a document whose store does not fit: SQLite fills the disk
    big = _big_corpus(tmp_path / "big", 400_000)
    proc = run_kotae(env, "ingest", big, versions[1]["corpus"], "--index", index, "--embedder", "none", "-q")
    one_error(proc, 2, "disk full", "previous index is intact")
    assert _old_state(index) == before
    # 2. the disk fills up while the lexical index is written (numpy's short write)
    proc = subprocess.Popen(paused_kotae_cmd("store-written", 1.5, "ingest", versions[2]["corpus"], "--index", index,
                                             "--embedder", "none", "-q"),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr.readline().strip() == "kotae: test pause at store-written"
    with open(tmpfs / "filler", "wb", buffering=0) as f:  # take every byte left
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    out, err = proc.communicate(timeout=60)
    (tmpfs / "filler").unlink()
    one_error(subprocess.CompletedProcess(proc.args, proc.returncode, out, err), 2, "disk full")
    assert _old_state(index) == before
    assert not list(index.glob(".tmp-*"))
    # 3. read-only: a clear error, the old index intact and still answering
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True, timeout=30)
    try:
        proc = run_kotae(env, "ingest", versions[2]["corpus"], "--index", index, "--embedder", "none", "-q")
        one_error(proc, 2, "cannot write the index", "Read-only file system")
        proc = run_kotae(env, "ask", QUESTIONS[0], "--index", index, "--json")
        assert proc.returncode == 0, proc.stderr
        assert comparable(json.loads(proc.stdout)) == before[2][0]
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(tmpfs)], check=True, timeout=30)
    assert _old_state(index) == before
