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

Documents are prepared a batch of characters at a time (here, or on Ray workers: see
ingest.cluster) and handed to the generation writer (ingest.writer) in the order given, each
as soon as it is ready; unchanged ones are read back from the old store when their turn
comes. So an ingest holds one batch of prepared documents, not the corpus's.

How generations are published, locked, read and cleaned up is ingest.generations.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import numpy as np

from . import generations, store
from .cluster import ClusterStats, RayPreparation, batches, connect, file_refs
from .embed import DEFAULT_EMBEDDER, Embedder, get_embedder
from .errors import IndexFileError, InputError, KotaeError
from .facts import fact_kinds
from .generations import (
    CURRENT,
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
from .manifest import FORMAT_VERSION, SEGMENTER, Build, Manifest, ManifestError, read_manifest
from .records import Document, FileRef, Unit
from .segment import segment
from .store import Prepared
from .tokens import Tokenizer
from .unit_text import embed_text, lexical_text
from .use_vectors import UseRows, use_rows
from .use_vectors import installed as use_installed
from .writer import GenerationWriter, Written


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
    rebuilt_documents: tuple[str, ...] = ()  # unchanged, prepared again: built with another segmenter or engine
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
        if self.rebuilt_documents:
            text += (f"; {len(self.rebuilt_documents)} unchanged documents cut and embedded again "
                     "(built with another segmenter or engine)")
        return text


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

    def __call__(self, n: float) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def scaled(self, chars: int, embedded: int) -> Callable[[float], None]:
        """A callback that moves the bar by ``chars`` in all as ``embedded`` (characters of
        embedder input, or 1: shares of it) are done (the input adds section titles and
        leaves headings out)."""
        ratio = chars / embedded if embedded else 0.0
        return lambda n: self(n * ratio)

    def workers(self, n: int) -> None:
        """Show the CPUs the cluster has now (nodes may join or leave during an ingest)."""
        if self.bar is not None:
            self.bar.set_postfix(workers=n, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def prepare(documents: Sequence[Document], tokenizer: Tokenizer, embedder: Embedder,
            progress: bool = False, bar: Progress | None = None) -> list[Prepared]:
    """Segment, tokenise and embed documents (the work an unchanged file is spared).

    ``bar``, when given, is moved by these documents' characters as their units are
    embedded (one bar over many calls); else ``progress`` shows a bar of this call's own.
    """
    segmented = [segment(d) for d in documents]
    units = [u for s in segmented for u in s.units]
    vectors, use = _embed(units, embedder, progress, bar and bar.scaled(sum(len(d.text) for d in documents), 1))
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
                            unit_facts=facts, use_vectors=use[row:row + n] if use is not None else None))
        row += n
    return out


def _embed(units: list[Unit], embedder: Embedder, progress: bool,
           moved: Callable[[float], None] | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The units' vectors, and their USE rows when that package is installed (ingest.use_vectors).

    ``moved(share)`` is told the share of the embedding done, when given; else ``progress``
    shows a bar of this call's own.
    """
    # Headings are never answers and never inside passages (each unit embeds with its
    # section title already): they get a zero vector instead of an embedding, which
    # on JSQuAD saves 1,145 of 5,654 embedder calls.
    todo = [i for i, u in enumerate(units) if u.kind != "heading"]
    texts = [embed_text(units[i].section, units[i].text, units[i].kind) for i in todo]
    total = sum(map(len, texts))
    if moved is not None:
        embedded = embedder.passages(texts, progress=lambda n: moved(n / total) if total else None)
        if not total:  # only headings (◆◆概観 alone): nothing to embed, all of it done
            moved(1.0)
    else:
        own = Progress(total, progress)
        try:
            embedded = embedder.passages(texts, progress=own)
        finally:
            own.close()
    vectors = np.zeros((len(units), embedder.dim), dtype=np.float32)
    if embedder.dim and todo:
        vectors[todo] = embedded
    if not (embedder.dim and use_installed()):
        return vectors, None
    # USE is embedded where e5 is (a Ray worker, or here): on the driver it would be the
    # one part of the embedding that does not scale with the cluster.
    unit_texts: list[str | None] = [None] * len(units)
    for i, t in zip(todo, texts, strict=True):
        unit_texts[i] = t
    return vectors, use_rows(unit_texts)


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
    reused: set[str]  # read back from the old store, vectors and all, when their turn to be written comes
    rebuilt: list[str] = field(default_factory=list)  # unchanged or kept, prepared again: built with another
    # segmenter or engine (ingest.manifest.Build)


def _plan(docs: list[Document | FileRef], old: _OldIndex, reuse: _Reuse, prune: bool) -> _Plan:
    old_docs = dict(old.manifest.documents_sha256) if old.manifest else {}
    plan = _Plan([], [], [], [], [], [], set())
    for d in docs:
        same = old_docs.get(d.doc) == d.sha256
        if same and d.doc in reuse.docs and store.has_document(old.conn, d.doc):  # type: ignore[arg-type]
            plan.reused.add(d.doc)
            plan.unchanged.append(d.doc)
            continue
        if same and d.doc in reuse.stale:
            plan.unchanged.append(d.doc)
            plan.rebuilt.append(d.doc)
        else:
            (plan.updated if d.doc in old_docs else plan.added).append(d.doc)
        plan.fresh.append(d)
    named = {d.doc for d in docs}
    missing = [doc for doc in old_docs if doc not in named]
    (plan.removed if prune else plan.kept).extend(missing)
    plan.fresh.extend(_keep(plan, plan.kept, old, reuse))
    return plan


@dataclass(frozen=True)
class _Reuse:
    """Which documents of the old index may be copied as they are (vectors and all), and which
    only lack this ingest's segmenter or engine (prepared again, and said so)."""

    docs: frozenset[str] = frozenset()
    stale: frozenset[str] = frozenset()

    @classmethod
    def of(cls, old: _OldIndex, spec: str, tokenizer: Tokenizer, build: Build) -> _Reuse:
        """Nothing when the embedder or the tokenizer changed (every document is prepared
        again); else the documents built as this ingest builds (``Build.matches``)."""
        m = old.manifest
        if old.conn is None or m is None or m.embedder_spec != spec or dict(m.tokenizer) != tokenizer.version:
            return cls()
        same = frozenset(doc for doc in m.documents_sha256 if build.matches(m, doc))
        return cls(same, frozenset(m.documents_sha256) - same)


def _keep(plan: _Plan, docs: list[str], old: _OldIndex, reuse: _Reuse) -> list[Document]:
    """Keep ``docs`` of the old index as they are (reused), or return their text to be
    prepared again (for a new embedder, tokenizer, segmenter or engine)."""
    redo = []
    for doc in docs:
        if doc in reuse.docs:
            if store.has_document(old.conn, doc):  # type: ignore[arg-type]
                plan.reused.add(doc)
            continue
        p = store.read_prepared(old.conn, doc, 0)  # type: ignore[arg-type]
        if p is not None:
            redo.append(p.document)
            if doc in reuse.stale:
                plan.rebuilt.append(doc)
    return redo


def _provenance(doc: str, paths: dict[str, Path], fresh: set[str],
                old_manifest: Manifest | None, build: Build) -> dict[str, str]:
    """Where a document's file was (absolute, at this ingest), when its text was ingested, and
    what cut it into units and embedded them (``build``; a document reused was built so).

    A document given again keeps its path up to date; one reused unchanged keeps the time its
    text was first ingested; one kept without being given keeps both from the last manifest.
    """
    before = old_manifest.documents.get(doc, {}) if old_manifest else {}
    out = {k: before[k] for k in ("path", "ingested") if isinstance(before.get(k), str)}
    if doc in paths:
        out["path"] = str(paths[doc].resolve())
    if doc in fresh or "ingested" not in out:
        out["ingested"] = datetime.now(UTC).isoformat(timespec="seconds")
    return {**out, **build.as_dict()}


@dataclass(frozen=True)
class _Job:
    """One ingest, planned: what to write and what with."""

    index_dir: Path
    given: list[Document | FileRef]
    skipped: list[tuple[str, str]]
    old: _OldIndex
    reuse: _Reuse
    spec: str
    embedder: Embedder
    tokenizer: Tokenizer
    build: Build
    opts: _Options
    plan: _Plan


@dataclass
class _Streamed:
    """What writing the documents found out: which were prepared here, what was skipped."""

    fresh: set[str]
    embedded: int
    skipped: list[tuple[str, str]]
    empty: set[str]  # files a Ray worker found empty (the driver did not read them)
    cluster: ClusterStats | None = None


def _fresh_documents(job: _Job) -> tuple[Generator[tuple[str, Prepared | str]], RayPreparation | None]:
    """The plan's fresh documents, prepared in order, each as (doc, Prepared) or, for a
    file a Ray worker found empty, (doc, why it was skipped)."""
    if job.opts.ray:
        run = RayPreparation(job.plan.fresh, job.spec, job.opts.ray, job.opts.progress)
        return run.documents(), run
    local = cast(list[Document], job.plan.fresh)  # FileRefs are made only for --ray
    return prepare_in_batches(local, job.tokenizer, job.embedder, job.opts.progress), None


def prepare_in_batches(docs: Sequence[Document], tokenizer: Tokenizer, embedder: Embedder,
                       progress: bool = False) -> Generator[tuple[str, Prepared | str]]:
    """Prepare ``docs`` here, a batch of characters at a time (as a Ray task would), so that
    only one batch's units, tokens and vectors are held before they are written."""
    bar = Progress(sum(len(d.text) for d in docs), progress)
    try:
        for batch in batches(docs):
            prepared = prepare(cast(list[Document], batch), tokenizer, embedder, bar=bar)[::-1]
            while prepared:  # popped as yielded: a document written is held here no more
                yield prepared[-1].document.doc, prepared.pop()
    finally:
        bar.close()


def _stream(job: _Job, writer: GenerationWriter) -> _Streamed:
    """Write every document of the new generation, in order: the given ones (prepared now, or
    reused from the old store), then the kept ones. Each is let go once written."""
    plan, conn, dim = job.plan, job.old.conn, job.embedder.dim
    to_prepare = {d.doc for d in plan.fresh}
    prepared, ray_run = _fresh_documents(job)
    out = _Streamed(set(), 0, [], set())
    with closing(prepared):  # stopped early (an unreadable file): its tasks are cancelled
        for doc in [d.doc for d in job.given] + list(plan.kept):
            if doc in to_prepare:
                _write_fresh(doc, prepared, writer, out)
            elif doc in plan.reused:
                writer.add(store.read_prepared(conn, doc, dim))  # type: ignore[arg-type]
        if next(prepared, None) is not None:  # (and a Ray run's statistics are complete)
            raise RuntimeError("more documents were prepared than planned")
    if ray_run is not None:
        out.cluster = ray_run.stats
    if out.empty:
        _unplan(job, out, writer)
    return out


def _write_fresh(doc: str, prepared: Iterator[tuple[str, Prepared | str]], writer: GenerationWriter,
                 out: _Streamed) -> None:
    """Write the next prepared document, which must be ``doc`` (a function of its own, so
    that nothing holds the document once it is written)."""
    name, got = next(prepared)
    if name != doc:
        raise RuntimeError(f"documents prepared out of order: {name} came for {doc}")
    if isinstance(got, str):
        out.skipped.append((doc, got))
        out.empty.add(doc)
        return
    writer.add(got)
    out.fresh.add(doc)
    out.embedded += len(got.units)


def _unplan(job: _Job, out: _Streamed, writer: GenerationWriter) -> None:
    """Take the files a Ray worker found empty out of the plan. Such a file was never a
    document of this ingest, as in load(): the version in the index, if any, is kept (or
    pruned) like any file not given, and written after the others."""
    plan, empty = job.plan, out.empty
    old_docs = dict(job.old.manifest.documents_sha256) if job.old.manifest else {}
    plan.added[:] = [d for d in plan.added if d not in empty]
    plan.updated[:] = [d for d in plan.updated if d not in empty]
    back = [d for d in old_docs if d in empty]
    if job.opts.prune:
        plan.removed.extend(back)
        return
    plan.kept.extend(back)
    redo = {p.document.doc: p for p in prepare(_keep(plan, back, job.old, job.reuse),
                                                job.tokenizer, job.embedder)}
    for doc in back:
        if doc in redo:
            writer.add(redo[doc])
            out.fresh.add(doc)
            out.embedded += len(redo[doc].units)
        elif doc in plan.reused:
            writer.add(store.read_prepared(job.old.conn, doc, job.embedder.dim))  # type: ignore[arg-type]


def _manifest(job: _Job, written: list[Written], out: _Streamed) -> Manifest:
    plan = job.plan
    paths = {d.doc: Path(d.path) for d in job.given if d.path is not None and d.doc not in out.empty}
    old_manifest = job.old.manifest
    return Manifest(
        format=FORMAT_VERSION, created=datetime.now(UTC).isoformat(timespec="seconds"),
        embedder_spec=job.spec, embedder_dim=job.embedder.dim,
        embedder_engine=str(getattr(job.embedder, "engine", "")), tokenizer=job.tokenizer.version,
        counts={"documents": len(written), "units": sum(w.units for w in written),
                "passages": sum(w.passages for w in written), "chars": sum(w.chars for w in written)},
        documents_sha256={w.doc: w.sha256 for w in written},
        documents={w.doc: {"chars": w.chars, "encoding": w.encoding, "units": w.units, "passages": w.passages,
                           **w.meta, **_provenance(w.doc, paths, out.fresh, old_manifest, job.build)}
                   for w in written},
        last_ingest={"added": plan.added, "updated": plan.updated, "unchanged": plan.unchanged,
                     "removed": plan.removed, "kept": plan.kept, "rebuilt": plan.rebuilt,
                     "skipped": [s[0] for s in job.skipped + out.skipped], "embedded_units": out.embedded})


def _write(job: _Job, tmp: Path) -> tuple[Manifest, _Streamed]:
    """Write the whole new generation into ``tmp``, streaming the documents into it."""
    writer = GenerationWriter(tmp, job.embedder.dim, _use_rows(job))
    try:
        out = _stream(job, writer)
        generations.checkpoint("prepared")
        if not writer.words:
            # ◆◆概観 alone, or 。。。: no passage holds a word, and BM25 has nothing to index.
            docs = [d.doc for d in job.given if d.doc not in out.empty]
            raise InputError(f"nothing to index: {', '.join(docs[:3])}{' …' if len(docs) > 3 else ''} "
                             "hold no words to search (only headings, punctuation or symbols); give files with text")
        manifest = _manifest(job, writer.documents, out)
        writer.finish(manifest)
    finally:
        writer.abandon()
    return manifest, out


def _use_rows(job: _Job) -> UseRows | None:
    """USE vectors for an index with dense vectors, when the package is installed; the live
    generation (if any) lends its rows to unchanged units."""
    if not (job.embedder.dim and use_installed()):
        return None
    try:
        previous: Path | None = generation(job.index_dir)
    except IndexFileError:
        previous = None
    return UseRows(previous)


def _write_and_publish(job: _Job) -> tuple[Path, Manifest, _Streamed]:
    tmp = new_temporary(job.index_dir)
    try:
        manifest, out = _write(job, tmp)
        return publish(job.index_dir, tmp), manifest, out
    except BaseException as e:
        full = is_disk_full(e, job.index_dir)  # judged before removing the partial generation frees space
        shutil.rmtree(tmp, ignore_errors=True)
        if full:
            raise disk_full_error(job.index_dir) from None
        raise


def _build_locked(index_dir: Path, given: list[Document | FileRef], given_skipped: list[tuple[str, str]],
                  opts: _Options, t0: float) -> IngestSummary:
    old = _old_index(index_dir)
    old_spec = old.manifest.embedder_spec if old.manifest else None
    spec = opts.embedder or old_spec or DEFAULT_EMBEDDER
    embedder = get_embedder(spec)
    tokenizer = Tokenizer()
    build = Build(SEGMENTER, str(getattr(embedder, "engine", "")))
    reuse = _Reuse.of(old, spec, tokenizer, build)
    try:
        job = _Job(index_dir, given, given_skipped, old, reuse, spec, embedder, tokenizer, build, opts,
                   _plan(given, old, reuse, opts.prune))
        live, manifest, out = _write_and_publish(job)
    finally:
        old.close()
    generations.checkpoint("published")
    clean_old(index_dir, live)
    counts, plan = manifest.counts, job.plan
    return IngestSummary(index=index_dir, documents=counts["documents"], units=counts["units"],
                         passages=counts["passages"], chars=counts["chars"],
                         seconds=time.perf_counter() - t0, embedded_units=out.embedded,
                         added=tuple(plan.added), updated=tuple(plan.updated),
                         unchanged=tuple(plan.unchanged), removed=tuple(plan.removed),
                         kept=tuple(plan.kept), skipped=tuple(given_skipped + out.skipped),
                         rebuilt_documents=tuple(plan.rebuilt),
                         rebuilt=old.unreadable, cluster=out.cluster)
