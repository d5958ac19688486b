"""Clean text with an offset map, and the one normalisation everything matches with.

Two levels, kept apart on purpose:

* ``clean`` — what a reader sees and quotes. PDF layout is undone (wrapped lines
  joined, blank lines inside sentences dropped, layout spaces around digits and
  Latin words inside Japanese removed) but every character that remains is the
  source's own character, so ``clean`` only ever *deletes* whitespace or turns a
  whitespace run into one ASCII space. That makes the offset map trivial and exact.
* ``normalize`` — what is compared: NFKC, then all whitespace removed, Latin
  lower-cased. Used for answer matching, lexical tokens and queries.

The invariant the tests check for every unit kind::

    clean(raw[start:end], gaps) == unit.text
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

# Whitespace as PDF extraction leaves it: ASCII, NBSP, form feed (page breaks)
# and the ideographic space U+3000.
_WS = frozenset(" \t\n\r\f\v\u00a0\u3000\u2028\u2029\u0085\u1680\u2000\u2001\u2002"
                "\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u000b\u001c\u001d\u001e\u001f")
_WS_RUN = re.compile("[" + "".join(sorted(_WS)).replace("\\", "\\\\").replace("]", "\\]") + "]+")


def is_space(ch: str) -> bool:
    """True for the whitespace characters cleaning treats as layout."""
    return ch in _WS  # the same set as str.isspace(), spelled out for the regex


def is_latinish(ch: str) -> bool:
    """Characters between which a space is a real word separator.

    ASCII printable characters, Latin letters with diacritics, full-width letters
    and digits: `National Defense Strategy` keeps its spaces, while
    `2024 年 11 月` (digit next to kanji) loses them.
    """
    o = ord(ch)
    if 0x21 <= o <= 0x7E:
        return True
    # Full-width letters and digits (ＮＰＴ　ＩＡＥＡ, ２０２４) but not full-width
    # punctuation: （\nNPT） is Japanese typography, not a space between words.
    if 0xFF10 <= o <= 0xFF19 or 0xFF21 <= o <= 0xFF3A or 0xFF41 <= o <= 0xFF5A:
        return True
    return 0xC0 <= o <= 0x24F and ch.isalpha()


def _joint(left: str, right: str, run: str) -> str:
    """What a whitespace run between two visible characters becomes.

    # Defense\\nStrategy -> Defense Strategy   (both sides Latin: one space)
    # 攻撃\\n型        -> 攻撃型              (a wrapped line inside a word)
    # 2024 年         -> 2024年              (layout space next to kanji)
    # 11日\\u3000秋山  -> 11日\\u3000秋山       (a lone ideographic space on one line is typography)
    """
    if is_latinish(left) and is_latinish(right):
        return " "
    if run == "\u3000":
        return "\u3000"
    return ""


def clean(raw: str, gaps: Sequence[tuple[int, int]] = ()) -> str:
    """Clean a fragment of raw text: the reference the offset map must agree with.

    ``gaps`` are raw spans (relative to ``raw``) that the unit skips — a photo
    caption that landed inside a paragraph. A gap counts as a line break.
    """
    if gaps:
        parts: list[str] = []
        pos = 0
        for start, end in sorted(gaps):
            parts.append(raw[pos:start])
            parts.append("\n")
            pos = max(pos, end)
        parts.append(raw[pos:])
        raw = "".join(parts)
    out: list[str] = []
    pieces = _WS_RUN.split(raw)  # visible pieces; maximal runs lie between them
    runs = _WS_RUN.findall(raw)
    for i, piece in enumerate(pieces):
        if not piece:  # only the first and last piece can be empty
            continue
        if out:
            out.append(_joint(out[-1][-1], piece[0], runs[i - 1]))
        out.append(piece)
    return "".join(out)


def normalize(text: str) -> str:
    """The one normalisation used for matching (answers, tokens, queries).

    Steps, in order:

    1. Unicode NFKC: full-width forms become ASCII (`（NPT）` -> `(NPT)`),
       half-width katakana becomes full-width, compatibility characters unfold.
    2. Remove every whitespace character: `2024 年 11 月` -> `2024年11月`.
    3. Lower-case: `ICBM` -> `icbm`.
    """
    text = unicodedata.normalize("NFKC", text)
    # NFKC again after removing spaces and lower-casing: `e ´` composes only once
    # the space between is gone, and the result must be a fixed point.
    return unicodedata.normalize("NFKC", "".join(ch for ch in text if not is_space(ch)).lower())


class OffsetText:
    """Clean text built piece by piece, remembering where each character came from.

    ``pos[i]`` is the raw offset of clean character ``i``; a space inserted for a
    whitespace run points at the run's first character. Appending raw pieces in
    document order, with whitespace runs and skipped spans between them, applies
    exactly the rule of :func:`clean`.
    """

    __slots__ = ("_pending", "chars", "pos")

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.pos: list[int] = []
        self._pending: tuple[int, str] | None = None  # (raw offset, run text)

    def __len__(self) -> int:
        return len(self.chars)

    @property
    def text(self) -> str:
        return "".join(self.chars)

    def add(self, raw: str, start: int, end: int) -> None:
        """Append raw[start:end], whose whitespace follows the clean rule."""
        pos = start
        for m in _WS_RUN.finditer(raw, start, end):
            if m.start() > pos:
                self._visible(raw, pos, m.start())
            self.brk(m.start(), m.group())
            pos = m.end()
        if pos < end:
            self._visible(raw, pos, end)

    def _visible(self, raw: str, start: int, end: int) -> None:
        # Whole runs of visible characters are appended at once (list.extend runs in
        # C): this loop is the hottest of ingest after MeCab.
        if self._pending is not None:
            at, run = self._pending
            self._pending = None
            if self.chars:
                joint = _joint(self.chars[-1], raw[start], run)
                if joint:
                    self.chars.append(joint)
                    self.pos.append(at)
        self.chars.extend(raw[start:end])
        self.pos.extend(range(start, end))

    def brk(self, at: int, run: str = "\n") -> None:
        """A break between pieces: a whitespace run, a line end or a skipped span."""
        if self._pending is None:
            self._pending = (at, run)
        else:
            first, previous = self._pending
            # Only whether the run is a lone U+3000 matters (_joint), so two characters
            # of it are kept: 200 k blank lines in a row were a quadratic 7 s otherwise.
            self._pending = (first, (previous + run)[:2])

    def raw_end(self, clean_end: int) -> int:
        """Raw end offset (exclusive) of the clean span ending at ``clean_end``."""
        return self.pos[clean_end - 1] + 1


def offset_map(raw: str, start: int, end: int, gaps: Sequence[tuple[int, int]] = ()) -> OffsetText:
    """The clean text of raw[start:end] (skipping ``gaps``, absolute spans) with raw offsets."""
    ot = OffsetText()
    pos = start
    for a, b in sorted(gaps):
        ot.add(raw, pos, a)
        ot.brk(a)
        pos = max(pos, b)
    ot.add(raw, pos, end)
    return ot
