"""The SQLite store of an index: documents, units and passages with their spans.

Units and passages are two tables of one kind (:class:`Table`): span rows, whose columns
are listed once (:data:`SPAN_COLUMNS`, then each table's own) and drive the schema, the
writer and both readers (:func:`read_prepared` here, ``retriever.store.IndexReader``).
A new column is one :class:`Column` in that list, and a field of the same name on
``Unit``/``Passage`` (and ``retriever.Citation`` when citations should carry it).

Vectors are kept per unit, so a later ingest can reuse them for unchanged files;
the FAISS files are rebuilt from them on every write.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .records import Document, DocumentMeta, Passage, Span, Unit

TOKEN_SEP = "\t"


@dataclass(frozen=True)
class Column:
    """One field of a span row and the SQL column(s) that keep it.

    ``encode`` turns the field's value into the SQL values (one per SQL column) and
    ``decode`` turns them back: ``lines`` (12, 14) is kept as line_start 12, line_end 14.
    No ``decode``: the value is kept as it is (an int, a text).
    """

    name: str
    sql: tuple[str, ...]  # '"end" INTEGER NOT NULL': quoted name, type, constraint
    encode: Callable[[Any], tuple[Any, ...]]
    decode: Callable[..., Any] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.split(" ", 1)[0] for s in self.sql)


def _plain(name: str, sql_type: str) -> Column:
    return Column(name, (f'"{name}" {sql_type}',), lambda v: (v,))


def _pair(name: str, first: str, second: str, optional: bool) -> Column:
    # (12, 14) <-> 12, 14; pages may be None (a text file has none) <-> NULL, NULL.
    if optional:
        return Column(name, (f'"{first}" INTEGER', f'"{second}" INTEGER'),
                      lambda v: tuple(v) if v else (None, None), lambda a, b: None if a is None else (a, b))
    return Column(name, (f'"{first}" INTEGER', f'"{second}" INTEGER'), tuple, lambda a, b: (a, b))


def _spans(value: str) -> tuple[Span, ...]:
    data = json.loads(value)
    if not (isinstance(data, list) and all(isinstance(s, list) and len(s) == 2
                                           and all(isinstance(x, int) for x in s) for s in data)):
        raise ValueError(f"{value[:40]!r} is not a list of [start, end] pairs")
    return tuple((a, b) for a, b in data)


def _ids(value: str) -> tuple[int, ...]:
    data = json.loads(value)
    if not (isinstance(data, list) and all(isinstance(x, int) for x in data)):
        raise ValueError(f"{value[:40]!r} is not a list of unit ids")
    return tuple(data)


def _joined(name: str, sep: str) -> Column:
    # ("安保理", "決議") <-> "安保理\t決議"; none <-> "".
    return Column(name, (f'"{name}" TEXT NOT NULL',), lambda v: (sep.join(v),),
                  lambda s: tuple(s.split(sep)) if s else ())


# The columns every span row has, in the order of the records' fields.
SPAN_COLUMNS = (
    _plain("kind", "TEXT NOT NULL"),
    _plain("start", "INTEGER NOT NULL"),
    _plain("end", "INTEGER NOT NULL"),
    Column("gaps", ('"gaps" TEXT NOT NULL',), lambda v: (json.dumps(v),), _spans),
    _plain("text", "TEXT NOT NULL"),
    _plain("section", "TEXT"),
    _pair("lines", "line_start", "line_end", optional=False),
    _pair("pages", "page_start", "page_end", optional=True),
)
SPAN_FIELDS = tuple(c.name for c in SPAN_COLUMNS)
_ID = _plain("id", "INTEGER PRIMARY KEY")
_DOC_ID = _plain("doc_id", "INTEGER NOT NULL")


@dataclass(frozen=True)
class Table:
    """A table of span rows: id, document, the span columns, then its own columns."""

    name: str
    own: tuple[Column, ...]

    @property
    def columns(self) -> tuple[Column, ...]:
        return (_ID, _DOC_ID, *SPAN_COLUMNS, *self.own)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def create(self) -> str:
        sql = ", ".join(s for c in self.columns for s in c.sql)
        return f"CREATE TABLE {self.name} ({sql});\nCREATE INDEX {self.name}_doc ON {self.name}(doc_id);\n"

    def insert(self) -> str:
        n = sum(len(c.sql) for c in self.columns)
        return f"INSERT INTO {self.name} VALUES ({','.join('?' * n)})"

    def row(self, record: Unit | Passage, **values: Any) -> tuple[Any, ...]:
        """The SQL values of one row: the span columns from ``record``, the others from ``values``."""
        return tuple(x for c in self.columns
                     for x in c.encode(values[c.name] if c.name in values else getattr(record, c.name)))

    def select(self, names: Sequence[str], where: str = "") -> str:
        sql = ", ".join(n for name in names for n in self.column(name).names)
        return f"SELECT {sql} FROM {self.name} {where} ORDER BY id"

    def read(self, conn: sqlite3.Connection, names: Sequence[str], where: str = "",
             params: tuple[Any, ...] = ()) -> dict[str, list[Any]]:
        """The fields ``names`` of the rows (in id order), column by column: {field: values}."""
        rows = conn.execute(self.select(names, where), params).fetchall()
        out: dict[str, list[Any]] = {}
        at = 0
        for name in names:
            c = self.column(name)
            width, decode = len(c.sql), c.decode
            if decode is None:
                out[name] = [r[at] for r in rows]
            elif width == 1:
                out[name] = [decode(r[at]) for r in rows]
            else:
                out[name] = [decode(*r[at:at + width]) for r in rows]
            at += width
        return out


UNITS = Table("units", (
    _joined("tokens", TOKEN_SEP),
    _joined("facts", ","),  # kinds of facts the unit states: date, quantity:発 (ingest.facts)
    Column("vector", ('"vector" BLOB',), lambda v: (np.asarray(v, np.float32).tobytes(),),
           lambda b: np.frombuffer(b, dtype=np.float32) if b else np.empty(0, np.float32)),
))
PASSAGES = Table("passages", (
    # The passage's units, as ids of the units table.
    Column("units", ('"units" TEXT NOT NULL',), lambda v: (json.dumps(list(v)),), _ids),
    _joined("tokens", TOKEN_SEP),
))

SCHEMA = """
CREATE TABLE documents (
    id INTEGER PRIMARY KEY, doc TEXT UNIQUE NOT NULL, sha256 TEXT NOT NULL,
    encoding TEXT NOT NULL, text TEXT NOT NULL, page_starts TEXT NOT NULL,
    title TEXT, body_start INTEGER NOT NULL, meta TEXT NOT NULL);
""" + UNITS.create() + PASSAGES.create()


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
    use_vectors: np.ndarray | None = None  # USE rows per unit (ingest.use_vectors), if embedded with the units


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True) if readonly else sqlite3.connect(path)
    return conn


class StoreWriter:
    """A new store at ``path``, written a document at a time (:meth:`add`), committed by :meth:`close`.

    Row ids follow the order documents are added: units and passages are numbered on from
    the last document's, so an index written in pieces is the index written at once.
    """

    def __init__(self, path: Path) -> None:
        self.conn = connect(path)
        self.conn.executescript(SCHEMA)
        self.documents = self.units = self.passages = 0

    def add(self, p: Prepared) -> None:
        d, doc_id, base = p.document, self.documents, self.units
        self.conn.execute("INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?)",
                          (doc_id, d.doc, d.sha256, d.encoding, d.text, json.dumps(list(d.page_starts)),
                           json.dumps(list(d.title)) if d.title else None, d.body_start,
                           json.dumps(p.meta.as_dict(), ensure_ascii=False)))
        # Rows are generated, not listed: executemany streams them, so a 50 MB
        # document's 600 k rows are never all built at once (~0.3 GB).
        self.conn.executemany(UNITS.insert(), (
            UNITS.row(u, id=base + i, doc_id=doc_id, tokens=toks, facts=facts, vector=vec)
            for i, (u, toks, facts, vec) in enumerate(
                zip(p.units, p.unit_tokens, p.unit_facts, p.vectors, strict=True))))
        self.conn.executemany(PASSAGES.insert(), (
            PASSAGES.row(ps, id=self.passages + i, doc_id=doc_id, units=[base + u for u in ps.units], tokens=toks)
            for i, (ps, toks) in enumerate(zip(p.passages, p.passage_tokens, strict=True))))
        self.documents += 1
        self.units += len(p.units)
        self.passages += len(p.passages)

    def close(self, commit: bool = True) -> None:
        """Commit what was added (unless ``commit`` is false) and close the store."""
        try:
            if commit:
                self.conn.commit()
        finally:
            self.conn.close()


def write(path: Path, prepared: Sequence[Prepared]) -> None:
    """Write every prepared document into a new store at ``path``."""
    writer = StoreWriter(path)
    try:
        for p in prepared:
            writer.add(p)
    except BaseException:
        writer.close(commit=False)
        raise
    writer.close()


def has_document(conn: sqlite3.Connection, doc: str) -> bool:
    return conn.execute("SELECT 1 FROM documents WHERE doc = ?", (doc,)).fetchone() is not None


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
    u = UNITS.read(conn, ("id", *SPAN_FIELDS, "tokens", "facts", "vector"), "WHERE doc_id = ?", (doc_id,))
    units = [Unit(doc=name, **dict(zip(SPAN_FIELDS, span, strict=True)))
             for span in zip(*(u[f] for f in SPAN_FIELDS), strict=True)]
    first_uid = u["id"][0] if units else 0
    p = PASSAGES.read(conn, (*SPAN_FIELDS, "units", "tokens"), "WHERE doc_id = ?", (doc_id,))
    passages = [Passage(doc=name, units=tuple(i - first_uid for i in members),
                        **dict(zip(SPAN_FIELDS, span, strict=True)))
                for *span, members in zip(*(p[f] for f in SPAN_FIELDS), p["units"], strict=True)]
    matrix = np.vstack(u["vector"]) if units and dim else np.empty((len(units), dim), np.float32)
    return Prepared(document=document, meta=DocumentMeta(**json.loads(meta)), units=units, passages=passages,
                    unit_tokens=[list(t) for t in u["tokens"]], passage_tokens=[list(t) for t in p["tokens"]],
                    vectors=matrix, unit_facts=[list(f) for f in u["facts"]])
