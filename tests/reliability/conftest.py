"""Fixtures of the reliability suite (one file per section, see each file's docstring).

The fixtures here are shared by several sections and read-only, so session-scoped;
the 50 MB ingest starts with the first reliability test and runs beside the others.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_support import (
    FIFTY_MB_TEST,
    GOOD,
    QUESTIONS,
    REPORT,
    BigIngest,
    answers,
    corpus,
    write_files,
)

from ingest import build_index
from ingest.cache import cache_dir
from ingest.embed import E5Engine
from ingest.generations import generation
from ingest.manifest import read_manifest


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of every kotae subprocess: never the user's default index or cache."""
    home = tmp_path_factory.mktemp("home")
    e = dict(os.environ)
    e.update({"KOTAE_INDEX": str(home / "no-default-index"), "XDG_CACHE_HOME": str(home / "cache"),
              "PYTHONIOENCODING": "utf-8", "OMP_WAIT_POLICY": "PASSIVE"})
    # The e5 engine's graphs and tokenizer tables, as a user's first kotae run leaves them in
    # the cache: every question runs on ONNX Runtime, and a fresh cache would make the first
    # run print "kotae: preparing the e5 engine once" beside the one error line a test reads.
    engine = E5Engine()
    engine.passages(["核兵器"])
    engine.queries(["核兵器"])
    shutil.copytree(cache_dir() / "engine", home / "cache" / "kotae" / "engine")
    return e


@pytest.fixture(scope="session")
def e5_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny index with vectors (e5-small-q4): two sentences."""
    root = tmp_path_factory.mktemp("e5")
    docs = write_files(root / "docs", {"a.txt": GOOD})
    build_index([docs], root / "index")
    return root / "index"


@pytest.fixture(scope="session")
def report_lexical(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled report, indexed lexical-only."""
    root = tmp_path_factory.mktemp("report-lexical")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(REPORT, corpus / REPORT.name)
    build_index([corpus], root / "index", "none")
    return root / "index"


@pytest.fixture(scope="session")
def versions(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Both corpora, their clean indexes' manifests' digests, and the answers each gives."""
    root = tmp_path_factory.mktemp("versions")
    out: dict = {}
    for v in (1, 2):
        docs = corpus(root / f"v{v}", v)
        index = root / f"index-v{v}"
        build_index([docs], index, "none")
        out[v] = {"corpus": docs, "sha": read_manifest(generation(index)).documents_sha256,
                  "answers": answers(index, QUESTIONS)}
    # every question tells them apart
    assert all(a != b for a, b in zip(out[1]["answers"], out[2]["answers"], strict=True))
    assert all(not a["abstained"] for v in (1, 2) for a in out[v]["answers"])
    return out


@pytest.fixture()
def kill_index(tmp_path: Path, versions: dict) -> Path:
    index = tmp_path / "index"
    build_index([versions[1]["corpus"]], index, "none")
    return index


@pytest.fixture(scope="session", autouse=True)
def fifty_mb_ingest(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                    env: dict[str, str]) -> Iterator[BigIngest | None]:
    """Starts the 50 MB ingest with the first reliability test, if its test was selected.

    It takes about 100 s of one core; run beside the other reliability tests (which
    mostly wait on subprocesses) it costs the file's wall time little.
    """
    if not any(getattr(item, "originalname", item.name) == FIFTY_MB_TEST for item in request.session.items):
        yield None
        return
    run = BigIngest(tmp_path_factory.mktemp("fifty-mb"), env).start()
    yield run
    run.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the 50 MB test last, so that its ingest has the whole suite to run beside."""
    items.sort(key=lambda item: getattr(item, "originalname", item.name) == FIFTY_MB_TEST)
