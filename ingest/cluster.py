"""Preparing documents on a Ray cluster (``kotae ingest --ray``, the ``kotae[ray]`` extra).

Only the work that an unchanged file is spared runs on the cluster: load, clean, segment,
tokenise, embed (:func:`ingest.index.prepare`), a batch of documents per task. Planning
(which files changed), the generation writer, the manifest and the atomic publish stay on
the driver and are those of a local ingest, so an index built with ``--ray`` is the index
built without it.

The driver sends files by path (:class:`ingest.records.FileRef`: id, path, sha256), so it
reads each file only to hash it and never holds every document's text at once; a worker
loads the file itself. A worker process keeps its embedder and tokenizer between tasks
(:func:`ingest.embed.get_embedder` caches per process; :func:`worker_tokenizer` here), so
a model loads once per process, not once per task. A task whose worker dies is retried by
Ray (``max_retries``); a file that cannot be used is reported exactly as locally.

A finished task's documents go straight into the generation writer (:mod:`ingest.writer`),
in the order they were given, and are let go of there: the driver holds the vectors and
the vocabulary it writes, and a window of batches (:class:`RayPreparation`), not the corpus.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from .errors import KotaeError
from .load import Skipped, discover, load_file, read_regular, sha256
from .records import Document, FileRef
from .store import Prepared
from .tokens import Tokenizer

# A task's share of the work, in characters: big enough that a task's overhead (~10 ms,
# and the pickled result's trip to the driver) is lost in its embedding time (~1k chars/s
# per core with e5-small-q4), small enough that every worker stays busy to the end.
BATCH_CHARS = 40_000
# Batches a CPU may have sent or finished ahead of the first one not yet written (results
# are written in the order given, so one slow task makes the later ones wait on the driver).
AHEAD_PER_CPU = 4
TASK_RETRIES = 3  # a task whose worker process dies is run again, up to this many times
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Batch:
    """What one task prepared: documents, and the files left out with the reason why."""

    prepared: tuple[Prepared, ...]
    skipped: tuple[tuple[str, str], ...]
    chars: int  # the estimate the driver counted for these items (its progress bar's unit)


def import_ray() -> Any:
    """The ``ray`` module, or a one-line KotaeError saying which extra to install."""
    try:
        import ray
    except ImportError:
        raise KotaeError("--ray needs the ray extra (the ray package is missing): "
                         "pip install 'kotae[ray]'") from None
    return ray


def _reachable(address: str) -> bool:
    # ray.init on an address where nothing listens retries for a minute before it fails;
    # a plain TCP connect tells the same in at most CONNECT_TIMEOUT_S.
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        return True  # not host:port (a name Ray resolves itself): let ray.init judge it
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


def connect(address: str) -> Any:
    """Join the Ray cluster at ``address`` (``auto``: the one running on this machine,
    ``local``: start one here) unless this process already has; return ``ray``."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    target = None if address == "local" else address
    if target not in (None, "auto") and not target.startswith("ray://") and not _reachable(target):
        raise KotaeError(f"no Ray cluster answers at {address}; start one (ray start --head) or give its "
                         "address as --ray HOST:PORT")
    try:
        ray.init(address=target, logging_level="ERROR", log_to_driver=False, include_dashboard=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise KotaeError(f"cannot join the Ray cluster at {address} ({first}); start one with "
                         "ray start --head, or give its address as --ray HOST:PORT") from None
    return ray


def file_refs(paths: Sequence[str | os.PathLike[str]]) -> tuple[list[FileRef], list[tuple[str, str]]]:
    """The files under ``paths`` as the driver plans them: hashed, not kept.

    What :func:`ingest.load.load` would skip before decoding (not a regular file, a
    name that is not UTF-8) is skipped here; an empty file is found by its worker.
    """
    skipped: list[tuple[str, str]] = []
    refs = []
    for path, doc in discover(paths, skipped):
        try:
            data = read_regular(path, doc)
        except Skipped as e:
            skipped.append((doc, e.reason))
            continue
        refs.append(FileRef(doc=doc, path=path, sha256=sha256(data), chars=estimate_chars(data)))
    return refs, skipped


def estimate_chars(data: bytes) -> int:
    """Characters in UTF-8 ``data``: the bytes that do not continue a character
    (安 is E5 AE 89: one character, two continuation bytes). Other encodings come out
    a little high, which only the progress bar's total sees."""
    raw = np.frombuffer(data, dtype=np.uint8)
    return int(len(raw) - np.count_nonzero((raw & 0xC0) == 0x80))


def weight(item: Document | FileRef) -> int:
    return item.chars if isinstance(item, FileRef) else len(item.text)


def batch_size(total: int, workers: int) -> int:
    """Characters a task: BATCH_CHARS, or less when the corpus is small, so that every worker
    gets about four tasks (30k characters on 2 workers: 3,750 a task, not one task of all)."""
    return max(min(BATCH_CHARS, total // (4 * workers)), 1)


def batches(items: Sequence[Document | FileRef], size: int | None = None) -> Iterator[list[Document | FileRef]]:
    """Consecutive items, about ``size`` (BATCH_CHARS) characters a batch (a bigger document alone)."""
    size = size or BATCH_CHARS
    batch: list[Document | FileRef] = []
    chars = 0
    for item in items:
        if batch and chars + weight(item) > size:
            yield batch
            batch, chars = [], 0
        batch.append(item)
        chars += weight(item)
    if batch:
        yield batch


@lru_cache(maxsize=1)
def worker_tokenizer() -> Tokenizer:
    """One tokenizer (one MeCab) per worker process, kept between tasks."""
    return Tokenizer()


def prepare_batch(items: list[Document | FileRef], embedder_spec: str) -> Batch:
    """The task: load the files of a batch and prepare its documents, as a local ingest does."""
    from .embed import get_embedder
    from .index import prepare

    docs: list[Document] = []
    skipped: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, FileRef):
            try:
                docs.append(load_file(item.path, item.doc))
            except Skipped as e:
                skipped.append((item.doc, e.reason))
        else:
            docs.append(item)
    prepared = prepare(docs, worker_tokenizer(), get_embedder(embedder_spec))
    return Batch(prepared=tuple(prepared), skipped=tuple(skipped), chars=sum(map(weight, items)))


@dataclass(frozen=True)
class ClusterStats:
    """How one ingest used the cluster (IngestSummary.cluster)."""

    tasks: int
    sent: int  # documents sent out (the changed ones)
    workers: int  # CPUs the cluster offered
    seconds: float  # from the first task sent to the last result received
    waiting: float  # of which the driver waited for results (the rest is its own work)


def _result(ray: Any, ref: Any) -> Batch:
    """A finished task's batch; a project error raised in the task is raised here as itself."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:
        if isinstance(e.cause, KotaeError):
            raise e.cause from None  # an unreadable file: the one line a local ingest prints
        raise
    except ray.exceptions.WorkerCrashedError:
        raise KotaeError(f"a Ray worker died {TASK_RETRIES + 1} times on one batch of documents; "
                         "see the cluster's logs (ray logs), then ingest again") from None


def in_order(items: Sequence[Document | FileRef], batch: Batch) -> Iterator[tuple[str, Prepared | str]]:
    """A finished batch's documents in the order they were sent: (doc, Prepared), or (doc, why
    it was skipped) for a file the worker found empty."""
    skipped = dict(batch.skipped)
    prepared = list(batch.prepared)[::-1]
    del batch  # (its tuple would keep every document of it alive until the last is written)
    for item in items:
        yield (item.doc, skipped[item.doc]) if item.doc in skipped else (item.doc, prepared.pop())


class RayPreparation:
    """``items`` prepared on the cluster at ``address``, a batch per task. :meth:`documents`
    yields them in the order given (the order the index is written in), each as soon as it
    and every one before it have come back; :attr:`stats` is set once it ends.

    Two tasks per CPU are out at once, and no task is sent more than AHEAD_PER_CPU
    batches per CPU past the first one not yet written: what the driver holds waiting
    for a slow task is bounded by the cluster's size, not the corpus's.
    """

    def __init__(self, items: Sequence[Document | FileRef], embedder_spec: str, address: str,
                 progress: bool = False) -> None:
        self.items, self.spec, self.progress = list(items), embedder_spec, progress
        self.ray = connect(address)
        self.stats: ClusterStats | None = None

    def cpus(self) -> int:
        return max(int(self.ray.cluster_resources().get("CPU", 1)), 1)

    def documents(self) -> Generator[tuple[str, Prepared | str]]:
        from .index import Progress

        ray, workers = self.ray, self.cpus()
        task = ray.remote(max_retries=TASK_RETRIES)(prepare_batch)
        total = sum(map(weight, self.items))
        planned = list(batches(self.items, batch_size(total, workers)))
        running: dict[Any, int] = {}  # task -> its batch's number
        done: dict[int, Batch] = {}
        sent = written = received = 0
        bar = Progress(total, self.progress, desc="embedding on Ray", workers=workers)
        t0, waiting = time.perf_counter(), 0.0
        try:
            while written < len(planned):
                while (sent < len(planned) and len(running) < 2 * workers
                       and sent < written + AHEAD_PER_CPU * workers):
                    running[task.remote(planned[sent], self.spec)] = sent
                    sent += 1
                t = time.perf_counter()
                ready, _ = ray.wait(list(running), num_returns=1)
                waiting += time.perf_counter() - t
                done[running.pop(ready[0])] = batch = _result(ray, ready[0])
                received += 1
                bar(batch.chars)
                bar.workers(self.cpus())
                while written in done:
                    yield from in_order(planned[written], done.pop(written))
                    written += 1
        finally:
            for ref in running:
                ray.cancel(ref)  # a stopped ingest leaves no work behind on the cluster
            bar.close()
            self.stats = ClusterStats(tasks=received, sent=len(self.items), workers=workers,
                                      seconds=time.perf_counter() - t0, waiting=waiting)
