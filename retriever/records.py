"""What the retriever returns: typed records, turned into JSON only at the edge."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    """A span of a source document, verified to reproduce it.

    ``start``/``end`` index the document's decoded text (Python ``str`` offsets);
    ``text`` is that span cleaned of layout (wrapped lines joined). ``gaps`` are the raw
    ranges inside the span that ``text`` skips (a photo caption inside a passage), so a
    client can check ``clean(raw[start:end] minus gaps) == text`` without kotae.
    ``doc`` is the stable document id; ``path`` the file's absolute path when it was
    ingested (None for text given through the Python API).
    """

    text: str
    doc: str
    start: int
    end: int
    section: str | None
    lines: tuple[int, int]
    pages: tuple[int, int] | None
    score: float
    kind: str = "text"
    gaps: tuple[tuple[int, int], ...] = ()
    path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "doc": self.doc, "path": self.path, "start": self.start, "end": self.end,
                "section": self.section, "lines": list(self.lines),
                "pages": list(self.pages) if self.pages else None, "score": round(self.score, 4),
                "kind": self.kind, "gaps": [[a, b] for a, b in self.gaps]}


@dataclass(frozen=True)
class ShortAnswer:
    """The exact fact a question asks for, inside the answer sentence (raw offsets).

    ``confidence`` is the calibrated probability that it is the answer (None without a
    calibration); ``shown`` says whether it reaches the threshold in use, under which the
    terminal, the page and the LangChain metadata leave it out.
    """

    text: str
    start: int
    end: int
    type: str
    confidence: float | None = None
    shown: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end, "type": self.type,
                "confidence": None if self.confidence is None else round(self.confidence, 4), "shown": self.shown}


@dataclass(frozen=True)
class GlossNote:
    """A dictionary gloss of a word of the answer (raw offsets), for readers of English.

    Never a translation: ``gloss`` is what the dictionary (``source``) says the word can
    mean, ``romaji`` how it is read.
    """

    text: str
    start: int
    end: int
    gloss: str
    romaji: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end, "gloss": self.gloss,
                "romaji": self.romaji, "source": self.source}


@dataclass(frozen=True)
class Answer:
    """The answer to one question: the sentence, its citations, or an abstention.

    ``confidence`` is the calibrated probability that the answer sentence holds the answer
    and ``confident`` whether it reaches the threshold in use; ``short_candidates`` are the
    best few short answers, ``short`` the first of them.
    """

    question: str
    language: str
    abstained: bool
    answer: Citation | None
    citations: tuple[Citation, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)
    short: ShortAnswer | None = None
    why: str | None = None  # when abstained: why, in one short sentence
    gloss: tuple[GlossNote, ...] = ()  # English questions: dictionary glosses of the answer's key words
    confidence: float | None = None
    confident: bool = True
    short_candidates: tuple[ShortAnswer, ...] = ()

    @property
    def shown_short(self) -> ShortAnswer | None:
        """The short answer to show a reader: None when there is none or it is under the threshold."""
        return self.short if self.short is not None and self.short.shown else None

    def as_dict(self) -> dict[str, Any]:
        """The JSON object of DESIGN.md (``kotae ask --json``)."""
        answer = None
        if self.answer is not None:
            answer = self.answer.as_dict()
            answer["short"] = self.short.as_dict() if self.short else None
            if self.language == "en":
                answer["gloss"] = [g.as_dict() for g in self.gloss]
            answer["short_candidates"] = [c.as_dict() for c in self.short_candidates]
            answer["confidence"] = None if self.confidence is None else round(self.confidence, 4)
            answer["confident"] = self.confident
        return {"question": self.question, "language": self.language, "abstained": self.abstained,
                "why": self.why, "answer": answer, "citations": [c.as_dict() for c in self.citations],
                "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()}}
