"""An index, read once into memory: spans, texts, vectors and BM25 arrays."""

from __future__ import annotations

import json
import sqlite3
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ingest.bridge import BRIDGE_FILE, Bridge
from ingest.catalog import document_title
from ingest.errors import IndexFileError
from ingest.generations import reading
from ingest.lexical import LexicalIndex
from ingest.manifest import read_manifest
from ingest.records import Span
from ingest.store import PASSAGES, SPAN_FIELDS, UNITS, Table
from ingest.use_vectors import read_use_vectors


@dataclass(frozen=True)
class SpanRows:
    """One span table of an index (units or passages), column by column: row ``i`` of
    the table is element ``i`` of every list. The span columns are those of
    :data:`ingest.store.SPAN_COLUMNS`; ``tokens`` and ``facts`` are read for units,
    ``members`` (the units of each passage) for passages, and empty otherwise."""

    doc: np.ndarray  # int32: index into IndexReader.sources
    kind: list[str]
    start: np.ndarray  # int64 offsets into the document's text
    end: np.ndarray
    gaps: list[tuple[Span, ...]]
    text: list[str]
    section: list[str | None]
    lines: list[tuple[int, int]]
    pages: list[tuple[int, int] | None]
    tokens: list[frozenset[str]]
    facts: list[frozenset[str]]
    members: list[np.ndarray]

    @classmethod
    def read(cls, conn: sqlite3.Connection, table: Table, own: Sequence[str]) -> SpanRows:
        cols = table.read(conn, ("doc_id", *SPAN_FIELDS, *own))
        spans: dict[str, Any] = {f: cols[f] for f in SPAN_FIELDS}
        spans["start"] = np.array(cols["start"], dtype=np.int64)
        spans["end"] = np.array(cols["end"], dtype=np.int64)
        return cls(doc=np.array(cols["doc_id"], dtype=np.int32), **spans,
                   tokens=[frozenset(t) for t in cols.get("tokens", ())],
                   facts=[frozenset(f) for f in cols.get("facts", ())],
                   members=[np.array(m, dtype=np.int64) for m in cols.get("units", ())])

    def __len__(self) -> int:
        return len(self.text)

    def span(self, i: int) -> dict[str, Any]:
        """Row ``i``'s span columns as plain Python values, by field name (a Citation's own fields)."""
        out = {f: getattr(self, f)[i] for f in SPAN_FIELDS}
        out["start"], out["end"] = int(out["start"]), int(out["end"])
        return out


@dataclass(frozen=True)
class Source:
    """A document as the index holds it: its decoded text is the ground truth of citations."""

    doc: str
    text: str
    meta: dict
    path: str | None = None  # the file's absolute path when it was ingested
    title: str | None = None  # ingest.catalog.document_title: what --doc globs match besides id and path


class IndexReader:
    """Everything a query needs, from one generation of an index directory."""

    def __init__(self, index_dir: str | Path) -> None:
        self.dir = Path(index_dir)
        # The generation is locked while it loads, so that an ingest finishing meanwhile
        # cannot remove it under us (ingest.generations.reading); once loaded it is all in memory.
        with reading(self.dir) as gen:
            self._load(gen)

    @cached_property
    def bridge(self) -> Bridge:
        """The English bridge, parsed on first use: Japanese questions never need it, and
        parsing a large corpus's takes longer than the rest of a cold ``kotae ask``."""
        return Bridge() if self._bridge_json is None else Bridge.parse(self._bridge_json[1], self._bridge_json[0])

    def _load(self, gen: Path) -> None:
        self.generation = gen
        self.manifest = read_manifest(gen)
        self.embedder_spec: str = self.manifest.embedder_spec
        self.dim: int = self.manifest.embedder_dim
        try:
            self._read_store(gen / "store.sqlite", self.manifest.documents)
        except (sqlite3.Error, ValueError, IndexError) as e:
            # Data errors only: ValueError covers JSON that does not parse or has the wrong
            # shape, IndexError a passage naming a unit that is not there. A TypeError or
            # KeyError would be a bug in this code, and surfaces as one.
            raise IndexFileError(f"{gen / 'store.sqlite'}: the store is unreadable or damaged "
                                 f"({type(e).__name__}); rebuild the index with kotae ingest") from None
        try:
            self.passage_lexical = LexicalIndex(gen / "lexical" / "passages")
            self.unit_lexical = LexicalIndex(gen / "lexical" / "units")
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
            raise IndexFileError(f"{gen / 'lexical'}: the lexical index is missing or damaged "
                                 f"({type(e).__name__}); rebuild the index") from None
        if self.passage_lexical.size != len(self.passages) or self.unit_lexical.size != len(self.units):
            raise IndexFileError(f"{gen}: the lexical index does not match the store; rebuild the index")
        # English words -> this corpus's Japanese tokens (empty for an index from before bridges),
        # read now, while the generation is locked, and parsed on first use (:attr:`bridge`).
        path = gen / BRIDGE_FILE
        self._bridge_json = (path, path.read_text(encoding="utf-8")) if path.is_file() else None
        self.unit_vectors = self.passage_vectors = None
        if self.dim:
            self.unit_vectors = self._read_faiss(gen / "units.faiss", len(self.units))
            self.passage_vectors = self._read_faiss(gen / "passages.faiss", len(self.passages))
        # The second, cross-lingual vector English questions use beside e5 (ingest.use_vectors);
        # None for an index built without it. A passage's is the normalised mean of its units'.
        self.use_unit_vectors = read_use_vectors(gen, len(self.units))
        self.use_passage_vectors = None
        if self.use_unit_vectors is not None:
            self.use_passage_vectors = mean_rows(self.use_unit_vectors, self.passages.members)

    def _read_faiss(self, path: Path, rows: int) -> np.ndarray:
        flat = flat_ip_vectors(path, rows, self.dim)
        if flat is not None:
            return flat
        import faiss

        try:
            index = faiss.read_index(str(path))
        except RuntimeError:
            raise IndexFileError(f"{path}: the vector index is missing or damaged; "
                                 "rebuild the index with kotae ingest") from None
        if index.ntotal != rows or index.d != self.dim:
            raise IndexFileError(f"{path}: holds {index.ntotal}x{index.d} vectors, the store "
                                 f"{rows}x{self.dim}; rebuild the index")
        # Exact inner product over a few thousand rows is one matrix product; keeping
        # the rows lets a batch of questions be scored at once.
        if not rows:
            return np.zeros((0, self.dim), np.float32)
        return np.ascontiguousarray(index.reconstruct_n(0, rows), dtype=np.float32)

    def _read_store(self, path: Path, entries: Mapping[str, Mapping[str, Any]]) -> None:
        if not path.is_file():
            raise IndexFileError(f"{path}: the store is missing; rebuild the index with kotae ingest")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            self.sources: list[Source] = [
                Source(doc=doc, text=text, meta=json.loads(meta), path=entries.get(doc, {}).get("path"),
                       title=document_title(text, tuple(json.loads(title)) if title else None))
                for doc, text, meta, title in conn.execute(
                    "SELECT doc, text, meta, title FROM documents ORDER BY id")]
            self.units = SpanRows.read(conn, UNITS, ("tokens", "facts"))
            self.passages = SpanRows.read(conn, PASSAGES, ("units",))
        finally:
            conn.close()
        self.unit_passages: list[list[int]] = [[] for _ in self.units.text]
        for p, units in enumerate(self.passages.members):
            for u in units:
                self.unit_passages[u].append(p)
        self.units_of_kind: dict[str, list[int]] = {}
        for u, kind in enumerate(self.units.kind):
            self.units_of_kind.setdefault(kind, []).append(u)
        # Flat member list for vectorised per-passage maxima (np.maximum.reduceat).
        members = self.passages.members
        self.member_flat = np.concatenate(members) if members else np.zeros(0, np.int64)
        self.member_offsets = np.cumsum([0] + [len(m) for m in members[:-1]]).astype(np.int64)


# The head of a faiss IndexFlatIP file as faiss writes it: "IxFI", dim, rows, two unused
# int64s, is_trained, the metric (0: inner product), the number of floats that follow.
_FLAT_IP_HEAD = struct.Struct("<4siqqqBiQ")


def flat_ip_vectors(path: Path, rows: int, dim: int) -> np.ndarray | None:
    """The ``rows`` x ``dim`` vectors of the IndexFlatIP file ingest writes, read without faiss,
    or None when the file is not laid out so (then faiss reads it, and says what is wrong).

    Importing faiss takes a cold ``kotae ask`` 0.04 s of CPU (0.15 s on a busy machine), for
    a file that is a header and the float32 rows themselves.
    """
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) < _FLAT_IP_HEAD.size:
        return None
    magic, d, n, _, _, _, metric, floats = _FLAT_IP_HEAD.unpack_from(data)
    if (magic, d, n, metric, floats) != (b"IxFI", dim, rows, 0, rows * dim) \
            or len(data) != _FLAT_IP_HEAD.size + 4 * floats:
        return None
    return np.frombuffer(data, dtype="<f4", offset=_FLAT_IP_HEAD.size).reshape(rows, dim).astype(np.float32)


def mean_rows(rows: np.ndarray, members: Sequence[np.ndarray]) -> np.ndarray:
    """For each group of row numbers, the L2-normalised mean of those rows (zeros for an empty group)."""
    out = np.zeros((len(members), rows.shape[1]), np.float32)
    for i, m in enumerate(members):
        if len(m):
            v = rows[m].mean(axis=0)
            out[i] = v / max(float(np.linalg.norm(v)), 1e-12)
    return out
