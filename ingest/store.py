"""The SQLite store of an index: documents, units and passages with their spans.

Vectors are kept per unit, so a later ingest can reuse them for unchanged files;
the FAISS files are rebuilt from them on every write.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .records import Document, DocumentMeta, Passage, Unit

SCHEMA = """
CREATE TABLE documents (
    id INTEGER PRIMARY KEY, doc TEXT UNIQUE NOT NULL, sha256 TEXT NOT NULL,
    encoding TEXT NOT NULL, text TEXT NOT NULL, page_starts TEXT NOT NULL,
    title TEXT, body_start INTEGER NOT NULL, meta TEXT NOT NULL);
CREATE TABLE units (
    id INTEGER PRIMARY KEY, doc_id INTEGER NOT NULL, kind TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, gaps TEXT NOT NULL, text TEXT NOT NULL,
    section TEXT, line_start INTEGER, line_end INTEGER, page_start INTEGER, page_end INTEGER,
    tokens TEXT NOT NULL, facts TEXT NOT NULL, vector BLOB);
CREATE TABLE passages (
    id INTEGER PRIMARY KEY, doc_id INTEGER NOT NULL, kind TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, gaps TEXT NOT NULL, text TEXT NOT NULL,
    section TEXT, line_start INTEGER, line_end INTEGER, page_start INTEGER, page_end INTEGER,
    units TEXT NOT NULL, tokens TEXT NOT NULL);
CREATE INDEX units_doc ON units(doc_id);
CREATE INDEX passages_doc ON passages(doc_id);
"""

TOKEN_SEP = "\t"


@dataclass
class Prepared:
    """One document ready to be written: units and passages with tokens and vectors."""

    document: Document
    meta: DocumentMeta
    units: list[Unit]
    passages: list[Passage]
    unit_tokens: list[list[str]]
    passage_tokens: list[list[str]]
    vectors: np.ndarray  # one row per unit (0 columns for a lexical-only index)
    unit_facts: list[list[str]]  # kinds of facts each unit states (ingest.facts)


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True) if readonly else sqlite3.connect(path)
    return conn


def write(path: Path, prepared: list[Prepared]) -> None:
    """Write every prepared document into a new store at ``path``."""
    conn = connect(path)
    try:
        conn.executescript(SCHEMA)
        uid = 0
        for doc_id, p in enumerate(prepared):
            d = p.document
            conn.execute("INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?)",
                         (doc_id, d.doc, d.sha256, d.encoding, d.text, json.dumps(list(d.page_starts)),
                          json.dumps(list(d.title)) if d.title else None, d.body_start,
                          json.dumps(p.meta.as_dict(), ensure_ascii=False)))
            base = uid
            # Rows are generated, not listed: executemany streams them, so a 50 MB
            # document's 600 k rows are never all built at once (~0.3 GB).
            conn.executemany("INSERT INTO units VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (
                (base + i, doc_id, u.kind, u.start, u.end, json.dumps(u.gaps), u.text, u.section,
                 u.lines[0], u.lines[1], *(u.pages or (None, None)),
                 TOKEN_SEP.join(toks), ",".join(facts), vec.astype(np.float32).tobytes())
                for i, (u, toks, facts, vec) in enumerate(
                    zip(p.units, p.unit_tokens, p.unit_facts, p.vectors, strict=True))))
            uid += len(p.units)
            conn.executemany(
                "INSERT INTO passages (doc_id, kind, start, \"end\", gaps, text, section, line_start,"
                " line_end, page_start, page_end, units, tokens) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                ((doc_id, ps.kind, ps.start, ps.end, json.dumps(ps.gaps), ps.text, ps.section,
                  ps.lines[0], ps.lines[1], *(ps.pages or (None, None)),
                  json.dumps([base + i for i in ps.units]), TOKEN_SEP.join(toks))
                 for ps, toks in zip(p.passages, p.passage_tokens, strict=True)))
        conn.commit()
    finally:
        conn.close()


def _spans(value: str) -> tuple[tuple[int, int], ...]:
    return tuple((int(a), int(b)) for a, b in json.loads(value))


def _pages(a: int | None, b: int | None) -> tuple[int, int] | None:
    return None if a is None else (a, b)  # type: ignore[return-value]


def read_prepared(conn: sqlite3.Connection, doc: str, dim: int) -> Prepared | None:
    """Read one document back, as it was prepared, for reuse by an incremental ingest."""
    row = conn.execute("SELECT id, doc, sha256, encoding, text, page_starts, title, body_start, meta "
                       "FROM documents WHERE doc = ?", (doc,)).fetchone()
    if row is None:
        return None
    doc_id, name, digest, encoding, text, pages, title, body_start, meta = row
    document = Document(doc=name, text=text, sha256=digest, encoding=encoding,
                        page_starts=tuple(json.loads(pages)),
                        title=tuple(json.loads(title)) if title else None,
                        body_start=body_start)
    units, tokens, vectors, facts = [], [], [], []
    first_uid = None
    for (uid, kind, start, end, gaps, utext, section, l0, l1, p0, p1, toks, fact, vec) in conn.execute(
            'SELECT id, kind, start, "end", gaps, text, section, line_start, line_end, page_start,'
            " page_end, tokens, facts, vector FROM units WHERE doc_id = ? ORDER BY id", (doc_id,)):
        facts.append(fact.split(",") if fact else [])
        if first_uid is None:
            first_uid = uid
        units.append(Unit(doc=name, kind=kind, start=start, end=end, text=utext, section=section,
                          lines=(l0, l1), pages=_pages(p0, p1), gaps=_spans(gaps)))
        tokens.append(toks.split(TOKEN_SEP) if toks else [])
        vectors.append(np.frombuffer(vec, dtype=np.float32) if vec else np.empty(0, np.float32))
    passages, ptokens = [], []
    for (kind, start, end, gaps, ptext, section, l0, l1, p0, p1, members, toks) in conn.execute(
            'SELECT kind, start, "end", gaps, text, section, line_start, line_end, page_start, page_end,'
            " units, tokens FROM passages WHERE doc_id = ? ORDER BY id", (doc_id,)):
        passages.append(Passage(doc=name, kind=kind, start=start, end=end, text=ptext, section=section,
                                lines=(l0, l1), pages=_pages(p0, p1),
                                units=tuple(i - (first_uid or 0) for i in json.loads(members)),
                                gaps=_spans(gaps)))
        ptokens.append(toks.split(TOKEN_SEP) if toks else [])
    matrix = np.vstack(vectors) if vectors and dim else np.empty((len(units), dim), np.float32)
    return Prepared(document=document, meta=DocumentMeta(**json.loads(meta)), units=units,
                    passages=passages, unit_tokens=tokens, passage_tokens=ptokens, vectors=matrix,
                    unit_facts=facts)
