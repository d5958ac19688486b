"""Reliability 3: missing, damaged and incompatible indexes through ``kotae ask``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from reliability_support import GOOD, answers, one_error, run_kotae, write_files

from ingest import build_index
from ingest.index import MANIFEST, generation


def _damage(index: Path, how: str) -> None:
    gen = generation(index)
    if how == "delete units.faiss":
        (gen / "units.faiss").unlink()
    elif how == "truncate units.faiss":
        data = (gen / "units.faiss").read_bytes()
        (gen / "units.faiss").write_bytes(data[: len(data) // 2])
    elif how == "junk passages.faiss":
        (gen / "passages.faiss").write_bytes(b"not a faiss index" * 10)
    elif how == "junk store.sqlite":
        (gen / "store.sqlite").write_bytes(os.urandom(8192))
    elif how == "store.sqlite body overwritten":
        data = bytearray((gen / "store.sqlite").read_bytes())
        data[4096:] = b"\xff" * (len(data) - 4096)  # header page intact, every table page junk
        (gen / "store.sqlite").write_bytes(bytes(data))
    elif how == "truncate store.sqlite":
        data = (gen / "store.sqlite").read_bytes()
        (gen / "store.sqlite").write_bytes(data[: len(data) // 3])
    elif how == "delete store.sqlite":
        (gen / "store.sqlite").unlink()
    elif how in ("manifest format 99", "manifest dim 7"):
        m = json.loads((gen / MANIFEST).read_text(encoding="utf-8"))
        if how == "manifest format 99":
            m["format"] = 99
        else:
            m["embedder"]["dim"] = 7
        (gen / MANIFEST).write_text(json.dumps(m), encoding="utf-8")
    elif how == "truncate manifest":
        data = (gen / MANIFEST).read_bytes()
        (gen / MANIFEST).write_bytes(data[: len(data) // 2])
    elif how == "delete manifest":
        (gen / MANIFEST).unlink()
    elif how == "delete lexical array":
        (gen / "lexical" / "units" / "data.csc.index.npy").unlink()
    elif how == "truncate lexical array":
        p = gen / "lexical" / "passages" / "indices.csc.index.npy"
        p.write_bytes(p.read_bytes()[:40])
    elif how == "current dangles":
        shutil.rmtree(gen)
    else:  # pragma: no cover
        raise AssertionError(how)


INDEX_DAMAGE = [  # (what is done to a copy of the e5 index, words of the one stderr line)
    ("delete units.faiss", "units.faiss"),
    ("truncate units.faiss", "units.faiss"),
    ("junk passages.faiss", "passages.faiss"),
    ("junk store.sqlite", "store.sqlite"),
    ("store.sqlite body overwritten", "store.sqlite"),
    ("truncate store.sqlite", "store.sqlite"),
    ("delete store.sqlite", "store.sqlite"),
    ("manifest format 99", "format 99 is newer"),
    ("manifest dim 7", "rebuild"),
    ("truncate manifest", "manifest"),
    ("delete manifest", "manifest"),
    ("delete lexical array", "lexical"),
    ("truncate lexical array", "lexical"),
    ("current dangles", "which is missing"),
]


@pytest.mark.parametrize(("how", "says"), INDEX_DAMAGE, ids=[c[0] for c in INDEX_DAMAGE])
def test_damaged_index_is_exit_3(tmp_path: Path, env: dict[str, str], e5_index: Path, how: str,
                                 says: str) -> None:
    index = tmp_path / "index"
    shutil.copytree(e5_index, index, symlinks=True)
    _damage(index, how)
    proc = run_kotae(env, "ask", "核兵器不拡散条約", "--index", index, "--json")
    one_error(proc, 3, says)
    assert proc.stdout == ""


@pytest.mark.parametrize("sql", ['UPDATE units SET start = start + 1',
                                 "UPDATE documents SET text = replace(text, '核兵器', '核兵噐')"],
                         ids=["offsets shifted", "source text edited"])
def test_store_altered_but_valid_never_cites_a_wrong_span(tmp_path: Path, env: dict[str, str],
                                                           e5_index: Path, sql: str) -> None:
    # A store that SQLite reads without complaint but whose spans no longer reproduce the
    # source: every citation is verified before it leaves the retriever, so the answer
    # is refused (exit 70, a bug to report), never printed with a wrong span.
    index = tmp_path / "index"
    shutil.copytree(e5_index, index, symlinks=True)
    conn = sqlite3.connect(generation(index) / "store.sqlite")
    conn.execute(sql)
    conn.commit()
    conn.close()
    proc = run_kotae(env, "ask", "核兵器不拡散条約", "--index", index, "--json")
    one_error(proc, 70, "does not reproduce its source text")
    assert proc.stdout == ""


def test_missing_index_directory(tmp_path: Path, env: dict[str, str]) -> None:
    proc = run_kotae(env, "ask", "核兵器", "--index", tmp_path / "nowhere", "--json")
    one_error(proc, 3, "no index at", "kotae ingest")
    (tmp_path / "empty").mkdir()
    proc = run_kotae(env, "ask", "核兵器", "--index", tmp_path / "empty", "--json")
    one_error(proc, 3, "not a kotae index")


def test_embedder_other_than_the_index_is_exit_3(env: dict[str, str], e5_index: Path,
                                                 report_lexical: Path) -> None:
    proc = run_kotae(env, "ask", "核兵器", "--index", e5_index, "--embedder", "none")
    one_error(proc, 3, "'e5-small-q4'", "not 'none'")
    proc = run_kotae(env, "ask", "核兵器", "--index", report_lexical, "--embedder", "e5-small-q4")
    one_error(proc, 3, "'none'", "not 'e5-small-q4'")


def test_ingest_over_a_damaged_index_rebuilds_it(tmp_path: Path, env: dict[str, str]) -> None:
    docs = write_files(tmp_path / "docs", {"a.txt": GOOD})
    index = tmp_path / "index"
    build_index([docs], index, "none")
    (generation(index) / "store.sqlite").write_bytes(b"junk" * 100)
    proc = run_kotae(env, "ingest", docs, "--index", index, "-q")  # the old store is unreadable: all new
    assert proc.returncode == 0, proc.stderr
    assert "1 added" in proc.stdout
    assert answers(index, ["運用検討会議"])[0]["answer"]["doc"] == "docs/a.txt"
