"""Reliability 8: incremental updates (e5-small-q4) and pruning.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from reliability_support import GOOD, PLACES, answers, run_kotae, write_files

from ingest.generations import generation
from ingest.manifest import read_manifest


def _store_units(index: Path) -> list[tuple]:
    conn = sqlite3.connect(generation(index) / "store.sqlite")
    try:
        return conn.execute('SELECT d.doc, u.kind, u.start, u."end", u.gaps, u.text, u.tokens, u.facts, u.vector '
                            "FROM units u JOIN documents d ON u.doc_id = d.id ORDER BY d.doc, u.id").fetchall()
    finally:
        conn.close()


def test_one_changed_file_is_all_that_is_reembedded(tmp_path: Path, env: dict[str, str]) -> None:
    files = {f"r{i}.txt": f"{PLACES[i]}の会議は{2000 + i}年に開かれた。" + ("核軍縮が議論された。" if i % 2 else "")
             for i in range(10)}
    docs = write_files(tmp_path / "corpus", files)
    index, fresh = tmp_path / "index", tmp_path / "fresh"
    proc = run_kotae(env, "ingest", docs, "--index", index, "-q")  # the default embedder, e5-small-q4
    assert proc.returncode == 0 and "10 added" in proc.stdout, proc.stderr
    before = _store_units(index)

    (docs / "r3.txt").write_text("釧路の会議は2222年に延期された。理由は示されなかった。", encoding="utf-8")
    proc = run_kotae(env, "ingest", docs, "--index", index, "-q")
    assert proc.returncode == 0, proc.stderr
    m = read_manifest(generation(index))
    changed_units = m.documents["corpus/r3.txt"]["units"]
    assert changed_units == 2
    assert f"(1 updated, 9 unchanged; {changed_units} units embedded)" in proc.stdout
    assert m.last_ingest["updated"] == ["corpus/r3.txt"] and m.last_ingest["embedded_units"] == 2
    after = _store_units(index)
    # the nine others were copied, vectors and all, not recomputed
    assert [r for r in after if r[0] != "corpus/r3.txt"] == [r for r in before if r[0] != "corpus/r3.txt"]

    proc = run_kotae(env, "ingest", docs, "--index", fresh, "-q")  # a full rebuild elsewhere
    assert proc.returncode == 0 and "10 added" in proc.stdout
    assert _store_units(fresh) == after  # same units, offsets, tokens and vectors
    qs = ["釧路の会議はいつに延期されたか", "札幌の会議はいつ開かれたか", "When was the Kushiro meeting postponed?",
          "核軍縮はどこで議論されたか"]
    got, want = answers(index, qs), answers(fresh, qs)
    assert got == want
    assert got[0]["answer"]["doc"] == "corpus/r3.txt" and "2222年" in got[0]["answer"]["text"]


def test_deleted_file_is_kept_unless_pruned(tmp_path: Path, env: dict[str, str]) -> None:
    docs = write_files(tmp_path / "corpus", {"a.txt": GOOD, "b.txt": "函館の会議は1999年に開かれた。\n",
                                             "c.txt": "釧路の会議は1998年に開かれた。\n"})
    index = tmp_path / "index"
    assert run_kotae(env, "ingest", docs, "--index", index, "--embedder", "none", "-q").returncode == 0
    (docs / "b.txt").unlink()

    proc = run_kotae(env, "ingest", docs, "--index", index, "-q")
    assert proc.returncode == 0, proc.stderr
    assert "(2 unchanged; 0 units embedded)" in proc.stdout
    assert proc.stdout.rstrip().endswith("; kept 1 documents not in this ingest (use --prune to drop them)")
    assert "corpus/b.txt" in read_manifest(generation(index)).documents_sha256
    assert answers(index, ["函館の会議はいつ開かれたか"])[0]["answer"]["doc"] == "corpus/b.txt"

    proc = run_kotae(env, "ingest", docs, "--index", index, "--prune", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "(2 unchanged, 1 removed; 0 units embedded)" in proc.stdout and "kept 1" not in proc.stdout
    m = read_manifest(generation(index))
    assert set(m.documents_sha256) == {"corpus/a.txt", "corpus/c.txt"}
    assert m.last_ingest["removed"] == ["corpus/b.txt"]
    assert all(c["doc"] != "corpus/b.txt" for a in answers(index, ["函館の会議はいつ開かれたか"])
               for c in a["citations"])
