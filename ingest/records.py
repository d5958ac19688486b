"""Small typed records that flow through ingest: documents, units and passages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

Span = tuple[int, int]


@dataclass(frozen=True)
class Document:
    """A decoded source file. ``text`` is exactly what was decoded; nothing edits it.

    ``page_starts`` holds the offset where each PDF page begins (empty for text
    files); a leading title can be marked as a heading, not body text
    (SQuAD contexts are ``title [SEP] paragraph``: ``title`` is the title's span
    and the body starts at ``body_start``).
    """

    doc: str
    text: str
    sha256: str
    encoding: str
    path: Path | None = None
    page_starts: tuple[int, ...] = ()
    title: Span | None = None
    body_start: int = 0


# Units and passages have __slots__: a 50 MB report has 600 k units, and a __dict__ each
# cost 240 bytes more per unit (150 MB) while the index is written.
@dataclass(frozen=True, slots=True)
class Unit:
    """A citable piece of a document: a sentence, a caption, a byline or a heading.

    ``start``/``end`` are offsets into ``Document.text``; ``gaps`` are raw spans
    inside them that the unit skips (a caption dropped into a sentence), so that
    ``clean(text[start:end], gaps) == unit.text``.
    """

    doc: str
    kind: str
    start: int
    end: int
    text: str
    section: str | None
    lines: tuple[int, int]
    pages: tuple[int, int] | None
    gaps: tuple[Span, ...] = ()
    block: int = 0


@dataclass(frozen=True, slots=True)
class Passage:
    """Consecutive units of one section: the retrieval unit and the citation."""

    doc: str
    kind: str
    start: int
    end: int
    text: str
    section: str | None
    lines: tuple[int, int]
    pages: tuple[int, int] | None
    units: tuple[int, ...]  # positions in the document's unit list
    gaps: tuple[Span, ...] = ()


@dataclass(frozen=True)
class DocumentMeta:
    """What the author/date line says, when the document has one."""

    author: str | None = None
    date: str | None = None
    affiliation: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


@dataclass
class Segmented:
    """A document cut into units and passages, with its metadata."""

    document: Document
    units: list[Unit] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    meta: DocumentMeta = field(default_factory=DocumentMeta)


@dataclass(frozen=True)
class FileRef:
    """A file to be loaded where it is prepared (a Ray worker), known to the driver only
    by its id, path, sha256 and an estimate of its characters: planning needs no more,
    and the driver never holds every document's text at once."""

    doc: str
    path: Path
    sha256: str
    chars: int  # an estimate, for batching and the progress bar
