"""Reliability: kotae keeps working on whatever an analyst's shared drive holds, keeps
its index whole, and never cites a wrong span.

Sections:

1. Bad files through ``kotae ingest`` (subprocesses: exit code, one stderr line, no traceback)
2. Bad questions through ``kotae ask``
3. Missing, damaged and incompatible indexes through ``kotae ask``
4. Fuzz: the cleaner, the offset map and the sentence splitter on arbitrary Unicode
5. kill -9 during ``kotae ingest``, at timed moments and at named stages
6. Disk full and read-only index directories (simulated in-process; for real on a tmpfs)
7. Readers during ingests: every answer from the old or the new index, never a mix
8. Incremental updates (e5-small-q4) and pruning
9. A 50 MB text file: bounded memory

Exit codes are those of qa_cli/main.py: 0 success (an abstention is an answer),
2 bad input, 3 missing or incompatible index. Lexical-only indexes (``--embedder
none``) unless vectors are the point: the default embedder embeds ~1,000 chars/s.
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ingest.index
import ingest.segment
from ingest import build_index
from ingest.clean import clean, is_space, normalize, offset_map
from ingest.errors import KotaeError
from ingest.index import CURRENT, KEEP_GENERATIONS, MANIFEST, generation, read_manifest
from ingest.load import documents_from_texts, load_file
from ingest.records import Document
from ingest.segment import segment
from retriever import Retriever

REPO_ROOT = Path(__file__).resolve().parent.parent
REPORT = REPO_ROOT / "corpus" / "nuclear-outlook-2025.txt"


# ====================================================================== helpers

@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of every kotae subprocess: never the user's default index or cache."""
    home = tmp_path_factory.mktemp("home")
    e = dict(os.environ)
    e.update({"KOTAE_INDEX": str(home / "no-default-index"), "XDG_CACHE_HOME": str(home / "cache"),
              "PYTHONIOENCODING": "utf-8", "OMP_WAIT_POLICY": "PASSIVE"})
    for var in ("KOTAE_TEST_PAUSE_AT", "KOTAE_TEST_PAUSE_SECONDS"):
        e.pop(var, None)
    return e


def kotae_cmd(*args: object) -> list[str]:
    return [sys.executable, "-m", "qa_cli", *map(str, args)]


def run_kotae(env: dict[str, str], *args: object, stdin: str | None = None,
              timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(kotae_cmd(*args), input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=env)


def one_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """The run failed with ``code`` and said why in exactly one line, without a traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("kotae: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def comparable(answer: dict) -> dict:
    """An ``ask --json`` object without its timings, as JSON gives it back (lists, not tuples)."""
    d = json.loads(json.dumps(answer, ensure_ascii=False))
    d.pop("timings_ms", None)
    return d


def answers(index: Path, questions: Sequence[str]) -> list[dict]:
    r = Retriever.load(index)
    return [comparable(a.as_dict()) for a in r.ask_many(list(questions))]


def assert_cites_source(answer: dict, sources: dict[str, str]) -> None:
    """Every cited span of an ``ask --json`` object is its source file's decoded text:
    clean(raw[start:end]) with the span's ``gaps`` (skipped captions) left out is its text."""
    spans = list(answer["citations"]) + ([answer["answer"]] if answer["answer"] else [])
    for c in spans:
        raw = sources[c["doc"]]
        assert 0 <= c["start"] < c["end"] <= len(raw)
        relative = [(a - c["start"], b - c["start"]) for a, b in c["gaps"]]
        assert clean(raw[c["start"]:c["end"]], relative) == c["text"], c


GOOD = "日本は核兵器不拡散条約の運用検討会議を重視する。米国は2026年に交渉を始める。\n"


# ================================================================ 1. bad files
#
# The behaviour, as it is and as these tests pin it down:
# * a directory is read whole. A supported file (.txt .md .markdown .text .pdf) that
#   cannot be read as text aborts the whole ingest: one line naming the file and the
#   fix, exit 2, and the index stays as it was. An index silently missing one of the
#   analyst's files would answer from a corpus they did not ask for.
# * empty and whitespace-only files are skipped with one warning line each (exit 0);
#   if nothing else is left, that is an error (exit 2).
# * other suffixes inside a directory (.png, .zip) are not kotae's files and are
#   ignored; named on the command line they are an error (exit 2).
# * directory symlinks are not followed (no loops); a file symlink that loops or
#   dangles is a file that cannot be read (exit 2).

def _pdf(pages: Sequence[str]) -> bytes:
    """A small PDF with one line of ASCII text (Helvetica) per page, written by hand."""
    objects: list[bytes] = []
    n = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    font = 3 + 2 * n
    for i, text in enumerate(pages):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
                       f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode())
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for k, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % k + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _blank_pdf() -> bytes:
    """A PDF whose page has no text layer, as a scan without OCR."""
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(612, 792)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def _encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf(["The treaty expires in 2026."]))))
    w.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 8

# (case, extra files beside docs/good.txt, exit code, words the one stderr line must hold)
BAD_FILE_CASES = [
    ("png named .txt", {"photo.txt": PNG}, 2, ["docs/photo.txt", "PNG"]),
    ("zip named .md", {"archive.md": ZIP}, 2, ["docs/archive.md", "zip"]),
    ("random bytes with NULs", {"blob.txt": bytes(range(256)) * 64}, 2, ["docs/blob.txt"]),
    ("scanned pdf (no text layer)", {"scan.pdf": _blank_pdf()}, 2, ["docs/scan.pdf", "no text layer"]),
    ("encrypted pdf", {"secret.pdf": _encrypted_pdf()}, 2, ["docs/secret.pdf", "encrypted"]),
    ("truncated pdf", {"cut.pdf": _pdf(["The treaty expires in 2026."] * 3)[:260]}, 2,
     ["docs/cut.pdf", "truncated or damaged"]),
    ("pdf header only", {"stub.pdf": b"%PDF-1.7\n"}, 2, ["docs/stub.pdf"]),
    # the last character cut in two (an interrupted copy): no encoding reads it whole
    ("text cut inside a UTF-8 character", {"cut.txt": GOOD.encode()[:-2]}, 2, ["docs/cut.txt", "UTF-8"]),
]


@pytest.mark.parametrize(("case", "extra", "code", "says"), BAD_FILE_CASES, ids=[c[0] for c in BAD_FILE_CASES])
def test_bad_file_in_a_directory_aborts_with_one_line(tmp_path: Path, env: dict[str, str], case: str,
                                                      extra: dict[str, bytes], code: int,
                                                      says: list[str]) -> None:
    docs = write_files(tmp_path / "docs", {"good.txt": GOOD, **extra})
    index = tmp_path / "index"
    build_index([write_files(tmp_path / "before" / "docs", {"good.txt": GOOD})], index, "none")
    before = read_manifest(generation(index))
    proc = run_kotae(env, "ingest", docs, "--index", index, "--embedder", "none", "-q")
    one_error(proc, code, *says)
    assert proc.stdout == ""
    assert read_manifest(generation(index)) == before  # the index is as it was
    assert not list(index.glob(".tmp-*"))


def test_good_pdf_beside_text_is_read(tmp_path: Path, env: dict[str, str]) -> None:
    docs = write_files(tmp_path / "docs", {"good.txt": GOOD, "treaty.pdf": _pdf(["The treaty expires in 2026.",
                                                                                  "Talks resume in Geneva."])})
    proc = run_kotae(env, "ingest", docs, "--index", tmp_path / "index", "--embedder", "none", "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("indexed 2 documents")
    proc = run_kotae(env, "ask", "Where do talks resume?", "--index", tmp_path / "index", "--json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["citations"][0]["doc"] == "docs/treaty.pdf" and d["citations"][0]["pages"] is not None


@pytest.mark.parametrize(("name", "content"), [
    ("empty.txt", b""),
    ("spaces.md", " \t\n\u3000\r\n\f".encode()),
    ("bom-only.txt", b"\xef\xbb\xbf"),
])
def test_empty_and_whitespace_files_are_skipped_with_a_warning(tmp_path: Path, env: dict[str, str],
                                                               name: str, content: bytes) -> None:
    docs = write_files(tmp_path / "docs", {"good.txt": GOOD, name: content})
    proc = run_kotae(env, "ingest", docs, "--index", tmp_path / "index", "--embedder", "none", "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == f"kotae: warning: skipped docs/{name}: empty"
    assert "indexed 1 documents" in proc.stdout and "skipped 1 empty files" in proc.stdout


def test_only_empty_files_is_an_error(tmp_path: Path, env: dict[str, str]) -> None:
    docs = write_files(tmp_path / "docs", {"a.txt": "", "b.md": "\n\n"})
    proc = run_kotae(env, "ingest", docs, "--index", tmp_path / "index", "--embedder", "none", "-q")
    one_error(proc, 2, "nothing to ingest", "empty")
    assert not (tmp_path / "index" / CURRENT).exists()


def test_other_suffixes_in_a_directory_are_ignored(tmp_path: Path, env: dict[str, str]) -> None:
    docs = write_files(tmp_path / "docs", {"good.txt": GOOD, "photo.png": PNG, "archive.zip": ZIP,
                                           "notes.docx": ZIP})
    proc = run_kotae(env, "ingest", docs, "--index", tmp_path / "index", "--embedder", "none", "-q")
    assert proc.returncode == 0 and proc.stderr == ""
    assert "indexed 1 documents" in proc.stdout


@pytest.mark.parametrize("name", ["photo.png", "archive.zip"])
def test_binary_file_named_on_the_command_line(tmp_path: Path, env: dict[str, str], name: str) -> None:
    path = tmp_path / name
    path.write_bytes(PNG if name.endswith("png") else ZIP)
    proc = run_kotae(env, "ingest", path, "--index", tmp_path / "index", "--embedder", "none", "-q")
    one_error(proc, 2, "unsupported file type", name.rsplit(".", 1)[1])


def test_mixed_encodings_in_one_directory(tmp_path: Path, env: dict[str, str]) -> None:
    texts = {  # one report per encoding an analyst's drive holds; each answers one question
        "utf8.txt": ("utf-8", "札幌の会議は2001年に開かれた。"),
        "bom.md": ("utf-8-sig", "仙台の会議は2002年に開かれた。"),
        "sjis.txt": ("cp932", "福岡の会議は2003年に開かれた。"),
        "eucjp.txt": ("euc_jp", "広島の会議は2004年に開かれた。"),
        "utf16.txt": ("utf-16", "長崎の会議は2005年に開かれた。"),
    }
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, (encoding, sentence) in texts.items():
        (docs / name).write_bytes(("前書き。\n" + sentence + "\n後書き。\n").encode(encoding))
    index = tmp_path / "index"
    proc = run_kotae(env, "ingest", docs, "--index", index, "--embedder", "none", "-q")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    m = read_manifest(generation(index))
    assert {k: v["encoding"] for k, v in m["documents"].items()} == {
        "docs/utf8.txt": "utf-8", "docs/bom.md": "utf-8-sig", "docs/sjis.txt": "cp932",
        "docs/eucjp.txt": "euc_jp", "docs/utf16.txt": "utf-16"}
    questions = [s.split("の")[0] + "の会議はいつ開かれたか" for _, s in texts.values()]
    proc = run_kotae(env, "ask", "-", "--index", index, "--json", stdin="\n".join(questions) + "\n")
    assert proc.returncode == 0, proc.stderr
    sources = {f"docs/{n}": load_file(docs / n, n).text for n in texts}
    for line, (name, (_, sentence)) in zip(proc.stdout.splitlines(), texts.items(), strict=True):
        d = json.loads(line)
        assert d["answer"]["doc"] == f"docs/{name}" and d["answer"]["text"] == sentence
        assert_cites_source(d, sources)  # offsets into the decoded text, whatever the encoding


def test_names_with_spaces_and_japanese(tmp_path: Path, env: dict[str, str]) -> None:
    docs = write_files(tmp_path / "共有 ドライブ", {"報告書 第1版.txt": "函館の会議は1999年に開かれた。\n",
                                                  "メモ (下書き)/notes v2.md": "# 覚書\n\n釧路の会議は1998年に開かれた。\n"})
    index = tmp_path / "索引 dir"
    proc = run_kotae(env, "ingest", docs, "--index", index, "--embedder", "none", "-q")
    assert proc.returncode == 0, proc.stderr
    assert f"-> {index}" in proc.stdout
    proc = run_kotae(env, "ask", "釧路の会議はいつ開かれたか", "--index", index, "--json")
    d = json.loads(proc.stdout)
    assert d["answer"]["doc"] == "共有 ドライブ/メモ (下書き)/notes v2.md"
    assert d["answer"]["text"] == "釧路の会議は1998年に開かれた。"


def test_directory_symlink_loops_are_not_followed(tmp_path: Path, env: dict[str, str]) -> None:
    docs = write_files(tmp_path / "docs", {"good.txt": GOOD, "sub/more.txt": "二つ目の文書である。\n"})
    (docs / "sub" / "up").symlink_to("..", target_is_directory=True)  # docs/sub/up -> docs
    (docs / "self").symlink_to(".", target_is_directory=True)
    proc = run_kotae(env, "ingest", docs, "--index", tmp_path / "index", "--embedder", "none", "-q",
                     timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "indexed 2 documents" in proc.stdout


@pytest.mark.parametrize("kind", ["loop", "dangling"])
def test_file_symlink_that_cannot_be_read(tmp_path: Path, env: dict[str, str], kind: str) -> None:
    docs = write_files(tmp_path / "docs", {"good.txt": GOOD})
    if kind == "loop":
        (docs / "a.txt").symlink_to("b.txt")
        (docs / "b.txt").symlink_to("a.txt")
    else:
        (docs / "a.txt").symlink_to("gone.txt")
    proc = run_kotae(env, "ingest", docs, "--index", tmp_path / "index", "--embedder", "none", "-q",
                     timeout=60)
    one_error(proc, 2, "docs/a.txt", "cannot read")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    # The tests run as root, for whom chmod 000 does not stop reading: the refusal the
    # kernel would give an ordinary user is simulated where the loader reads the file.
    from qa_cli.main import main

    docs = write_files(tmp_path / "docs", {"good.txt": GOOD, "secret.txt": "機密。\n"})
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "secret.txt":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    rc = main(["ingest", str(docs), "--index", str(tmp_path / "index"), "--embedder", "none", "-q"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    lines = err.strip().splitlines()
    assert lines == ["kotae: error: docs/secret.txt: permission denied; make the file readable"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file; test_unreadable_file simulates it")
def test_unreadable_file_for_real(tmp_path: Path, env: dict[str, str]) -> None:
    docs = write_files(tmp_path / "docs", {"good.txt": GOOD, "secret.txt": "機密。\n"})
    (docs / "secret.txt").chmod(0)
    try:
        proc = run_kotae(env, "ingest", docs, "--index", tmp_path / "index", "--embedder", "none", "-q")
    finally:
        (docs / "secret.txt").chmod(0o644)
    one_error(proc, 2, "docs/secret.txt", "permission denied")


# ============================================================ 2. bad questions

@pytest.fixture(scope="module")
def report_lexical(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled report, indexed lexical-only."""
    root = tmp_path_factory.mktemp("report-lexical")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(REPORT, corpus / REPORT.name)
    build_index([corpus], root / "index", "none")
    return root / "index"


REPORT_SOURCES = {"corpus/nuclear-outlook-2025.txt": REPORT.read_text(encoding="utf-8")}

ANSWERED_QUESTIONS = [  # (case, question): exit 0 and one valid JSON object, answered or abstained
    ("only punctuation", "？？？"),
    ("ascii punctuation", "?!.,;:()[]{}<>\"'"),
    ("10,000 characters", ("安保理決議2231はいつ終了するか" * 700)[:10_000]),
    ("control characters", "\x07\x1b[31m安保理決議2231\x7f\x08はいつ終了するか\x1b[0m"),
    ("bidi and zero-width", "\u202e安保理決議\u200b2231\u202cはいつ終了するか\ufeff"),
    ("Korean", "북한의 핵 프로그램은?"),
    ("Russian", "Когда истекает резолюция 2231?"),
    ("emoji", "🚀💥☢️"),
    ("combining marks", "a\u0301\u0301\u0301 e\u0308\u20dd"),
]


@pytest.mark.parametrize(("case", "question"), ANSWERED_QUESTIONS, ids=[c[0] for c in ANSWERED_QUESTIONS])
def test_odd_question_answers_or_abstains(report_lexical: Path, env: dict[str, str], case: str,
                                          question: str) -> None:
    proc = run_kotae(env, "ask", question, "--index", report_lexical, "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    d = json.loads(proc.stdout)
    assert isinstance(d["abstained"], bool)
    assert (d["answer"] is None) == d["abstained"]
    assert_cites_source(d, REPORT_SOURCES)


# On a lexical-only index a question none of whose tokens is in the index scores every
# passage 0: with no evidence it abstains rather than cite the corpus's first sentence.
@pytest.mark.parametrize("question", ["？？？", "🚀💥☢️", "북한의 핵 프로그램은?"])
def test_question_without_any_evidence_abstains(report_lexical: Path, question: str) -> None:
    assert Retriever.load(report_lexical).ask(question).abstained


@pytest.mark.parametrize("question", ["", "   ", "\t\n", "\x07\x1b"], ids=["empty", "spaces", "tab-newline",
                                                                       "only-control"])
def test_empty_question_is_exit_2(report_lexical: Path, env: dict[str, str], question: str) -> None:
    proc = run_kotae(env, "ask", question, "--index", report_lexical, "--json")
    one_error(proc, 2, "question is empty")
    assert proc.stdout == ""


def test_odd_questions_on_an_index_with_vectors(e5_index: Path, env: dict[str, str]) -> None:
    """The same questions through the embedder (one `ask -` run): each one JSON line, exit 0."""
    questions = [q for _, q in ANSWERED_QUESTIONS]
    proc = run_kotae(env, "ask", "-", "--index", e5_index, "--json", stdin="\n".join(questions) + "\n")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(out) == len(questions)
    sources = {"docs/a.txt": GOOD}
    for d in out:
        assert (d["answer"] is None) == d["abstained"]
        assert_cites_source(d, sources)


def test_questions_on_stdin_with_nul_and_bad_lines(report_lexical: Path, env: dict[str, str]) -> None:
    # NUL cannot be passed in argv; on stdin it is one more control character. A line
    # that is nothing but control characters is a bad question: that line gets an error
    # object and a "kotae: line N:" warning, the others are answered, and the exit is 2.
    lines = ["安保理決議\x002231はいつ終了するか", "\x00\x07", "북한의 핵 프로그램은?", "", "？？？"]
    proc = run_kotae(env, "ask", "-", "--index", report_lexical, "--json", stdin="\n".join(lines) + "\n")
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["kotae: line 2: the question is empty; ask something, e.g. "
                                                'kotae ask "安保理決議2231はいつ終了するか"']
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(out) == 4  # the blank line is skipped
    assert "error" in out[1] and "error" not in out[0]
    assert out[0]["answer"]["text"].endswith("2025年10月18日に終了する。")
    for d in (out[0], out[2], out[3]):
        assert_cites_source(d, REPORT_SOURCES)


# ================================================================ 3. bad indexes

@pytest.fixture(scope="module")
def e5_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny index with vectors (e5-small-q4): two sentences."""
    root = tmp_path_factory.mktemp("e5")
    docs = write_files(root / "docs", {"a.txt": GOOD})
    build_index([docs], root / "index")
    return root / "index"


def _damage(index: Path, how: str) -> None:
    gen = generation(index)
    if how == "delete units.faiss":
        (gen / "units.faiss").unlink()
    elif how == "truncate units.faiss":
        data = (gen / "units.faiss").read_bytes()
        (gen / "units.faiss").write_bytes(data[: len(data) // 2])
    elif how == "junk passages.faiss":
        (gen / "passages.faiss").write_bytes(b"not a faiss index" * 10)
    elif how == "junk store.sqlite":
        (gen / "store.sqlite").write_bytes(os.urandom(8192))
    elif how == "store.sqlite body overwritten":
        data = bytearray((gen / "store.sqlite").read_bytes())
        data[4096:] = b"\xff" * (len(data) - 4096)  # header page intact, every table page junk
        (gen / "store.sqlite").write_bytes(bytes(data))
    elif how == "truncate store.sqlite":
        data = (gen / "store.sqlite").read_bytes()
        (gen / "store.sqlite").write_bytes(data[: len(data) // 3])
    elif how == "delete store.sqlite":
        (gen / "store.sqlite").unlink()
    elif how in ("manifest format 99", "manifest dim 7"):
        m = json.loads((gen / MANIFEST).read_text(encoding="utf-8"))
        if how == "manifest format 99":
            m["format"] = 99
        else:
            m["embedder"]["dim"] = 7
        (gen / MANIFEST).write_text(json.dumps(m), encoding="utf-8")
    elif how == "truncate manifest":
        data = (gen / MANIFEST).read_bytes()
        (gen / MANIFEST).write_bytes(data[: len(data) // 2])
    elif how == "delete manifest":
        (gen / MANIFEST).unlink()
    elif how == "delete lexical array":
        (gen / "lexical" / "units" / "data.csc.index.npy").unlink()
    elif how == "truncate lexical array":
        p = gen / "lexical" / "passages" / "indices.csc.index.npy"
        p.write_bytes(p.read_bytes()[:40])
    elif how == "current dangles":
        shutil.rmtree(gen)
    else:  # pragma: no cover
        raise AssertionError(how)


INDEX_DAMAGE = [  # (what is done to a copy of the e5 index, words of the one stderr line)
    ("delete units.faiss", "units.faiss"),
    ("truncate units.faiss", "units.faiss"),
    ("junk passages.faiss", "passages.faiss"),
    ("junk store.sqlite", "store.sqlite"),
    ("store.sqlite body overwritten", "store.sqlite"),
    ("truncate store.sqlite", "store.sqlite"),
    ("delete store.sqlite", "store.sqlite"),
    ("manifest format 99", "format 99 is newer"),
    ("manifest dim 7", "rebuild"),
    ("truncate manifest", "manifest"),
    ("delete manifest", "manifest"),
    ("delete lexical array", "lexical"),
    ("truncate lexical array", "lexical"),
    ("current dangles", "which is missing"),
]


@pytest.mark.parametrize(("how", "says"), INDEX_DAMAGE, ids=[c[0] for c in INDEX_DAMAGE])
def test_damaged_index_is_exit_3(tmp_path: Path, env: dict[str, str], e5_index: Path, how: str,
                                 says: str) -> None:
    index = tmp_path / "index"
    shutil.copytree(e5_index, index, symlinks=True)
    _damage(index, how)
    proc = run_kotae(env, "ask", "核兵器不拡散条約", "--index", index, "--json")
    one_error(proc, 3, says)
    assert proc.stdout == ""


@pytest.mark.parametrize("sql", ['UPDATE units SET start = start + 1',
                                 "UPDATE documents SET text = replace(text, '核兵器', '核兵噐')"],
                         ids=["offsets shifted", "source text edited"])
def test_store_altered_but_valid_never_cites_a_wrong_span(tmp_path: Path, env: dict[str, str],
                                                           e5_index: Path, sql: str) -> None:
    # A store that SQLite reads without complaint but whose spans no longer reproduce the
    # source: every citation is verified before it leaves the retriever, so the answer
    # is refused (exit 70, a bug to report), never printed with a wrong span.
    index = tmp_path / "index"
    shutil.copytree(e5_index, index, symlinks=True)
    conn = sqlite3.connect(generation(index) / "store.sqlite")
    conn.execute(sql)
    conn.commit()
    conn.close()
    proc = run_kotae(env, "ask", "核兵器不拡散条約", "--index", index, "--json")
    one_error(proc, 70, "does not reproduce its source text")
    assert proc.stdout == ""


def test_missing_index_directory(tmp_path: Path, env: dict[str, str]) -> None:
    proc = run_kotae(env, "ask", "核兵器", "--index", tmp_path / "nowhere", "--json")
    one_error(proc, 3, "no index at", "kotae ingest")
    (tmp_path / "empty").mkdir()
    proc = run_kotae(env, "ask", "核兵器", "--index", tmp_path / "empty", "--json")
    one_error(proc, 3, "not a kotae index")


def test_embedder_other_than_the_index_is_exit_3(env: dict[str, str], e5_index: Path,
                                                 report_lexical: Path) -> None:
    proc = run_kotae(env, "ask", "核兵器", "--index", e5_index, "--embedder", "none")
    one_error(proc, 3, "'e5-small-q4'", "not 'none'")
    proc = run_kotae(env, "ask", "核兵器", "--index", report_lexical, "--embedder", "e5-small-q4")
    one_error(proc, 3, "'none'", "not 'e5-small-q4'")


def test_ingest_over_a_damaged_index_rebuilds_it(tmp_path: Path, env: dict[str, str]) -> None:
    docs = write_files(tmp_path / "docs", {"a.txt": GOOD})
    index = tmp_path / "index"
    build_index([docs], index, "none")
    (generation(index) / "store.sqlite").write_bytes(b"junk" * 100)
    proc = run_kotae(env, "ingest", docs, "--index", index, "-q")  # the old store is unreadable: all new
    assert proc.returncode == 0, proc.stderr
    assert "1 added" in proc.stdout
    assert answers(index, ["運用検討会議"])[0]["answer"]["doc"] == "docs/a.txt"


# ======================================================================= 4. fuzz

FUZZ_RUNS = {"segment": 0, "normalize": 0}

# Arbitrary Unicode (no surrogates: a str from a decoded file cannot hold them) mixed
# with what breaks text handling: controls, combining marks, RTL, emoji, U+3000,
# CRLF, form feeds, sentence ends and brackets.
_SPECIAL = ["\r\n", "\r", "\n", "\n\n", "\f", "\v", "\x00", "\x1c", "\x85", "\u2028", "\u2029", "\u3000",
            "\u00a0", "\t", " ", "\u200b", "\ufeff", "\u202e", "\u200f", "\u0301", "\u0308\u0308",
            "\u05d0\u05d1", "\u0627\u0644", "😀", "👩‍👩‍👧", "🇯🇵", "。", "！", "？", "「", "」", "（", "）",
            "◆◆", "•\t", "・ ", "写真提供：", "（脱稿日", "U.S. ", ". The ", "ＮＰＴ", "ｱﾌﾛ", "\U0010ffff", "\ud7ff"]
_char = st.characters(exclude_categories=("Cs",))
_piece = st.one_of(_char, _char, st.sampled_from(_SPECIAL), st.text(alphabet="核兵器日本あいうアイウ", min_size=1))
fuzz_text = st.lists(_piece, max_size=60).map("".join)


def _check_segmented(raw: str) -> list:
    seg = segment(documents_from_texts([("fuzz.txt", raw)])[0])
    items = list(seg.units) + list(seg.passages)
    for item in items:
        assert 0 <= item.start < item.end <= len(raw), item
        rel = [(a - item.start, b - item.start) for a, b in item.gaps]
        assert clean(raw[item.start:item.end], rel) == item.text, (item.kind, item.text)
        assert item.text
    return items


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fuzz_text)
def test_fuzz_segment_and_clean(raw: str) -> None:
    FUZZ_RUNS["segment"] += 1
    items = _check_segmented(raw)
    # the offset map of the whole text agrees with clean, character by character
    ot = offset_map(raw, 0, len(raw))
    assert ot.text == clean(raw)
    for ch, p in zip(ot.text, ot.pos, strict=True):
        assert 0 <= p < len(raw) and (raw[p] == ch or (is_space(raw[p]) and ch in " \u3000"))
    # flushing a long block early (bounded memory) cuts exactly the same sentences
    saved = ingest.segment.BLOCK_FLUSH
    try:
        ingest.segment.BLOCK_FLUSH = 3
        assert _check_segmented(raw) == items
    finally:
        ingest.segment.BLOCK_FLUSH = saved


@settings(max_examples=500, deadline=None)
@given(fuzz_text)
def test_fuzz_normalize(raw: str) -> None:
    FUZZ_RUNS["normalize"] += 1
    once = normalize(raw)
    assert normalize(once) == once
    assert not any(is_space(ch) for ch in once)


def test_fuzz_examples_were_run() -> None:
    """Reports how many examples the two fuzz tests ran (when they ran in this session)."""
    print(f"\nfuzz examples run: {FUZZ_RUNS}")
    if FUZZ_RUNS["segment"]:
        assert FUZZ_RUNS["segment"] >= 100 and FUZZ_RUNS["normalize"] >= 100


def test_long_paragraph_is_segmented_in_bounded_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file without blank lines is one block; its running clean text stays bounded."""
    sentence = "日本は核兵器不拡散条約の運用検討会議を重視すると述べた。"
    lines = []
    text = sentence * 8000  # ~230 k characters, wrapped at 40, no blank line
    for i in range(0, len(text), 40):
        lines.append(text[i:i + 40])
    raw = "\n".join(lines) + "\n" + "x" * 300_000 + "\n"  # and a 300 k character line
    seen: list[int] = []
    real = ingest.segment.OffsetText.add

    def add(self: ingest.segment.OffsetText, r: str, start: int, end: int) -> None:
        real(self, r, start, end)
        seen.append(len(self))

    monkeypatch.setattr(ingest.segment.OffsetText, "add", add)
    seg = segment(Document(doc="long.txt", text=raw, sha256="0", encoding="utf-8"))
    assert max(seen) <= 2 * ingest.segment.BLOCK_FLUSH + 1
    sentences = [u for u in seg.units if u.kind == "sentence"]
    assert [u.text for u in sentences[:8000]] == [sentence] * 8000


def test_many_blank_lines_in_a_row_take_linear_time() -> None:
    # Each blank line added to the pending whitespace run by string concatenation:
    # quadratic, 7 s for 200 k lines and 16 s for these 300 k; about 1 s now.
    raw = "日本は。" + "\n" * 300_000 + "米国は。\n" + "\u3000 \n" * 300_000 + "中国は。"
    t0 = time.perf_counter()
    seg = segment(Document(doc="blank.txt", text=raw, sha256="0", encoding="utf-8"))
    seconds = time.perf_counter() - t0
    assert [u.text for u in seg.units] == ["日本は。", "米国は。", "中国は。"]
    assert seconds < 6, seconds


def test_many_captions_take_linear_time() -> None:
    # Every sentence scanned every caption for the ones inside it: a report with a source
    # line under each of 20 k tables took 7.6 s, these 40 k about 30 s; about 2 s now.
    raw = "".join(f"日本は重視する{i}。\nSource: table {i}\n" for i in range(40_000))
    t0 = time.perf_counter()
    seg = segment(Document(doc="tables.txt", text=raw, sha256="0", encoding="utf-8"))
    seconds = time.perf_counter() - t0
    assert sum(u.kind == "caption" for u in seg.units) == 40_000 and len(seg.units) == 80_000
    assert seconds < 10, seconds


# =================================================================== 5. kill -9

PLACES = ["札幌", "函館", "旭川", "釧路", "青森", "盛岡", "仙台", "秋田", "山形", "福島",
          "水戸", "宇都宮", "前橋", "浦和", "千葉", "横浜", "甲府", "長野", "新潟", "富山",
          "金沢", "福井", "岐阜", "静岡", "名古屋", "津", "大津", "京都", "大阪", "神戸",
          "奈良", "和歌山", "鳥取", "松江", "岡山", "広島", "山口", "徳島", "高松", "松山"]
CHANGED = [3, 11, 19, 27, 35]  # the files v2 rewrites; the questions ask about them
QUESTIONS = [f"{PLACES[i]}の会議はいつ開かれたか" for i in CHANGED]


def corpus(root: Path, version: int) -> Path:
    """40 small reports (v1), or the same with five rewritten and five added (v2), in root/corpus."""
    files = {}
    for i, place in enumerate(PLACES):
        year = 2000 + i
        if version == 2 and i in CHANGED:
            year = 2100 + i
        files[f"r{i:02d}.txt"] = (f"{place}の会議は{year}年{i % 12 + 1}月に開かれた。\n"
                                  f"{place}では核軍縮と不拡散が議論された。\n参加国は{i + 3}か国であった。\n")
    if version == 2:
        for k in range(5):
            files[f"new{k}.txt"] = f"追加の報告{k}である。第{k}回の会議では軍備管理が議論された。\n"
    return write_files(root / "corpus", files)


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Both corpora, their clean indexes' manifests' digests, and the answers each gives."""
    root = tmp_path_factory.mktemp("versions")
    out: dict = {}
    for v in (1, 2):
        docs = corpus(root / f"v{v}", v)
        index = root / f"index-v{v}"
        build_index([docs], index, "none")
        out[v] = {"corpus": docs, "sha": read_manifest(generation(index))["documents_sha256"],
                  "answers": answers(index, QUESTIONS)}
    assert all(a != b for a, b in zip(out[1]["answers"], out[2]["answers"]))  # every question tells them apart
    assert all(not a["abstained"] for v in (1, 2) for a in out[v]["answers"])
    return out


def live_version(index: Path, versions: dict) -> int:
    gen = generation(index)
    assert gen.parent.resolve() == index.resolve() and gen.name.startswith("gen-"), gen  # never a .tmp-*
    sha = read_manifest(gen)["documents_sha256"]
    found = [v for v in (1, 2) if versions[v]["sha"] == sha]
    assert found, "the live index is neither the old corpus nor the new one"
    return found[0]


def _where_killed(index: Path, live_before: str, gens_before: set[str]) -> str:
    if (index / CURRENT).resolve().name != live_before:
        return "after publishing (current switched)"
    if {p.name for p in index.glob("gen-*")} - gens_before:
        return "after renaming the new generation, before switching current"
    tmps = list(index.glob(".tmp-*"))
    if not tmps:
        return "before writing (starting, loading, segmenting or waiting for the lock)"
    have = [n for n in ("store.sqlite", "lexical/passages", "lexical/units", MANIFEST) if (tmps[0] / n).exists()]
    return "while writing the temporary generation (present: " + (", ".join(have) or "nothing yet") + ")"


def _kill_and_check(index: Path, versions: dict, target: int, delay: float | None, stage: str | None,
                    env: dict[str, str]) -> str:
    """Start ingesting version ``target`` over the index, kill -9 it, check the index, finish it."""
    old = live_version(index, versions)
    live_before = (index / CURRENT).resolve().name
    gens_before = {p.name for p in index.glob("gen-*")}
    e = dict(env)
    if stage:
        e.update({"KOTAE_TEST_PAUSE_AT": stage, "KOTAE_TEST_PAUSE_SECONDS": "60"})
    proc = subprocess.Popen(kotae_cmd("ingest", versions[target]["corpus"], "--index", index, "--embedder",
                                      "none", "--prune", "-q"), env=e, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        if stage:
            watchdog = threading.Timer(60, proc.kill)
            watchdog.start()
            line = proc.stderr.readline()
            watchdog.cancel()
            assert line.strip() == f"kotae: test pause at {stage}", line
        else:
            time.sleep(delay or 0)
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    where = "finished before the kill" if finished else _where_killed(index, live_before, gens_before)
    # the index loads and answers exactly as one whole corpus does: the old one unless the
    # kill came after the new one was published
    now = live_version(index, versions)
    if not where.startswith(("after publishing", "finished")):
        assert now == old, where
    assert answers(index, QUESTIONS) == versions[now]["answers"], where
    # a new ingest completes (the killed one's lock died with it) and clears its litter
    summary = build_index([versions[target]["corpus"]], index, "none", prune=True)
    assert summary.documents == len(versions[target]["sha"])
    assert live_version(index, versions) == target
    assert answers(index, QUESTIONS) == versions[target]["answers"]
    assert not list(index.glob(".tmp-*")) and not list(index.glob(f".{CURRENT}.*"))
    assert len(list(index.glob("gen-*"))) <= KEEP_GENERATIONS + 1
    return where


KILL_REPORT: list[tuple[str, str]] = []


@pytest.fixture()
def kill_index(tmp_path: Path, versions: dict) -> Path:
    index = tmp_path / "index"
    build_index([versions[1]["corpus"]], index, "none")
    return index


STAGES = ["loaded", "prepared", "store-written", "lexical-written", "renamed", "published"]


@pytest.mark.parametrize("stage", STAGES)
def test_kill_at_a_named_stage(kill_index: Path, versions: dict, env: dict[str, str], stage: str) -> None:
    where = _kill_and_check(kill_index, versions, 2, None, stage, env)
    KILL_REPORT.append((f"stage {stage}", where))
    expected = {"loaded": "before writing", "prepared": "before writing",
                "store-written": "while writing", "lexical-written": "while writing",
                "renamed": "after renaming", "published": "after publishing"}[stage]
    assert where.startswith(expected), where


def test_kill_at_timed_moments(kill_index: Path, versions: dict, env: dict[str, str]) -> None:
    # How long a whole ingest of v2 over v1 takes here decides where the kills land.
    t0 = time.perf_counter()
    proc = run_kotae(env, "ingest", versions[2]["corpus"], "--index", kill_index, "--embedder", "none",
                     "--prune", "-q")
    whole = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    target = 1
    for fraction in (0.0, 0.3, 0.5, 0.65, 0.8, 0.9, 0.97, 1.1):
        delay = max(0.05, fraction * whole)
        where = _kill_and_check(kill_index, versions, target, delay, None, env)
        KILL_REPORT.append((f"{delay:.2f} s of {whole:.2f} s", where))
        target = 3 - target
    print("\nkill -9 points:\n" + "\n".join(f"  {a:>22}: {b}" for a, b in KILL_REPORT))


def test_stale_litter_is_cleared_by_the_next_ingest(kill_index: Path, versions: dict) -> None:
    (kill_index / ".tmp-999-1").mkdir()
    (kill_index / ".tmp-999-1" / "store.sqlite").write_bytes(b"half")
    (kill_index / f".{CURRENT}.999").symlink_to("gen-nothing")
    build_index([versions[2]["corpus"]], kill_index, "none", prune=True)
    assert sorted(p.name for p in kill_index.iterdir() if p.name.startswith(".")) == [".lock"]


# ========================================================= 6. disk full, read-only

def _old_state(index: Path) -> tuple[str, dict, list[dict]]:
    return (index / CURRENT).resolve().name, read_manifest(generation(index)), answers(index, QUESTIONS)


def _one_line(e: KotaeError) -> str:
    assert "\n" not in str(e)
    return str(e)


def _full_sqlite() -> sqlite3.OperationalError:
    e = sqlite3.OperationalError("database or disk is full")
    e.sqlite_errorcode = sqlite3.SQLITE_FULL  # what sqlite3 sets on a real one
    return e


# (case, the function that fails, what it raises): each is how that writer reports a
# full disk (seen for real on a full tmpfs; see test_disk_full_for_real).
DISK_FULL = [
    ("sqlite", "ingest.store.write", _full_sqlite),
    ("oserror", "ingest.store.write", lambda: OSError(errno.ENOSPC, "No space left on device")),
    ("faiss", "ingest.lexical.build", lambda: RuntimeError(  # (raised where a lexical-only index can fail)
        "Error in void faiss::write_index(...): write error in units.faiss: 2023 != 7680 (No space left on device)")),
    ("numpy short write", "ingest.lexical.build", lambda: OSError("1920000 requested and 505824 written")),
    ("fsync", "ingest.index._fsync_tree", lambda: OSError(errno.ENOSPC, "No space left on device")),
    ("quota", "ingest.store.write", lambda: OSError(errno.EDQUOT, "Disk quota exceeded")),
]


@pytest.mark.parametrize(("case", "target", "error"), DISK_FULL, ids=[c[0] for c in DISK_FULL])
def test_disk_full_keeps_the_old_index(kill_index: Path, versions: dict, monkeypatch: pytest.MonkeyPatch,
                                       case: str, target: str, error) -> None:  # noqa: ANN001
    before = _old_state(kill_index)

    def fail(*args: object, **kwargs: object) -> None:
        raise error()

    monkeypatch.setattr(target, fail)
    if case == "numpy short write":  # numpy gives no errno: the free space says it
        monkeypatch.setattr(shutil, "disk_usage", lambda p: SimpleNamespace(total=10, used=10, free=0))
    with pytest.raises(KotaeError, match="disk full") as err:
        build_index([versions[2]["corpus"]], kill_index, "none", prune=True)
    assert err.value.exit_code == 2
    assert "previous index is intact" in _one_line(err.value)
    monkeypatch.undo()
    assert _old_state(kill_index) == before
    assert not list(kill_index.glob(".tmp-*"))
    build_index([versions[2]["corpus"]], kill_index, "none", prune=True)  # space again: it works
    assert live_version(kill_index, versions) == 2


@pytest.mark.parametrize("where", ["mkdir", "rename"])
def test_read_only_index_directory_keeps_the_old_index(kill_index: Path, versions: dict,
                                                       monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    # Root writes through chmod 0o555, so the refusal of a read-only mount (EROFS) or a
    # directory the user may not write (EACCES) is simulated where the new generation
    # is created (mkdir) or published (rename).
    before = _old_state(kill_index)
    if where == "mkdir":
        real_mkdir = Path.mkdir

        def mkdir(self: Path, *a: object, **k: object) -> None:
            if self.name.startswith(".tmp-"):
                raise OSError(errno.EROFS, "Read-only file system", str(self))
            real_mkdir(self, *a, **k)

        monkeypatch.setattr(Path, "mkdir", mkdir)
        says = "Read-only file system"
    else:
        real_rename = os.rename

        def rename(src: object, dst: object) -> None:
            if Path(str(src)).name.startswith(".tmp-"):
                raise PermissionError(errno.EACCES, "Permission denied", str(dst))
            real_rename(src, dst)

        monkeypatch.setattr(os, "rename", rename)
        says = "Permission denied"
    with pytest.raises(KotaeError, match="cannot write the index") as err:
        build_index([versions[2]["corpus"]], kill_index, "none", prune=True)
    assert says in _one_line(err.value)
    monkeypatch.undo()
    assert _old_state(kill_index) == before
    assert not list(kill_index.glob(".tmp-*"))


@pytest.fixture()
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs: a disk that really fills up and can really be made read-only."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        pytest.skip(f"cannot mount a tmpfs here ({e}); the monkeypatched disk-full tests stand in")
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}); the monkeypatched tests stand in")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30)


def _big_corpus(root: Path, chars: int) -> Path:
    sentence = "日本は核兵器不拡散条約の運用検討会議を重視すると述べた。"
    text = "\n".join((sentence * (chars // len(sentence) + 1))[i:i + 40] for i in range(0, chars, 40))
    return write_files(root / "corpus", {"big.txt": text + "\n"})


def test_disk_full_for_real(tmpfs: Path, tmp_path: Path, versions: dict, env: dict[str, str]) -> None:
    index = tmpfs / "index"
    build_index([versions[1]["corpus"]], index, "none")
    before = _old_state(index)
    # 1. a document whose store does not fit: SQLite fills the disk
    big = _big_corpus(tmp_path / "big", 400_000)
    proc = run_kotae(env, "ingest", big, versions[1]["corpus"], "--index", index, "--embedder", "none", "-q")
    one_error(proc, 2, "disk full", "previous index is intact")
    assert _old_state(index) == before
    # 2. the disk fills up while the lexical index is written (numpy's short write)
    e = dict(env, KOTAE_TEST_PAUSE_AT="store-written", KOTAE_TEST_PAUSE_SECONDS="1.5")
    proc = subprocess.Popen(kotae_cmd("ingest", versions[2]["corpus"], "--index", index, "--embedder", "none",
                                      "-q"), env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr.readline().strip() == "kotae: test pause at store-written"
    with open(tmpfs / "filler", "wb", buffering=0) as f:  # take every byte left
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    out, err = proc.communicate(timeout=60)
    (tmpfs / "filler").unlink()
    one_error(subprocess.CompletedProcess(proc.args, proc.returncode, out, err), 2, "disk full")
    assert _old_state(index) == before
    assert not list(index.glob(".tmp-*"))
    # 3. read-only: a clear error, the old index intact and still answering
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True, timeout=30)
    try:
        proc = run_kotae(env, "ingest", versions[2]["corpus"], "--index", index, "--embedder", "none", "-q")
        one_error(proc, 2, "cannot write the index", "Read-only file system")
        proc = run_kotae(env, "ask", QUESTIONS[0], "--index", index, "--json")
        assert proc.returncode == 0, proc.stderr
        assert comparable(json.loads(proc.stdout)) == before[2][0]
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(tmpfs)], check=True, timeout=30)
    assert _old_state(index) == before


# ================================================== 7. readers during ingests

READER_API = textwrap.dedent("""
    import json, os, sys
    from retriever import Retriever
    index, stop, questions = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    while not os.path.exists(stop):
        try:
            r = Retriever.load(index)  # resolves `current` afresh every time
            out = [a.as_dict() for a in r.ask_many(questions)]
            for o in out:
                o.pop("timings_ms")
            print(json.dumps({"answers": out}, ensure_ascii=False), flush=True)
        except BaseException as e:
            print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
""")

READER_CLI = textwrap.dedent("""
    import json, os, subprocess, sys
    index, stop, questions = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    while not os.path.exists(stop):
        p = subprocess.run([sys.executable, "-m", "qa_cli", "ask", "-", "--json", "--index", index],
                           input="\\n".join(questions) + "\\n", capture_output=True, text=True)
        if p.returncode or p.stderr:
            print(json.dumps({"error": f"exit {p.returncode}: {p.stderr}"}), flush=True)
            continue
        out = [json.loads(line) for line in p.stdout.splitlines()]
        for o in out:
            o.pop("timings_ms")
        print(json.dumps({"answers": out}, ensure_ascii=False), flush=True)
""")


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_readers_see_the_old_or_the_new_index_never_a_mix(tmp_path: Path, versions: dict,
                                                          env: dict[str, str]) -> None:
    index = tmp_path / "index"
    build_index([versions[1]["corpus"]], index, "none")
    stop = tmp_path / "stop"
    outs = {name: tmp_path / f"{name}.jsonl" for name in ("api", "cli")}
    readers = []
    for name, script in (("api", READER_API), ("cli", READER_CLI)):
        with open(outs[name], "w", encoding="utf-8") as f:
            readers.append(subprocess.Popen([sys.executable, "-c", script, str(index), str(stop),
                                             json.dumps(QUESTIONS, ensure_ascii=False)],
                                            stdout=f, stderr=subprocess.STDOUT, env=env))
    try:
        for v in (2, 1, 2, 1):
            seen = len(_records(outs["api"]))
            proc = run_kotae(env, "ingest", versions[v]["corpus"], "--index", index, "--embedder", "none",
                             "--prune", "-q")
            assert proc.returncode == 0, proc.stderr
            deadline = time.monotonic() + 60  # let the API reader load this version at least once
            while len(_records(outs["api"])) < seen + 2 and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        stop.touch()
        for r in readers:
            try:
                r.wait(timeout=60)
            except subprocess.TimeoutExpired:
                r.kill()
    by_version = {1: versions[1]["answers"], 2: versions[2]["answers"]}
    seen_versions: dict[str, set[int]] = {}
    for name, path in outs.items():
        records = _records(path)
        assert records, f"reader {name} produced nothing"
        errors = [r["error"] for r in records if "error" in r]
        assert not errors, errors[:3]
        for r in records:
            got = [comparable(a) for a in r["answers"]]
            match = [v for v, expected in by_version.items() if got == expected]
            assert match, f"reader {name} got answers from neither index (or from both): {got}"
            seen_versions.setdefault(name, set()).update(match)
    assert seen_versions["api"] == {1, 2}, seen_versions


SLOW_READER = textwrap.dedent("""
    import json, sys, time
    import ingest.lexical
    from retriever import Retriever
    real = ingest.lexical.LexicalIndex.__init__
    def slow(self, directory):
        if not getattr(slow, "done", False):  # half-way through loading: the store is read
            slow.done = True
            print("loading", flush=True)
            time.sleep(float(sys.argv[3]))
        real(self, directory)
    ingest.lexical.LexicalIndex.__init__ = slow
    r = Retriever.load(sys.argv[1])
    out = [a.as_dict() for a in r.ask_many(json.loads(sys.argv[2]))]
    for o in out:
        o.pop("timings_ms")
    print(json.dumps(out, ensure_ascii=False), flush=True)
""")


def test_a_slow_reader_keeps_its_generation(tmp_path: Path, versions: dict, env: dict[str, str]) -> None:
    # Before readers locked their generation, three quick ingests while one reader was
    # loading removed its generation under it (KEEP_GENERATIONS = 2): "the store is missing".
    index = tmp_path / "index"
    build_index([versions[1]["corpus"]], index, "none")
    reader = subprocess.Popen([sys.executable, "-c", SLOW_READER, str(index), json.dumps(QUESTIONS), "4"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert reader.stdout.readline().strip() == "loading"
    for v in (2, 1, 2):
        build_index([versions[v]["corpus"]], index, "none", prune=True)
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert "Traceback" not in err
    assert [comparable(a) for a in json.loads(out)] == versions[1]["answers"]  # the generation it started on
    build_index([versions[1]["corpus"]], index, "none", prune=True)  # no reader now: cleaned up
    assert len(list(index.glob("gen-*"))) <= KEEP_GENERATIONS


RELOADER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from ingest import build_index
    from retriever import Retriever
    index, docs = sys.argv[1], sys.argv[2]
    sizes = []
    for i in range(25):
        build_index([docs], index, "none")
        Retriever.load(index).ask("札幌の会議はいつ開かれたか")
        sizes.append(int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]))
    print(sizes[4], sizes[-1])
""")


def test_a_script_that_reingests_and_reloads_does_not_grow(tmp_path: Path, env: dict[str, str]) -> None:
    # Every Tokenizer (one per build_index, one per Retriever.load) made a MeCab tagger
    # whose memory fugashi never gave back: 10 MB more per round, 208 MB over these 20.
    docs = write_files(tmp_path / "docs", {f"r{i}.txt": f"{PLACES[i]}の会議は{2000 + i}年に開かれた。\n"
                                           for i in range(3)})
    proc = subprocess.run([sys.executable, "-c", RELOADER, str(tmp_path / "index"), str(docs)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    first, last = map(int, proc.stdout.split())
    assert last - first < 16_000, f"grew {last - first} kB over 20 rounds"


# ======================================================= 8. incremental updates

def _store_units(index: Path) -> list[tuple]:
    conn = sqlite3.connect(generation(index) / "store.sqlite")
    try:
        return conn.execute('SELECT d.doc, u.kind, u.start, u."end", u.gaps, u.text, u.tokens, u.facts, u.vector '
                            "FROM units u JOIN documents d ON u.doc_id = d.id ORDER BY d.doc, u.id").fetchall()
    finally:
        conn.close()


def test_one_changed_file_is_all_that_is_reembedded(tmp_path: Path, env: dict[str, str]) -> None:
    files = {f"r{i}.txt": f"{PLACES[i]}の会議は{2000 + i}年に開かれた。" + ("核軍縮が議論された。" if i % 2 else "")
             for i in range(10)}
    docs = write_files(tmp_path / "corpus", files)
    index, fresh = tmp_path / "index", tmp_path / "fresh"
    proc = run_kotae(env, "ingest", docs, "--index", index, "-q")  # the default embedder, e5-small-q4
    assert proc.returncode == 0 and "10 added" in proc.stdout, proc.stderr
    before = _store_units(index)

    (docs / "r3.txt").write_text("釧路の会議は2222年に延期された。理由は示されなかった。", encoding="utf-8")
    proc = run_kotae(env, "ingest", docs, "--index", index, "-q")
    assert proc.returncode == 0, proc.stderr
    m = read_manifest(generation(index))
    changed_units = m["documents"]["corpus/r3.txt"]["units"]
    assert changed_units == 2
    assert f"(1 updated, 9 unchanged; {changed_units} units embedded)" in proc.stdout
    assert m["last_ingest"]["updated"] == ["corpus/r3.txt"] and m["last_ingest"]["embedded_units"] == 2
    after = _store_units(index)
    # the nine others were copied, vectors and all, not recomputed
    assert [r for r in after if r[0] != "corpus/r3.txt"] == [r for r in before if r[0] != "corpus/r3.txt"]

    proc = run_kotae(env, "ingest", docs, "--index", fresh, "-q")  # a full rebuild elsewhere
    assert proc.returncode == 0 and "10 added" in proc.stdout
    assert _store_units(fresh) == after  # same units, offsets, tokens and vectors
    qs = ["釧路の会議はいつに延期されたか", "札幌の会議はいつ開かれたか", "When was the Kushiro meeting postponed?",
          "核軍縮はどこで議論されたか"]
    got, want = answers(index, qs), answers(fresh, qs)
    assert got == want
    assert got[0]["answer"]["doc"] == "corpus/r3.txt" and "2222年" in got[0]["answer"]["text"]


def test_deleted_file_is_kept_unless_pruned(tmp_path: Path, env: dict[str, str]) -> None:
    docs = write_files(tmp_path / "corpus", {"a.txt": GOOD, "b.txt": "函館の会議は1999年に開かれた。\n",
                                             "c.txt": "釧路の会議は1998年に開かれた。\n"})
    index = tmp_path / "index"
    assert run_kotae(env, "ingest", docs, "--index", index, "--embedder", "none", "-q").returncode == 0
    (docs / "b.txt").unlink()

    proc = run_kotae(env, "ingest", docs, "--index", index, "-q")
    assert proc.returncode == 0, proc.stderr
    assert "(2 unchanged; 0 units embedded)" in proc.stdout
    assert proc.stdout.rstrip().endswith("; kept 1 documents not in this ingest (use --prune to drop them)")
    assert "corpus/b.txt" in read_manifest(generation(index))["documents_sha256"]
    assert answers(index, ["函館の会議はいつ開かれたか"])[0]["answer"]["doc"] == "corpus/b.txt"

    proc = run_kotae(env, "ingest", docs, "--index", index, "--prune", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "(2 unchanged, 1 removed; 0 units embedded)" in proc.stdout and "kept 1" not in proc.stdout
    m = read_manifest(generation(index))
    assert set(m["documents_sha256"]) == {"corpus/a.txt", "corpus/c.txt"}
    assert m["last_ingest"]["removed"] == ["corpus/b.txt"]
    assert all(c["doc"] != "corpus/b.txt" for a in answers(index, ["函館の会議はいつ開かれたか"])
               for c in a["citations"])


# ======================================================= 9. a 50 MB text file

# Peak memory allowed for ingesting the 50 MB file below (18.4 M characters, 620 k
# sentences), lexical-only. Ingest holds every unit, passage and token list of a
# document until the generation is written (one atomic write), then bm25s builds its
# matrix: about 2.3 kB per sentence, 1.4 GB measured (this machine, Python 3.11).
# Before the segmenter flushed long blocks, a file without blank lines was one block
# whose clean text was a list of 18 M one-character strings plus their offsets, and
# tokens were not interned: 2.8 GB and 148 s. 2 GB catches that kind of regression.
PEAK_RSS_LIMIT = 2 * 1024**3
FIFTY_MB_TEST = "test_fifty_megabyte_file_ingests_in_bounded_memory"


def _fifty_mb_text(path: Path, size: int = 50_000_000) -> int:
    """Japanese sentences ending in 。, wrapped at 40 characters, no blank line (one block)."""
    import random

    rng = random.Random(0)
    words = ["日本は", "核兵器", "不拡散条約", "の", "運用検討会議", "において", "米国と", "中国が", "軍備管理",
             "について", "協議を", "行い", "2024年", "11月に", "ロシアの", "戦略核", "演習を", "実施し",
             "国際社会", "は", "懸念を", "表明した", "「抑止」", "（NPT）"]
    text = "".join("".join(rng.choice(words) for _ in range(rng.randint(4, 12))) + "。" for _ in range(20_000))
    data = ("\n".join(text[i:i + 40] for i in range(0, len(text), 40)) + "\n").encode("utf-8")
    written = 0
    with open(path, "wb") as f:
        while written < size:
            f.write(data)
            written += len(data)
    return written


class BigIngest:
    """``kotae ingest`` of a 50 MB file in a subprocess, its peak RSS polled from /proc.

    VmHWM of /proc/PID/status, not ru_maxrss: a child's ru_maxrss starts from the RSS
    of the (large) pytest process it was forked from, so it measured pytest, not kotae.
    """

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env
        self.peak = 0
        self.proc: subprocess.Popen | None = None

    def start(self) -> BigIngest:
        docs = self.root / "big"
        docs.mkdir()
        self.size = _fifty_mb_text(docs / "big.txt")
        self.t0 = time.perf_counter()
        self.out = open(self.root / "out", "w")  # noqa: SIM115 - closed in wait()
        self.proc = subprocess.Popen(kotae_cmd("ingest", docs, "--index", self.root / "index", "--embedder",
                                               "none", "-q"), stdout=self.out, stderr=subprocess.STDOUT,
                                     env=self.env)
        self.poller = threading.Thread(target=self._poll, daemon=True)
        self.poller.start()
        return self

    def _poll(self) -> None:
        status = Path(f"/proc/{self.proc.pid}/status")
        while self.proc.poll() is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak = max(self.peak, int(line.split()[1]) * 1024)
            except OSError:
                pass
            time.sleep(0.02)

    def wait(self, timeout: float) -> tuple[int, float, str]:
        rc = self.proc.wait(timeout=timeout)
        seconds = time.perf_counter() - self.t0
        self.poller.join()
        self.out.close()
        return rc, seconds, (self.root / "out").read_text()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.wait(60)


@pytest.fixture(scope="module", autouse=True)
def fifty_mb_ingest(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                    env: dict[str, str]) -> Iterator[BigIngest | None]:
    """Starts the 50 MB ingest when this module starts, if its test was selected.

    It takes about 100 s of one core; run beside the other tests of this module (which
    mostly wait on subprocesses) it costs the file's wall time little.
    """
    if not any(getattr(item, "originalname", item.name) == FIFTY_MB_TEST for item in request.session.items):
        yield None
        return
    run = BigIngest(tmp_path_factory.mktemp("fifty-mb"), env).start()
    yield run
    run.stop()


@pytest.mark.slow
def test_fifty_megabyte_file_ingests_in_bounded_memory(fifty_mb_ingest: BigIngest | None) -> None:
    assert fifty_mb_ingest is not None
    rc, seconds, out = fifty_mb_ingest.wait(timeout=900)
    peak = fifty_mb_ingest.peak
    print(f"\n50 MB ingest: {fifty_mb_ingest.size / 1e6:.1f} MB, peak RSS {peak / 1024**2:.0f} MiB, "
          f"{seconds:.1f} s (beside the other tests of this file)")
    assert rc == 0, out
    assert out.startswith("indexed 1 documents")
    m = read_manifest(generation(fifty_mb_ingest.root / "index"))
    text = (fifty_mb_ingest.root / "big" / "big.txt").read_text(encoding="utf-8")
    assert m["counts"]["chars"] == len(text)
    assert m["counts"]["units"] > 500_000
    assert 0 < peak < PEAK_RSS_LIMIT, f"peak RSS {peak / 1024**2:.0f} MiB"
