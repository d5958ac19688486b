"""Reliability 4: fuzz — the cleaner, the offset map and the sentence splitter on
arbitrary Unicode; long inputs take linear time.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import run_kotae

import ingest.index
import ingest.segment
from ingest.clean import clean, is_space, normalize, offset_map
from ingest.load import documents_from_texts
from ingest.records import Document
from ingest.segment import segment
from ingest.tokens import Tokenizer, analyse
from retriever.question import Question
from retriever.short import scored_candidates

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


# ================================ over-long structural lines (issue 17, items 2, 3)

LONG_LINES = [  # (case, a line of ~20 k characters that starts or reads like a structural unit)
    ("◆◆ heading", "◆◆" + "核" * 20_000),
    ("markdown heading", "## " + "日本は核兵器不拡散条約を重視する" * 1_300),
    ("byline", "（脱稿日2024年12月11日" + "秋山信将" * 5_000 + "）"),
    ("caption", "露、陸海空で戦略核演習を実施（写真提供：" + "ロシア国防省" * 3_400 + "）"),
    ("unclosed caption", "（写真：" + "核" * 20_000),
]


@pytest.mark.parametrize(("case", "line"), LONG_LINES, ids=[c[0] for c in LONG_LINES])
def test_over_long_structural_lines_are_split_like_text(case: str, line: str) -> None:
    # Before: each was one unit as long as the line, which MeCab crashed on (SIGSEGV at
    # ~1 M characters) and the short-answer step took minutes over.
    raw = "日本は重視する。\n" + line + "\n米国は交渉を始める。\n"
    seg = segment(Document(doc="long.txt", text=raw, sha256="0", encoding="utf-8"))
    assert max(len(u.text) for u in seg.units) <= max(ingest.segment.STRUCTURAL_MAX, ingest.segment.MAX_SENTENCE)
    assert {u.kind for u in seg.units} == {"sentence"}
    _check_segmented(raw)


def test_a_paragraph_citing_a_source_is_not_a_caption() -> None:
    # A 497-character paragraph holding （出典：外務省） was one caption unit, and its
    # short answer the whole paragraph.
    para = "外務省によれば、" + "日本は核兵器不拡散条約の運用検討会議を重視し" * 20 + "（出典：外務省）。"
    assert len(para) > ingest.segment.STRUCTURAL_MAX
    seg = segment(Document(doc="p.txt", text=para + "\n写真：首相官邸\n", sha256="0", encoding="utf-8"))
    assert [u.kind for u in seg.units if u.kind == "caption"] == ["caption"]  # only the short line
    assert next(u for u in seg.units if u.kind == "caption").text == "写真：首相官邸"


def test_a_caption_left_open_ends_before_a_long_line() -> None:
    raw = "（写真：ロシア国防省\n" + "日本は核兵器不拡散条約を重視する。" * 30 + "\n"
    seg = segment(Document(doc="c.txt", text=raw, sha256="0", encoding="utf-8"))
    assert (seg.units[0].kind, seg.units[0].text) == ("caption", "（写真：ロシア国防省")
    assert {u.kind for u in seg.units[1:]} == {"sentence"}


def test_a_long_heading_line_ingests(tmp_path: Path, env: dict[str, str]) -> None:
    # Item 2 through the command line. At 1.2 M characters it was exit 139 and no message
    # (MeCab's SIGSEGV; test_the_tokenizer_takes_a_megabyte_string below is that string);
    # 300 k show the same path and keep the suite fast.
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "h.txt").write_text("◆◆" + "核" * 300_000 + "\n日本は重視する。\n", encoding="utf-8")
    proc = run_kotae(env, "ingest", docs, "--index", tmp_path / "index", "--embedder", "none", "-q")
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-500:])


def test_the_tokenizer_takes_a_megabyte_string() -> None:
    # A question or an older index's unit can still be that long: MeCab gets it in pieces.
    code = "from ingest.tokens import Tokenizer; print(len(Tokenizer()('核' * 1_200_000)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and int(proc.stdout) > 0, (proc.returncode, proc.stderr[-500:])


def test_short_answer_candidates_take_linear_time(tokenizer: Tokenizer) -> None:
    # Every candidate scanned every morpheme of its unit, and every term every number:
    # a 12,000 character caption took 31.7 s, 30,000 more than 120 s. About 0.3 s now.
    base = ("露、陸海空で戦略核演習を実施（2024年10月 写真提供：ロシア国防省）ロシアのプーチン大統領は"
            "2024年10月29日に核戦力の演習を指揮した、米国と中国の軍備管理の協議は約2,800人の専門家が参加し")
    text = (base * (30_000 // len(base) + 1))[:30_000]
    morphs = analyse(tokenizer, text)
    for question in ("プーチン大統領はいつ演習を指揮したか", "協議には何人が参加したか", "演習を指揮したのは誰か"):
        q = Question.of(question, tokenizer)
        t0 = time.perf_counter()
        scored = scored_candidates(q, text, morphs)
        seconds = time.perf_counter() - t0
        assert scored and seconds < 10, (question, len(scored), seconds)
