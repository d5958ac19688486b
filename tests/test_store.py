"""The store's span tables: one column list drives the schema, the writer and the readers."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from ingest.records import Passage, Segmented, Unit
from ingest.store import PASSAGES, SPAN_FIELDS, UNITS, Prepared, Table, connect, read_prepared, write
from retriever.records import Citation
from retriever.store import SpanRows


@pytest.mark.parametrize("record", [Unit, Passage, Citation])
def test_every_span_column_is_a_field_of_the_records(record: type) -> None:
    # A citation is built from a row by field name (Citation(**rows.span(i))).
    assert set(SPAN_FIELDS) <= {f.name for f in dataclasses.fields(record)}


@pytest.mark.parametrize("table", [UNITS, PASSAGES])
def test_the_schema_is_the_column_list(tmp_path: Path, table: Table) -> None:
    write(tmp_path / "store.sqlite", [])
    conn = connect(tmp_path / "store.sqlite", readonly=True)
    try:
        created = [row[1] for row in conn.execute(f"PRAGMA table_info({table.name})")]
    finally:
        conn.close()
    assert created == [name.strip('"') for c in table.columns for name in c.names]


def _prepared(segmented: Segmented) -> Prepared:
    n = len(segmented.units)
    return Prepared(document=segmented.document, meta=segmented.meta, units=segmented.units,
                    passages=segmented.passages, unit_tokens=[[f"t{i}", "共通"] for i in range(n)],
                    passage_tokens=[["p"] for _ in segmented.passages],
                    vectors=np.arange(n * 2, dtype=np.float32).reshape(n, 2),
                    unit_facts=[["date"] if i % 2 else [] for i in range(n)])


def test_what_is_written_is_read_back(tmp_path: Path, segmented_report: Segmented) -> None:
    prepared = _prepared(segmented_report)
    write(tmp_path / "store.sqlite", [prepared])
    conn = connect(tmp_path / "store.sqlite", readonly=True)
    try:
        again = read_prepared(conn, segmented_report.document.doc, 2)
        units = SpanRows.read(conn, UNITS, ("tokens", "facts"))
        passages = SpanRows.read(conn, PASSAGES, ("units",))
    finally:
        conn.close()
    assert again is not None
    # the ingest's reader: the records as they were prepared
    # (``block``, the segmenter's paragraph number, is not stored: nothing after it reads it)
    assert again.units == [dataclasses.replace(u, block=0) for u in prepared.units]
    assert again.passages == prepared.passages
    assert again.unit_tokens == prepared.unit_tokens and again.unit_facts == prepared.unit_facts
    assert np.array_equal(again.vectors, prepared.vectors)
    # the query side's reader: the same rows, column by column
    assert len(units) == len(prepared.units) and len(passages) == len(prepared.passages)
    for i, u in enumerate(prepared.units):
        assert units.span(i) == {f: getattr(u, f) for f in SPAN_FIELDS}
        assert units.tokens[i] == frozenset(prepared.unit_tokens[i])
    assert [tuple(m) for m in passages.members] == [p.units for p in prepared.passages]


@pytest.mark.parametrize(("column", "value"), [
    ("gaps", "5"),  # JSON, but not a list of pairs
    ("gaps", "[[1, null]]"),
    ("units", '{"a": 1}'),  # a passage's units that are no list of ids
])
def test_badly_shaped_rows_are_data_errors(tmp_path: Path, segmented_report: Segmented, column: str,
                                           value: str) -> None:
    # ValueError, which the index reader reports as a damaged store; never a TypeError.
    write(tmp_path / "store.sqlite", [_prepared(segmented_report)])
    conn = sqlite3.connect(tmp_path / "store.sqlite")
    conn.execute(f"UPDATE passages SET {column} = ?", (value,))
    conn.commit()
    with pytest.raises(ValueError, match="not a list"):
        SpanRows.read(conn, PASSAGES, ("units",))
    conn.close()


def test_vectors_are_read_without_faiss_as_faiss_reads_them(tmp_path: Path) -> None:
    import faiss

    from retriever.store import flat_ip_vectors

    rows = np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32)
    index = faiss.IndexFlatIP(5)
    index.add(rows)
    path = tmp_path / "units.faiss"
    faiss.write_index(index, str(path))
    read = flat_ip_vectors(path, 7, 5)
    assert read is not None and read.flags.writeable and np.array_equal(read, rows)
    assert flat_ip_vectors(path, 6, 5) is None  # not what the store expects: faiss says so
    path.write_bytes(path.read_bytes()[:-4])  # truncated
    assert flat_ip_vectors(path, 7, 5) is None
    l2 = faiss.IndexFlatL2(5)  # another kind of index
    l2.add(rows)
    faiss.write_index(l2, str(path))
    assert flat_ip_vectors(path, 7, 5) is None
