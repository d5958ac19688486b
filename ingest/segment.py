"""Raw text becomes units (sentences, captions, bylines, headings) and passages.

Structure is read line by line, because that is where PDF extraction leaves it:
`◆◆` headings, bullets, a photo caption dropped between paragraph lines, the
closing author/date line. Text between structural lines flows on across wrapped
lines and blank lines (a blank line only ends a paragraph after a sentence end),
and is cut into sentences at 。！？ outside brackets.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from .clean import OffsetText, clean, is_space
from .headings import MARKER_FIRST, Marker, MarkerKey, marker
from .records import Document, DocumentMeta, Passage, Segmented, Span, Unit

# A change to these rules (or clean.py's, headings.py's) that moves a unit's boundaries, e.g.
# the one that made ・広域の人材バンク an item of its own, bumps ingest.manifest.UNITS_VERSION.

# ◆◆概観, ■ 提言, ## Markdown heading
_HEADING = re.compile(r"^[ \t\u3000]*(?:[◆◇■□▼▽★☆◎]+|#{1,6}(?=[ \t]))[ \t\u3000]*(?P<text>\S.*?)[ \t\u3000]*$")
# •\t日本は…  ・ 次に…  - item   (・ only with a space after it: 北朝鮮・イラン is a word)
_BULLET = re.compile(r"^[ \t\u3000]*(?:[•●○◦▪‣]|[・\-*](?=[ \t\u3000]))[ \t\u3000]*")
# ・ right before the text (・広域の人材バンクを設けること) starts an item too where nothing
# is running or the line before ended a sentence or was an item itself; a name wrapped at its
# ・ (北朝鮮 / ・イラン) follows a line that ends mid-word, and stays one word.
_TIGHT_BULLET = re.compile(r"^[ \t\u3000]*・(?=\S)")
# （脱稿日2024 年 12 月11日　秋山信将／軍縮・科学技術センター所長）
_BYLINE = re.compile(r"^[ \t\u3000]*[（(][ \t\u3000]*(?:脱稿日?|執筆|筆者|著者)")
# 露、陸海空で戦略核演習を実施（2024 年 10 月 写真提供：…）
_CAPTION = re.compile(r"写真提供|写真[：:]|[（(]写真|出所[：:]|出典[：:]|Photo[：:]|Source[：:]",
                      re.IGNORECASE)

_OPEN = "「『（(［[【〈《〔｛{“‘"
_CLOSE = "」』）)］]】〉》〕｝}”’"
_ENDS = "。！？!?"
_SOFT_BREAKS = "、，,；;：: "

HEADING_MAX = 40  # characters; a longer line is a paragraph line, whatever it starts with
# A ◆ heading, a byline or a caption is one unit, not cut into sentences: past this many
# characters the line is text and is split like text. A 497-character paragraph citing
# （出典：外務省） is not a caption, and MeCab crashed (SIGSEGV) on a 1.2 M character
# ◆◆ line; the longest structural line of the bundled corpora is 74 characters.
STRUCTURAL_MAX = 200
MAX_SENTENCE = 300  # characters; longer runs without 。 (tables, lists) are cut
MAX_BRACKET = 200  # an opening bracket left open this long is a typo, not a quote
PASSAGE_CHARS = 360  # a passage grows while it stays under this many characters
# A block is cut into sentences when it ends (a heading, a bullet, a paragraph break),
# so a file without blank lines is one block: a 50 MB report made OffsetText hold
# 17 M one-character strings and their offsets (2.8 GB peak). Past this many clean
# characters the sentences that can no longer change are emitted and dropped.
BLOCK_FLUSH = 1 << 16


def split_sentences(text: str, max_len: int = MAX_SENTENCE) -> list[Span]:
    """Sentence spans of clean text: ends at 。！？ outside 「」（）, keeping closers.

    # 「軍備管理」アプローチを追求する。 -> one sentence; 。 inside 「…。」 does not end it
    # …と述べている。」と… -> the closing 」 stays with the sentence it closes
    """
    spans: list[Span] = []
    n = len(text)
    start = 0
    depth = 0
    opened_at = 0
    i = 0
    while i < n:
        ch = text[i]
        if ch in _OPEN:
            if depth == 0:
                opened_at = i
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        if depth and i - opened_at > MAX_BRACKET:
            depth = 0
        end = 0
        if depth == 0 and ch in _ENDS:
            end = i + 1
            while end < n and (text[end] in _CLOSE or text[end] in _ENDS):
                end += 1
        elif depth == 0 and ch == "." and i + 2 < n and text[i + 1] == " " and _ends_latin(text, start, i):
            end = i + 1
        elif i - start + 1 >= max_len:
            end = _soft_cut(text, start, i + 1)
        if end:
            stop = end
            while stop > start and text[stop - 1] in " \u3000":
                stop -= 1  # a soft cut after a space: the space belongs to neither side
            if stop > start:
                spans.append((start, stop))
            start = end
            while start < n and text[start] in " \u3000":
                start += 1
            i = start
            depth = 0
            continue
        i += 1
    if start < n:
        end = n
        while end > start and text[end - 1] in " \u3000":
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def _ends_latin(text: str, start: int, dot: int) -> bool:
    # "… in 2022. The" ends a sentence; "U.S. policy" and "Mr. Smith" do not.
    word = text[start:dot].rsplit(" ", 1)[-1]
    return len(word) > 2 and "." not in word and text[dot + 2 : dot + 3].isupper()


def _soft_cut(text: str, start: int, limit: int) -> int:
    # Cut an over-long run after the last 、 or space in its final third.
    for j in range(limit - 1, start + (limit - start) * 2 // 3, -1):
        if text[j] in _SOFT_BREAKS:
            return j + 1
    return limit


class _Lines:
    """Line table of a raw text: 1-based line numbers and page numbers of offsets."""

    def __init__(self, document: Document) -> None:
        self.starts: list[int] = []
        self.spans: list[Span] = []
        offset = 0
        for line in document.text.splitlines(keepends=True):
            content = line.rstrip("\r\n\f\v\x1c\x1d\x1e\x85\u2028\u2029")
            self.starts.append(offset)
            self.spans.append((offset, offset + len(content)))
            offset += len(line)
        self.page_starts = document.page_starts

    def line_of(self, offset: int) -> int:
        return bisect_right(self.starts, offset)

    def lines(self, start: int, end: int) -> tuple[int, int]:
        return self.line_of(start), self.line_of(max(start, end - 1))

    def pages(self, start: int, end: int) -> tuple[int, int] | None:
        if not self.page_starts:
            return None
        return (bisect_right(self.page_starts, start),
                bisect_right(self.page_starts, max(start, end - 1)))


def _strip_span(raw: str, start: int, end: int) -> Span:
    while start < end and is_space(raw[start]):
        start += 1
    while end > start and is_space(raw[end - 1]):
        end -= 1
    return start, end


def parse_byline(text: str) -> DocumentMeta:
    """Author, date and affiliation from a closing line.

    # （脱稿日2024 年 12 月11日　秋山信将／軍縮・科学技術センター所長）
    #   -> author 秋山信将, date 2024-12-11, affiliation 軍縮・科学技術センター所長
    """
    flat = unicodedata.normalize("NFKC", text)
    date = None
    m = re.search(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日", flat)
    rest = flat
    if m:
        date = f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}"
        rest = flat[m.end():]
    rest = rest.strip().rstrip(")）").strip()
    rest = re.sub(r"^(?:脱稿日?|執筆|筆者|著者)[:：]?", "", rest).strip()
    name, _, affiliation = rest.partition("/")
    author = name.strip(" 　、,") or None
    return DocumentMeta(author=author, date=date, affiliation=affiliation.strip() or None)


class _Builder:
    """Walks the lines of one document, emitting units in document order."""

    def __init__(self, document: Document) -> None:
        self.doc = document
        self.raw = document.text
        self.lines = _Lines(document)
        self.units: list[Unit] = []
        self.captions: list[Span] = []  # in document order
        self.caption_starts: list[int] = []
        self.section: str | None = None
        self.block = OffsetText()
        self.block_id = 0
        self.item_block = -1  # the block a list item opened, while it runs
        self.meta = DocumentMeta()

    def unit(self, kind: str, start: int, end: int, text: str, gaps: tuple[Span, ...] = ()) -> None:
        self.units.append(Unit(doc=self.doc.doc, kind=kind, start=start, end=end, text=text,
                               section=self.section, lines=self.lines.lines(start, end),
                               pages=self.lines.pages(start, end), gaps=gaps,
                               block=self.block_id))

    def structural(self, kind: str, start: int, end: int) -> None:
        start, end = _strip_span(self.raw, start, end)
        if end > start:
            self.unit(kind, start, end, clean(self.raw[start:end]))

    def flush(self, partial: bool = False) -> None:
        """Cut the running block into sentences and start a new block.

        ``partial``: emit only the sentences that text still to come cannot change
        and keep the rest of the block running (bounded memory on huge paragraphs).
        split_sentences starts afresh after every cut, and a cut looks ahead only up
        to where the next sentence starts, so every span but the last is final.
        """
        block = self.block
        text = block.text
        spans = split_sentences(text)
        if partial:
            if len(spans) < 2:
                return
            keep = spans[-1][0]
            spans = spans[:-1]
        for cs, ce in spans:
            start, end = block.pos[cs], block.raw_end(ce)
            gaps = _within(self.captions, self.caption_starts, start, end)
            self.unit("sentence", start, end, text[cs:ce], gaps)
        if partial:
            del block.chars[:keep]  # the block's text now starts at its last sentence
            del block.pos[:keep]
            return
        self.block = OffsetText()
        self.block_id += 1

    def add(self, ls: int, le: int) -> None:
        """Append raw[ls:le] to the running block, in pieces of at most BLOCK_FLUSH characters
        (a 50 MB file on one line is no bigger a block than a paragraph)."""
        for a in range(ls, le, BLOCK_FLUSH):
            self.block.add(self.raw, a, min(a + BLOCK_FLUSH, le))
            if len(self.block) > BLOCK_FLUSH:
                self.flush(partial=True)

    def heading(self, start: int, end: int) -> None:
        self.flush()
        start, end = _strip_span(self.raw, start, end)
        if end > start:
            self.section = clean(self.raw[start:end])
            self.unit("heading", start, end, self.section)
        self.block_id += 1

    def run(self) -> Segmented:
        raw = self.raw
        doc = self.doc
        if doc.title is not None and doc.title[1] - doc.title[0] <= STRUCTURAL_MAX:
            self.heading(*doc.title)
        spans = [s for s in self.lines.spans if s[1] > doc.body_start]
        if spans and spans[0][0] < doc.body_start:
            spans[0] = (doc.body_start, spans[0][1])
        blank_before = True
        caption: list[int] | None = None  # [start, end, depth, lines]
        for n, (ls, le) in enumerate(spans):
            line = raw[ls:le]
            if caption is not None:
                taken, caption = self.continue_caption(caption, ls, le)
                if taken:
                    continue
            structural = le - ls <= STRUCTURAL_MAX
            if not line.strip():
                blank_before = True
                self.block.brk(ls, line + "\n")
                continue
            if structural and (m := _HEADING.match(line)):
                self.heading(ls + m.start("text"), ls + m.end("text"))
                blank_before = False
                continue
            if structural and _BYLINE.match(line):
                self.flush()
                self.structural("byline", ls, le)
                self.meta = parse_byline(self.units[-1].text)
                blank_before = False
                continue
            if structural and _CAPTION.search(line):
                depth = _depth(line)
                caption = [ls, le, depth, 1]
                if depth <= 0:
                    self.close_caption(caption)
                    caption = None
                continue
            after_blank = blank_before
            blank_before = False
            if not self.numbered(n, spans, after_blank):
                self.text_line(n, spans, after_blank)
        if caption is not None:
            self.close_caption(caption)
        self.flush()
        # Captions are emitted when they are met, before the sentence they interrupt
        # is finished; document order is what readers and passages expect.
        units = sorted(self.units, key=lambda u: (u.start, u.end))
        return Segmented(document=doc, units=units, passages=make_passages(doc, units),
                         meta=self.meta)

    def text_line(self, n: int, spans: Sequence[Span], after_blank: bool) -> None:
        """Line ``n`` as running text: a title standing alone, a bullet, or a paragraph line."""
        ls, le = spans[n]
        line = self.raw[ls:le]
        next_blank = n + 1 >= len(spans) or not self.raw[spans[n + 1][0]:spans[n + 1][1]].strip()
        if after_blank and next_blank and _looks_like_title(line):
            self.heading(ls, le)
            return
        if (m := _BULLET.match(line)) or (m := self.tight_bullet(line, spans[n - 1] if n else None)):
            self.flush()
            ls += m.end()
            self.item_block = self.block_id
        elif after_blank and self.block.chars and (self.block.chars[-1] in _ENDS + _CLOSE
                                                   or self.item_block == self.block_id):
            self.flush()  # a blank line after a sentence end or a list item: a paragraph break
        self.add(ls, le)
        self.block.brk(le)

    def tight_bullet(self, line: str, before: Span | None) -> re.Match[str] | None:
        """A ・ item with no space after its ・ (see _TIGHT_BULLET), given the line ``before`` it."""
        m = _TIGHT_BULLET.match(line)
        if m is None or not self.block.chars or before is None:
            return m
        previous = self.raw[before[0]:before[1]].rstrip()
        ended = not previous or previous[-1] in _ENDS + "：:"
        return m if ended or _TIGHT_BULLET.match(previous) or _BULLET.match(previous) else None

    def numbered(self, n: int, spans: Sequence[Span], after_blank: bool) -> bool:
        """Line ``n`` as a numbered or bracketed heading (True: consumed), or as a list item.

        # 1. 総合防災訓練の実施について / さくら市では… -> a heading, then a sentence
        # (1) 避難誘導 / (2) 救護 -> two list items: siblings in a row are a list
        """
        ls, le = spans[n]
        if self.raw[ls] not in MARKER_FIRST and not is_space(self.raw[ls]):
            return False  # the common case, decided without slicing the line
        line = self.raw[ls:le]
        found = marker(line)
        if found is None:
            return False
        starts = after_blank or self.at_sentence_start()
        before, after = self.neighbour(spans, n, -1), self.neighbour(spans, n, 1)
        listed = found.key in (before, after)
        shaped = _heading_shape(line, found)
        if starts and not listed and after is not None and shaped:
            self.heading(ls + found.text[0], ls + found.text[1])
            return True
        if before == found.key or starts:
            self.flush()  # a list item is a sentence of its own, with or without 。
        if listed and shaped:
            # A short item of a list, such as (3) 初期消火 before 以上の三つである。,
            # ends on its line: the line after it does not continue it.
            self.add(ls, le)
            self.flush()
            return True
        return False

    def neighbour(self, spans: Sequence[Span], n: int, step: int) -> MarkerKey | None:
        """The marker key of the nearest non-blank line before (-1) or after (+1) line ``n``:
        ``("text", None)`` for a line without one, None when there is no such line."""
        k = n + step
        while 0 <= k < len(spans):
            line = self.raw[spans[k][0]:spans[k][1]]
            if line.strip():
                found = marker(line)
                return found.key if found else ("text", None)
            k += step
        return None

    def at_sentence_start(self) -> bool:
        chars = self.block.chars
        return not chars or chars[-1] in _ENDS + _CLOSE

    def continue_caption(self, caption: list[int], ls: int, le: int) -> tuple[bool, list[int] | None]:
        """Line [ls, le) after a caption's opening line whose bracket is still open:
        (whether the caption took the line, the caption if it is still open)."""
        if le - caption[0] > STRUCTURAL_MAX:
            # （写真：… left open before a long paragraph: the caption ends before it
            self.close_caption(caption)
            return False, None
        caption[1] = le
        caption[2] += _depth(self.raw[ls:le])
        caption[3] += 1
        if caption[2] <= 0 or caption[3] >= 4:
            self.close_caption(caption)
            return True, None
        return True, caption

    def close_caption(self, caption: list[int]) -> None:
        start, end = _strip_span(self.raw, caption[0], caption[1])
        self.captions.append((start, end))
        self.caption_starts.append(start)
        self.block.brk(start)  # the paragraph around the caption is joined without it
        self.unit("caption", start, end, clean(self.raw[start:end]))


def _within(spans: Sequence[Span], starts: Sequence[int], start: int, end: int) -> tuple[Span, ...]:
    """The spans (in document order; ``starts`` their starts) that lie inside [start, end].

    A bisection, not a scan of every caption for every sentence: a report with a source
    line (出典：…) under each of 20 k tables took 7.6 s to segment, quadratically.
    """
    out = []
    for k in range(bisect_left(starts, start), len(spans)):
        a, b = spans[k]
        if a > end:
            break
        if b <= end:
            out.append((a, b))
    return tuple(out)


def _depth(line: str) -> int:
    return sum(line.count(c) for c in "（(") - sum(line.count(c) for c in "）)")


def _heading_shape(line: str, found: Marker) -> bool:
    # A heading is short, states no sentence and does not stop mid-clause:
    # 1. 総合防災訓練の実施について  -> a heading
    # (1) 避難所の開設については、市の職員が現地に -> a wrapped list item (、 and に…)
    # ① 避難誘導を行う。 -> a list item (a sentence)
    words = line[found.words:found.text[1]]
    if not words or len(line.strip()) > HEADING_MAX:
        return False
    if any(c in _ENDS for c in words) or any(c in "、，," for c in words):
        return False
    return words[-1] not in "をがはへやの.．" or found.style == "bracket"


def _looks_like_title(line: str) -> bool:
    # A short line standing alone between blank lines, not ending like a sentence
    # or a clause: はじめに / 第1章 概要.
    s = line.strip()
    return 0 < len(s) <= 40 and s[-1] not in _ENDS + "、，,。．.」』）)" and not _BULLET.match(line)


def segment(document: Document) -> Segmented:
    """Cut a document into units and passages, with its author/date metadata."""
    return _Builder(document).run()


def make_passages(document: Document, units: Sequence[Unit],
                  target: int = PASSAGE_CHARS) -> list[Passage]:
    """Group consecutive sentences of one section into passages of about ``target`` characters.

    Neighbouring passages share one sentence, so every sentence is seen with the
    sentence before it. Captions and bylines are passages of their own.
    """
    passages: list[Passage] = []
    raw = document.text
    captions = [(u.start, u.end) for u in units if u.kind == "caption"]
    caption_starts = [c[0] for c in captions]
    lines = _Lines(document) if document.page_starts else None

    def emit(idx: list[int], kind: str) -> None:
        first, last = units[idx[0]], units[idx[-1]]
        start, end = first.start, last.end
        gaps = () if kind != "text" else _within(captions, caption_starts, start, end)
        passages.append(Passage(doc=document.doc, kind=kind, start=start, end=end,
                                text=clean(raw[start:end], [(a - start, b - start) for a, b in gaps]),
                                section=first.section, lines=(first.lines[0], last.lines[1]),
                                pages=lines.pages(start, end) if lines else None,
                                units=tuple(idx), gaps=gaps))

    run: list[int] = []

    def close_run() -> None:
        i = 0
        while i < len(run):
            size = 0
            j = i
            while j < len(run) and (j == i or size + len(units[run[j]].text) <= target):
                size += len(units[run[j]].text)
                j += 1
            emit(run[i:j], "text")
            if j >= len(run):
                break
            i = j - 1 if j - i > 1 else j
        run.clear()

    for k, u in enumerate(units):
        if u.kind == "sentence":
            if run and units[run[-1]].section != u.section:
                close_run()
            run.append(k)
        elif u.kind in ("caption", "byline"):
            if u.kind == "byline":
                close_run()
            emit([k], u.kind)
        else:  # a heading ends the run
            close_run()
    close_run()
    # Captions and bylines are emitted when met, inside a run of text passages.
    passages.sort(key=lambda p: (p.start, p.end))
    return passages
