"""Build or update an index directory, atomically.

Layout of ``--index DIR``::

    DIR/current -> gen-20261127T150102-1234   (a symlink, swapped atomically)
    DIR/gen-…/manifest.json                 format, embedder, tokenizer, documents
    DIR/gen-…/store.sqlite                  documents, units, passages, vectors
    DIR/gen-…/units.faiss, passages.faiss   inner-product indexes of unit/passage vectors
    DIR/gen-…/lexical/{passages,units}/     BM25 (bm25s format)
    DIR/gen-…/bridge.json                   English words and names -> this corpus's Japanese tokens
    DIR/gen-…/.readers                      empty; readers hold a shared flock on it while loading

A new generation is written beside the old one in a hidden temporary directory,
flushed to disk, renamed, and only then does ``current`` point at it. A crash at
any moment leaves ``current`` on a whole generation, and a reader that resolved
``current`` keeps reading one generation from start to end: while it loads it
holds a shared lock on the generation's ``.readers`` file (:func:`reading`), and
cleanup removes no generation whose lock is held.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from . import lexical, store
from .bridge import write_bridge
from .embed import DEFAULT_EMBEDDER, Embedder, get_embedder
from .errors import IndexFileError, InputError, KotaeError
from .facts import fact_kinds
from .load import load
from .records import Document
from .segment import segment
from .store import Prepared
from .tokens import Tokenizer

FORMAT_VERSION = 2  # 2: units carry the kinds of facts they state
CURRENT = "current"
MANIFEST = "manifest.json"
KEEP_GENERATIONS = 2  # the live one and the one before it (readers may still hold it)
READERS = ".readers"


def _test_pause(stage: str) -> None:
    # Fault injection for tests/reliability/test_kill.py: with KOTAE_TEST_PAUSE_AT=<stage> an
    # ingest says so on stderr and sleeps there, so a test can kill -9 it at a known point.
    if os.environ.get("KOTAE_TEST_PAUSE_AT") == stage:
        print(f"kotae: test pause at {stage}", file=sys.stderr, flush=True)
        time.sleep(float(os.environ.get("KOTAE_TEST_PAUSE_SECONDS", "60")))


@dataclass(frozen=True)
class IngestSummary:
    """What one ingest did."""

    index: Path
    documents: int
    units: int
    passages: int
    chars: int
    seconds: float
    embedded_units: int
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()  # in the index, not in this ingest, kept (no --prune)
    skipped: tuple[tuple[str, str], ...] = ()

    def line(self) -> str:
        """The one-line summary the CLI prints."""
        parts = [f"{self.documents} documents", f"{self.units} units", f"{self.passages} passages",
                 f"{self.chars:,} characters", f"{self.seconds:.1f} s"]
        changes = [f"{len(v)} {k}" for k, v in (("added", self.added), ("updated", self.updated),
                                               ("unchanged", self.unchanged), ("removed", self.removed))
                   if v]
        text = f"indexed {', '.join(parts)} ({', '.join(changes) or 'no change'}; " \
               f"{self.embedded_units} units embedded) -> {self.index}"
        if self.kept:
            text += f"; kept {len(self.kept)} documents not in this ingest (use --prune to drop them)"
        if self.skipped:
            text += f"; skipped {len(self.skipped)} empty files"
        return text


def generation(index_dir: Path) -> Path:
    """The directory of the live generation; raise IndexFileError if there is none."""
    index_dir = Path(index_dir)
    if (index_dir / MANIFEST).is_file():  # a generation given directly
        return index_dir
    link = index_dir / CURRENT
    if not index_dir.exists():
        raise IndexFileError(f"no index at {index_dir}; build one with: kotae ingest PATH --index {index_dir}")
    if link.is_symlink() and not link.exists():  # its generation was deleted by hand
        raise IndexFileError(f"{link} points to {os.readlink(link)}, which is missing; "
                             f"rebuild the index with: kotae ingest PATH --index {index_dir}")
    if not link.exists():
        raise IndexFileError(f"{index_dir} is not a kotae index (no {CURRENT}); "
                             f"build one with: kotae ingest PATH --index {index_dir}")
    return link.resolve()


def read_manifest(gen: Path) -> dict:
    try:
        with open(gen / MANIFEST, encoding="utf-8") as f:
            manifest = json.load(f)
    except FileNotFoundError:
        raise IndexFileError(f"{gen}: the manifest is missing; rebuild the index with kotae ingest") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise IndexFileError(f"{gen / MANIFEST}: the manifest is corrupted; rebuild the index") from None
    version = manifest.get("format") if isinstance(manifest, dict) else None
    if not isinstance(version, int):
        raise IndexFileError(f"{gen / MANIFEST}: not a kotae manifest; rebuild the index")
    if version > FORMAT_VERSION:
        raise IndexFileError(f"{gen}: index format {version} is newer than this kotae reads "
                             f"({FORMAT_VERSION}); upgrade kotae or rebuild the index")
    if version < FORMAT_VERSION:
        raise IndexFileError(f"{gen}: index format {version} is older than this kotae reads "
                             f"({FORMAT_VERSION}); rebuild it with kotae ingest")
    embedder = manifest.get("embedder")
    if not (isinstance(embedder, dict) and isinstance(embedder.get("spec"), str)
            and isinstance(embedder.get("dim"), int) and embedder["dim"] >= 0
            and isinstance(manifest.get("documents_sha256"), dict)):
        raise IndexFileError(f"{gen / MANIFEST}: the manifest is incomplete (embedder spec and "
                             "dimension, documents); rebuild the index")
    return manifest


@contextmanager
def reading(index_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """The live generation, kept from cleanup while the caller reads it.

    Keeping the last KEEP_GENERATIONS generations is not enough on its own: a reader
    that resolved ``current`` and then loads slowly loses its generation to two quick
    ingests (its store vanished mid-load). So a reader holds a shared flock on the
    generation's ``.readers`` file, and :func:`_remove_generation` skips a generation
    whose lock it cannot take. Cleanup renames a generation away before deleting it, so
    one removed between resolving ``current`` and taking the lock is simply gone, and
    ``current`` is resolved again.
    """
    index_dir = Path(index_dir)
    for _ in range(20):
        gen = generation(index_dir)
        try:
            fd = os.open(gen / READERS, os.O_RDONLY)
        except FileNotFoundError:
            if gen.is_dir():  # written before reader locks existed, or damaged: read as it is
                yield gen
                return
            continue  # removed after `current` was resolved: resolve it again
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            if gen.is_dir():  # still there once locked
                yield gen
                return
        finally:
            os.close(fd)
    raise IndexFileError(f"{index_dir}: the index kept changing while it was being opened; try again")


@contextmanager
def _locked(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise KotaeError(f"another kotae ingest is writing {index_dir}; wait for it to finish") from None
        yield
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for root, _dirs, files in os.walk(path):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(root))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Captions and bylines say what they are only by their place on the page; the
# label gives them the words a reader's question uses (筆者, 写真, author, photo).
KIND_LABELS = {
    "byline": "筆者・執筆者・脱稿日 (author, written by, date)",
    "caption": "写真のキャプション (photo caption)",
}


def embed_text(section: str | None, text: str, kind: str = "sentence") -> str:
    """What the embedder sees for a unit: its section title (its topic) and kind label.

    # 提言 / 日本は、まず、… -> "提言: 日本は、まず、…"
    """
    label = KIND_LABELS.get(kind)
    head = " / ".join(x for x in (section, label) if x)
    return f"{head}: {text}" if head else text


def lexical_text(unit_text: str, kind: str) -> str:
    """What the lexical index reads for a unit: its text and its kind label."""
    label = KIND_LABELS.get(kind)
    return f"{label} {unit_text}" if label else unit_text


class _Progress:
    """A tqdm bar over characters embedded, on stderr, when asked for."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar = None
        if enabled and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="char", unit_scale=True, desc="embedding",
                            file=sys.stderr, dynamic_ncols=True, leave=False)

    def __call__(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def prepare(documents: Sequence[Document], tokenizer: Tokenizer, embedder: Embedder,
            progress: bool = False) -> list[Prepared]:
    """Segment, tokenise and embed documents (the work an unchanged file is spared)."""
    segmented = [segment(d) for d in documents]
    units = [u for s in segmented for u in s.units]
    # Headings are never answers and never inside passages (each unit embeds with its
    # section title already): they get a zero vector instead of an embedding, which
    # on JSQuAD saves 1,145 of 5,654 embedder calls.
    todo = [i for i, u in enumerate(units) if u.kind != "heading"]
    texts = [embed_text(units[i].section, units[i].text, units[i].kind) for i in todo]
    bar = _Progress(sum(map(len, texts)), progress)
    try:
        embedded = embedder.passages(texts, progress=bar)
    finally:
        bar.close()
    vectors = np.zeros((len(units), embedder.dim), dtype=np.float32)
    if embedder.dim and todo:
        vectors[todo] = embedded
    out: list[Prepared] = []
    row = 0
    for s in segmented:
        analysed = [tokenizer.tokens_and_pos(lexical_text(u.text, u.kind)) for u in s.units]
        utoks = [a[0] for a in analysed]
        facts = [sorted(fact_kinds(u.text, a[1])) for u, a in zip(s.units, analysed, strict=False)]
        section_tokens: dict[str | None, list[str]] = {}
        ptoks = []
        for p in s.passages:
            if p.section not in section_tokens:
                section_tokens[p.section] = tokenizer(p.section) if p.section else []
            ptoks.append(section_tokens[p.section] + [t for i in p.units for t in utoks[i]])
        n = len(s.units)
        out.append(Prepared(document=s.document, meta=s.meta, units=s.units, passages=s.passages,
                            unit_tokens=utoks, passage_tokens=ptoks, vectors=vectors[row:row + n],
                            unit_facts=facts))
        row += n
    return out


def _faiss_write(vectors: np.ndarray, path: Path) -> None:
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(index, str(path))


def passage_vectors(prepared: Prepared) -> np.ndarray:
    """A passage's vector: the normalised mean of its units' vectors."""
    dim = prepared.vectors.shape[1]
    out = np.zeros((len(prepared.passages), dim), dtype=np.float32)
    for i, p in enumerate(prepared.passages):
        if dim:
            v = prepared.vectors[list(p.units)].mean(axis=0)
            out[i] = v / max(float(np.linalg.norm(v)), 1e-12)
    return out


def write_generation(gen: Path, prepared: list[Prepared], manifest: dict) -> None:
    """Write a complete generation into ``gen`` (which must not exist yet)."""
    gen.mkdir(parents=True)
    (gen / READERS).touch()
    store.write(gen / "store.sqlite", prepared)
    _test_pause("store-written")
    dim = manifest["embedder"]["dim"]
    if dim:
        units = np.vstack([p.vectors for p in prepared]) if prepared else np.empty((0, dim), np.float32)
        _faiss_write(units, gen / "units.faiss")
        passages = np.vstack([passage_vectors(p) for p in prepared]) if prepared else units
        _faiss_write(passages, gen / "passages.faiss")
    lexical.build([t for p in prepared for t in p.passage_tokens], gen / "lexical" / "passages")
    lexical.build([t for p in prepared for t in p.unit_tokens], gen / "lexical" / "units")
    write_bridge(gen, [u.text for p in prepared for u in p.units])
    _test_pause("lexical-written")
    with open(gen / MANIFEST, "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)


def _publish(index_dir: Path, tmp: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    final = index_dir / f"gen-{stamp}-{os.getpid()}"
    _fsync_tree(tmp)
    os.rename(tmp, final)
    _test_pause("renamed")
    link_tmp = index_dir / f".{CURRENT}.{os.getpid()}"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    os.symlink(final.name, link_tmp)
    os.replace(link_tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)
    return final


def _clean_old(index_dir: Path, live: Path) -> None:
    gens = sorted(p for p in index_dir.glob("gen-*") if p.is_dir())
    keep = {live.name} | {p.name for p in gens[-KEEP_GENERATIONS:]}
    for p in gens:
        if p.name not in keep:
            _remove_generation(index_dir, p)
    for p in index_dir.glob(".tmp-*"):  # left by an ingest that was killed
        shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob(f".{CURRENT}.*"):  # a link an ingest was killed before renaming
        p.unlink(missing_ok=True)


def _remove_generation(index_dir: Path, gen: Path) -> None:
    """Remove an old generation unless a reader is loading it (see :func:`reading`)."""
    try:
        fd = os.open(gen / READERS, os.O_RDONLY)
    except OSError:
        fd = None  # written before reader locks existed
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # being read: a later ingest removes it
        # Renamed away first, under the lock, so that a reader sees the whole generation
        # or none of it; a removal cut short is a .tmp-* that the next ingest clears.
        trash = index_dir / f".tmp-{gen.name}"
        os.rename(gen, trash)
        shutil.rmtree(trash, ignore_errors=True)
    except OSError:
        pass  # cleanup is best effort: the new generation is already live
    finally:
        if fd is not None:
            os.close(fd)


def _old_state(index_dir: Path) -> tuple[dict | None, sqlite3.Connection | None]:
    try:
        gen = generation(index_dir)
        manifest = read_manifest(gen)
        conn = store.connect(gen / "store.sqlite", readonly=True)
        conn.execute("SELECT count(*) FROM documents").fetchone()
        return manifest, conn
    except (IndexFileError, sqlite3.Error):
        return None, None


def _disk_full_error(index_dir: Path) -> KotaeError:
    return KotaeError(f"disk full while writing {index_dir}; the previous index is intact. "
                      "Free some space and ingest again")


def _disk_full(e: BaseException, index_dir: Path) -> bool:
    """Whether writing a generation failed for want of space.

    Only OSError carries ENOSPC; the writers below it say so each their own way
    (all seen on a full tmpfs): SQLite raises OperationalError "database or disk is
    full", FAISS a RuntimeError ending "(No space left on device)", and numpy's
    np.save (bm25s's arrays) OSError("1920000 requested and 505824 written") with no errno.
    """
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(e, sqlite3.Error) and getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return True
    if isinstance(e, RuntimeError) and ("No space left on device" in str(e) or "Disk quota" in str(e)):
        return True
    if isinstance(e, OSError) and e.errno is None:
        try:
            return shutil.disk_usage(index_dir).free < 1 << 20
        except OSError:
            return False
    return False


def build_index(paths: Sequence[str | os.PathLike[str]] | None, index_dir: str | os.PathLike[str],
                embedder: str | None = None, *, prune: bool = False, progress: bool = False,
                documents: Sequence[Document] | None = None) -> IngestSummary:
    """Build or update the index at ``index_dir`` from files (``paths``) or given ``documents``.

    Unchanged documents (same sha256, same embedder) are copied with their vectors;
    changed ones are re-processed; documents in the index but not in this ingest
    are kept unless ``prune``. The previous index stays live until the new one is
    complete.
    """
    t0 = time.perf_counter()
    index_dir = Path(index_dir)
    loaded_docs: list[Document] = list(documents or [])
    skipped: list[tuple[str, str]] = []
    if paths:
        loaded = load(paths)
        loaded_docs.extend(loaded.documents)
        skipped = loaded.skipped
    if not loaded_docs:
        what = f"all {len(skipped)} files were empty" if skipped else "no documents were given"
        raise InputError(f"nothing to ingest: {what}")
    _test_pause("loaded")
    try:
        with _locked(index_dir):
            return _build_locked(index_dir, loaded_docs, skipped, embedder, prune, progress, t0)
    except OSError as e:
        if _disk_full(e, index_dir):
            raise _disk_full_error(index_dir) from None
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise KotaeError(f"cannot write the index at {index_dir} ({e.strerror}); "
                             "choose a writable --index directory") from None
        raise


def _provenance(doc: str, paths: dict[str, Path], fresh: dict[str, Prepared],
                old_manifest: dict | None) -> dict[str, str]:
    """Where a document's file was (absolute, at this ingest) and when its text was ingested.

    A document given again keeps its path up to date; one reused unchanged keeps the time its
    text was first ingested; one kept without being given keeps both from the last manifest.
    """
    before = (old_manifest or {}).get("documents", {}).get(doc, {})
    out = {k: before[k] for k in ("path", "ingested") if isinstance(before.get(k), str)}
    if doc in paths:
        out["path"] = str(paths[doc].resolve())
    if doc in fresh or "ingested" not in out:
        out["ingested"] = datetime.now(UTC).isoformat(timespec="seconds")
    return out


def _build_locked(index_dir: Path, docs: list[Document], skipped: list[tuple[str, str]],
                  embedder_spec: str | None, prune: bool, progress: bool, t0: float) -> IngestSummary:
    old_manifest, old = _old_state(index_dir)
    old_spec = old_manifest["embedder"]["spec"] if old_manifest else None
    spec = embedder_spec or old_spec or DEFAULT_EMBEDDER
    embedder = get_embedder(spec)
    tokenizer = Tokenizer()
    reusable = old is not None and old_spec == spec
    old_docs: dict[str, str] = dict(old_manifest["documents_sha256"]) if old_manifest else {}

    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    fresh: list[Document] = []
    kept_prepared: dict[str, Prepared] = {}
    for d in docs:
        if d.doc in old_docs and old_docs[d.doc] == d.sha256 and reusable:
            p = store.read_prepared(old, d.doc, embedder.dim)  # type: ignore[arg-type]
            if p is not None:
                kept_prepared[d.doc] = p
                unchanged.append(d.doc)
                continue
        (updated if d.doc in old_docs else added).append(d.doc)
        fresh.append(d)
    named = {d.doc for d in docs}
    missing = [doc for doc in old_docs if doc not in named]
    removed = missing if prune else []
    kept = [] if prune else missing
    for doc in kept:
        if reusable:
            p = store.read_prepared(old, doc, embedder.dim)  # type: ignore[arg-type]
            if p is not None:
                kept_prepared[doc] = p
        else:  # re-embed a kept document for the newly requested embedder
            p = store.read_prepared(old, doc, 0)  # type: ignore[arg-type]
            if p is not None:
                fresh.append(p.document)
    new_prepared = {p.document.doc: p for p in prepare(fresh, tokenizer, embedder, progress)}
    _test_pause("prepared")
    if old is not None:
        old.close()
    order = [d.doc for d in docs] + kept
    prepared = [new_prepared.get(doc) or kept_prepared[doc] for doc in order
                if doc in new_prepared or doc in kept_prepared]

    paths = {d.doc: Path(d.path) for d in docs if d.path is not None}
    manifest: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "embedder": {"spec": spec, "dim": embedder.dim},
        "tokenizer": tokenizer.version,
        "counts": {"documents": len(prepared), "units": sum(len(p.units) for p in prepared),
                   "passages": sum(len(p.passages) for p in prepared),
                   "chars": sum(len(p.document.text) for p in prepared)},
        "documents_sha256": {p.document.doc: p.document.sha256 for p in prepared},
        "documents": {p.document.doc: {"chars": len(p.document.text), "encoding": p.document.encoding,
                                       "units": len(p.units), "passages": len(p.passages),
                                       **p.meta.as_dict(),
                                       **_provenance(p.document.doc, paths, new_prepared, old_manifest)}
                      for p in prepared},
        "last_ingest": {"added": added, "updated": updated, "unchanged": unchanged,
                        "removed": removed, "kept": kept, "skipped": [s[0] for s in skipped],
                        "embedded_units": sum(len(new_prepared[d].units) for d in new_prepared)},
    }
    tmp = index_dir / f".tmp-{os.getpid()}-{time.time_ns()}"
    try:
        write_generation(tmp, prepared, manifest)
        live = _publish(index_dir, tmp)
    except BaseException as e:
        full = _disk_full(e, index_dir)  # judged before removing the partial generation frees space
        shutil.rmtree(tmp, ignore_errors=True)
        if full:
            raise _disk_full_error(index_dir) from None
        raise
    _test_pause("published")
    _clean_old(index_dir, live)
    counts = manifest["counts"]
    return IngestSummary(index=index_dir, documents=counts["documents"], units=counts["units"],
                         passages=counts["passages"], chars=counts["chars"],
                         seconds=time.perf_counter() - t0,
                         embedded_units=manifest["last_ingest"]["embedded_units"],
                         added=tuple(added), updated=tuple(updated), unchanged=tuple(unchanged),
                         removed=tuple(removed), kept=tuple(kept), skipped=tuple(skipped))
