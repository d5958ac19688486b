"""Shared fixtures: the bundled report, its segmentation, and one MeCab tokenizer.

Everything here is session-scoped because it is read-only: segmenting the report
and starting MeCab are done once for the whole suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.load import load
from ingest.records import Document, Segmented
from ingest.segment import segment
from ingest.tokens import Tokenizer

REPO_ROOT = Path(__file__).resolve().parent.parent
REPORT = REPO_ROOT / "corpus" / "nuclear-outlook-2025.txt"


@pytest.fixture(scope="session")
def report_path() -> Path:
    """The report the project is built around (130 lines, UTF-8)."""
    assert REPORT.is_file(), f"the bundled report is missing: {REPORT}"
    return REPORT


@pytest.fixture(scope="session")
def report_text(report_path: Path) -> str:
    return report_path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def report_document(report_path: Path) -> Document:
    loaded = load([report_path])
    assert not loaded.skipped
    (document,) = loaded.documents
    return document


@pytest.fixture(scope="session")
def segmented_report(report_document: Document) -> Segmented:
    return segment(report_document)


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    return Tokenizer()
