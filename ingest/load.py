"""Files and directories become decoded documents.

Text encodings are detected (UTF-8, UTF-8 with BOM, CP932/Shift_JIS, EUC-JP,
UTF-16); PDFs give their text page by page, with page offsets kept for citations.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .records import Document

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".text"})
PDF_SUFFIXES = frozenset({".pdf"})
SUPPORTED = TEXT_SUFFIXES | PDF_SUFFIXES

# Encodings a Japanese report arrives in. Detection is restricted to these so
# that CP932 bytes are never read as, say, Big5 or a Cyrillic code page.
_JAPANESE_ENCODINGS = ["cp932", "euc_jp", "iso2022_jp", "utf_16", "utf_16_le", "utf_16_be"]

_BINARY_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"PK\x03\x04": "a zip archive",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"%PDF": "a PDF (give it a .pdf name)",
    b"\x7fELF": "an executable",
    b"\x1f\x8b": "a gzip archive",
}


class Skipped(InputError):
    """A file that is left out, and reported, rather than stopping the ingest: it is
    empty, not a regular file, has a name that is not UTF-8, or links out of the
    directory being ingested. ``reason`` is what the summary says of it."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


# What a path is when it is not a regular file: kotae reads none of these. A FIFO
# named x.txt blocked ingest forever; /dev/zero as z.txt was read until memory ran out.
_SPECIAL = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
            (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))


def _not_regular(mode: int) -> str:
    return next((what for test, what in _SPECIAL if test(mode)), "not a regular file")


def read_regular(path: Path, doc_id: str) -> bytes:
    """The bytes of ``path`` if it is a regular file; Skipped if it is anything else.

    Opened without blocking and checked on the open descriptor, so that neither a FIFO
    (whose open waits for a writer) nor a file swapped for one after a check is read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except PermissionError:
        raise InputError(f"{doc_id}: permission denied; make the file readable") from None
    except OSError as e:
        raise InputError(f"{doc_id}: cannot read ({e.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = _not_regular(mode)
            raise Skipped(f"{doc_id}: is {what}, not a file; skipped", reason=f"{what}, not a regular file")
        try:
            return f.read()
        except OSError as e:
            raise InputError(f"{doc_id}: cannot read ({e.strerror})") from None


@dataclass
class Loaded:
    """Documents read, and the files skipped with the reason why."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Decode a text file's bytes; return (text, encoding). Raise InputError if it isn't text."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as e:
                raise InputError(f"{name}: starts with a {encoding} byte-order mark but is not "
                                 f"valid {encoding} at byte {e.start}; re-save it as UTF-8") from None
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise InputError(f"{name}: is {what}, not text; remove it or give a .txt/.md/.pdf file")
    if b"\x1b$B" in data or b"\x1b$@" in data or b"\x1b(J" in data:
        # ISO-2022-JP is 7-bit, so it also "decodes" as UTF-8, escapes and all.
        try:
            return data.decode("iso2022_jp"), "iso2022_jp"
        except UnicodeDecodeError:
            pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if "\x00" in text:
            raise InputError(f"{name}: looks binary (NUL bytes); give a text, Markdown or PDF file")
        return text, "utf-8"
    from charset_normalizer import from_bytes  # only for files that are not UTF-8

    best = from_bytes(data, cp_isolation=_JAPANESE_ENCODINGS).best()
    if best is None:
        # Japanese text dense in full-width letters and digits (ＮＰＴ、２０２４年) looks
        # "chaotic" to the default threshold; accept a looser match only if what it
        # decodes to is overwhelmingly Japanese or ASCII.
        loose = from_bytes(data, cp_isolation=_JAPANESE_ENCODINGS, threshold=1.0).best()
        if loose is not None and _mostly_japanese(str(loose)):
            best = loose
    if best is None or best.encoding is None:
        if b"\x00" in data[:4096]:
            raise InputError(f"{name}: looks binary (NUL bytes) and decodes as no Japanese "
                             "encoding; give a text, Markdown or PDF file")
        raise InputError(f"{name}: bytes decode as none of UTF-8, CP932/Shift_JIS, EUC-JP, "
                         "ISO-2022-JP, UTF-16; re-save the file as UTF-8")
    text = str(best)
    if "\x00" in text:
        raise InputError(f"{name}: looks binary (decoded text contains NUL); give a text file")
    return text, best.encoding


def _mostly_japanese(text: str) -> bool:
    visible = [ch for ch in text if not ch.isspace()]
    if not visible:
        return False
    ok = sum(ch.isascii() or 0x3000 <= ord(ch) <= 0x30FF or 0x4E00 <= ord(ch) <= 0x9FFF
             or 0xFF00 <= ord(ch) <= 0xFFEF for ch in visible)
    return ok / len(visible) >= 0.9


def _pdf_pages(data: bytes, name: str) -> list[str]:
    """Each page's text. An encrypted PDF is opened with the empty user password, which
    is all an owner-password-only file (print or copy restrictions) needs; one that
    asks for a password to open is an InputError."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):  # PasswordType.NOT_DECRYPTED is 0
        raise InputError(f"{name}: the PDF is encrypted with a password; save an unencrypted copy")
    return [page.extract_text() or "" for page in reader.pages]


def read_pdf(data: bytes, name: str) -> tuple[str, tuple[int, ...]]:
    """Text of a PDF's bytes, pages joined by form feeds; return (text, page start offsets)."""
    try:
        from pypdf.errors import DependencyError, PdfReadError
    except ImportError:  # pragma: no cover - pypdf is a dependency
        raise InputError("reading PDFs needs pypdf: pip install pypdf") from None
    # pypdf logs what it repairs ("EOF marker not found" in a truncated file) as logging
    # warnings, which Python prints on stderr when no handler is set: stray lines beside
    # kotae's one error line. What counts is the outcome (text, or InputError below).
    pdf_log = logging.getLogger("pypdf")
    level = pdf_log.level
    pdf_log.setLevel(logging.ERROR)
    try:
        pages = _pdf_pages(data, name)
    except DependencyError:
        # AES needs `cryptography` (pypdf[crypto], a dependency of kotae): only a broken
        # install gets here, and it is told what to install.
        raise InputError(f"{name}: the PDF is AES-encrypted, which needs the cryptography package: "
                         "pip install 'pypdf[crypto]'") from None
    except (PdfReadError, OSError, ValueError, KeyError, TypeError, AttributeError,
            IndexError, RecursionError, NotImplementedError) as e:
        raise InputError(f"{name}: cannot read this PDF ({type(e).__name__}: {e}); "
                         "it may be truncated or damaged") from None
    finally:
        pdf_log.setLevel(level)
    starts: list[int] = []
    parts: list[str] = []
    offset = 0
    for text in pages:
        starts.append(offset)
        parts.append(text)
        offset += len(text) + 1
    joined = "\f".join(parts)
    if not joined.strip():
        raise InputError(f"{name}: the PDF has no text layer (a scan?); run OCR on it first")
    return joined, tuple(starts)


def load_file(path: Path, doc_id: str) -> Document:
    """Read one supported file into a Document. Raise InputError with the reason if it can't."""
    data = read_regular(path, doc_id)
    digest = sha256(data)
    if path.suffix.lower() in PDF_SUFFIXES:
        text, pages = read_pdf(data, doc_id)
        return Document(doc=doc_id, text=text, sha256=digest, encoding="pdf", path=path,
                        page_starts=pages)
    text, encoding = decode(data, doc_id)
    if not text.strip():
        raise Skipped(f"{doc_id}: is empty", reason="empty")
    return Document(doc=doc_id, text=text, sha256=digest, encoding=encoding, path=path)


def shown(name: str | os.PathLike[str]) -> str:
    """A file name as it can be printed: bytes that are not UTF-8 as \\xNN escapes."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _utf8(name: str) -> bool:
    # os.walk gives bytes that are not UTF-8 as lone surrogates (b"\xff.txt" -> "\udcff.txt"),
    # which no document id, SQLite row or terminal line can hold.
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def iter_files(root: Path, skipped: list[tuple[str, str]] | None = None) -> Iterator[Path]:
    """Supported files under a directory, sorted, without following directory links (no loops).

    Left out, and added to ``skipped`` with the reason: directories that cannot be
    listed, names that are not UTF-8, and links to files outside ``root`` (ingesting
    a directory reads that directory: a link to ~/.ssh/notes.txt is not part of it).
    """
    skipped = [] if skipped is None else skipped
    inside = os.path.realpath(root)

    def unlistable(e: OSError) -> None:
        skipped.append((shown(e.filename or root), f"cannot list this directory ({e.strerror})"))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=unlistable):
        for name in [d for d in dirnames if not _utf8(d)]:
            skipped.append((shown(os.path.join(dirpath, name)), "its name is not UTF-8; rename it"))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and _utf8(d))
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if name.startswith(".") or p.suffix.lower() not in SUPPORTED:
                continue
            if not _utf8(name):
                skipped.append((shown(p), "its name is not UTF-8; rename it"))
            elif p.is_symlink() and os.path.commonpath([inside, os.path.realpath(p)]) != inside:
                skipped.append((_doc_id(p, root), f"a link to {os.path.realpath(p)}, outside {root}"))
            else:
                yield p


def _doc_id(path: Path, root: Path | None) -> str:
    # A directory ingested as `corpus/` names its files `corpus/x.txt`: the id is
    # the path relative to the directory's parent, so ids stay short but readable.
    if root is None:
        return path.name
    return (Path(root.resolve().name) / path.relative_to(root)).as_posix()


def discover(paths: Sequence[str | os.PathLike[str]],
             skipped: list[tuple[str, str]] | None = None) -> list[tuple[Path, str]]:
    """(path, doc id) for every supported file under ``paths``. Raise InputError on bad paths;
    add the files left out (see :func:`iter_files`) to ``skipped``."""
    found: list[tuple[Path, str]] = []
    skipped = [] if skipped is None else skipped
    if not paths:
        raise InputError("nothing to ingest: give at least one file or directory")
    for given in paths:
        p = Path(given)
        if not p.exists():
            raise InputError(f"{shown(given)}: no such file or directory")
        if p.is_dir():
            if not _utf8(p.resolve().name):  # it names every document in it
                raise InputError(f"{shown(given)}: the directory's name is not UTF-8; rename it")
            before = len(skipped)
            files = [(f, _doc_id(f, p)) for f in iter_files(p, skipped)]
            if not files and len(skipped) == before:
                raise InputError(f"{shown(given)}: no supported files (.txt, .md, .pdf) in this directory")
            found.extend(files)
        elif not _utf8(p.name):
            skipped.append((shown(p), "its name is not UTF-8; rename it"))
        elif p.suffix.lower() in SUPPORTED:
            found.append((p, p.name))
        else:
            raise InputError(f"{given}: unsupported file type {p.suffix or '(none)'}; "
                             "kotae reads .txt, .md and .pdf")
    seen: dict[str, Path] = {}
    for path, doc in found:
        if doc in seen and seen[doc].resolve() != path.resolve():
            raise InputError(f"two files would share the id {doc!r}: {seen[doc]} and {path}; "
                             "ingest them from one directory")
        seen[doc] = path
    unique: dict[str, Path] = {doc: path for path, doc in found}
    return [(path, doc) for doc, path in unique.items()]


def load(paths: Sequence[str | os.PathLike[str]]) -> Loaded:
    """Load every supported file under ``paths``; files left out are listed with a reason
    (empty, not a regular file, see :func:`iter_files`).

    A file that cannot be read as text raises InputError: a report that silently
    drops one of its files would answer from a corpus the user did not ask for.
    """
    result = Loaded()
    for path, doc in discover(paths, result.skipped):
        try:
            result.documents.append(load_file(path, doc))
        except Skipped as e:
            result.skipped.append((doc, e.reason))
    return result


def documents_from_texts(items: Iterable[tuple[str, str]]) -> list[Document]:
    """Documents from (id, text) pairs, for the Python API and SQuAD contexts."""
    docs = []
    for doc, text in items:
        docs.append(Document(doc=doc, text=text, sha256=sha256(text.encode("utf-8")),
                             encoding="str"))
    return docs
