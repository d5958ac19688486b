"""The index a server answers from, swapped for a new generation without a restart.

`kotae ingest` publishes a generation by renaming the ``current`` symlink. The server
reads that link on every request (a readlink, microseconds); when it names another
generation, one background thread loads it while requests go on being answered from
the old one, and the new one replaces it in a single assignment. A request holds the
``Loaded`` it started with, all in memory, so it finishes on the generation it began on
even if ingest removes that generation's files meanwhile.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ingest.catalog import DocumentInfo, documents
from ingest.errors import KotaeError
from ingest.generations import CURRENT
from retriever import Retriever

LOG = logging.getLogger("kotae.serve")


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


def load_generation(index_dir: Path) -> Loaded:
    retriever = Retriever.load(index_dir)
    gen = retriever.index.generation
    # The catalog of the very generation loaded (not `current`, which may have moved on).
    docs = tuple(documents(gen))
    return Loaded(retriever=retriever, generation=gen.name,
                  loaded_at=datetime.now(UTC).isoformat(timespec="seconds"), documents=docs,
                  by_name={s.doc: i for i, s in enumerate(retriever.index.sources)})


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
        # One thread for every reload, not a new one each time: MeCab's tagger is made once
        # per thread and fugashi never gives its memory back (~2 MB a thread).
        self._reloader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kotae-reload")

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
        self._reloader.submit(self._load, generation)

    def _load(self, generation: str) -> None:
        try:
            loaded = self._loader(self.dir)
        except KotaeError as e:
            # A damaged or half-removed generation: keep answering from the one we have,
            # and say why in /api/health rather than failing requests.
            self._failed, self.reload_error = generation, f"{generation}: {e}"
        except Exception as e:
            # A bug, not bad data: logged with its traceback (the reload thread's exceptions
            # would otherwise vanish into its future), and the old generation keeps answering.
            LOG.exception("loading %s failed", generation)
            self._failed, self.reload_error = generation, f"{generation}: {type(e).__name__} (a bug: please report it)"
        else:
            self._current = loaded
            self.reloads += 1
            self.reload_error = None
        finally:
            with self._guard:
                self._loading = None
