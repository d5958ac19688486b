"""Reliability 3: missing, damaged, incompatible and foreign index directories, through
``kotae ask`` and ``kotae ingest``: one line and exit 3, and nothing that is not kotae's
is ever deleted or written over (issue 17, items 1, 6 and 7).
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
from ingest.generations import KEEP_GENERATIONS, RECORD, generation, read_record
from ingest.manifest import MANIFEST


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
    elif how == "current a regular file":
        (index / "current").unlink()
        (index / "current").write_text("gen-x\n")
    elif how in ("manifest from another dictionary", "manifest names a missing model"):
        m = json.loads((gen / MANIFEST).read_text(encoding="utf-8"))
        if how == "manifest from another dictionary":
            m["tokenizer"]["dictionary_version"] = "unidic-0.0.1"
        else:
            m["embedder"]["spec"] = "/nowhere/a-model"
        (gen / MANIFEST).write_text(json.dumps(m), encoding="utf-8")
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
    ("current a regular file", "not a link"),
    ("manifest from another dictionary", "unidic-0.0.1", "rebuild with kotae ingest"),
    ("manifest names a missing model", "/nowhere/a-model", "rebuild with kotae ingest"),
]


@pytest.mark.parametrize(("how", "says"), [(c[0], c[1:]) for c in INDEX_DAMAGE], ids=[c[0] for c in INDEX_DAMAGE])
def test_damaged_index_is_exit_3(tmp_path: Path, env: dict[str, str], e5_index: Path, how: str,
                                 says: tuple[str, ...]) -> None:
    index = tmp_path / "index"
    shutil.copytree(e5_index, index, symlinks=True)
    _damage(index, how)
    proc = run_kotae(env, "ask", "核兵器不拡散条約", "--index", index, "--json")
    one_error(proc, 3, *says)
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


# ============================================ directories kotae does not own (item 1)

def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under root with its bytes (None for a directory)."""
    return {str(p.relative_to(root)): None if p.is_dir() else p.read_bytes() for p in sorted(root.rglob("*"))}


FOREIGN = [  # (case, what the directory holds): never an index kotae made
    ("photos and a cache", {"gen-2019-photos/a.jpg": b"\xff\xd8", ".tmp-cache/x": b"x"}),
    ("a home directory", {".bashrc": b"alias ll='ls -l'\n", "notes.txt": "メモ\n".encode()}),
    ("only a gen-* directory", {"gen-old/readme.txt": b"mine"}),
    ("a current that is not kotae's", {"current/readme.txt": b"mine"}),
]


@pytest.mark.parametrize(("case", "files"), FOREIGN, ids=[c[0] for c in FOREIGN])
def test_ingest_refuses_a_directory_that_is_not_an_index(tmp_path: Path, env: dict[str, str], case: str,
                                                         files: dict[str, bytes]) -> None:
    docs = write_files(tmp_path / "docs", {"a.txt": GOOD})
    target = write_files(tmp_path / "x", files)
    before = _tree(target)
    proc = run_kotae(env, "ingest", docs, "--index", target, "--embedder", "none", "-q")
    one_error(proc, 3, str(target), "not a kotae index", "--index")
    assert _tree(target) == before  # nothing removed, nothing written (no .lock, no marker)


def test_kotae_removes_only_what_it_made(tmp_path: Path, env: dict[str, str]) -> None:
    docs = write_files(tmp_path / "docs", {"a.txt": GOOD})
    index = tmp_path / "index"
    index.mkdir()  # empty: kotae's to use
    build_index([docs], index, "none")
    mine = write_files(index, {"gen-2019-photos/a.jpg": b"\xff\xd8", ".tmp-cache/x": b"x"})
    for n in range(KEEP_GENERATIONS + 2):  # enough ingests that kotae's own old generations go
        (docs / "a.txt").write_text(GOOD + f"第{n}版。\n", encoding="utf-8")
        build_index([docs], index, "none")
    assert (mine / "gen-2019-photos" / "a.jpg").read_bytes() == b"\xff\xd8"
    assert (mine / ".tmp-cache" / "x").read_bytes() == b"x"
    ours = [p.name for p in index.glob("gen-2*") if p.name != "gen-2019-photos"]
    assert len(ours) == KEEP_GENERATIONS and sorted(read_record(index) or []) == sorted(ours)


def test_an_index_made_before_the_record_is_adopted(tmp_path: Path, env: dict[str, str]) -> None:
    docs = write_files(tmp_path / "docs", {"a.txt": GOOD})
    index = tmp_path / "index"
    build_index([docs], index, "none")
    old_gen = generation(index).name
    (index / RECORD).unlink()  # as an older kotae left it
    proc = run_kotae(env, "ingest", docs, "--index", index, "--embedder", "none", "-q")
    assert proc.returncode == 0, proc.stderr
    assert old_gen in (read_record(index) or [])  # its generations are kotae's again


# ============================== manifests ingest must not write over (item 6)

@pytest.mark.parametrize("how", ["manifest format 99", "truncate manifest"])
def test_ingest_refuses_a_manifest_it_cannot_trust(tmp_path: Path, env: dict[str, str], how: str) -> None:
    # Before: exit 0, "1 added", the index's other documents gone and the index
    # downgraded. The manifest alone lists what the index holds: ingest stops, as ask does.
    docs = write_files(tmp_path / "docs", {"a.txt": GOOD, "b.txt": "北朝鮮は核実験を行った。\n"})
    index = tmp_path / "index"
    build_index([docs], index, "none")
    _damage(index, how)
    before = _tree(index)
    (docs / "b.txt").unlink()
    proc = run_kotae(env, "ingest", docs, "--index", index, "--embedder", "none", "-q")
    one_error(proc, 3, "manifest" if how == "truncate manifest" else "format 99 is newer")
    assert _tree(index) == before
    ask = run_kotae(env, "ask", "核実験", "--index", index)
    assert ask.returncode == 3 and ask.stderr.splitlines()[0] == proc.stderr.splitlines()[0]


def test_ingest_over_another_dictionary_retokenises_everything(tmp_path: Path) -> None:
    docs = write_files(tmp_path / "docs", {"a.txt": GOOD})
    index = tmp_path / "index"
    build_index([docs], index, "none")
    _damage(index, "manifest from another dictionary")
    summary = build_index([docs], index, "none")
    assert summary.unchanged == () and summary.updated == ("docs/a.txt",) and summary.embedded_units > 0
    assert answers(index, ["運用検討会議"])[0]["answer"]["doc"] == "docs/a.txt"


# ==================================== index paths that are files or copies (item 7)

def test_index_at_a_file_or_under_one(tmp_path: Path, env: dict[str, str]) -> None:
    docs = write_files(tmp_path / "docs", {"a.txt": GOOD})
    afile = write_files(tmp_path, {"file": "not a directory"}) / "file"
    for where in (afile, afile / "sub"):
        proc = run_kotae(env, "ingest", docs, "--index", where, "--embedder", "none", "-q")
        one_error(proc, 3, "file")
        proc = run_kotae(env, "ask", "核兵器", "--index", where)
        one_error(proc, 3, str(where))
    assert afile.read_text() == "not a directory"


def test_index_copied_with_cp_L(tmp_path: Path, env: dict[str, str]) -> None:
    # `cp -rL` turns `current` into a real directory: it still reads, but an ingest could
    # never switch it again (before: IsADirectoryError, and litter, on every ingest).
    docs = write_files(tmp_path / "docs", {"a.txt": GOOD})
    index = tmp_path / "index"
    build_index([docs], index, "none")
    copy = tmp_path / "copy"
    shutil.copytree(index, copy, symlinks=False)
    assert (copy / "current").is_dir() and not (copy / "current").is_symlink()
    before = _tree(copy)
    proc = run_kotae(env, "ingest", docs, "--index", copy, "--embedder", "none", "-q")
    one_error(proc, 3, "not a link", "cp -a")
    assert _tree(copy) == before
    assert answers(copy, ["運用検討会議"])[0]["answer"]["doc"] == "docs/a.txt"
