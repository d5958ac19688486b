"""clean (what a reader quotes) and normalize (what is compared), and the offset map.

Line numbers in comments refer to corpus/nuclear-outlook-2025.txt.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.clean import OffsetText, clean, is_space, normalize

# (raw, clean(raw))
CLEAN_CASES = [
    # 攻撃\n型 -> 攻撃型: a line wrapped inside a word (l.67-68)
    ("攻撃\n型原子力潜水艦", "攻撃型原子力潜水艦"),
    # Latin words on both sides of a wrap keep one space
    ("National\nDefense Strategy", "National Defense Strategy"),
    ("minimum\nretaliation strategy", "minimum retaliation strategy"),
    ("U.S.\npolicy", "U.S. policy"),
    # layout spaces around digits next to kanji go (l.14)
    ("2024 年 11 月", "2024年11月"),
    # ... and around Latin words inside Japanese: 新 START 条約 -> 新START条約 (l.38)
    ("新 START 条約", "新START条約"),
    ("ICBM 開発の進化", "ICBM開発の進化"),
    # a lone ideographic space inside one line is typography and stays (l.128, the byline)
    ("11日\u3000秋山信将", "11日\u3000秋山信将"),
    # ... but an ideographic space that is part of a line break is layout and goes
    ("11日\u3000\n秋山", "11日秋山"),
    # ... as does a line holding nothing but an ideographic space (a blank line)
    ("11日\n\u3000\n秋山", "11日秋山"),
    # a run of two ideographic spaces is not the lone typographic one
    ("日\u3000\u3000本", "日本"),
    # between Latin words any whitespace run becomes one ASCII space
    ("Defense\u3000Strategy", "Defense Strategy"),
    ("a\t\tb", "a b"),
    ("Defense \n\n Strategy", "Defense Strategy"),
    # full-width Latin words are words too: ＮＰＴ　ＩＡＥＡ
    ("ＮＰＴ\nＩＡＥＡ", "ＮＰＴ ＩＡＥＡ"),
    # clean keeps the source's own characters: no NFKC here
    ("（NPT）", "（NPT）"),
    ("ｱﾌﾛ", "ｱﾌﾛ"),
    # blank lines inside a sentence vanish (l.24-26)
    ("通常戦力により\n\n「一つの主要戦争", "通常戦力により「一つの主要戦争"),
    # a wrapped line starting with a space (l.43-44)
    ("さらに米露間\n での新 START 条約", "さらに米露間での新START条約"),
    # leading and trailing whitespace of a fragment is dropped
    ("\n\u3000 核兵器\t\n", "核兵器"),
    ("", ""),
    (" \n\t\u3000\n", ""),
    # the caption's date (l.88)
    ("（2024 年 10 月 写真提供：", "（2024年10月写真提供："),
    ("Service/AP/アフロ）", "Service/AP/アフロ）"),
    # form feed (a PDF page break) and NBSP are layout whitespace
    ("核兵\f器", "核兵器"),
    ("核\u00a0兵器", "核兵器"),
    # Windows line ends
    ("攻撃\r\n型", "攻撃型"),
]


@pytest.mark.parametrize(("raw", "expected"), CLEAN_CASES)
def test_clean(raw: str, expected: str) -> None:
    assert clean(raw) == expected


# Full-width *punctuation* （）：、 sits in the same U+FF01-FF5E block as full-width
# letters, and is_latinish treats the whole block as Latin, so a wrap after a Japanese
# colon or bracket gains a space that the source does not have (l.88-89:
# 写真提供：\nRussian -> 写真提供： Russian in the caption unit).
@pytest.mark.parametrize(("raw", "expected"), [
    ("写真提供：\nRussian Defense Ministry", "写真提供：Russian Defense Ministry"),
    ("核兵器不拡散条約（\nNPT）", "核兵器不拡散条約（NPT）"),
])
def test_clean_full_width_punctuation_is_not_latin(raw: str, expected: str) -> None:
    assert clean(raw) == expected


# (raw, gaps, clean(raw, gaps)): a gap is a skipped caption and counts as a line break
GAP_CASES = [
    # l.86-90: the caption between two sentences is skipped
    ("かねない。\n露、演習（写真提供：AP）\n一方、イラン", [(6, 19)], "かねない。一方、イラン"),
    # a gap between Latin words still separates them
    ("Defense[caption]Strategy", [(7, 16)], "Defense Strategy"),
    # a gap inside a Japanese word joins it
    ("攻撃[x]型", [(2, 5)], "攻撃型"),
    # overlapping or unsorted gaps are taken in order
    ("核ABCD兵器", [(3, 5), (1, 4)], "核兵器"),
]


@pytest.mark.parametrize(("raw", "gaps", "expected"), GAP_CASES)
def test_clean_with_gaps(raw: str, gaps: list[tuple[int, int]], expected: str) -> None:
    assert clean(raw, gaps) == expected


# (raw, normalize(raw))
NORMALIZE_CASES = [
    # full-width forms become ASCII, then lower case: （NPT） -> (npt)
    ("（NPT）", "(npt)"),
    ("（ＮＰＴ）", "(npt)"),
    ("ＩＣＢＭ１２", "icbm12"),
    # layout spaces around numbers: 2024 年 11 月 matches 2024年11月 (l.14)
    ("2024 年 11 月", "2024年11月"),
    # every whitespace goes, including between Latin words and the ideographic space
    ("National Defense Strategy", "nationaldefensestrategy"),
    ("11日\u3000秋山信将", "11日秋山信将"),
    ("核兵器\n\t不拡散\u00a0条約", "核兵器不拡散条約"),
    # half-width katakana becomes full-width: ｱﾌﾛ -> アフロ
    ("ｱﾌﾛ", "アフロ"),
    # compatibility characters unfold: ㍻ -> 平成, ① -> 1
    ("㍻", "平成"),
    ("①", "1"),
    # full-width punctuation: 、。 stay (they are not compatibility forms), ： becomes :
    ("写真提供：AP", "写真提供:ap"),
    ("核、兵器。", "核、兵器。"),
    ("", ""),
    (" \u3000\n", ""),
]


@pytest.mark.parametrize(("raw", "expected"), NORMALIZE_CASES)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


# NFKC turns a spacing diacritic into space + combining mark (¸ -> " \u0327"); removing
# the space then leaves R + U+0327, which the next NFKC composes into ŗ. So the result
# of normalize is not itself normalised. ´ and ¨ are in JIS X 0208, so they do occur in
# CP932 text.
@pytest.mark.parametrize("raw", ["R¸", "e´", "u¨"])
def test_normalize_idempotent_with_spacing_diacritics(raw: str) -> None:
    once = normalize(raw)
    assert normalize(once) == once


# ---------------------------------------------------------------- properties

_HIRAGANA = "あいうえおかきくけこさしすせそなにぬねのはまやらわをん"
_KATAKANA = "アイウエオカキクケコサシスセソタチツテトナマヤラワンー"
_KANJI = "核兵器不拡散条約国際環境日本米中露軍備管理型攻撃原子力潜水艦年月日"
_FULL_WIDTH = "（）、。ＮＰＴ１２「」："
_JAPANESE = _HIRAGANA + _KATAKANA + _KANJI + _FULL_WIDTH

_pieces = st.one_of(
    st.text(alphabet=_JAPANESE, min_size=1, max_size=8),
    st.sampled_from(["NPT", "ICBM", "Defense", "Strategy", "U.S.", "policy", "a", "(NDS2022)", "é"]),
    st.integers(0, 3000).map(str),
)
# whitespace as PDF extraction leaves it: spaces, wraps, blank lines, tabs,
# ideographic spaces (alone, doubled, on a line of their own), NBSP, CRLF, form feed
_runs = st.sampled_from(["", "", "", " ", "  ", "\n", "\n\n", "\n\n\n", "\t", "\u3000", "\u3000\u3000",
                         "\n\u3000\n", "\u3000\n", "\n\u3000", " \n ", "\r\n", "\u00a0", "\f"])
texts = st.lists(st.tuples(_runs, _pieces), max_size=25).flatmap(
    lambda parts: _runs.map(lambda tail: "".join(a + b for a, b in parts) + tail))


def _offset_text(raw: str) -> OffsetText:
    ot = OffsetText()
    ot.add(raw, 0, len(raw))
    return ot


@settings(max_examples=300, deadline=None)
@given(texts)
def test_offset_text_agrees_with_clean(raw: str) -> None:
    ot = _offset_text(raw)
    assert ot.text == clean(raw)
    assert len(ot.pos) == len(ot.text)
    # every clean character points into raw, in order; a visible one at itself
    assert ot.pos == sorted(ot.pos)
    for ch, p in zip(ot.text, ot.pos, strict=False):
        assert 0 <= p < len(raw)
        if not is_space(ch):
            assert raw[p] == ch


@settings(max_examples=300, deadline=None)
@given(texts, st.data())
def test_clean_is_local(raw: str, data: st.DataObject) -> None:
    """Any clean sub-span is the clean of its raw span: the offset map relies on it."""
    ot = _offset_text(raw)
    text = ot.text
    visible = [k for k, ch in enumerate(text) if not is_space(ch)]
    if not visible:
        return
    i = data.draw(st.sampled_from(visible), label="i")
    j = data.draw(st.sampled_from([k + 1 for k in visible if k >= i]), label="j")
    assert clean(raw[ot.pos[i]:ot.raw_end(j)]) == text[i:j]


@settings(max_examples=300, deadline=None)
@given(texts)
def test_normalize_is_idempotent_and_removes_whitespace(raw: str) -> None:
    once = normalize(raw)
    assert normalize(once) == once
    assert not any(ch.isspace() or is_space(ch) for ch in once)
    # normalising the clean text gives the same as normalising the raw text
    assert normalize(clean(raw)) == once
