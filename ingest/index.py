"""Build or update an index: load files, prepare them (segment, tokenise, embed),
and write them as a new generation of the index directory.

A generation holds::

    gen-…/manifest.json                 format, embedder, tokenizer, documents (ingest.manifest)
    gen-…/store.sqlite                  documents, units, passages, vectors
    gen-…/units.faiss, passages.faiss   inner-product indexes of unit/passage vectors
    gen-…/lexical/{passages,units}/     BM25 (bm25s format)
    gen-…/bridge.json                   English words and names -> this corpus's Japanese tokens
    gen-…/use-units.npz                 multilingual USE unit vectors, for English questions
                                        (ingest.use_vectors; only when that package is installed)

How generations are published, locked, read and cleaned up is ingest.generations.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import numpy as np

from . import generations, lexical, store
from .bridge import write_bridge
from .cluster import ClusterStats, connect, file_refs, prepare_on_ray
from .embed import DEFAULT_EMBEDDER, Embedder, get_embedder
from .errors import IndexFileError, InputError, KotaeError
from .facts import fact_kinds
from .generations import (
    CURRENT,
    READERS,
    claim,
    clean_old,
    disk_full_error,
    generation,
    is_disk_full,
    locked,
    new_temporary,
    publish,
)
from .load import load
from .manifest import FORMAT_VERSION, Manifest, ManifestError, read_manifest
from .records import Document, FileRef
from .segment import segment
from .store import Prepared
from .tokens import Tokenizer
from .use_vectors import installed as use_installed
from .use_vectors import write_use_vectors


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
    rebuilt: str = ""  # why the previous generation could not be read, if it could not
    cluster: ClusterStats | None = None  # how the Ray cluster was used (--ray), if it was

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
            empty = all(why == "empty" for _, why in self.skipped)
            text += f"; skipped {len(self.skipped)} {'empty ' if empty else ''}files"
        if self.rebuilt:
            text += f"; the previous index could not be read ({self.rebuilt}), so it holds only these files"
        return text


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


class Progress:
    """A tqdm bar over characters embedded, on stderr, when asked for (``workers``, when
    given, is shown beside it: a Ray ingest's bar covers the whole cluster)."""

    def __init__(self, total: int, enabled: bool, desc: str = "embedding", workers: int | None = None) -> None:
        self.bar = None
        if enabled and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="char", unit_scale=True, desc=desc,
                            file=sys.stderr, dynamic_ncols=True, leave=False)
            if workers is not None:
                self.bar.set_postfix(workers=workers)

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
    bar = Progress(sum(map(len, texts)), progress)
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


def write_generation(gen: Path, prepared: list[Prepared], manifest: Manifest, previous: Path | None = None) -> None:
    """Write a complete generation into ``gen`` (which must not exist yet); ``previous``, the
    live generation if any, lends its USE vectors to unchanged units."""
    gen.mkdir(parents=True)
    (gen / READERS).touch()
    store.write(gen / "store.sqlite", prepared)
    generations.checkpoint("store-written")
    dim = manifest.embedder_dim
    if dim:
        units = np.vstack([p.vectors for p in prepared]) if prepared else np.empty((0, dim), np.float32)
        _faiss_write(units, gen / "units.faiss")
        passages = np.vstack([passage_vectors(p) for p in prepared]) if prepared else units
        _faiss_write(passages, gen / "passages.faiss")
    lexical.build([t for p in prepared for t in p.passage_tokens], gen / "lexical" / "passages")
    lexical.build([t for p in prepared for t in p.unit_tokens], gen / "lexical" / "units")
    write_bridge(gen, [u.text for p in prepared for u in p.units])
    if dim and use_installed():  # the second vector English questions use (ingest.use_vectors)
        write_use_vectors(gen, [None if u.kind == "heading" else embed_text(u.section, u.text, u.kind)
                                for p in prepared for u in p.units], previous)
    generations.checkpoint("lexical-written")
    manifest.write(gen)  # last: a generation with a manifest is whole


@dataclass(frozen=True)
class _OldIndex:
    """The live generation before this ingest, as far as it can be read."""

    manifest: Manifest | None = None
    conn: sqlite3.Connection | None = None
    unreadable: str = ""  # why it could not be read, if there was one

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _old_index(index_dir: Path) -> _OldIndex:
    """The index being updated. A manifest that is there but cannot be trusted stops the
    ingest (ManifestError, exit 3): it alone lists the documents a rebuild would drop.
    Anything else unreadable (a store, a dangling ``current``, an older format) is
    rebuilt from this ingest's files, and the summary says so."""
    if not os.path.lexists(index_dir / CURRENT):
        return _OldIndex()
    try:
        gen = generation(index_dir)
        manifest = read_manifest(gen)
        conn = store.connect(gen / "store.sqlite", readonly=True)
        conn.execute("SELECT count(*) FROM documents").fetchone()
        return _OldIndex(manifest, conn)
    except ManifestError:
        raise
    except IndexFileError as e:
        return _OldIndex(unreadable=str(e).split(";")[0])
    except sqlite3.Error as e:
        return _OldIndex(unreadable=f"store.sqlite: {e}")


def build_index(paths: Sequence[str | os.PathLike[str]] | None, index_dir: str | os.PathLike[str],
                embedder: str | None = None, *, prune: bool = False, progress: bool = False,
                documents: Sequence[Document] | None = None, ray: str | None = None) -> IngestSummary:
    """Build or update the index at ``index_dir`` from files (``paths``) or given ``documents``.

    Unchanged documents (same sha256, same embedder and tokenizer) are copied with their
    vectors; changed ones are re-processed; documents in the index but not in this ingest
    are kept unless ``prune``. The previous index stays live until the new one is
    complete.

    ``ray`` (``auto``, ``local`` or a cluster's address; needs ``kotae[ray]``) prepares the
    changed documents on a Ray cluster instead of in this process (see ingest.cluster):
    the index written is the same.
    """
    t0 = time.perf_counter()
    index_dir = Path(index_dir)
    loaded_docs: list[Document | FileRef] = list(documents or [])
    skipped: list[tuple[str, str]] = []
    if ray:
        connect(ray)  # before any work: a missing extra or a cluster not answering is one line
    if paths and ray:
        refs, skipped = file_refs(paths)  # loaded by the workers, not here
        loaded_docs.extend(refs)
    elif paths:
        loaded = load(paths)
        loaded_docs.extend(loaded.documents)
        skipped = loaded.skipped
    if not loaded_docs:
        listed = "; ".join(f"{doc} ({why})" for doc, why in skipped[:3]) + (" …" if len(skipped) > 3 else "")
        what = ("no documents were given" if not skipped
                else f"all {len(skipped)} files were empty" if all(why == "empty" for _, why in skipped)
                else f"all {len(skipped)} files were skipped: {listed}")
        raise InputError(f"nothing to ingest: {what}")
    generations.checkpoint("loaded")
    try:
        claim(index_dir)
        with locked(index_dir):
            return _build_locked(index_dir, loaded_docs, skipped, _Options(embedder, prune, progress, ray), t0)
    except OSError as e:
        if is_disk_full(e, index_dir):
            raise disk_full_error(index_dir) from None
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise KotaeError(f"cannot write the index at {index_dir} ({e.strerror}); "
                             "choose a writable --index directory") from None
        raise


@dataclass(frozen=True)
class _Options:
    """How build_index was asked to ingest."""

    embedder: str | None
    prune: bool
    progress: bool
    ray: str | None


@dataclass
class _Plan:
    """Which documents of an ingest are new, changed, unchanged, kept or removed."""

    added: list[str]
    updated: list[str]
    unchanged: list[str]
    removed: list[str]
    kept: list[str]
    fresh: list[Document | FileRef]  # to prepare (a FileRef: on a Ray worker, which loads it)
    reused: dict[str, Prepared]  # read back from the old store, vectors and all


def _plan(docs: list[Document | FileRef], old: _OldIndex, reusable: bool, dim: int, prune: bool) -> _Plan:
    old_docs = dict(old.manifest.documents_sha256) if old.manifest else {}
    plan = _Plan([], [], [], [], [], [], {})
    for d in docs:
        if reusable and old_docs.get(d.doc) == d.sha256:
            p = store.read_prepared(old.conn, d.doc, dim)  # type: ignore[arg-type]
            if p is not None:
                plan.reused[d.doc] = p
                plan.unchanged.append(d.doc)
                continue
        (plan.updated if d.doc in old_docs else plan.added).append(d.doc)
        plan.fresh.append(d)
    named = {d.doc for d in docs}
    missing = [doc for doc in old_docs if doc not in named]
    (plan.removed if prune else plan.kept).extend(missing)
    for doc in plan.kept:
        # kept as they are, or re-prepared (text read back) for a new embedder or tokenizer
        p = store.read_prepared(old.conn, doc, dim if reusable else 0)  # type: ignore[arg-type]
        if p is not None and reusable:
            plan.reused[doc] = p
        elif p is not None:
            plan.fresh.append(p.document)
    return plan


def _provenance(doc: str, paths: dict[str, Path], fresh: dict[str, Prepared],
                old_manifest: Manifest | None) -> dict[str, str]:
    """Where a document's file was (absolute, at this ingest) and when its text was ingested.

    A document given again keeps its path up to date; one reused unchanged keeps the time its
    text was first ingested; one kept without being given keeps both from the last manifest.
    """
    before = old_manifest.documents.get(doc, {}) if old_manifest else {}
    out = {k: before[k] for k in ("path", "ingested") if isinstance(before.get(k), str)}
    if doc in paths:
        out["path"] = str(paths[doc].resolve())
    if doc in fresh or "ingested" not in out:
        out["ingested"] = datetime.now(UTC).isoformat(timespec="seconds")
    return out


def _manifest(prepared: list[Prepared], spec: str, embedder: Embedder, tokenizer: Tokenizer, plan: _Plan,
              skipped: list[tuple[str, str]], provenance: dict[str, dict[str, str]],
              embedded_units: int) -> Manifest:
    return Manifest(
        format=FORMAT_VERSION, created=datetime.now(UTC).isoformat(timespec="seconds"),
        embedder_spec=spec, embedder_dim=embedder.dim, embedder_engine=str(getattr(embedder, "engine", "")),
        tokenizer=tokenizer.version,
        counts={"documents": len(prepared), "units": sum(len(p.units) for p in prepared),
                "passages": sum(len(p.passages) for p in prepared),
                "chars": sum(len(p.document.text) for p in prepared)},
        documents_sha256={p.document.doc: p.document.sha256 for p in prepared},
        documents={p.document.doc: {"chars": len(p.document.text), "encoding": p.document.encoding,
                                    "units": len(p.units), "passages": len(p.passages), **p.meta.as_dict(),
                                    **provenance[p.document.doc]}
                   for p in prepared},
        last_ingest={"added": plan.added, "updated": plan.updated, "unchanged": plan.unchanged,
                     "removed": plan.removed, "kept": plan.kept, "skipped": [s[0] for s in skipped],
                     "embedded_units": embedded_units})


def _write_and_publish(index_dir: Path, prepared: list[Prepared], manifest: Manifest) -> Path:
    try:
        previous: Path | None = generation(index_dir)
    except IndexFileError:
        previous = None
    tmp = new_temporary(index_dir)
    try:
        write_generation(tmp, prepared, manifest, previous)
        return publish(index_dir, tmp)
    except BaseException as e:
        full = is_disk_full(e, index_dir)  # judged before removing the partial generation frees space
        shutil.rmtree(tmp, ignore_errors=True)
        if full:
            raise disk_full_error(index_dir) from None
        raise


@dataclass(frozen=True)
class _Fresh:
    """The documents prepared by this ingest, and where the work was done."""

    prepared: dict[str, Prepared]
    docs: list[Document | FileRef]  # those given, less the files a Ray worker found empty
    skipped: list[tuple[str, str]]
    cluster: ClusterStats | None = None


def _prepare_fresh(plan: _Plan, docs: list[Document | FileRef], skipped: list[tuple[str, str]],
                   old: _OldIndex, reusable: bool, spec: str, opts: _Options) -> _Fresh:
    """Prepare the plan's fresh documents here, or on Ray (``opts.ray``)."""
    embedder, tokenizer = get_embedder(spec), Tokenizer()
    if not opts.ray:
        local = cast(list[Document], plan.fresh)  # FileRefs are made only for --ray
        return _Fresh({p.document.doc: p for p in prepare(local, tokenizer, embedder, opts.progress)},
                      docs, skipped)
    run = prepare_on_ray(plan.fresh, spec, opts.ray, opts.progress)
    prepared = dict(run.prepared)
    empty = {doc for doc, _ in run.skipped}
    if empty:
        # A file a worker found empty was never a document of this ingest, as in load():
        # the version in the index, if any, is kept (or pruned) like any file not given.
        redo = _unplan(plan, empty, old, reusable, embedder.dim, opts.prune)
        prepared.update((p.document.doc, p) for p in prepare(redo, tokenizer, embedder))
    return _Fresh(prepared, [d for d in docs if d.doc not in empty], skipped + run.skipped, run.stats)


def _unplan(plan: _Plan, empty: set[str], old: _OldIndex, reusable: bool, dim: int, prune: bool) -> list[Document]:
    """Take the files found empty out of ``plan``; return the kept documents to prepare again."""
    old_docs = dict(old.manifest.documents_sha256) if old.manifest else {}
    plan.added[:] = [d for d in plan.added if d not in empty]
    plan.updated[:] = [d for d in plan.updated if d not in empty]
    redo = []
    for doc in [d for d in old_docs if d in empty]:
        if prune:
            plan.removed.append(doc)
            continue
        plan.kept.append(doc)
        p = store.read_prepared(old.conn, doc, dim if reusable else 0)  # type: ignore[arg-type]
        if p is not None and reusable:
            plan.reused[doc] = p
        elif p is not None:
            redo.append(p.document)
    return redo


def _build_locked(index_dir: Path, given: list[Document | FileRef], given_skipped: list[tuple[str, str]],
                  opts: _Options, t0: float) -> IngestSummary:
    old = _old_index(index_dir)
    old_spec = old.manifest.embedder_spec if old.manifest else None
    spec = opts.embedder or old_spec or DEFAULT_EMBEDDER
    embedder = get_embedder(spec)
    tokenizer = Tokenizer()
    reusable = (old.conn is not None and old_spec == spec and old.manifest is not None
                and dict(old.manifest.tokenizer) == tokenizer.version)
    try:
        plan = _plan(given, old, reusable, embedder.dim, opts.prune)
        fresh = _prepare_fresh(plan, given, given_skipped, old, reusable, spec, opts)
    finally:
        old.close()
    new_prepared, docs, skipped = fresh.prepared, fresh.docs, fresh.skipped
    generations.checkpoint("prepared")
    order = [d.doc for d in docs] + plan.kept
    prepared = [new_prepared.get(doc) or plan.reused[doc] for doc in order
                if doc in new_prepared or doc in plan.reused]
    if not any(tokens for p in prepared for tokens in p.passage_tokens):
        # ◆◆概観 alone, or 。。。: no passage holds a word, and BM25 has nothing to index.
        raise InputError(f"nothing to index: {', '.join(d.doc for d in docs[:3])}{' …' if len(docs) > 3 else ''} "
                         "hold no words to search (only headings, punctuation or symbols); give files with text")
    embedded = sum(len(p.units) for p in new_prepared.values())
    paths = {d.doc: Path(d.path) for d in docs if d.path is not None}
    provenance = {p.document.doc: _provenance(p.document.doc, paths, new_prepared, old.manifest)
                  for p in prepared}
    manifest = _manifest(prepared, spec, embedder, tokenizer, plan, skipped, provenance, embedded)
    live = _write_and_publish(index_dir, prepared, manifest)
    generations.checkpoint("published")
    clean_old(index_dir, live)
    counts = manifest.counts
    return IngestSummary(index=index_dir, documents=counts["documents"], units=counts["units"],
                         passages=counts["passages"], chars=counts["chars"],
                         seconds=time.perf_counter() - t0, embedded_units=embedded,
                         added=tuple(plan.added), updated=tuple(plan.updated),
                         unchanged=tuple(plan.unchanged), removed=tuple(plan.removed),
                         kept=tuple(plan.kept), skipped=tuple(skipped), rebuilt=old.unreadable,
                         cluster=fresh.cluster)
