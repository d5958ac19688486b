"""An index, read once into memory: spans, texts, vectors and BM25 arrays."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ingest.bridge import BRIDGE_FILE, Bridge
from ingest.catalog import document_title
from ingest.errors import IndexFileError
from ingest.generations import reading
from ingest.lexical import LexicalIndex
from ingest.manifest import read_manifest


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

    def _load(self, gen: Path) -> None:
        self.generation = gen
        self.manifest = read_manifest(gen)
        self.embedder_spec: str = self.manifest.embedder_spec
        self.dim: int = self.manifest.embedder_dim
        try:
            self._read_store(gen / "store.sqlite", self.manifest.documents)
        except (sqlite3.Error, ValueError, TypeError, IndexError, KeyError) as e:
            # ValueError covers JSON that does not parse; IndexError a passage naming
            # a unit that is not there: a damaged store either way.
            raise IndexFileError(f"{gen / 'store.sqlite'}: the store is unreadable or damaged "
                                 f"({type(e).__name__}); rebuild the index with kotae ingest") from None
        try:
            self.passage_lexical = LexicalIndex(gen / "lexical" / "passages")
            self.unit_lexical = LexicalIndex(gen / "lexical" / "units")
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
            raise IndexFileError(f"{gen / 'lexical'}: the lexical index is missing or damaged "
                                 f"({type(e).__name__}); rebuild the index") from None
        if (self.passage_lexical.size != len(self.p_start)
                or self.unit_lexical.size != len(self.u_start)):
            raise IndexFileError(f"{gen}: the lexical index does not match the store; rebuild the index")
        # English words -> this corpus's Japanese tokens (empty for an index from before bridges).
        self.bridge = Bridge.read(gen / BRIDGE_FILE)
        self.unit_vectors = self.passage_vectors = None
        if self.dim:
            self.unit_vectors = self._read_faiss(gen / "units.faiss", len(self.u_start))
            self.passage_vectors = self._read_faiss(gen / "passages.faiss", len(self.p_start))

    def _read_faiss(self, path: Path, rows: int) -> np.ndarray:
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
            rows = conn.execute('SELECT doc_id, kind, start, "end", gaps, text, section, line_start,'
                                " line_end, page_start, page_end, tokens, facts FROM units ORDER BY id").fetchall()
            self.u_doc = np.array([r[0] for r in rows], dtype=np.int32)
            self.u_kind = [r[1] for r in rows]
            self.u_start = np.array([r[2] for r in rows], dtype=np.int64)
            self.u_end = np.array([r[3] for r in rows], dtype=np.int64)
            self.u_gaps = [tuple(map(tuple, json.loads(r[4]))) for r in rows]
            self.u_text = [r[5] for r in rows]
            self.u_section = [r[6] for r in rows]
            self.u_lines = [(r[7], r[8]) for r in rows]
            self.u_pages = [None if r[9] is None else (r[9], r[10]) for r in rows]
            self.u_tokens = [set(r[11].split("\t")) if r[11] else set() for r in rows]
            self.u_facts = [frozenset(r[12].split(",")) if r[12] else frozenset() for r in rows]
            rows = conn.execute('SELECT doc_id, kind, start, "end", gaps, text, section, line_start,'
                                " line_end, page_start, page_end, units FROM passages ORDER BY id").fetchall()
            self.p_doc = np.array([r[0] for r in rows], dtype=np.int32)
            self.p_kind = [r[1] for r in rows]
            self.p_start = np.array([r[2] for r in rows], dtype=np.int64)
            self.p_end = np.array([r[3] for r in rows], dtype=np.int64)
            self.p_gaps = [tuple(map(tuple, json.loads(r[4]))) for r in rows]
            self.p_text = [r[5] for r in rows]
            self.p_section = [r[6] for r in rows]
            self.p_lines = [(r[7], r[8]) for r in rows]
            self.p_pages = [None if r[9] is None else (r[9], r[10]) for r in rows]
            self.p_units = [np.array(json.loads(r[11]), dtype=np.int64) for r in rows]
        finally:
            conn.close()
        self.u_passages: list[list[int]] = [[] for _ in self.u_text]
        for p, members in enumerate(self.p_units):
            for u in members:
                self.u_passages[u].append(p)
        self.units_of_kind: dict[str, list[int]] = {}
        for u, kind in enumerate(self.u_kind):
            self.units_of_kind.setdefault(kind, []).append(u)
        # Flat member list for vectorised per-passage maxima (np.maximum.reduceat).
        self.p_flat = np.concatenate(self.p_units) if self.p_units else np.zeros(0, np.int64)
        self.p_offsets = np.cumsum([0] + [len(m) for m in self.p_units[:-1]]).astype(np.int64)
