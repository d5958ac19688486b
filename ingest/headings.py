"""Numbered and bracketed heading markers: what a line starting like a heading says.

Reports number their headings in many styles, often several in one document
(第1章 › 1. › (1) › ①). This module only reads the marker at the start of a line;
whether the line *is* a heading is decided by its shape in ``segment`` (short, no
sentence end, followed by text), because the same markers open list items.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .records import Span

_SP = r"[ \t\u3000]"
_KANJI_NUM = "〇一二三四五六七八九十百"
_DIGITS = "0-9０-９"

# Each style: (name, pattern of the marker at the line start). The marker's own
# trailing space is part of the match; the heading's words follow it.
_STYLES: tuple[tuple[str, re.Pattern[str]], ...] = (
    # 第1章 総論 / 第２節　目的 / 第三項
    ("chapter", re.compile(rf"第[{_DIGITS}{_KANJI_NUM}]+(?P<unit>[編部章節款項])")),
    # 1. 概要 / 1.1 目的 / 1.1.2. 範囲 / １．はじめに — a dot after the number, or a
    # second number and a space: 1.5倍 (a decimal) and 2024 年 (a year) are not markers.
    ("dotted", re.compile(rf"(?P<num>[{_DIGITS}]+(?:[.．][{_DIGITS}]+)*)[.．](?![{_DIGITS}])")),
    ("dotted", re.compile(rf"(?P<num>[{_DIGITS}]+(?:[.．][{_DIGITS}]+)+)(?={_SP})")),
    # (1) 避難誘導 / （１）概要 / （一）/ (a) / （ア）
    ("paren", re.compile(rf"[（(](?:[{_DIGITS}]+|[{_KANJI_NUM}]+|[a-zａ-ｚ]|[ア-ン])[）)]")),
    # ① 訓練の概要 … ⑳
    ("circled", re.compile(r"[\u2460-\u2473]")),
    # 一、概要 / 二．目的
    ("kanji", re.compile(rf"[{_KANJI_NUM}]+[、，.．]")),
)
# 【訓練の概要】 alone on its line: the words inside the brackets are the heading.
_BRACKETED = re.compile(rf"{_SP}*【{_SP}*(?P<text>[^【】]*?){_SP}*】{_SP}*$")
# Only lines starting with one of these can carry a marker: a cheap test before the regexes,
# which would otherwise run on every line of a long report.
MARKER_FIRST = frozenset("0123456789０１２３４５６７８９第（(【" + _KANJI_NUM
                         + "".join(chr(c) for c in range(0x2460, 0x2474)))
MarkerKey = tuple[str, int | str | None]
_CHAPTER_LEVEL = {"編": 1, "部": 1, "章": 1, "節": 2, "款": 3, "項": 3}


@dataclass(frozen=True)
class Marker:
    """A heading-like marker at the start of a line.

    ``key`` tells siblings apart from nesting: ``("dotted", 2)`` for 1.1 and 1.2,
    ``("dotted", 1)`` for 1. — two lines in a row with the same key are a list.
    ``text`` is the span of the line a heading unit would cover (the whole line for
    numbered styles, the words inside 【】); ``words`` is where the words start.
    """

    style: str
    key: MarkerKey
    text: Span
    words: int


def marker(line: str) -> Marker | None:
    """The numbered or bracketed marker that starts ``line``, if any.

    # 1. 総合防災訓練の実施について -> dotted, level 1
    # （２）避難所の開設            -> paren
    # 1.5倍に増えた                -> None (a decimal, not a marker)
    """
    if not line or (line[0] not in MARKER_FIRST and line[0] not in " \t\u3000"):
        return None  # most lines: one set look-up
    lead = len(line) - len(line.lstrip(" \t\u3000"))
    if lead >= len(line) or line[lead] not in MARKER_FIRST:
        return None
    if m := _BRACKETED.match(line):
        if not m["text"]:
            return None
        return Marker("bracket", ("bracket", None), (m.start("text"), m.end("text")), m.start("text"))
    end = len(line.rstrip(" \t\u3000"))
    for style, pattern in _STYLES:
        m = pattern.match(line, lead)
        if m is None:
            continue
        words = m.end()
        while words < end and line[words] in " \t\u3000":
            words += 1
        return Marker(style, (style, _depth(style, m)), (lead, end), words)
    return None


def _depth(style: str, m: re.Match[str]) -> int | str | None:
    if style == "dotted":
        return len(re.split("[.．]", m["num"]))
    if style == "chapter":
        return m["unit"]
    return None


def heading_level(text: str) -> int | None:
    """The level a heading's numbering states, or None when it states none.

    # 第1章 総論 -> 1, 第2節 -> 2, 1.目的 -> 1, 1.1目的 -> 2, 1.1.2範囲 -> 3
    # (1) 概要, ① 概要, 【概要】, 概観 -> None: their level depends on the document.
    Reads clean heading text, where the space after 1.1 is already gone.
    """
    flat = unicodedata.normalize("NFKC", text).lstrip()
    if m := re.match(r"第[0-9〇一二三四五六七八九十百]+([編部章節款項])", flat):
        return _CHAPTER_LEVEL[m[1]]
    if m := re.match(r"(\d+(?:\.\d+)*)(\.(?!\d))?", flat):
        parts = m[1].count(".") + 1
        if parts > 1 or m[2]:
            return parts
    return None
