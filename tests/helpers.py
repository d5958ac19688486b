"""Small assertions shared by the tests."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

import ingest.writer
from ingest.store import Prepared


def error_line(err: str) -> str:
    """The CLI's stderr holds exactly one `kotae: error:` line and no traceback; return it."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kotae: error: ")
    assert "Traceback" not in err
    return lines[0]


def live_prepared() -> int:
    """Prepared documents alive in this process (each holds a document's text, units, tokens, vectors)."""
    gc.collect()
    return sum(isinstance(o, Prepared) for o in gc.get_objects())


def count_live_at_each_write(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record, each time the generation writer takes a document, how many are held at once."""
    seen: list[int] = []
    real = ingest.writer.GenerationWriter.add

    def add(self: ingest.writer.GenerationWriter, p: Prepared) -> None:
        seen.append(live_prepared())
        real(self, p)

    monkeypatch.setattr(ingest.writer.GenerationWriter, "add", add)
    return seen


def short_reports(folder: Path, n: int) -> Path:
    """``n`` one-sentence reports, 00.txt to NN.txt, each its own document for the writer."""
    folder.mkdir()
    for i in range(n):
        text = f"第{i}の報告である。日本は核兵器不拡散条約を重視する。\n"
        (folder / f"{i:02d}.txt").write_text(text, encoding="utf-8")
    return folder
