"""Reliability 4: fuzz — the cleaner, the offset map and the sentence splitter on
arbitrary Unicode; long inputs take linear time.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ingest.index
import ingest.segment
from ingest.clean import clean, is_space, normalize, offset_map
from ingest.load import documents_from_texts
from ingest.records import Document
from ingest.segment import segment

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
