"""The index a server answers from, swapped for a new generation without a restart.

`kotae ingest` publishes a generation by renaming the ``current`` symlink. The server
reads that link on every request (a readlink, microseconds); when it names another
generation, one background thread loads it while requests go on being answered from
the old one, and the new one replaces it in a single assignment. A request holds the
``Loaded`` it started with, all in memory, so it finishes on the generation it began on
even if ingest removes that generation's files meanwhile.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.errors import KotaeError
from ingest.index import CURRENT
from retriever import Retriever


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document as `GET /api/documents` lists it."""

    name: str
    title: str | None
    sections: tuple[str, ...]
    pages: int | None
    characters: int
    sha256: str | None
    meta: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.name, "name": self.name, "title": self.title, "sections": list(self.sections),
                "pages": self.pages, "characters": self.characters, "sha256": self.sha256, "meta": self.meta}


@dataclass(frozen=True)
class Loaded:
    """One generation, loaded: the retriever and what the API says about it."""

    retriever: Retriever
    generation: str
    loaded_at: str
    documents: tuple[DocumentInfo, ...]
    by_name: dict[str, int] = field(default_factory=dict)

    def source_text(self, name: str) -> str | None:
        """The decoded text of the document called ``name``; None if there is none.

        A lookup in memory: no name, however path-like (``../../etc/passwd``), reaches the disk.
        """
        i = self.by_name.get(name)
        return None if i is None else self.retriever.index.sources[i].text


def describe(retriever: Retriever) -> tuple[DocumentInfo, ...]:
    """The documents of an index with their sections (in reading order) and page counts."""
    ix = retriever.index
    sections: list[dict[str, None]] = [{} for _ in ix.sources]
    pages: list[int | None] = [None for _ in ix.sources]
    for u, doc in enumerate(ix.u_doc):
        d = int(doc)
        if ix.u_section[u]:
            sections[d].setdefault(ix.u_section[u], None)
        span = ix.u_pages[u]
        if span is not None:
            pages[d] = max(pages[d] or 0, span[1])
    digests = ix.manifest.get("documents_sha256", {})
    return tuple(DocumentInfo(name=s.doc, title=s.title, sections=tuple(sections[i]), pages=pages[i],
                              characters=len(s.text), sha256=digests.get(s.doc), meta=s.meta)
                 for i, s in enumerate(ix.sources))


def load_generation(index_dir: Path) -> Loaded:
    retriever = Retriever.load(index_dir)
    docs = describe(retriever)
    return Loaded(retriever=retriever, generation=retriever.index.generation.name,
                  loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
                  documents=docs, by_name={d.name: i for i, d in enumerate(docs)})


class LiveIndex:
    """The live generation of an index directory, reloaded in the background when it changes."""

    def __init__(self, index_dir: str | os.PathLike[str],
                 loader: Callable[[Path], Loaded] = load_generation) -> None:
        self.dir = Path(index_dir)
        self._loader = loader
        self._current = loader(self.dir)  # a missing or damaged index fails here, before serving
        self._guard = threading.Lock()
        self._loading: str | None = None  # the generation a thread is loading now
        self._failed: str | None = None  # a generation that would not load: not retried
        self.reload_error: str | None = None
        self.reloads = 0

    def get(self) -> Loaded:
        """The generation to answer this request from; starts loading a newer one if there is one."""
        published = self.published()
        if published is not None and published != self._current.generation:
            self._start_loading(published)
        return self._current

    def published(self) -> str | None:
        """The generation ``current`` names now (None for an index given as one generation)."""
        try:
            return os.readlink(self.dir / CURRENT)
        except OSError:
            return None

    def wait(self, generation: str, timeout: float = 60.0) -> bool:
        """Block until ``generation`` is the one answering (tests and benchmarks use it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.get().generation == generation:
                return True
            time.sleep(0.05)
        return False

    def _start_loading(self, generation: str) -> None:
        with self._guard:
            if self._loading is not None or generation == self._failed:
                return
            self._loading = generation
        threading.Thread(target=self._load, args=(generation,), name="kotae-reload", daemon=True).start()

    def _load(self, generation: str) -> None:
        try:
            loaded = self._loader(self.dir)
        except KotaeError as e:
            # A damaged or half-removed generation: keep answering from the one we have,
            # and say why in /api/health rather than failing requests.
            self._failed, self.reload_error = generation, f"{generation}: {e}"
        else:
            self._current = loaded
            self.reloads += 1
            self.reload_error = None
        finally:
            with self._guard:
                self._loading = None
