"""`kotae ingest`, run in-process: a one-line summary, or one error line and exit 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import error_line as _error_line

from qa_cli.main import main


def test_ingest_prints_one_line_summary(tmp_path: Path, report_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(report_path, docs / report_path.name)
    index = tmp_path / "index"
    rc = main(["ingest", str(docs), "--embedder", "none", "--index", str(index)])
    out, err = capsys.readouterr()
    assert rc == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("indexed 1 documents, 52 units, 21 passages, 4,369 characters")
    assert "1 added" in lines[0] and lines[0].endswith(f"-> {index}")
    assert "error" not in err
    assert (index / "current" / "manifest.json").is_file()

    rc = main(["ingest", str(docs), "--embedder", "none", "--index", str(index), "-q"])
    out, err = capsys.readouterr()
    assert rc == 0
    assert "1 unchanged" in out and "0 units embedded" in out
    assert err == ""


def test_ingest_warns_about_skipped_empty_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("核兵器不拡散条約について述べる。\n", encoding="utf-8")
    (docs / "empty.txt").write_text("  \n", encoding="utf-8")
    rc = main(["ingest", str(docs), "--embedder", "none", "--index", str(tmp_path / "index"), "-q"])
    out, err = capsys.readouterr()
    assert rc == 0
    assert "skipped 1 empty files" in out
    assert err.strip() == "kotae: warning: skipped docs/empty.txt: empty"


def test_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing"
    rc = main(["ingest", str(missing), "--embedder", "none", "--index", str(tmp_path / "index")])
    out, err = capsys.readouterr()
    assert rc == 2
    assert out == ""
    assert str(missing) in _error_line(err)
    assert not (tmp_path / "index").exists()


def test_directory_without_supported_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (docs / "table.csv").write_text("a,b\n", encoding="utf-8")
    rc = main(["ingest", str(docs), "--embedder", "none", "--index", str(tmp_path / "index")])
    out, err = capsys.readouterr()
    assert rc == 2
    assert out == ""
    assert "no supported files" in _error_line(err)


def test_binary_txt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("核兵器不拡散条約について述べる。\n", encoding="utf-8")
    (docs / "b.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    index = tmp_path / "index"
    rc = main(["ingest", str(docs), "--embedder", "none", "--index", str(index)])
    out, err = capsys.readouterr()
    assert rc == 2
    assert out == ""
    line = _error_line(err)
    assert "docs/b.txt" in line and "PNG" in line
    assert not (index / "current").exists()  # nothing half-ingested
