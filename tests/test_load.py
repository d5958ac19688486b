"""Loading files and directories: encodings, binary files, empty files, directories, PDFs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ingest.errors import InputError, KotaeError
from ingest.load import decode, discover, load, load_file
from ingest.segment import segment

# U+2022 (•) has no code point in CP932/Shift_JIS/EUC-JP; the bullets of l.109-123 are
# written as ・ (which the segmenter also reads as a bullet when a space follows it).
LEGACY = {"cp932", "shift_jis", "euc_jp"}


def _report_for(encoding: str, report_text: str) -> str:
    return report_text.replace("•", "・") if encoding in LEGACY else report_text


@pytest.mark.parametrize(("encoding", "detected"), [
    ("utf-8", "utf-8"),
    ("utf-8-sig", "utf-8-sig"),  # UTF-8 with a BOM
    ("cp932", "cp932"),
    ("shift_jis", "cp932"),  # CP932 is the superset a Windows Shift_JIS file really is
    ("euc_jp", "euc_jp"),
    ("utf-16", "utf-16"),  # with a BOM
])
def test_encodings_decode_to_the_same_text(tmp_path: Path, report_text: str, encoding: str,
                                           detected: str) -> None:
    text = _report_for(encoding, report_text)
    path = tmp_path / "report.txt"
    path.write_bytes(text.encode(encoding))
    doc = load_file(path, "report.txt")
    assert doc.text == text  # a BOM is not part of the text
    assert doc.encoding == detected
    assert not doc.text.startswith("\ufeff")
    # and the structure survives the trip: same units as the UTF-8 original
    if encoding not in LEGACY:
        assert len(segment(doc).units) == 52


def test_encoded_copies_segment_alike(tmp_path: Path, report_text: str) -> None:
    texts = {}
    for encoding in ("utf-8", "cp932", "euc_jp", "utf-16"):
        path = tmp_path / f"{encoding}.txt"
        path.write_bytes(_report_for("cp932", report_text).encode(encoding))
        texts[encoding] = [u.text for u in segment(load_file(path, path.name)).units]
    assert len({tuple(v) for v in texts.values()}) == 1


# Japanese documents often write Latin letters and digits full-width (ＮＰＴ, ２０２４年).
# charset-normalizer's "mess" detector scores such text above its default threshold and
# returns no match, so a valid CP932/EUC-JP/UTF-16 file is refused.
@pytest.mark.parametrize("encoding", ["cp932", "euc_jp", "utf-16-le"])
def test_full_width_alphanumerics_in_legacy_encodings(report_text: str, encoding: str) -> None:
    full = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c
                   for c in _report_for("cp932", report_text))
    assert "ＮＰＴ" in full and "２０２４" in full
    text, _ = decode(full.encode(encoding), "report.txt")
    assert text == full


# ISO-2022-JP is 7-bit, so it is valid UTF-8 and is returned with its escape sequences
# as text; _JAPANESE_ENCODINGS lists iso2022_jp and the error message names it, but the
# charset detection that would find it is never reached.
def test_iso2022_jp() -> None:
    text = "核兵器不拡散条約について述べる。\n"
    assert decode(text.encode("iso2022_jp"), "mail.txt")[0] == text


@pytest.mark.parametrize(("data", "says"), [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "PNG"),
    (b"PK\x03\x04" + b"\x00" * 64, "zip"),
    (b"%PDF-1.7\n" + b"\x00" * 64, "PDF"),
    # not UTF-8, and nothing Japanese: bytes 0x80-0xFF
    (bytes(range(0x80, 0x100)) * 4, "re-save"),
    # a UTF-16 byte-order mark followed by a lone surrogate
    (b"\xff\xfe" + b"\x00\xd8" * 3, "byte-order mark"),
])
def test_binary_or_undecodable_txt_raises_one_line(tmp_path: Path, data: bytes, says: str) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(data)
    with pytest.raises(InputError) as err:
        load([path])
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("notes.txt: ")
    assert says in message
    assert err.value.exit_code == 2


def test_nul_filled_txt_raises(tmp_path: Path) -> None:
    path = tmp_path / "zeros.txt"
    path.write_bytes(b"\x00" * 4096)
    with pytest.raises(InputError) as err:
        load([path])
    assert "\n" not in str(err.value)


def test_random_binary_with_nul_raises(tmp_path: Path) -> None:
    import random

    path = tmp_path / "blob.txt"
    path.write_bytes(random.Random(0).randbytes(512))
    with pytest.raises(InputError, match=r"binary|decode as none"):
        load([path])


@pytest.mark.parametrize("content", [b"", b"   \n\t\n", "\u3000\n \r\n".encode(), b"\xef\xbb\xbf"])
def test_empty_and_whitespace_only_files_are_skipped(tmp_path: Path, content: bytes) -> None:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "empty.txt").write_bytes(content)
    (d / "real.txt").write_text("核兵器について述べる。\n", encoding="utf-8")
    loaded = load([d])
    assert [doc.doc for doc in loaded.documents] == ["docs/real.txt"]
    assert loaded.skipped == [("docs/empty.txt", "empty")]


def test_only_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.md"
    path.write_bytes(b"")
    loaded = load([path])
    assert loaded.documents == [] and loaded.skipped == [("empty.md", "empty")]


def _tree(root: Path) -> None:
    files = {
        "a.txt": "一つ目の文書。\n",
        "b.md": "# 見出し\n\n二つ目の文書。\n",
        "sub/c.txt": "三つ目の文書。\n",
        "sub/deeper/d.MD": "四つ目。\n",
        "sub/notes.docx": "not read",
        "image.png": "not read",
        "data.csv": "a,b\n",
        "README": "no suffix",
        ".hidden.txt": "a dotfile",
        ".git/config.txt": "inside a dot directory",
        "sub/.cache/e.txt": "inside a dot directory",
    }
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def test_directory_recursion_and_ids(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    _tree(root)
    found = discover([root])
    assert [doc for _, doc in found] == ["reports/a.txt", "reports/b.md", "reports/sub/c.txt",
                                         "reports/sub/deeper/d.MD"]
    assert all(path.is_file() for path, _ in found)
    loaded = load([root])
    assert [d.doc for d in loaded.documents] == [doc for _, doc in found]
    assert loaded.documents[0].text == "一つ目の文書。\n"
    # a directory given with a trailing slash, or as ".", names its files the same way
    assert [doc for _, doc in discover([f"{root}/"])] == [doc for _, doc in found]
    cwd = os.getcwd()
    try:
        os.chdir(root)
        assert [doc for _, doc in discover(["."])] == [doc for _, doc in found]
    finally:
        os.chdir(cwd)


def test_directory_with_pdf(tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    root.mkdir()
    (root / "a.txt").write_text("核兵器。\n", encoding="utf-8")
    _two_page_pdf(root / "b.pdf")
    loaded = load([root])
    assert [(d.doc, d.encoding) for d in loaded.documents] == [("mixed/a.txt", "utf-8"), ("mixed/b.pdf", "pdf")]


def test_a_file_is_named_by_its_name(tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text("核兵器。\n", encoding="utf-8")
    (doc,) = load([path]).documents
    assert doc.doc == "one.txt"
    assert doc.path == path
    assert len(doc.sha256) == 64


def test_directory_without_supported_files_raises(tmp_path: Path) -> None:
    root = tmp_path / "nothing"
    root.mkdir()
    (root / "image.png").write_bytes(b"\x89PNG")
    (root / ".hidden.txt").write_text("hidden", encoding="utf-8")
    with pytest.raises(InputError, match="no supported files"):
        load([root])


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or directory"):
        load([tmp_path / "missing"])
    with pytest.raises(InputError, match="nothing to ingest"):
        load([])


def test_unsupported_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "report.docx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError, match=r"unsupported file type \.docx"):
        load([path])


def test_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    root = tmp_path / "loop"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("一つ目。\n", encoding="utf-8")
    (root / "sub" / "b.txt").write_text("二つ目。\n", encoding="utf-8")
    (root / "sub" / "up").symlink_to("..", target_is_directory=True)  # loop/sub/up -> loop
    (root / "self").symlink_to(".", target_is_directory=True)  # loop/self -> loop
    # in a child process with a timeout, so a regression fails instead of hanging the suite
    script = textwrap.dedent(f"""
        from ingest.load import load
        print(sorted(d.doc for d in load([{str(root)!r}]).documents))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['loop/a.txt', 'loop/sub/b.txt']"


def test_the_same_id_twice_is_read_once(tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text("核兵器。\n", encoding="utf-8")
    assert [doc for _, doc in discover([path, path])] == ["one.txt"]
    other = tmp_path / "sub"
    other.mkdir()
    (other / "one.txt").write_text("別の文書。\n", encoding="utf-8")
    with pytest.raises(InputError, match="share the id"):
        discover([path, other / "one.txt"])


# ------------------------------------------------------------------- PDFs

def _japanese_font() -> Path | None:
    """A TrueType font with Japanese glyphs, if this machine has one (fc-list :lang=ja)."""
    try:
        out = subprocess.run(["fc-list", ":lang=ja", "file"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    for line in out.splitlines():
        path = Path(line.split(":")[0].strip())
        if path.suffix.lower() in (".ttf", ".otf") and path.is_file():
            return path
    return None


PAGES_ASCII = ["The treaty expires in February 2026.", "The review conference meets in 2026."]
PAGES_JA = ["新START条約は2026年2月に期限を迎える。", "運用検討会議は2026年に開かれる。"]


def _two_page_pdf(path: Path, *, password: str | None = None) -> list[str]:
    """Write a two-page PDF with one sentence per page; return the page texts."""
    from fpdf import FPDF

    pdf = FPDF()
    font = _japanese_font()
    if font is not None:
        pdf.add_font("ja", fname=str(font))
        pdf.set_font("ja", size=12)
        pages = PAGES_JA
    else:  # no Japanese font here: the core fonts only carry Latin-1
        pdf.set_font("Helvetica", size=12)
        pages = PAGES_ASCII
    if password is not None:
        pdf.set_encryption(owner_password="owner-" + password, user_password=password)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    pdf.output(str(path))
    return pages


def test_pdf_pages(tmp_path: Path) -> None:
    path = tmp_path / "two.pdf"
    pages = _two_page_pdf(path)
    (doc,) = load([path]).documents
    assert doc.encoding == "pdf"
    assert doc.doc == "two.pdf"
    assert len(doc.page_starts) == 2 and doc.page_starts[0] == 0
    first, second = doc.text[:doc.page_starts[1]], doc.text[doc.page_starts[1]:]
    assert first.rstrip("\f").strip() == pages[0]
    assert second.strip() == pages[1]
    seg = segment(doc)
    units = [u for u in seg.units if u.kind == "sentence"]
    assert [u.text for u in units] == pages
    assert [u.pages for u in units] == [(1, 1), (2, 2)]
    # a passage across the page break says so
    assert [p.pages for p in seg.passages] == [(1, 2)]


def test_encrypted_pdf_raises(tmp_path: Path) -> None:
    path = tmp_path / "secret.pdf"
    _two_page_pdf(path, password="secret")
    with pytest.raises(InputError, match="encrypted") as err:
        load([path])
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("keep", [0.5, 0.1])
def test_truncated_pdf_raises(tmp_path: Path, keep: float) -> None:
    whole = tmp_path / "whole.pdf"
    _two_page_pdf(whole)
    data = whole.read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(InputError, match="truncated or damaged") as err:
        load([path])
    assert "\n" not in str(err.value)


def test_pdf_without_text_raises(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()  # a blank page: no text layer
    path = tmp_path / "scan.pdf"
    pdf.output(str(path))
    with pytest.raises(InputError, match="no text layer"):
        load([path])


def test_input_errors_are_kotae_errors() -> None:
    assert issubclass(InputError, KotaeError)
