"""What an index holds, document by document: `kotae docs` and the `--doc` filter read this.

It reads the manifest and the store of the live generation without loading vectors
or the embedder, so listing a corpus costs milliseconds.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from fnmatch import fnmatchcase
from typing import Any

from .clean import clean
from .errors import IndexFileError, InputError
from .generations import reading
from .headings import heading_level
from .manifest import read_manifest
from .records import DocumentMeta

TITLE_MAX = 80  # characters; a longer first line is a paragraph, not a title
_NOT_TITLE = "◆◇■□▼▽★☆◎•●#（("  # a section marker or a byline, not the document's title


@dataclass(frozen=True)
class Section:
    """A heading of a document: its text, the level its numbering states, and its line."""

    text: str
    level: int | None
    line: int


@dataclass(frozen=True)
class DocumentInfo:
    """One document of an index, as `kotae docs` lists it.

    ``id`` is the stable document id citations carry (``corpus/x.txt``); ``path`` is the
    file's absolute path when it was ingested (None for text given through the API).
    """

    id: str
    path: str | None
    title: str | None
    meta: DocumentMeta
    sections: tuple[Section, ...]
    pages: int | None
    chars: int
    sha256: str
    ingested: str | None

    def as_dict(self) -> dict[str, Any]:
        # author, date and affiliation are always there (null when the document has no such line),
        # so a client reads one shape
        m = self.meta
        return {"id": self.id, "path": self.path, "title": self.title,
                "author": m.author, "date": m.date, "affiliation": m.affiliation,
                "sections": [{"text": s.text, "level": s.level, "line": s.line} for s in self.sections],
                "pages": self.pages, "chars": self.chars, "sha256": self.sha256, "ingested": self.ingested}


def document_title(text: str, title: tuple[int, int] | None = None) -> str | None:
    """A document's title: the span marked as one (SQuAD), else its opening line when that
    line reads as a title — short, not a sentence, not a section marker or a byline — with
    the line right under it when that is a subtitle rather than a date or an imprint.

    # 汐見市　地域防災計画の見直しについて（市民の皆さまへのお知らせ） -> the title
    # ミナトフーズ株式会社 / 統合報告書2025（抜粋） -> "ミナトフーズ株式会社 統合報告書2025（抜粋）"
    # 地方圏における高齢化と労働力の需給 / 2025年4月1日 -> the first line only
    # ◆◆概観 -> None: the report opens with its first section, not a title
    """
    if title is not None:
        return clean(text[title[0]:title[1]]) or None
    lines = text[:4 * TITLE_MAX].lstrip("\ufeff").splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    first = lines[0].strip() if lines else ""
    if not _title_like(first):
        return None
    second = lines[1].strip() if len(lines) > 1 else ""
    if _title_like(second) and not second[0].isdigit() and not any(c in second for c in "：:@"):
        return f"{clean(first)} {clean(second)}"
    return clean(first)


def _title_like(line: str) -> bool:
    return bool(line) and len(line) <= TITLE_MAX and line[0] not in _NOT_TITLE and line[-1] not in "。！？!?、，,"


def documents(index_dir: str | os.PathLike[str]) -> list[DocumentInfo]:
    """Every document of the index at ``index_dir``, in index order."""
    with reading(index_dir) as gen:
        manifest = read_manifest(gen)
        path = gen / "store.sqlite"
        if not path.is_file():
            raise IndexFileError(f"{path}: the store is missing; rebuild the index with kotae ingest")
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                return _read(conn, manifest.documents)
            finally:
                conn.close()
        except (sqlite3.Error, ValueError, TypeError) as e:
            raise IndexFileError(f"{path}: the store is unreadable or damaged ({type(e).__name__}); "
                                 "rebuild the index with kotae ingest") from None


def _read(conn: sqlite3.Connection, entries: Mapping[str, Mapping[str, Any]]) -> list[DocumentInfo]:
    sections: dict[int, list[Section]] = {}
    for doc_id, text, line in conn.execute(
            "SELECT doc_id, text, line_start FROM units WHERE kind = 'heading' ORDER BY id"):
        sections.setdefault(doc_id, []).append(Section(text, heading_level(text), line))
    out = []
    # Only the head of each text is read: the title is on its first lines.
    for doc_id, doc, digest, chars, head, pages, title, meta in conn.execute(
            f"SELECT id, doc, sha256, length(text), substr(text, 1, {4 * TITLE_MAX}), page_starts,"
            " title, meta FROM documents ORDER BY id"):
        entry = entries.get(doc, {})
        span = tuple(json.loads(title)) if title else None
        page_starts = json.loads(pages)
        out.append(DocumentInfo(
            id=doc, path=entry.get("path"), title=document_title(head, span),
            meta=DocumentMeta(**json.loads(meta)), sections=tuple(sections.get(doc_id, ())),
            pages=len(page_starts) or None, chars=chars, sha256=digest, ingested=entry.get("ingested")))
    return out


@dataclass(frozen=True)
class DocName:
    """What a ``--doc`` pattern is matched against: a document's id, path and title."""

    id: str
    path: str | None
    title: str | None


def select_documents(patterns: Sequence[str], names: Sequence[DocName]) -> list[int]:
    """Positions (in ``names``) of the documents any pattern picks, in index order.

    A pattern is a document id, a path to the file (relative to the current directory or
    absolute), or a glob on the id, the path, the file name or the title:
    # reports/notice.txt · ./reports/notice.txt · '*.pdf' · 'notice*' · '*防災*'
    Each pattern must pick something; one that picks nothing is an InputError naming the
    nearest ids and titles.
    """
    picked: set[int] = set()
    by_id = {name.id: i for i, name in enumerate(names)}
    for pattern in patterns:
        if pattern in by_id:  # an id picks its document: no glob scan (eval passes hundreds of ids)
            picked.add(by_id[pattern])
            continue
        hits = [i for i, name in enumerate(names) if _matches(pattern, name)]
        if not hits:
            raise InputError(_unknown(pattern, names))
        picked.update(hits)
    return sorted(picked)


def _matches(pattern: str, name: DocName) -> bool:
    if pattern == name.id:
        return True
    fields = [name.id, name.title or ""]
    if name.path is not None:
        fields += [name.path, os.path.basename(name.path)]
        if os.path.abspath(pattern) == name.path:
            return True
    fields.append(name.id.rsplit("/", 1)[-1])
    return any(f and fnmatchcase(f, pattern) for f in fields)


def _unknown(pattern: str, names: Sequence[DocName]) -> str:
    # Near matches by spelling, the glob characters left out: 'anual*' -> reports/annual.txt.
    labels: dict[str, str] = {}
    for n in names:
        labels[n.id] = n.id
        labels[n.id.rsplit("/", 1)[-1]] = n.id
        if n.title:
            labels[n.title] = n.id
    bare = pattern.strip("*?")
    stem = os.path.splitext(os.path.basename(bare))[0]  # minato.txt -> minato, found in minato-foods-….txt
    near = get_close_matches(bare, list(labels), n=8, cutoff=0.5)
    near += [label for label in labels if len(stem) > 1 and stem in label and label not in near]
    ids = list(dict.fromkeys(labels[label] for label in near))[:3]
    hint = f"near: {', '.join(ids)}" if ids else f"{len(names)} documents, e.g. {', '.join(n.id for n in names[:3])}"
    return f"--doc {pattern!r} matches no document ({hint}); list them with kotae docs"
