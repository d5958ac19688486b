"""Reliability 1: bad files through ``kotae ingest`` (subprocesses: exit code, one stderr
line, no traceback).
"""

from __future__ import annotations

import errno
import io
import json
import os
import stat
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from reliability_support import (
    GOOD,
    assert_cites_source,
    one_error,
    run_kotae,
    write_files,
)

from ingest import build_index
from ingest.generations import CURRENT, generation
from ingest.load import load_file
from ingest.manifest import read_manifest

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


def _encrypted_pdf(algorithm: str = "RC4-128", user_password: str = "secret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf(["The treaty expires in 2026."]))))
    w.encrypt(user_password=user_password, owner_password="owner", algorithm=algorithm)
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
    # AES needs `cryptography`: pypdf's DependencyError traceback before (issue 17, item 5)
    ("AES-128 pdf with a password", {"secret.pdf": _encrypted_pdf("AES-128")}, 2, ["docs/secret.pdf", "encrypted"]),
    ("AES-256 pdf with a password", {"secret.pdf": _encrypted_pdf("AES-256")}, 2, ["docs/secret.pdf", "encrypted"]),
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


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_pdf_with_only_an_owner_password_is_read(tmp_path: Path, env: dict[str, str], algorithm: str) -> None:
    # Restrictions on printing or copying, no password to open: it opens, so it is read.
    docs = write_files(tmp_path / "docs", {"good.txt": GOOD, "treaty.pdf": _encrypted_pdf(algorithm, "")})
    proc = run_kotae(env, "ingest", docs, "--index", tmp_path / "index", "--embedder", "none", "-q")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    proc = run_kotae(env, "ask", "When does the treaty expire?", "--index", tmp_path / "index", "--json")
    assert json.loads(proc.stdout)["citations"][0]["doc"] == "docs/treaty.pdf"


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
    assert {k: v["encoding"] for k, v in m.documents.items()} == {
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
    docs = write_files(tmp_path / "共有 ドライブ",
                       {"報告書 第1版.txt": "函館の会議は1999年に開かれた。\n",
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
    real = os.open

    def refusing_open(path: str | os.PathLike[str], flags: int, *args: Any, **kwargs: Any) -> int:
        if os.fspath(path).endswith("secret.txt"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
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


# ===================== files that are not files, names that are not UTF-8 (issue 17)

def _warnings(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr.strip().splitlines()


def test_a_fifo_is_skipped_not_waited_on(tmp_path: Path, env: dict[str, str]) -> None:
    # Before: a FIFO named x.txt blocked ingest forever, in a directory or named itself.
    docs = write_files(tmp_path / "docs", {"good.txt": GOOD})
    os.mkfifo(docs / "x.txt")
    proc = run_kotae(env, "ingest", docs, "--index", tmp_path / "index", "--embedder", "none", "-q", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert _warnings(proc) == ["kotae: warning: skipped docs/x.txt: a FIFO, not a regular file"]
    assert "indexed 1 documents" in proc.stdout and "skipped 1 files" in proc.stdout
    proc = run_kotae(env, "ingest", docs / "x.txt", "--index", tmp_path / "index2", "--embedder", "none", "-q",
                     timeout=60)
    one_error(proc, 2, "nothing to ingest", "x.txt (a FIFO, not a regular file)")


def test_a_character_device_is_skipped_not_read(tmp_path: Path, env: dict[str, str]) -> None:
    # Before: /dev/zero's twin named z.txt was read until memory ran out.
    docs = write_files(tmp_path / "docs", {"good.txt": GOOD})
    try:
        os.mknod(docs / "z.txt", stat.S_IFCHR | 0o666, os.makedev(1, 5))  # /dev/zero
    except PermissionError:
        pytest.skip("creating a device needs root (CI runs as root)")
    proc = run_kotae(env, "ingest", docs, "--index", tmp_path / "index", "--embedder", "none", "-q", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert _warnings(proc) == ["kotae: warning: skipped docs/z.txt: a character device, not a regular file"]


def test_a_name_that_is_not_utf8_is_skipped(tmp_path: Path, env: dict[str, str]) -> None:
    # Before: one such name aborted the whole directory with a UnicodeEncodeError traceback.
    docs = write_files(tmp_path / "docs", {"good.txt": GOOD})
    with open(os.path.join(os.fsencode(docs), b"\xff\xfe report.txt"), "wb") as f:
        f.write(GOOD.encode())
    proc = run_kotae(env, "ingest", docs, "--index", tmp_path / "index", "--embedder", "none", "-q", timeout=60)
    assert proc.returncode == 0, proc.stderr
    (line,) = _warnings(proc)
    assert line.startswith("kotae: warning: skipped ") and "\\xff\\xfe report.txt" in line and "UTF-8" in line
    assert "indexed 1 documents" in proc.stdout


def test_a_link_out_of_the_directory_is_not_followed(tmp_path: Path, env: dict[str, str]) -> None:
    docs = write_files(tmp_path / "docs", {"good.txt": GOOD, "sub/inner.txt": "二つ目の文書である。\n"})
    secret = write_files(tmp_path / "private", {"notes.txt": "私的なメモである。\n"}) / "notes.txt"
    (docs / "notes.txt").symlink_to(secret)
    (docs / "again.txt").symlink_to(docs / "sub" / "inner.txt")  # inside: read
    proc = run_kotae(env, "ingest", docs, "--index", tmp_path / "index", "--embedder", "none", "-q", timeout=60)
    assert proc.returncode == 0, proc.stderr
    (line,) = _warnings(proc)
    assert line.startswith("kotae: warning: skipped docs/notes.txt: a link to ") and "outside" in line
    assert "indexed 3 documents" in proc.stdout


def test_a_directory_too_deep_to_list_is_reported(tmp_path: Path, env: dict[str, str]) -> None:
    # Before: os.walk's errors were dropped, and the file below was left out without a word.
    docs = write_files(tmp_path / "docs", {"good.txt": GOOD})
    fd = os.open(docs, os.O_RDONLY)
    try:
        for _ in range(24):  # 24 x 200 characters: past PATH_MAX (4096)
            os.mkdir("d" * 200, dir_fd=fd)
            fd, old = os.open("d" * 200, os.O_RDONLY, dir_fd=fd), fd
            os.close(old)
        with open(os.open("deep.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
            f.write(GOOD)
    finally:
        os.close(fd)
    proc = run_kotae(env, "ingest", docs, "--index", tmp_path / "index", "--embedder", "none", "-q", timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = _warnings(proc)
    assert lines and all(x.startswith("kotae: warning: skipped ") and "cannot list" in x for x in lines), lines


@pytest.mark.parametrize("text", ["◆◆概観\n", "。。。！？\n", "――・・・\n\n※\n"],
                         ids=["heading", "punctuation", "symbols"])
def test_a_corpus_without_words_is_one_line(tmp_path: Path, env: dict[str, str], text: str) -> None:
    # Before: bm25s's ValueError (max() of an empty vocabulary) as a traceback.
    docs = write_files(tmp_path / "docs", {"a.txt": text})
    proc = run_kotae(env, "ingest", docs, "--index", tmp_path / "index", "--embedder", "none", "-q")
    one_error(proc, 2, "nothing to index", "docs/a.txt", "no words")
