"""Short answers: the exact span a question asks for, found offline in the answer sentence.

1. What is asked comes analysed with the question (:class:`retriever.question.Question`,
   its ``asked``): a date, a person, a place or organisation, a quantity (with its
   counter when the question names one: 何発 -> 発), a name or term, or a description
   (なぜ, how) that has no short answer.
2. :func:`candidates` lists the spans of a sentence that could be such an answer
   (dates, numbers with counters, 「」 terms, proper nouns from MeCab, noun compounds,
   katakana and Latin terms, and phrases: の-phrases, nouns with their adjective, lists).
3. :func:`scored_candidates` keeps those that fit what is asked (and that the question
   does not already say) and describes each by named features: type fit, how close it
   sits to the question's words around the wh-word, the particle after it, its length…
   :func:`best_span` ranks them by a weighted sum. For Japanese questions the weights are
   learned on JSQuAD (``short_ranker.json``, written by benchmarks/train_short_ranker.py
   with figures from held-out articles); English ones through the bridge take them with
   ENGLISH added, English ones without a bridge the hand-set HEURISTIC.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ingest.clean import normalize
from ingest.errors import InputError
from ingest.facts import DATE as _DATE
from ingest.facts import QUANTITY as _QUANTITY
from ingest.tokens import Morpheme, Tokenizer, analyse

from .english import echoed, question_words
from .question import DATE, DESCRIPTION, FACT_KINDS, ORG, PERSON, PLACE, QUANTITY, TERM, Asked, Question

__all__ = ["DATE", "DESCRIPTION", "FACT_KINDS", "FEATURES", "HEURISTIC", "ORG", "PERSON", "PLACE", "QUANTITY",
           "TERM", "Asked", "Candidate", "best_span", "candidates", "echo", "first_candidates", "implied", "ranked",
           "rankers",
           "scored_candidates", "short_answer", "weights"]

_ORDINAL = re.compile(r"第[0-9０-９一二三四五六七八九十百]+[回期次代条章位番号]?[一-龥ァ-ヺー]{0,6}")
# 略称は / abbreviation: the answer is a short form (UNTAG, RKB), in capitals or in brackets.
_ABBREVIATION = re.compile(r"略称|略して|略語|頭文字|abbreviat|acronym", re.I)
_NAMING = re.compile(r"(?:何|なん)と(?:呼|言|い)|(?:何|なん)という|名称|名前|タイトル|題名|書名|曲名|"
                     r"called|named|\bname\b|title")


def _same_counter(a: str, b: str) -> bool:
    fold = {"カ国": "か国", "ヶ国": "か国", "箇国": "か国", "％": "%", "パーセント": "%", "ヶ月": "か月",
            "カ月": "か月", "種類": "種", "名": "人"}  # 何人 -> 50名
    return fold.get(a, a) == fold.get(b, b)


@dataclass(frozen=True)
class Candidate:
    """A span of a sentence (offsets into its clean text) that could answer a question."""

    start: int
    end: int
    text: str
    kind: str
    counter: str | None = None
    sub: bool = False  # a proper noun cut out of a longer compound
    joined: bool = False  # two of a kind joined by と/や/、: シェーンベルクとツェムリンスキー
    shape: str = ""  # how a phrase was built, one of SHAPES: "chain" (の-phrase), "modified" (…), "" a plain span


_BRACKETS = re.compile(r"「([^「」]{1,40})」|『([^『』]{1,40})』|“([^“”]{1,40})”|（([^（）]{1,30})）|\(([^()]{1,30})\)")
_KATAKANA = re.compile(r"[ァ-ヺー・]{2,}")
_KANJI_BEFORE = re.compile(r"[一-龥]")
# A reading: hiragana, perhaps followed by other names after a comma (おうりょく、ストレス).
_READING = re.compile(r"[ぁ-ゖー・ 　]+(?:[、,].*)?")
# Compounds ending like this name an organisation or a place: 国際原子力機関, 欧州連合, 沖縄県.
_ORG_SUFFIX = ("機関", "委員会", "会議", "省", "庁", "軍", "党", "大学", "協会", "連合", "機構", "政府", "議会",
               "銀行", "公社", "研究所", "センター", "防衛隊", "会社", "組合", "学会", "財団")
_PLACE_SUFFIX = ("県", "市", "州", "島", "町", "村", "郡", "地方", "半島", "大陸", "諸島", "区")
_HONORIFICS = frozenset({"氏", "さん", "様", "君", "ら", "殿", "等"})
_PERSON_SUFFIX = ("氏", "さん", "大統領", "首相", "外相", "総書記", "司令官", "長官", "議長", "国王", "大臣", "主席",
                  "将軍", "博士", "教授", "代表", "所長")
# Single nouns after a proper noun that belong to its name: 渋谷区, 宮崎県, 共産党.
_SUFFIX_NOUNS = frozenset({*_PLACE_SUFFIX, *_ORG_SUFFIX, "都", "府", "川", "山", "湖", "族", "語", "人"})
# Titles that answer 誰 on their own: 国連事務総長, 初代社長.
_ROLES = (*_PERSON_SUFFIX[2:], "総長", "社長", "会長", "監督", "委員長", "知事", "市長", "天皇", "皇帝", "王")


def _compounds(morphs: Sequence[Morpheme]) -> list[tuple[int, int, list[Morpheme]]]:
    """Maximal runs of nominal tokens: 攻撃型原子力潜水艦, 高濃縮ウラン, アラ+グチ -> アラグチ."""
    runs: list[tuple[int, int, list[Morpheme]]] = []
    cur: list[Morpheme] = []

    def nominal(m: Morpheme) -> bool:
        return m.pos.startswith(("名詞", "接頭辞", "接尾辞-名詞的")) and not m.pos.startswith("名詞-助動詞語幹")

    for m in morphs:
        if nominal(m) and (not cur or cur[-1].end == m.start or
                           (cur[-1].surface.isascii() and m.surface.isascii())):
            cur.append(m)
        else:
            if cur:
                runs.append((cur[0].start, cur[-1].end, cur))
            cur = [m] if nominal(m) else []
    if cur:
        runs.append((cur[0].start, cur[-1].end, cur))
    return runs


def _holds(spans: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    """Whether one of the sorted ``spans`` lies inside [start, end)."""
    for a, b in spans[bisect.bisect_left(spans, (start, -1)):]:
        if a >= end:
            return False
        if b <= end:
            return True
    return False


class _Numbers:
    """The dates and quantities of a sentence, sorted, to ask of a term in O(log n)
    whether it cuts one: checking every number for every term was quadratic on a long
    caption full of both."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        self.spans = spans
        self.starts = [a for a, _ in spans]
        self.reach = list(itertools.accumulate((b for _, b in spans), max))  # furthest end so far

    def cut_or_equal(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.starts, start)
        if i and self.reach[i - 1] > start:
            return True  # a number starting before the term runs into it
        j = bisect.bisect_left(self.starts, end)
        return any(b > end or (a, b) == (start, end) for a, b in self.spans[i:j])


# Zero-width characters pasted inside a number (202\ufeff5年10月18日 from a web page) cut
# it, and 5年10月18日 was offered as the date. Dates and quantities are found in the text
# without them and their spans mapped back; a span keeps the character (it is the source's).
_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff]")


def _numbers(text: str) -> list[Candidate]:
    """Date and quantity candidates (a quantity inside a date is part of the date)."""
    kept = [i for i, ch in enumerate(text) if not _ZERO_WIDTH.match(ch)] if _ZERO_WIDTH.search(text) else None
    folded = text if kept is None else "".join(text[i] for i in kept)

    def span(a: int, b: int) -> tuple[int, int]:
        return (a, b) if kept is None else (kept[a], kept[b - 1] + 1)

    out: list[Candidate] = []
    dates: list[tuple[int, int]] = []
    for m in _DATE.finditer(folded):
        s, e = span(*m.span())
        out.append(Candidate(s, e, text[s:e], DATE))
        dates.append((s, e))
        # 2010年9月4日 also offers 2010年 and 2010年9月, for 何年 / 何月 questions.
        for part in re.finditer(r"年|月", m[0]):
            if part.end() < len(m[0]):
                ps, pe = span(m.start(), m.start() + part.end())
                out.append(Candidate(ps, pe, text[ps:pe], DATE, sub=True))
        # 1990年代 names a decade, for 何年代 questions (the date pattern stops at 年).
        if m[0].endswith("年") and folded.startswith("代", m.end()):
            ds, de = span(m.start(), m.end() + 1)
            out.append(Candidate(ds, de, text[ds:de], DATE))
        out.extend(_with_era(text, folded, m, span))
    date_starts = [a for a, _ in dates]  # in order, and no two overlap (one finditer)
    for m in _QUANTITY.finditer(folded):
        s, e = span(*m.span())
        i = bisect.bisect_right(date_starts, s) - 1
        if i >= 0 and e <= dates[i][1]:  # inside the date that starts last before it
            continue
        out.append(Candidate(s, e, text[s:e], QUANTITY, m["counter"]))
        if s and text[s - 1] == "第":  # 第9位 as the text says it, for 世界何位 (and 9位 beside it)
            out.append(Candidate(s - 1, e, text[s - 1:e], QUANTITY, m["counter"]))
    return out


# A year with its era name in brackets after it: 1962年[（昭和37年）].
_ERA_ASIDE = re.compile(r"[（(](?:明治|大正|昭和|平成|令和)[0-9０-９元一二三四五六七八九十]{1,3}年[）)]")
_MONTH_DAY = re.compile(r"[0-9０-９]{1,2}月(?:[0-9０-９]{1,2}日)?")


def _with_era(text: str, folded: str, m: re.Match[str], span: Callable[[int, int], tuple[int, int]]
              ) -> list[Candidate]:
    """A year and the era name the source gives it in brackets, as one date, with the month and
    day that go on after the bracket: 1945年（昭和20年）10月15日 is one date, and the answer to
    治安維持法が廃止された日はいつ, where the pattern found 1945年, 昭和20年 and 10月15日 apart."""
    aside = _ERA_ASIDE.match(folded, m.end()) if m[0].endswith("年") else None
    if aside is None:
        return []
    out = [Candidate(*(ab := span(m.start(), aside.end())), text[ab[0]:ab[1]], DATE)]
    rest = _MONTH_DAY.match(folded, aside.end())
    if rest is not None:
        a, b = span(m.start(), rest.end())
        out.append(Candidate(a, b, text[a:b], DATE))
    return out


@dataclass(frozen=True)
class _Sentence:
    """A clean sentence as the extractors read it: its text, MeCab morphemes and noun runs."""

    text: str
    morphs: Sequence[Morpheme]
    runs: list[tuple[int, int, list[Morpheme]]]
    kinds: tuple[str | None, ...]  # what each run names (_compound_kind), read by the phrase extractors


def _dates_and_quantities(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """Dates (2010年9月4日 also offers 2010年 and 2010年9月, for 何年 / 何月 questions) and
    numbers with their counters (190か国, 約2,800人), except the digits of a date."""
    return _numbers(s.text)


# A number as written, with its separators and multipliers: 1,447, 39.3, 55万, 3億5000万.
_NUMBER = re.compile(r"(?<![0-9０-９.,．，])[0-9０-９][0-9０-９,，.．]*(?:[万億兆][0-9０-９,，.．]*)*")
# Units MeCab does not call counters: 1,447[m], 39.3[℃].
_UNITS = frozenset({"m", "km", "cm", "mm", "kg", "g", "t", "℃", "°c", "%", "％", "ha", "mw", "kw"})
# What a Latin unit may go on with: 1万6500m[2] (an area), 300km[/h] (a speed).
_UNIT_TAIL = re.compile(r"(?:[23²³]|/(?:h|s|km2?|m2?))(?![0-9A-Za-z])")
# What a date may go on with and still be a date: 11世紀[半ば], 1960年代[後半], 2000年[頃], 2006年[秋].
_DATE_TAILS = re.compile(r"ごろ|頃|半ば|前半|後半|以降|以前|初頭|末|春|夏|秋|冬")


def _counted(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """Numbers with the counter MeCab names after them, where the pattern of ingest.facts knows
    none (1,300[ヶ所], 35,000[年]前, 55万[部], 1,447[m]); and dates with what makes them vaguer
    or a part of a period (1960年代後半, 2000年頃, 11世紀半ば)."""
    starts = {m.start: m for m in s.morphs}
    have = {(c.start, c.end) for c in found if c.kind in (DATE, QUANTITY)}  # a term so cut gives way to them
    dates = _Numbers(sorted((c.start, c.end) for c in found if c.kind == DATE))
    out = []
    for m in _NUMBER.finditer(s.text):
        unit = starts.get(m.end())
        # Units are matched whatever their case: 15,000[Km] (as "000Km", a term cut off the number)
        latin = unit is not None and unit.surface.lower() in _UNITS
        if unit is None or not ("助数詞" in unit.pos or latin) \
                or dates.cut_or_equal(m.start(), unit.end) or _holds(dates.spans, m.start(), unit.end):
            continue  # 2023年[10月] is a part of a date, not a number of months
        end = unit.end
        after = starts.get(end)
        if after is not None and after.surface in ("前", "後") and unit.surface in ("年", "世紀"):
            end = after.end  # 35,000年[前]: a time ago is said with its 前
        tail = _UNIT_TAIL.match(s.text, end) if latin else None
        end = tail.end() if tail else end
        if (m.start(), end) not in have:
            out.append(Candidate(m.start(), end, s.text[m.start():end], QUANTITY, unit.surface))
            if m.start() and s.text[m.start() - 1] == "第":  # 第[49条]: the article as the text says it
                out.append(Candidate(m.start() - 1, end, s.text[m.start() - 1:end], QUANTITY, unit.surface))
    for c in found:
        if c.kind == DATE and not c.sub:
            tail = _DATE_TAILS.match(s.text, c.end)
            if tail and (c.start, tail.end()) not in have:
                out.append(Candidate(c.start, tail.end(), s.text[c.start:tail.end()], DATE))
    return out


def _bracketed(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """What the source puts in 「」『』“”（）: a name it introduces, 「サルマート」."""
    out = []
    for m in _BRACKETS.finditer(s.text):
        g = next(i for i in range(1, 6) if m.group(i) is not None)
        inner = m.group(g).strip()
        if inner:
            start = m.start(g) + (len(m.group(g)) - len(m.group(g).lstrip()))
            out.append(Candidate(start, start + len(inner), inner, TERM))
    return out


def _compound_kind(text: str, start: int, end: int, run: list[Morpheme]) -> str | None:
    """What a noun compound names, by MeCab's parts of speech or its last characters;
    None for a bare number (三, 2): the quantities say those better."""
    span, kinds = text[start:end], [m.pos for m in run]
    if any("人名" in p for p in kinds) or (_KATAKANA.fullmatch(span) and text[end:end + 4].startswith(_PERSON_SUFFIX)):
        return PERSON
    if any("地名" in p for p in kinds) or span.endswith(_PLACE_SUFFIX):
        return PLACE
    if any("組織" in p for p in kinds) or span.endswith(_ORG_SUFFIX):
        return ORG
    if all(p.startswith("名詞-数詞") for p in kinds):
        return None
    return TERM


def _compound_nouns(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """Noun compounds (攻撃型原子力潜水艦), and the proper noun inside a longer one."""
    out = []
    for _, _, whole in s.runs:
        run = whole
        # Trim trailing honorifics: アラグチ氏 -> アラグチ (but keep 防衛隊, 司令官).
        while len(run) > 1 and run[-1].pos.startswith("接尾辞") and run[-1].surface in _HONORIFICS:
            run = run[:-1]
        start, end = run[0].start, run[-1].end
        kind = _compound_kind(s.text, start, end, run)
        if kind is None:
            continue
        out.append(Candidate(start, end, s.text[start:end], kind))
        # A compound that opens with a noun used as an adverb or a formal noun (結果1924年,
        # 後年マーラー, 当時オーストリア領, こと林家正吉) also offers what follows it.
        if len(run) > 1 and ("副詞可能" in run[0].pos or run[0].surface in FORMAL_NOUNS):
            rest = run[1:]
            kind = _compound_kind(s.text, rest[0].start, end, rest)
            if kind is not None:
                out.append(Candidate(rest[0].start, end, s.text[rest[0].start:end], kind))
        # A Latin name or symbol after a Japanese noun names it: 電気量[q] is cut too.
        tail = len(run)
        while tail > 1 and run[tail - 1].surface.isascii():
            tail -= 1
        if 0 < tail < len(run) and not run[tail - 1].surface.isascii():
            out.append(Candidate(run[tail].start, end, s.text[run[tail].start:end], TERM))
        out.extend(_proper_cores(s.text, run, start, end))
    return out


def _proper_kind(m: Morpheme) -> str | None:
    return PERSON if "人名" in m.pos else PLACE if "地名" in m.pos else ORG if "組織" in m.pos else None


def _proper_cores(text: str, run: list[Morpheme], start: int, end: int) -> list[Candidate]:
    """The proper-noun core of a longer compound, as a candidate of its own:
    イスラム革命防衛隊のソレイマニ司令官 -> ソレイマニ; a surname and given name together
    (「こぶ正」こと林家正吉 -> 林家正吉); a place with its suffix (東京都渋谷区 -> 渋谷区)."""
    out = []
    i = 0
    while i < len(run):
        kind = _proper_kind(run[i])
        if kind is None:
            i += 1
            continue
        j = i + 1
        while j < len(run) and _proper_kind(run[j]) == kind and run[j].start == run[j - 1].end:
            j += 1
        a, b = run[i].start, run[j - 1].end
        for k in range(i, j):
            if (run[k].start, run[k].end) != (start, end):
                out.append(Candidate(run[k].start, run[k].end, run[k].surface, kind, sub=True))
        if j - i > 1 and (a, b) != (start, end):
            out.append(Candidate(a, b, text[a:b], kind, sub=True))
        if j < len(run) and run[j].surface in _SUFFIX_NOUNS and (a, run[j].end) != (start, end):
            out.append(Candidate(a, run[j].end, text[a:run[j].end], kind, sub=True))
        i = j
    return out


# A katakana name with its dots and double hyphens: ブトロス・ブトロス＝ガーリ (＝ stopped the
# name at ブトロス・ブトロス, which was shown as the answer to 『平和への課題』を発表したのはだれ).
# A Latin initial between dots is part of the name too: レスター・B・ピアソン, ジョン・D・ロックフェラー.
_KATAKANA_NAME = re.compile(r"(?:[ァ-ヺー・＝=]|(?<=[・＝=])[A-Z]\.?(?=[・＝=]))+")
_NAME_JOINS = "・＝="


def _katakana_names(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """Katakana names MeCab splits (アラ+グチ) when a title follows them (アラグチ外相), and
    names across a dot or a double hyphen (ルチアーノ・ベリオ, ブトロス＝ガーリ): a person if a
    person was found inside."""
    persons = sorted((c.start, c.end) for c in found if c.kind == PERSON)
    run_end = {a: b for a, b, _ in s.runs}
    out = []
    for m in _KATAKANA_NAME.finditer(s.text):
        if len(m[0]) < 2:
            continue
        # Not the katakana tail of a longer noun: 軍縮・科学技術[センター]所長 is a title.
        after_kanji = m.start() > 0 and _KANJI_BEFORE.match(s.text[m.start() - 1]) is not None
        if s.text[m.end():m.end() + 4].startswith(_PERSON_SUFFIX) and not after_kanji:
            span = m[0].strip(_NAME_JOINS)
            start = m.start() + m[0].index(span)
            out.append(Candidate(start, start + len(span), span, PERSON))
        elif any(j in m[0].strip(_NAME_JOINS) for j in _NAME_JOINS):
            named = _holds(persons, m.start(), m.end())
            span = m[0].strip(_NAME_JOINS)
            start = m.start() + m[0].index(span)
            out.append(Candidate(start, start + len(span), span, PERSON if named else TERM))
            # The noun run that goes on after it is part of the term: マルクス・レーニン主義.
            # (A run that starts inside the name, レーニン主義, ends where this one does.)
            after = max((b for a, b in run_end.items() if start < a <= start + len(span) < b), default=None)
            if after is not None:
                out.append(Candidate(start, after, s.text[start:after], TERM))
    return out


# What joins two nouns of one noun phrase: 日米同盟[の]信頼性, 米国のウクライナ戦争[への]対応,
# 隕石[などの]衝突熱, 欧州[における]安定.
_NO_JOINERS = frozenset({"の", "への", "での", "との", "からの", "までの", "などの", "における", "に対する", "による",
                         "に関する", "にとっての"})
NO_PHRASE_RUNS = 3  # at most this many compounds in one の-phrase


def _no_phrases(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """Noun phrases of up to three compounds joined by の (日米同盟の信頼性の維持) or by a particle
    and の (米国のウクライナ戦争への対応). Places joined so name a place (カナダのケベック州,
    for どこ); any other phrase is a term."""
    runs, text, kinds, out = s.runs, s.text, s.kinds, []
    for i in range(len(runs) - 1):
        end = i
        while end + 1 < len(runs) and end - i < NO_PHRASE_RUNS - 1 \
                and text[runs[end][1]:runs[end + 1][0]] in _NO_JOINERS:
            end += 1
            a, b = runs[i][0], runs[end][1]
            kind = PLACE if all(k == PLACE for k in kinds[i:end + 1]) else TERM
            out.append(Candidate(a, b, text[a:b], kind, shape="chain"))
    return out


def _modified_nouns(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """A noun compound, or an の-phrase ending in one, with the adjective that modifies it:
    [高圧的な]態度 (a na-adjective and な), [新しい]技術 (an adjective), [量的・質的な]能力, or with a
    modifier written onto it (_bare_modifier: [人的]同君連合, [同じ]リズムの繰り返し). A place or an
    organisation keeps its kind: [新たな]国際機関 is still an organisation."""
    by_end = {m.end: k for k, m in enumerate(s.morphs)}
    out = []
    for head in found:
        if head.kind not in (TERM, PLACE, ORG) or head.sub or head.joined or head.shape not in ("", "chain"):
            continue
        k = by_end.get(head.start)
        if k is None:
            continue
        m = s.morphs[k]
        if m.pos.startswith("形容詞") or _bare_modifier(m):
            begin = m.start
        elif m.surface == "な" and k > 0 and s.morphs[k - 1].pos.startswith("形状詞"):
            begin = s.morphs[k - 1].start
            # 量的・質的な: adjectives listed with ・ share the な
            while k > 2 and s.morphs[k - 2].surface == "・" and s.morphs[k - 3].pos.startswith("形状詞"):
                k -= 2
                begin = s.morphs[k - 1].start
        elif m.surface == "な" and k > 1 and s.morphs[k - 1].pos.startswith("接尾辞-形状詞的") \
                and s.morphs[k - 2].end == s.morphs[k - 1].start:
            # 高圧+的+な: a noun made an adjective by 的; the noun compound before it opens the span
            begin = next((a for a, b, _ in s.runs if b == s.morphs[k - 2].end), s.morphs[k - 2].start)
        else:
            continue
        out.append(Candidate(begin, head.end, s.text[begin:head.end], head.kind, shape="modified"))
    return out


# Adnominals that describe (同じ, 大きな), not those that point (この, その, ある, いわゆる).
_POINTING = ("こ", "そ", "あ", "ど", "いわゆる", "我が", "わが")


def _bare_modifier(m: Morpheme) -> bool:
    """Whether a morpheme modifies the noun right after it with nothing between: a na-adjective
    written onto it ([人的]同君連合, [特別]区) or an adnominal that describes ([同じ]リズムの繰り返し,
    [大きな]空港). MeCab keeps 人的 and 特別 out of the noun run, so 同君連合 and 区 alone
    were offered for 君主が同じ人物である状態を何というか -> 人的同君連合."""
    if m.pos.startswith("形状詞"):
        return True
    return m.pos.startswith("連体詞") and not m.surface.startswith(_POINTING)


def _teki_compounds(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """Two noun compounds joined by 的 with no な between them, as one term: 絶対主義[的]天皇制,
    力学[的]エネルギー保存則, 地球化学[的]証拠. MeCab makes 的 a suffix of its own kind, so the
    noun runs stop at it and offered 天皇制 and 力学 alone for questions whose answer is the
    whole (32年テーゼで日本の支配構造の主柱とされたのは -> 絶対主義的天皇制)."""
    runs, text, out = s.runs, s.text, []
    for (a, b, _), (c, d, _) in itertools.pairwise(runs):
        if text[b:c] == "的":
            out.append(Candidate(a, d, text[a:d], TERM))
    return out


def _ordinals(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """Ordinal names, for 第何回 questions: 第10回党大会."""
    return [Candidate(m.start(), m.end(), m[0], TERM) for m in _ORDINAL.finditer(s.text)]


def _quoted_with_noun(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """A 「quoted」 term with the noun it names: 「軍備管理」アプローチ."""
    return [Candidate(m.start(), m.end(), m[0], TERM) for m in _QUOTED_WITH_NOUN.finditer(s.text)]


def _pairs(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """Two names of a kind side by side, for 誰と誰: シェーンベルクとツェムリンスキー."""
    whole = {c.start: c for c in found if not c.sub and c.kind in (PERSON, PLACE, ORG)}
    out = []
    for c in list(whole.values()):
        other = whole.get(c.end + 1)
        if other is not None and other.kind == c.kind and s.text[c.end] in "とや、・":
            out.append(Candidate(c.start, other.end, s.text[c.start:other.end], c.kind, joined=True))
    return out


# What makes a quantity a bound or an estimate: 18歳[以上], 200名[弱], 5km[程度], 50日[前後].
_QUANTITY_TAILS = re.compile(r"以上|以下|未満|弱|強|程度|前後|余り|あまり|近く|ほど|超")


def _bounds(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """A quantity (or a range of them) with the word after it that makes it a bound or an
    estimate, as a candidate beside the bare one (shape "tail"): 日本共産党の中央委員は計何名弱
    -> 200名弱; 梅雨の期間は -> 40日から50日前後. The source says which it is; the ranker
    weighs whether answers keep the tail."""
    out = []
    for c in found:
        if c.kind == QUANTITY and not c.sub:
            tail = _QUANTITY_TAILS.match(s.text, c.end)
            if tail is not None:
                out.append(Candidate(c.start, tail.end(), s.text[c.start:tail.end()], QUANTITY, c.counter,
                                     joined=c.joined, shape="tail"))
    return out


def _ranges(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """Two dates or quantities joined as a range: 1867年から1918年, 30 - 200℃."""
    numbers = {c.start: c for c in found if c.kind in (DATE, QUANTITY) and not c.sub}
    out = []
    for c in sorted(numbers.values(), key=lambda c: c.end):  # 第9位 and 9位 end together
        m = _RANGE_JOIN.match(s.text, c.end)
        other = numbers.get(m.end()) if m else None
        if other is not None and other.kind == c.kind:
            out.append(Candidate(c.start, other.end, s.text[c.start:other.end], c.kind, other.counter, joined=True))
    return out


# What joins the items of a list: 中央委員会[および]党大会, 台風[や]熱帯低気圧, 社会権[あるいは]生存権.
_LIST_JOINERS = frozenset({"や", "および", "及び", "ならびに", "並びに", "または", "又は", "あるいは",
                           "もしくは"})
LIST_ITEMS = 3  # at most this many nouns in one list candidate


def _joined_runs(s: _Sentence, joiners: frozenset[str], items: int, shape: str) -> list[Candidate]:
    """A candidate for each run of two to ``items`` nouns joined by one of ``joiners``; its kind
    is the items' when they share one, else a term."""
    runs, text, kinds, out = s.runs, s.text, s.kinds, []
    for i in range(len(runs) - 1):
        j = i
        while kinds[i] is not None and j + 1 < len(runs) and j - i < items - 1 \
                and text[runs[j][1]:runs[j + 1][0]] in joiners and kinds[j + 1] is not None:
            j += 1
            a, b = runs[i][0], runs[j][1]
            kind = kinds[i] if all(k == kinds[i] for k in kinds[i:j + 1]) else TERM
            out.append(Candidate(a, b, text[a:b], kind or TERM, joined=True, shape=shape))
    return out


def _lists(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """Nouns joined into a list (中央委員会および党大会, 台風や熱帯低気圧), two or three of them.
    (と, 、 and ・ join lists too, but as often clauses or a name's parts: _loose_lists offers
    those, marked for the ranker.)"""
    return _joined_runs(s, _LIST_JOINERS, LIST_ITEMS, shape="")


# と, 、 and ・ join lists as often as clauses or a name's parts, so their lists are marked
# (shape "list") for the ranker to weigh apart from those joined by や/および.
_LOOSE_JOINERS = frozenset({"と", "、", "・"})
LOOSE_ITEMS = 4


def _loose_lists(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """Nouns joined by と, 、 or ・: 海岸線と河川, 朝鮮、中国、台湾、樺太, 軍縮・科学技術センター所長
    (two to four of them)."""
    return _joined_runs(s, _LOOSE_JOINERS, LOOSE_ITEMS, shape="list")


# Latin names that hold an apostrophe, a slash, a hyphen or a colon: I'm Feeling Lucky,
# ISO/TS 16949, QS-9000. MeCab cuts them at the mark, and the noun runs gave m Feeling Lucky
# and TS 16949 as answers.
_LATIN_WORD = r"[A-Za-z0-9]+(?:['’/:&-][A-Za-z0-9]+)*"
_LATIN_NAME = re.compile(rf"(?<![A-Za-z0-9'’/:&-]){_LATIN_WORD}(?: {_LATIN_WORD})*(?![A-Za-z0-9])")
_LATIN_MARK = re.compile(r"[A-Za-z0-9]['’/:&-][A-Za-z0-9]")


def _latin_names(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """Runs of Latin words with a mark inside one of them (I'm Feeling Lucky, ISO/TS 16949)."""
    return [Candidate(m.start(), m.end(), m[0], TERM) for m in _LATIN_NAME.finditer(s.text)
            if _LATIN_MARK.search(m[0]) and any(ch.isalpha() for ch in m[0])]


ASIDE_REACH = 20  # characters of a bracketed aside kept with the noun before it


def _with_aside(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """A noun compound with the other name the source gives it in brackets (shape "aside"):
    非生物由来説（無機成因論）, 総合建設会社（ゼネコン）, 送り梅雨（おくりづゆ）. JSQuAD's answers
    keep the aside as often as they drop it; the compound alone is a candidate too."""
    text, out, seen = s.text, [], set()
    for c in found:
        if c.sub or c.kind in (DATE, QUANTITY) or (c.start, c.end) in seen:
            continue
        seen.add((c.start, c.end))
        close = _after_aside(text, c.end)
        inner = text[c.end + 1:close - 1]
        if close > c.end and len(inner) <= ASIDE_REACH and inner.strip() and not any(p in inner for p in "、。,"):
            out.append(Candidate(c.start, close, text[c.start:close], c.kind, shape="aside"))
    return out


def _trimmed(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """A noun compound without the suffix or adverbial noun that ends it (shape "trimmed"):
    [哲学]者, [ライネ川]沿い, [原油価格暴落]以来 and [GPS衛星]自身 also offer what comes before,
    which a question may ask for: 万物の根源を考察する学問を何というか on 哲学者によって… ->
    哲学. Suffixes that belong to a name (党, 県, 川: _SUFFIX_NOUNS) stay, and a common noun
    at the end is no suffix (カトリック信者 offers no カトリック here)."""
    out = []
    for a, _, run in s.runs:
        last = run[-1]
        if len(run) > 1 and last.surface not in _SUFFIX_NOUNS and (
                last.pos.startswith("接尾辞-名詞的") or "副詞可能" in last.pos):
            b = run[-2].end
            kind = _compound_kind(s.text, a, b, run[:-1])
            if kind is not None:
                out.append(Candidate(a, b, s.text[a:b], kind, shape="trimmed"))
    return out


# Kana a verb's continuative form ends with (送[り], 引き締[め]), which joins it to a noun.
_CONTINUATIVE = frozenset("いきぎしじちぢにひびぴみりえけげせぜてでねへべぺめれ")


def _verbal_compounds(s: _Sentence, found: list[Candidate]) -> list[Candidate]:
    """A noun compound a verb's continuative form opens or joins (shape "verbal"): [送り]梅雨,
    経済[引き締め]政策. MeCab makes 送り and 引き締め verbs, so the noun runs stopped at them and
    梅雨 and 政策 alone were offered (どのような政策を実施した -> 経済引き締め政策)."""
    starts = {a: (a, b) for a, b, _ in s.runs}
    ends = {b: (a, b) for a, b, _ in s.runs}
    out = []
    for m in s.morphs:
        if not m.pos.startswith("動詞") or m.surface == m.lemma or m.surface[-1] not in _CONTINUATIVE \
                or m.end not in starts:
            continue
        a = ends[m.start][0] if m.start in ends else m.start
        b = starts[m.end][1]
        out.append(Candidate(a, b, s.text[a:b], TERM, shape="verbal"))
    return out


_RANGE_JOIN = re.compile(r"\s*(?:から|より|-|－|–|～|〜|~)\s*")
_QUOTED_WITH_NOUN = re.compile(r"「[^「」]{1,30}」[ァ-ヺー一-龥]{1,8}")
# The extractors, in order: each sees what the ones before it found (katakana names look
# for persons inside, pairs join whole names). The order is also the candidates' order,
# which decides between equal scores.
EXTRACTORS: tuple[Callable[[_Sentence, list[Candidate]], list[Candidate]], ...] = (
    _dates_and_quantities, _bracketed, _compound_nouns, _katakana_names, _no_phrases, _modified_nouns,
    _teki_compounds, _ordinals, _quoted_with_noun, _pairs, _counted, _ranges, _bounds, _lists, _loose_lists,
    _latin_names, _trimmed, _verbal_compounds, _with_aside)


def candidates(text: str, morphs: Sequence[Morpheme]) -> list[Candidate]:
    """Spans of a clean sentence that could be a short answer, with their kinds (EXTRACTORS)."""
    runs = _compounds(morphs)
    sentence = _Sentence(text, morphs, runs, tuple(_compound_kind(text, a, b, run) for a, b, run in runs))
    found: list[Candidate] = []
    for extract in EXTRACTORS:
        found.extend(extract(sentence, found))
    # A term may hold a number (第8回党大会) but not cut one (約+2 of 約2,800人), nor be one
    # (1962年 is a date, not a term).
    numbers = _Numbers(sorted((c.start, c.end) for c in found if c.kind in (DATE, QUANTITY)))
    found = [c for c in found if c.kind != TERM or not numbers.cut_or_equal(c.start, c.end)]
    seen: set[tuple[int, int, str]] = set()
    unique = []
    for c in found:
        key = (c.start, c.end, c.kind)
        if key not in seen and c.text.strip():
            seen.add(key)
            unique.append(c)
    return unique


# How well a candidate's kind fits what is asked; a candidate that fits 0 is dropped.
# The ranker weighs "fit" with the other features, so these set an order, not a score:
FIT_SAME_KIND = 3.0  # いつ -> a date; 何発 -> a number of 発 (another counter fits 0)
FIT_CLOSE_KIND = 2.0  # a place or organisation for 何 / どこ (either answers どこ in Japanese)
FIT_PERSON_FOR_TERM = 1.5  # 何 may be answered by a name
FIT_STANDS_IN = 1.0  # 誰 -> 国連事務総長 (a role); "who provided …" -> an organisation
FIT_NUMBER_FOR_TERM = 0.5  # 何 answered by a date or number: possible, rarely right


def _fit(c: Candidate, asked: Asked, lang: str = "ja") -> float:
    if c.kind == asked.kind:
        if asked.kind == QUANTITY and asked.counter and not (c.counter and _same_counter(c.counter, asked.counter)):
            return 0.0
        return FIT_SAME_KIND
    if asked.loose and c.kind == TERM:
        return FIT_STANDS_IN  # 首都は -> ヴィエンチャン, a term to MeCab
    if asked.kind == TERM:
        return {PLACE: FIT_CLOSE_KIND, ORG: FIT_CLOSE_KIND, PERSON: FIT_PERSON_FOR_TERM,
                QUANTITY: FIT_NUMBER_FOR_TERM, DATE: FIT_NUMBER_FOR_TERM}.get(c.kind, 0.0)
    if {asked.kind, c.kind} == {PLACE, ORG} and (lang == "ja" or asked.kind == ORG):
        # どこ asks for either. English "where" asks for a place (not 第3回準備委員会), but
        # "which party" may get a "place": MeCab calls 日本共産党 one (日本 is one).
        return FIT_CLOSE_KIND
    if asked.kind == PERSON and lang == "ja" and c.kind == TERM and c.text.endswith(_ROLES):
        return FIT_STANDS_IN  # 誰が指揮するか -> 国連事務総長: a role names a person too
    if asked.kind == PERSON and lang != "ja" and (c.kind == ORG or (
            c.kind == TERM and c.text[:1].isascii() and c.text[:1].isupper() and " " in c.text)):
        return FIT_STANDS_IN  # "who provided the photo?" may be answered by an organisation
    if asked.kind == PERSON and lang != "ja" and c.kind in (TERM, PLACE) and not any(ch.isdigit() for ch in c.text):
        # English asks "who" where Japanese asks 何 or どこ: "Who issued the Draft Theses?"
        # -> コミンテルン, "Who are the indigenous people of Dominica?" -> カリブ族 (not a term
        # with a number: 2024年10月写真提供 for "Who provided the photo?").
        return FIT_NUMBER_FOR_TERM
    return 0.0


# A clause is searched for its 、 or 。 this far either side of a span: as far as a
# sentence is long (MAX_SENTENCE), so sentences see whole clauses, while a caption
# tens of thousands of characters long without a comma costs no more per candidate.
CLAUSE_REACH = 300


class _Positions:
    """A sentence's morphemes by position, so that every feature of a candidate looks
    only at the morphemes near it: with a scan of all of them per candidate, a 12,000
    character caption took 32 s (each step below is a bisection, then a short walk)."""

    def __init__(self, morphs: Sequence[Morpheme]) -> None:
        self.starts = [m.start for m in morphs]
        self.ends = [m.end for m in morphs]  # non-decreasing too: morphemes do not overlap
        self.tokens = [m.token() for m in morphs]
        self.pos = [m.pos for m in morphs]

    def within(self, start: int, end: int) -> list[str]:
        """Content tokens of the morphemes inside [start, end)."""
        i, j = bisect.bisect_left(self.starts, start), bisect.bisect_right(self.ends, end)
        return [t for t in self.tokens[i:max(i, j)] if t]

    def morphemes_within(self, start: int, end: int) -> list[tuple[int, int, str]]:
        """(start, end, token) of the morphemes inside [start, end), tokens '' for particles."""
        i, j = bisect.bisect_left(self.starts, start), bisect.bisect_right(self.ends, end)
        return list(zip(self.starts[i:j], self.ends[i:j], self.tokens[i:j], strict=True))

    def starting(self, start: int, end: int) -> list[str]:
        """Content tokens of the morphemes that start in [start, end)."""
        i, j = bisect.bisect_left(self.starts, start), bisect.bisect_left(self.starts, end)
        return [t for t in self.tokens[i:j] if t]

    def last_pos(self, end: int) -> str:
        """The part of speech of the morpheme that ends at ``end`` (a span's head), or ''."""
        i = bisect.bisect_left(self.ends, end)
        return self.pos[i] if i < len(self.ends) and self.ends[i] == end else ""

    def next_content(self, at: int) -> str:
        i = self.next_index(at)
        return self.tokens[i] if i >= 0 else ""

    def next_index(self, at: int) -> int:
        # The first content word after a span, skipping particles: 戦略核演習[を]実施 -> 実施.
        for i in range(bisect.bisect_left(self.starts, at), len(self.tokens)):
            if self.tokens[i] and self.tokens[i] not in _HONORIFICS:  # アラグチ[氏が]外相
                return i
        return -1

    def prev_content(self, at: int) -> str:
        for i in range(bisect.bisect_right(self.ends, at) - 1, -1, -1):
            if self.tokens[i]:
                return self.tokens[i]
        return ""


def _gap(anchor_starts: Sequence[int], anchor_ends: Sequence[int], start: int, end: int, default: int) -> int:
    """Characters between [start, end) and the nearest anchor (0 if one overlaps it)."""
    i = bisect.bisect_left(anchor_starts, end)  # anchors from i on start at or after the end
    j = bisect.bisect_right(anchor_ends, start)  # anchors before j end at or before the start
    if j < i:
        return 0  # an anchor between them overlaps the span
    gaps = ([anchor_starts[i] - end] if i < len(anchor_starts) else []) + ([start - anchor_ends[j - 1]] if j else [])
    return min(gaps, default=default)


# How a phrase candidate was built (Candidate.shape), each a feature: the ranker learns how
# often each shape answers.
SHAPES = ("chain", "modified", "list", "clause", "tail", "aside", "trimmed", "verbal")
# A 何 question's answer is any noun: where it sits weighs more than for いつ, where the
# kind alone nearly decides. These features get a second weight for term questions.
TERM_INTERACTIONS = ("log_length", "proximity", "particle_match", "in_slot", "slot_fill", "shared", "kind_match")
# Evidence only an English question through the bridge has (0 for a Japanese one, so the
# Japanese ranker never weighs them): see _english_features.
ENGLISH_FEATURES = ("en_instance", "en_next_term", "en_case_term")
# What is known about a candidate, by name. The ranker is a weighted sum of these:
# HEURISTIC holds hand-set weights, and retriever/short_ranker.json, when present, the
# weights learned on JSQuAD by benchmarks/train_short_ranker.py.
FEATURES = (
    "fit", "shared", "next_near", "prev_near", "after", "before", "naming", "sub", "heads",
    "abbreviation", "length", "log_length",
    "date", "person", "place", "organisation", "quantity", "term", "bracketed", "relpos",
    "gap", "no_chain", "ascii", "katakana", "morphs",
    "then_wa", "then_ga", "then_wo", "then_ni", "then_de", "then_to", "then_no", "then_mo",
    "then_punct", "then_copula", "after_no", "end_of_sentence",
    "kind_match", "number_for_term", "proper_for_term", "near_question_words", "clause_after", "clause_before",
    "joined", "asks_pair", "echo_before", "echo_after",
    "governor_after", "particle_match", "proximity", "outside", "topic_head", "topic_char", "formal",
    "hiragana", "naming_topic", "in_slot", "slot_fill", "echo_share",
    "lead_shared", "tail_shared", *(f"term_{k}" for k in TERM_INTERACTIONS), "fallback", "choice",
    *(f"shape_{k}" for k in SHAPES), *ENGLISH_FEATURES,
)
_INDEX = {name: i for i, name in enumerate(FEATURES)}
HEURISTIC = {"fit": 1.0, "shared": -1.0, "next_near": 1.5, "prev_near": 1.0, "after": 0.5, "before": 0.3,
             "naming": 1.5, "sub": -0.5, "heads": 2.0, "abbreviation": 2.0, "length": -0.02}
# Added to the learned weights for English questions through the bridge: a span whose words
# the question says again (echo_share: bridged, or names heard by their sound) is the question's,
# not the answer (chosen on the English JSQuAD dev set, a1: short EM 0.296 at 0, 0.324 at -3);
# the evidence only English has (ENGLISH_FEATURES); and the kind asked, which an English
# question's other evidence (no order, no particles of its own) leaves to weigh more; and the
# small clauses only English questions are offered (shape_clause, which the Japanese ranker never
# saw). All but echo_share were fitted on a1 alone (287 questions; softmax over each question's
# candidates, the learned Japanese weights fixed, L2 1 towards them): a1 short EM 0.369 -> 0.376,
# a2 (held out) 0.337 -> 0.347, the report's English questions (short answer holds a gold)
# 0.28 -> 0.52 (0.60 with Latin spans weighed by words and the small clauses).
# en_instance fires on 0.2% of a1's candidates, too few to weigh it (the fit leaves it near
# its prior, 0.91): it weighs as the Japanese ranker weighs its nearest evidence, a span that
# ends with the noun asked about (topic_head + topic_char, 1.99): a1 and a2 as they were, the
# report 0.56 -> 0.60 (「誰が核不拡散レジームをダメにしたのか」というナラティブ for "What narrative …").
ENGLISH = {"echo_share": -3.0, "en_instance": 2.0, "en_next_term": -0.38, "en_case_term": 0.56,
           "kind_match": -0.26, "fit": 0.35, "term": -0.2, "shape_clause": -0.49}
_THEN = {"は": "then_wa", "が": "then_ga", "を": "then_wo", "に": "then_ni", "で": "then_de", "と": "then_to",
         "の": "then_no", "も": "then_mo", "、": "then_punct", "。": "then_punct", "だ": "then_copula",
         "な": "then_copula"}


def weights(table: dict[str, float]) -> np.ndarray:
    """A ranker's weights in FEATURES order; features it does not name weigh nothing."""
    unknown = set(table) - set(FEATURES)
    if unknown:
        raise InputError(f"unknown short-answer features {sorted(unknown)}; known: {', '.join(FEATURES)}")
    return np.array([table.get(name, 0.0) for name in FEATURES])


@functools.cache
def rankers() -> dict[str, np.ndarray]:
    """Weights by question language, read on first use. The learned ranker saw only Japanese
    questions (JSQuAD). "bridged" (English through the index's bridge, see ranker_language)
    takes the learned weights with ENGLISH added; English without a bridge, whose words never
    occur in a Japanese sentence, keeps the hand-set weights."""
    path = Path(__file__).with_name("short_ranker.json")
    out = {"other": weights(HEURISTIC)}
    if path.exists():
        learned = json.loads(path.read_text(encoding="utf-8"))
        for lang in learned["languages"]:
            out[lang] = weights(learned["weights"])
        out["bridged"] = out["ja"] + weights(ENGLISH)
    return out


# Windows around a candidate, in characters of the sentence:
WORDS_WINDOW = 25  # "after"/"before": the question's words this close; about a clause of a report
TIGHT_WINDOW = 6  # "near_question_words": the two or three words touching the span
# "gap", the distance to the nearest question word, counts up to GAP_CAP characters (further
# is simply far), in tens, so that it ranges 0-4 like the word counts beside it.
GAP_CAP = 40
GAP_UNIT = 10
END_WINDOW = 6  # "end_of_sentence": no more than a predicate (…である。) after the span
FIT_NAMED_HEAD = 2.0  # 何国 -> 内陸国: the span ends with the noun the question puts after 何
_GRANULARITY_END = {"year": "年", "month": "月", "decade": "年代"}
_SYMBOL = re.compile(r"[A-Za-zα-ωΑ-Ω]")  # a letter that names a quantity: 電気量q
_PAIR = re.compile(r"誰と誰|どことどこ|何と何|二人|2人|両者|ふたり")


@dataclass(frozen=True)
class _Context:
    """What each candidate of one sentence is scored against, computed once per sentence."""

    q: Question
    text: str
    pos: _Positions
    # The question's words right before and after its wh-word point at the answer's
    # neighbours: 安保理決議2231は[いつ]終了するか -> …2025年10月18日に[終了]する.
    near_left: frozenset[str]
    near_right: frozenset[str]
    naming: bool
    abbreviation: bool
    pair: bool
    # Where the question's words sit in the sentence: an answer is usually close to them.
    anchor_starts: list[int]
    anchor_ends: list[int]
    anchor_tokens: list[str]
    roles: _Roles
    slot: tuple[int, int] | None  # where the wh-word falls in the sentence (_slot), in characters
    # Where an English question's names and numbers are said again in the sentence (english.echoed).
    echoes: frozenset[int] = frozenset()
    # The options a question names (choices), when the sentence says one: one of them is the answer.
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Roles:
    """What the words around a question's wh-word say about the answer's place in a sentence.

    北朝鮮は何を進めているか: the particle after the wh-word (を) is the one after the
    answer (戦術核開発を), and the verb it hangs on (進める, the governor) follows it.
    製造してる航空機は？ / 工場の名前は？: the noun the question is about (航空機, 工場)
    is the answer's head (フレンドシップ機, ルージュ工場)."""

    particle: str = ""
    governor: str = ""
    topic: str = ""
    # An English what/which question's words that describe the thing asked, in Japanese:
    # "What kind of nuclear weapons development …?" -> 核, 兵器, 開発. They are the answer's
    # own words (戦術核開発), not the question's echo.
    described: frozenset[str] = frozenset()


_WH_PARTICLES = ("から", "まで", "より", "を", "が", "に", "で", "と", "へ", "の", "は", "も")
_TOPIC_MARKERS = frozenset({"は", "とは", "って", "が", "も"})
_NAME_WORDS = frozenset({"名称", "名前", "名", "タイトル", "題名", "呼び名", "呼称", "正式名称"})
# Nouns that only hold a place in a clause (分かった[こと], [一部]に存在した): rarely an answer.
FORMAL_NOUNS = frozenset({"こと", "事", "もの", "物", "ため", "為", "よう", "ところ", "所", "一部", "自身", "場合",
                          "時", "際", "他", "ほか", "以上", "以下", "方", "ほう", "中", "上", "下", "前", "後", "頃",
                          "ごろ", "等", "など", "うち", "間", "たち", "それぞれ", "全て", "すべて", "一方"})


def _roles(q: Question) -> _Roles:
    """The wh-word's particle, governor and topic noun (see :class:`_Roles`)."""
    asked, nfkc = q.asked, q.nfkc
    rest = nfkc[asked.wh_end:] if asked.wh_end >= 0 else ""
    if asked.head and rest.startswith(asked.head):
        rest = rest[len(asked.head):]
    particle = next((p for p in _WH_PARTICLES if rest.startswith(p)), "")
    governor = next((m.token() for m in q.morphemes if m.start >= asked.wh_end and m.token() in q.content), "")
    before = [m for m in q.morphemes if m.end <= asked.wh_start and not m.pos.startswith("補助記号")]
    while before and (before[-1].surface in _TOPIC_MARKERS or before[-1].pos.startswith("助詞")):
        before.pop()
    if len(before) > 2 and before[-1].surface in _NAME_WORDS and before[-2].surface == "の":
        before = before[:-2]  # 工場の名前は -> 工場
    run: list[Morpheme] = []  # the noun compound right before: 航空+機 -> 航空機
    while before and before[-1].pos.startswith(("名詞", "接尾辞")) and (not run or before[-1].end == run[0].start):
        run.insert(0, before.pop())
    topic = nfkc[run[0].start:run[-1].end] if run else ""
    return _Roles(particle, governor, topic if topic not in _NAME_WORDS else "")


SLOT_MORPHEMES = 400  # longer sentences (captions, tables) are not aligned: the table is quadratic


def _unit(m: Morpheme) -> str:
    """What one morpheme is for aligning a question with a sentence: its token, or the
    particle itself (は, を: they place the wh-word), nothing for punctuation."""
    return m.token() or ("" if m.pos.startswith("補助記号") else m.surface)


def _slot(q: Question, morphs: Sequence[Morpheme]) -> tuple[int, int] | None:
    """The stretch of the sentence that the wh-word stands for, by aligning the question with
    the sentence (longest common subsequence of their morphemes): between the sentence's match
    of the last question word before the wh-word and that of the first one after it.
    北朝鮮は[何]を進めているか on 北朝鮮は戦術核開発を進めている: は ... を -> 戦術核開発.
    None when nothing aligns on either side."""
    asked = q.asked
    if asked.wh_start < 0 or not morphs or len(morphs) > SLOT_MORPHEMES:
        return None
    qs = [m for m in q.morphemes if _unit(m) and not (m.start >= asked.wh_start and m.end <= asked.wh_end)]
    a = [_unit(m) for m in qs]
    b = [_unit(m) for m in morphs]
    n, k = len(a), len(b)
    table = np.zeros((n + 1, k + 1), dtype=np.int32)
    for i in range(n - 1, -1, -1):
        row, below = table[i], table[i + 1]
        for j in range(k - 1, -1, -1):
            row[j] = below[j + 1] + 1 if a[i] and a[i] == b[j] else max(below[j], row[j + 1])
    left, right, i, j = -1, len(morphs), 0, 0
    while i < n and j < k:  # walk the alignment: pairs before the wh-word set left, after it right
        if a[i] and a[i] == b[j] and table[i, j] == table[i + 1, j + 1] + 1:
            if qs[i].end <= asked.wh_start:
                left = j
            elif right == len(morphs):
                right = j
            i, j = i + 1, j + 1
        elif table[i + 1, j] >= table[i, j + 1]:
            i += 1
        else:
            j += 1
    if left < 0 and right == len(morphs):
        return None
    start = morphs[left].end if left >= 0 else 0
    end = morphs[right].start if right < len(morphs) else morphs[-1].end
    return (start, end) if start < end else None


# "What new nuclear delivery system is China developing?": the words after what/which, up to
# the verb, name the kind of thing asked; the last of them is its head.
# "What kind of X", "which type of X": the kind asked is X.
_EN_KIND_OF = r"(?:(?:kinds?|types?|sorts?|forms?)\s+of\s+)?"
_EN_ASKED_NOUN = re.compile(r"\b(?:what|which)\s+" + _EN_KIND_OF + r"((?:[a-z][a-z-]*\s+){0,3}?[a-z][a-z-]*)\s+"
                            r"(?:is|are|was|were|did|does|do|has|have|had|can|could|will|would|should|may|might|"
                            r"of|in|on|for|that|to|from|by|with)\b", re.I)
_EN_COUNTED = re.compile(r"\bhow many\s+([a-z][a-z-]*)", re.I)  # the noun counted, or its first word
_EN_NEXT_WORD = re.compile(r"\b(?:what|which)\s+" + _EN_KIND_OF + r"([a-z][a-z-]*)\b", re.I)  # "Which party …"


def _english_roles(q: Question, text: str) -> _Roles:
    """The Japanese of the noun an English what/which question names, through the bridge:
    "Which party …?" -> 党, so that 日本共産党 ends with what is asked (topic_head, as 何党).
    Of the noun's Japanese, the first the sentence ``text`` holds: "What kind of nuclear
    weapons development …?" -> 発展 or 開発, and the sentence says 開発 (戦術核開発)."""
    if q.bridged is None:
        return _Roles()
    particle = _english_particle(q)
    m = _EN_ASKED_NOUN.search(q.nfkc) or _EN_NEXT_WORD.search(q.nfkc)
    counted = _EN_COUNTED.search(q.nfkc) if q.asked.kind == QUANTITY else None
    if m is None and counted is None:
        return _Roles(particle=particle)
    # "How many municipalities …" -> 市町村, the noun 52市町村 ends with (topic_head)
    head = counted[1].lower() if counted is not None else m[1].split()[-1].lower()  # type: ignore[index]
    phrase = set((counted[1] if counted is not None else m[1]).lower().split())  # type: ignore[index]
    described = frozenset(t for term in q.bridged if set(term.english.split()) <= phrase
                          for tokens, _ in term.alternatives for t in tokens)
    for term in q.bridged:
        if (head in term.english.split() if counted is not None else term.english.split()[-1] == head) \
                and term.alternatives:
            said = ["".join(tokens) for tokens, _ in term.alternatives]
            return _Roles(particle=particle, topic=next((t for t in said if t in text), said[0]), described=described)
    return _Roles(particle=particle, described=described)


_EN_AUX = frozenset({"do", "does", "did", "will", "would", "can", "could", "should", "shall", "may", "might", "must",
                     "has", "have", "had"})
_EN_BE = frozenset({"is", "are", "was", "were", "be", "been", "being"})
_EN_WH = re.compile(r"\b(?:what|which|who|whom)\b", re.I)


def _english_particle(q: Question) -> str:
    """The Japanese particle after the answer, from the English question's order: an
    auxiliary after the wh-phrase makes the wh-word the object ("What did Woese propose …?"
    -> 古細菌[を]提案), a verb right after it the subject ("What covers 61% of Laos?" ->
    二次林[が]占める); "" when the order says neither (a copula, a preposition)."""
    m = _EN_WH.search(q.nfkc)
    if m is None:
        return ""
    words = [w.lower() for w in re.findall(r"[A-Za-z'-]+", q.nfkc[m.end():])][:5]
    if words[:2] in (["kind", "of"], ["type", "of"], ["sort", "of"]):
        words = words[3:]
    for i, w in enumerate(words):
        if w in _EN_BE:
            return ""
        if w in _EN_AUX:
            return "が" if words[i + 1:i + 2] == ["been"] else "を"
        if i == 0 and re.fullmatch(r"[a-z]+(?:ed|es|s)", w) and q.asked.kind in (PERSON, TERM, ORG):
            return "が"
    return ""


def _context(q: Question, text: str, morphs: Sequence[Morpheme]) -> _Context:
    content, asked = q.content, q.asked
    left = [m.token() for m in q.morphemes if m.end <= asked.wh_start and m.token() in content]
    right = [m.token() for m in q.morphemes if m.start >= asked.wh_end and m.token() in content]
    if q.bridged is not None and asked.kind == PERSON:
        # An English question's words never occur in a Japanese sentence, their Japanese may;
        # English order is not Japanese, so for "who" each term's Japanese counts as the
        # wh-word's neighbour, the role word among them: "Who became Iran's foreign minister?"
        # -> 外相 after アラグチ(氏が), not ペゼシュキアン (氏が大統領).
        left, right = [], [t for term in q.bridged for tokens, _ in term.alternatives[:1] for t in tokens]
    pos = _Positions(morphs)
    echoes = echoed([w for w, _ in question_words(q.nfkc)], morphs) if q.bridged is not None else frozenset()
    # A name an English question says is one of its words in the sentence, heard or bridged:
    # "When did Putin say …?" on 2024年2月、[プーチン]大統領は… (Putin has no dictionary entry).
    anchors = [(a, b, t) for a, b, t in zip(pos.starts, pos.ends, pos.tokens, strict=True)
               if t and (t in content or a in echoes)]
    roles = _roles(q) if q.language == "ja" else _english_roles(q, text)
    if q.bridged is not None and asked.kind != PERSON:
        # For "what X", the Japanese of X is the answer's neighbour, as the words after 何 are:
        # "What system is China developing?" -> [極超音速滑空体]などの[システム]を開発.
        left, right = [], [roles.topic] if roles.topic else []
    return _Context(q, text, pos, frozenset(left[-2:]),
                    frozenset(right if q.bridged is not None and asked.kind == PERSON else right[:2]),
                    bool(_NAMING.search(q.nfkc)),
                    bool(_ABBREVIATION.search(q.nfkc)), bool(_PAIR.search(q.nfkc)),
                    [a for a, _, _ in anchors], [b for _, b, _ in anchors], [t for _, _, t in anchors],
                    roles,
                    _slot(q, morphs) if q.language == "ja" else None, echoes,
                    _present(choices(q), text))


COUNTED_NOUN = 3  # morphemes of the noun a number counts: 52[市町村], 3[年ごと]
_NUMERAL_START = frozenset("0123456789０１２３４５６７８９〇一二三四五六七八九十百千")  # not 京 of 京年, nor 数 of 数年


def counted_numbers(text: str, morphs: Sequence[Morpheme]) -> list[Candidate]:
    """A number with the noun it counts, whatever the noun, and fractions: for an English
    "how many X" or "how often" that names no counter Japanese has (COUNTERS).

    # 2025年3月末までに[52市町村]が区域を設定した   ("How many municipalities …?")
    # 日本は1997年から[3年ごと]に…サミットを開き      ("How often does Japan hold …?")
    # 補助率を現行の[2分の1]から[4分の3]へ引き上げる ("How far should subsidies go?")

    The counters of ``ingest.facts`` are a closed class: 市町村, 年ごと and 分の1 are not in
    it, so these questions had no candidate at all, and "asks for a quantity and the best
    sentence has none" abstained on sentences that hold the number. A number inside a date
    (2025年3月) is the date's."""
    dates = [(m.start(), m.end()) for m in _DATE.finditer(text)]
    out: list[Candidate] = []
    i = 0
    while i < len(morphs):
        m = morphs[i]
        before = morphs[i - 1] if i and morphs[i - 1].end == m.start else None
        if not m.pos.startswith("名詞-数詞") or m.surface[0] not in _NUMERAL_START or (before is not None and (
                before.pos.startswith("名詞-数詞") or before.surface == "第")):  # 第2次: an ordinal
            i += 1
            continue
        start = before.start if before is not None and before.surface in ("約", "およそ") else m.start
        j = i + 1
        while j < len(morphs) and morphs[j].start == morphs[j - 1].end and (
                morphs[j].pos.startswith("名詞-数詞") or morphs[j].surface in (",", ".", "，", "．")):
            j += 1
        k = _counted_end(morphs, j)
        if k > j and not any(a < morphs[k - 1].end and start < b for a, b in dates):
            end = morphs[k - 1].end
            out.append(Candidate(start, end, text[start:end], QUANTITY, text[morphs[j].start:end]))
        i = max(j, i + 1)
    return out


def small_clauses(text: str, morphs: Sequence[Morpheme], found: Sequence[Candidate]) -> list[Candidate]:
    """A noun phrase with the predicate it is the subject of, where the predicate is a noun
    that takes する or a na-adjective: an English "what" asks for an event or a state as
    often as for a thing.

    # 最大の懸念は、[日米間の政策の齟齬が拡大]することである ("What is the biggest concern?")
    # 批判として[選考基準が不明瞭]であることが挙げられる ("What criticism has been made?")
    """
    ends: dict[int, Candidate] = {}  # the longest phrase ending there (the first of equals)
    for c in found:
        if c.kind == TERM and not c.sub and len(c.text) > len(ends[c.end].text if c.end in ends else ""):
            ends[c.end] = c
    by_start = {m.start: k for k, m in enumerate(morphs)}
    out = []
    for end, c in ends.items():
        k = by_start.get(end)
        if k is None or morphs[k].surface != "が":
            continue
        j = k + 1 + (k + 1 < len(morphs) and morphs[k + 1].pos.startswith("接頭辞"))  # [不]明瞭
        if j + 1 >= len(morphs) or any(morphs[i].start != morphs[i - 1].end for i in range(k + 1, j + 2)):
            continue
        pred, after = morphs[j], morphs[j + 1]
        if ("サ変" in pred.pos and after.surface in ("する", "し", "さ")) or \
                (pred.pos.startswith("形状詞") and after.surface in ("で", "だ", "な")):
            out.append(Candidate(c.start, pred.end, text[c.start:pred.end], TERM, shape="clause"))
    return out


def _counted_end(morphs: Sequence[Morpheme], j: int) -> int:
    """Where the noun counted by the number that ends before morpheme ``j`` ends (``j``: none):
    a fraction's 分の + number (2分の1), else up to COUNTED_NOUN touching nouns and suffixes."""
    def touches(k: int) -> bool:
        return k < len(morphs) and morphs[k].start == morphs[k - 1].end

    if all(touches(k) for k in (j, j + 1, j + 2)) and morphs[j].surface == "分" \
            and morphs[j + 1].surface == "の" and morphs[j + 2].pos.startswith("名詞-数詞"):
        return j + 3
    k = j
    while k < j + COUNTED_NOUN and touches(k) and morphs[k].pos.startswith(("名詞", "接尾辞")) \
            and not morphs[k].pos.startswith(("名詞-数詞", "名詞-助動詞語幹")):
        k += 1
    return k


# A word a question offers as a choice: a noun compound or an の-phrase (梅雨の時期), perhaps
# with its inflection (落選した, 高い).
_OPTION = r"[一-龥々ァ-ヺーA-Za-z0-9・]+(?:の[一-龥々ァ-ヺー]+)?(?:した|する|い)?"
_CHOICES = (
    re.compile(rf"(?P<a>{_OPTION})か[、,]?(?P<b>{_OPTION})か[？?。]*$"),  # 赤字か黒字か
    re.compile(rf"(?P<a>{_OPTION})と(?P<b>{_OPTION}?)(?:のうち|では|で|の)?[、,]?(?:どちら|どっち)"),  # AとBどちら
    re.compile(rf"(?P<a>{_OPTION})ですか[？?](?P<b>{_OPTION})ですか"),  # 合法ですか？違法ですか？
    # サケとカラフトマス、夜間移動するのはどっち
    re.compile(rf"(?P<a>{_OPTION})と(?P<b>{_OPTION}?)(?:のうち|では|で)?[、,][^。？?]*(?:どちら|どっち)"),
)


def choices(q: Question) -> tuple[str, ...]:
    """The two options a Japanese question names, the answer being one of them, or ():
    オランダは対日貿易では赤字か黒字か -> (赤字, 黒字); 本当の夏が長いのは近畿地方と北陸地方
    どちらか -> (近畿地方, 北陸地方); 管理売春は合法ですか？違法ですか？ -> (合法, 違法)."""
    if q.language != "ja":
        return ()
    for pattern in _CHOICES:
        m = pattern.search(q.nfkc)
        if m is not None and m["a"] != m["b"]:
            return m["a"], m["b"]
    return ()


def _present(options: tuple[str, ...], text: str) -> tuple[str, ...]:
    """The options, if the sentence says one of them (else () : the sentence chooses none)."""
    return options if any(o in text for o in options) else ()


def _chosen(c: Candidate, options: Sequence[str]) -> bool:
    """Whether a candidate is one of the options, or the part of one that the other lacks:
    梅雨の時期と秋雨の時期ではどちら -> 秋雨 (not 時期, which both say)."""
    if c.text in options:
        return True
    inside = [o for o in options if c.text in o]
    return len(inside) == 1 and len(c.text) > 1


def _pool(ctx: _Context, morphs: Sequence[Morpheme]) -> list[Candidate]:
    """The sentence's candidates, and for 何内閣 the compounds cut after their head
    (吉田内閣 out of 吉田内閣打倒); compounds that open (or close) with the question's own
    words also offer the rest (南スーダンの首都は -> 首都ジュバ offers ジュバ). An English
    quantity question that names no counter also takes any counted number (counted_numbers)."""
    pool, head = candidates(ctx.text, morphs), ctx.q.asked.head
    # A named option, as the sentence says it (落選した is no noun): 赤字か黒字か -> 赤字
    spans = {(c.start, c.end) for c in pool}
    pool += [Candidate(m.start(), m.end(), m[0], TERM) for o in ctx.choices for m in re.finditer(re.escape(o), ctx.text)
             if m.span() not in spans]  # (an option the sentence does not say finds nothing)
    if ctx.q.language != "ja" and ctx.q.asked.kind == QUANTITY and ctx.q.asked.counter is None:
        spans = {(c.start, c.end) for c in pool if c.kind == QUANTITY}  # 52市町村 is also a noun compound
        pool += [c for c in counted_numbers(ctx.text, morphs) if (c.start, c.end) not in spans]
    if ctx.q.bridged is not None and ctx.q.asked.kind == TERM:
        pool += small_clauses(ctx.text, morphs, pool)
    if head:
        for c in list(pool):
            at = c.text.find(head)
            if at > 0 and at + len(head) < len(c.text):
                end = c.start + at + len(head)
                pool.append(Candidate(c.start, end, ctx.text[c.start:end], c.kind))
    seen = {(c.start, c.end) for c in pool}
    for c in list(pool):
        inside = ctx.pos.morphemes_within(c.start, c.end)
        k = 0
        while k < len(inside) - 1 and inside[k][2] and inside[k][2] in ctx.q.content:
            k += 1
        # … and what joined those words to the rest: 実現するため、[人工] (the question says
        # 実現するため), not 、人工.
        while 0 < k < len(inside) - 1 and not inside[k][2]:
            k += 1
        if k and (inside[k][0], c.end) not in seen:
            seen.add((inside[k][0], c.end))
            pool.append(Candidate(inside[k][0], c.end, ctx.text[inside[k][0]:c.end], c.kind, c.counter, sub=True))
        if c.kind in (DATE, QUANTITY):
            continue  # 5年間 is not 5 when the question says 年間
        # … and those that close with them: カラフトマスは主に[いつ]移動する -> 夜間移動 offers 夜間.
        j = len(inside)
        while j > 1 and inside[j - 1][2] and inside[j - 1][2] in ctx.q.content:
            j -= 1
        if j < len(inside) and inside[j - 1][2] and (c.start, inside[j - 1][1]) not in seen:  # not …の
            seen.add((c.start, inside[j - 1][1]))
            pool.append(Candidate(c.start, inside[j - 1][1], ctx.text[c.start:inside[j - 1][1]], c.kind, sub=True))
    return pool


def _admitted(c: Candidate, ctx: _Context) -> tuple[float, bool] | None:
    """(fit, whether it ends with the asked head) of a candidate that could answer, else None."""
    asked, text = ctx.q.asked, ctx.text
    if ctx.choices:  # the question names its options: one of them, though the question says it
        return (FIT_SAME_KIND, False) if _chosen(c, ctx.choices) else None
    fit = _fit(c, asked, ctx.q.language)
    heads = bool(asked.head and c.text.endswith(asked.head) and len(c.text) > len(asked.head))
    if heads:
        fit = max(fit, FIT_NAMED_HEAD)  # 何国 -> 内陸国, whatever MeCab calls it
    if fit <= 0 or (c.kind == DATE and c.sub and not asked.granularity):
        return None
    if asked.kind == PERSON and c.kind == TERM and ctx.q.language != "ja" and "サ変" in ctx.pos.last_pos(c.end):
        return None  # "Who awards the qualification?" is no 付与: an action names no one
    if c.kind == DATE and asked.granularity and not c.text.endswith(_GRANULARITY_END[asked.granularity]):
        return None  # 何年 asks for 1931年, not 1931年9月 (its year part is a candidate too)
    if asked.head and text.startswith(asked.head, c.end):
        return None  # 小笠原 of 小笠原気団 for 何気団: the answer includes its head
    if c.kind == QUANTITY and text[c.start - 1:c.start] == "第" and "第何" not in ctx.q.nfkc:
        return None  # 規律違反の処分は何条か -> 第49条, as the text says it; 49条 is a part (unless asked 第何条)
    cn = normalize(c.text)
    if not cn or cn in ctx.q.normalized:
        return None  # the question already says it
    if ctx.q.bridged is not None and _echo_share(c, ctx) == 1.0:
        return None  # an English question says it too, through the bridge (Laos -> ラオス) or by sound
    if c.kind == TERM and len(cn) < 2 and text[max(0, c.start - 1):c.start] not in ("「", "『") \
            and not _SYMBOL.fullmatch(c.text):
        return None  # 中, 性: one character is a fragment, not a term (but 「山」 is quoted as one)
    return fit, heads


def _echo_share(c: Candidate, ctx: _Context, head: bool = False) -> float:
    """Share of a candidate's words that an English question says (bridged, or a name by its
    sound, a number as written: english.echoed); 0 when it has none, or for a Japanese question."""
    inside = [(a, t) for a, _, t in ctx.pos.morphemes_within(c.start, c.end) if t]
    if not inside or ctx.q.bridged is None:
        return 0.0
    if _aliased(c, ctx):
        return 1.0
    # The noun asked about and the words that describe it are the answer's, not an echo: "What
    # kind of nuclear weapons development …?" -> 戦術核開発 says 核 and 開発 again, as asked.
    topic, described = (ctx.roles.topic, ctx.roles.described) if head else ("", frozenset())
    return sum((t in ctx.q.content or a in ctx.echoes) and not (topic and t in topic) and t not in described
               for a, t in inside) / len(inside)


def _said(ctx: _Context, start: int, end: int) -> bool:
    """Whether every word of the sentence in [start, end) is the question's (bridged or echoed)."""
    inside = [(a, t) for a, _, t in ctx.pos.morphemes_within(start, end) if t]
    return bool(inside) and all(t in ctx.q.content or a in ctx.echoes for a, t in inside)


def _aliased(c: Candidate, ctx: _Context) -> bool:
    """Whether a candidate is the other name of something the question says, given in brackets
    beside it: "Besides ICBM silos …?" on 大陸間弾道ミサイル（ICBM）のサイロ -> 大陸間弾道ミサイル
    is the question's ICBM, not an answer; and the other way round, （ICBM） after a term the
    question says."""
    text = ctx.text
    if _in_said_quote(c, ctx):
        return True
    if text[c.end:c.end + 1] in ("（", "("):
        close = _after_aside(text, c.end)
        if close > c.end and _said(ctx, c.end + 1, close - 1):
            return True
    if text[c.start - 1:c.start] in ("（", "(") and text[c.end:c.end + 1] in ("）", ")"):
        # the whole noun before the bracket, not its last word: 新戦略兵器削減条約（新START条約）
        # is no alias of "treaty", which says 条約 only
        pos, i = ctx.pos, bisect.bisect_left(ctx.pos.ends, c.start - 1)
        if i >= len(pos.ends) or pos.ends[i] != c.start - 1:
            return False
        begin = i
        while begin > 0 and pos.ends[begin - 1] == pos.starts[begin] and pos.pos[begin - 1].startswith(_NOMINAL):
            begin -= 1
        return pos.pos[i].startswith(_NOMINAL) and _said(ctx, pos.starts[begin], c.start - 1)
    return False


_NOMINAL = ("名詞", "接頭辞", "接尾辞")
_QUOTE = re.compile(r"「[^「」]{2,60}」")


def _in_said_quote(c: Candidate, ctx: _Context) -> bool:
    """Whether a candidate lies inside a quotation (not the whole of it) whose other words are
    mostly the question's: the question quotes it too, and asks about something else.
    # … the NDS2022 "win one war, deter another" assumption? on
    # 「[一つ]の主要戦争に勝利／もう一つを抑止」という想定 -> 一つ is the question's slogan, no answer"""
    for m in _QUOTE.finditer(ctx.text, max(0, c.start - 60), c.end + 60):
        inner = (m.start() + 1, m.end() - 1)
        if not (inner[0] <= c.start and c.end <= inner[1]) or (c.start, c.end) == inner:
            continue
        pos = ctx.pos
        i, j = bisect.bisect_left(pos.starts, inner[0]), bisect.bisect_right(pos.ends, inner[1])
        # its nouns and verbs, not its numbers (もう[一つ]) nor adverbs (もう)
        rest = [(pos.starts[k], pos.tokens[k]) for k in range(i, j) if pos.tokens[k]
                and pos.pos[k].startswith(("名詞", "動詞")) and not pos.pos[k].startswith("名詞-数詞")
                and not c.start <= pos.starts[k] < c.end]
        said = sum(t in ctx.q.content or a in ctx.echoes for a, t in rest)
        return len(rest) >= 2 and 2 * said >= len(rest)
    return False


def _kind_features(c: Candidate, fit: float, heads: bool, ctx: _Context) -> dict[str, float]:
    asked = ctx.q.asked
    return {"fit": fit, c.kind: 1.0, "heads": heads, "choice": bool(ctx.choices),
            "sub": c.sub,  # the part (a name in a compound, a year in a date) only when it fits better
            "joined": c.joined, "asks_pair": c.joined and ctx.pair, "kind_match": c.kind == asked.kind,
            **({f"shape_{c.shape}": 1.0} if c.shape else {}),
            "number_for_term": asked.kind == TERM and c.kind in (DATE, QUANTITY),
            "proper_for_term": asked.kind == TERM and c.kind in (PERSON, PLACE, ORG)}


LATIN_WORD = 3  # characters of a Japanese span that say about as much as one Latin word


def _length(c: Candidate, ctx: _Context) -> int:
    """A span's length in characters; for an English question a Latin span's in words, each
    as long as LATIN_WORD characters: "Who provided the photo?" -> Russian Defense Ministry
    Press Service (38 characters, 5 words) was ranked as a span as long as a sentence."""
    if ctx.q.bridged is None or not c.text.isascii():
        return len(c.text)
    return LATIN_WORD * len(c.text.split())


def _surface_features(c: Candidate, ctx: _Context) -> dict[str, float]:
    text = ctx.text
    opener = text[max(0, c.start - 1):c.start]
    length = _length(c, ctx)
    f = {"naming": ctx.naming and (text[max(0, c.start - 4):c.start].endswith(("という", "いわゆる", "呼ばれる"))
                                   or opener in ("「", "『", "“", "（")),
         "abbreviation": ctx.abbreviation and (
             re.fullmatch(r"[A-Z][A-Z0-9&.\-]{1,9}", c.text) is not None or opener in ("（", "(", "「")),
         "length": length,  # between equal fits, the tighter span
         "log_length": np.log1p(length),
         "bracketed": opener in ("「", "『", "“", "（", "("),
         "relpos": c.start / max(len(text), 1),
         "no_chain": "の" in c.text and c.kind == TERM,
         "ascii": c.text.isascii(),
         "katakana": _KATAKANA.fullmatch(c.text) is not None,
         "after_no": opener == "の",
         "end_of_sentence": len(text) - c.end <= END_WINDOW}
    then = text[c.end:c.end + 1]  # the particle after it: 2025年10月18日[に]
    if then in _THEN:
        f[_THEN[then]] = 1.0
    return f


def _question_word_features(c: Candidate, ctx: _Context) -> dict[str, float]:
    pos, words = ctx.pos, ctx.q.content
    inside = pos.within(c.start, c.end)
    nxt = pos.next_content(c.end)
    # ロシアが…宣言したのはいつか: the question's words within a few characters of the span
    near = pos.starting(c.start - TIGHT_WINDOW, c.start) + pos.starting(c.end, c.end + TIGHT_WINDOW)
    gap = _gap(ctx.anchor_starts, ctx.anchor_ends, c.start, c.end, len(ctx.text))
    # A span made only of the question's words is no answer; one that adds to
    # them is (戦略は何と呼ばれるか -> 最小報復戦略).
    return {"shared": sum(t in words for t in inside) / max(len(inside), 1),
            "echo_share": _echo_share(c, ctx, head=True),
            # いわゆる「two-peer」問題 answers 米国の問題は何と呼ばれるか: the noun the
            # question puts before its wh-word often follows the answer in the source.
            "next_near": nxt in ctx.near_right or nxt in ctx.near_left,
            "prev_near": pos.prev_content(c.start) in ctx.near_left,
            "after": len(words & set(pos.within(c.end, c.end + WORDS_WINDOW))),
            "before": len(words & set(pos.within(c.start - WORDS_WINDOW, c.start))),
            "gap": min(gap, GAP_CAP) / GAP_UNIT,
            "morphs": len(inside),
            "near_question_words": bool(set(near) & words),
            # 通称フーバーミッション for 通称は何: the question's word opening (or closing) a span
            # is the question's, not the answer's (フーバーミッション, also a candidate).
            "lead_shared": bool(inside) and len(inside) > 1 and inside[0] in words,
            "tail_shared": bool(inside) and len(inside) > 1 and inside[-1] in words}


def _clause_features(c: Candidate, ctx: _Context) -> dict[str, float]:
    # Japanese is head-final: a span belongs to the predicate after it, up to the next
    # comma. 2023年2月に[新START条約の履行停止を宣言]し、2024年2月には… answers …宣言したのはいつか.
    text, words = ctx.text, ctx.q.content
    reach, back = c.end + CLAUSE_REACH, max(0, c.start - CLAUSE_REACH)
    stop = min((i for i in (text.find("、", c.end, reach), text.find("。", c.end, reach)) if i >= 0),
               default=min(len(text), reach))
    begin = max(text.rfind("、", back, c.start), text.rfind("。", back, c.start), back - 1) + 1
    roles = ctx.roles
    after = set(ctx.pos.within(c.end, stop))
    return {"clause_after": len(words & after),
            "clause_before": len(words & set(ctx.pos.within(begin, c.start))),
            "governor_after": bool(roles.governor) and roles.governor in after,
            "echo_before": echo(ctx.q.nfkc, text, c.start, before=True),
            "echo_after": echo(ctx.q.nfkc, text, c.end, before=False)}


PROXIMITY_SCALE = 10.0  # characters: a question word this far from the span counts e^-1 of one touching it
PROXIMITY_REACH = 60  # further than this, a question word counts nothing


def _alignment_features(c: Candidate, ctx: _Context) -> dict[str, float]:
    """How the question lines up with the sentence around the span.

    The question is usually its sentence with the answer swapped for the wh-word:
    北朝鮮は[何]を進めているか against 北朝鮮は[戦術核開発]を進めている — the particle after
    the span is the wh-word's (を), and the question's words sit close around it. "proximity"
    sums, over the question's words, e^(-distance/10) to their nearest occurrence outside
    the span; "outside" is the share of the question's words the sentence holds outside the
    span (a span that takes the question's words leaves less of it matched)."""
    roles, text = ctx.roles, ctx.text
    starts, ends, tokens = ctx.anchor_starts, ctx.anchor_ends, ctx.anchor_tokens
    lo = bisect.bisect_left(starts, c.start - PROXIMITY_REACH)
    hi = bisect.bisect_right(starts, c.end + PROXIMITY_REACH)
    nearest: dict[str, int] = {}
    for a, b, t in zip(starts[lo:hi], ends[lo:hi], tokens[lo:hi], strict=True):
        if a >= c.start and b <= c.end:
            continue  # inside the span
        d = max(c.start - b, a - c.end, 0)
        nearest[t] = min(nearest.get(t, d), d)
    n = max(len(ctx.q.content), 1)
    outside = {t for a, b, t in zip(starts, ends, tokens, strict=True) if a < c.start or b > c.end}
    tail = c.text[-len(roles.topic):] if roles.topic else ""
    then = _after_aside(text, c.end)
    return {"particle_match": bool(roles.particle) and text.startswith(roles.particle, then),
            "proximity": sum(np.exp(-d / PROXIMITY_SCALE) for d in nearest.values()) / n,
            "outside": len(outside) / n,
            "topic_head": bool(tail) and tail == roles.topic and len(c.text) > len(tail),
            "topic_char": bool(roles.topic) and c.text[-1] == roles.topic[-1] and len(c.text) > 1
            and "\u4e00" <= c.text[-1] <= "\u9fff",
            "formal": c.text in FORMAL_NOUNS,
            "in_slot": ctx.slot is not None and ctx.slot[0] <= c.start and c.end <= ctx.slot[1],
            "slot_fill": len(c.text) / (ctx.slot[1] - ctx.slot[0])
            if ctx.slot is not None and ctx.slot[0] <= c.start and c.end <= ctx.slot[1] else 0.0,
            # A reading in brackets after its term, 応力（おうりょく、ストレス）, is no answer.
            "hiragana": _READING.fullmatch(c.text) is not None,
            # 「Xを何という」 is answered by the topic of a definition: [位置エネルギー]とは、…,
            # [同君連合]（どうくんれんごう）は、….
            "naming_topic": ctx.naming and text.startswith(("は", "とは"), then)}


# What introduces the general noun that an example is one of: 極超音速滑空体（HGV）[といった]新たな
# 核運搬システム, 「誰が…のか」[という]ナラティブ, NPT運用検討会議…[など]さまざまなマルチの場.
_INSTANCE = re.compile(r"[」』”]?[^、。「」]{0,24}?(?:という|といった|などの|など|のような|等の)([^、。]{0,16})")
_CASE = frozenset("をがにはへ")


def _english_features(c: Candidate, ctx: _Context) -> dict[str, float]:
    """What an English question's bridged words say about a candidate's place, where a
    Japanese question's order and particles (in_slot, particle_match) say it:

    - ``en_instance``: the candidate is an example of the noun the question asks about
      ("What new nuclear delivery system …?" -> 極超音速滑空体（HGV）といった新たな核運搬システム);
    - ``en_next_term``: the first content word after it is the question's (a verb it is the
      subject or object of: "What is China trying to hold in check …?" -> 米英豪の連携を[牽制]);
    - ``en_case_term``: the same, with a case particle between them (を, が, に, は, へ)."""
    text, topic, pos = ctx.text, ctx.roles.topic, ctx.pos
    then = _after_aside(text, c.end)
    m = _INSTANCE.match(text, then)
    i = pos.next_index(then)
    nxt = pos.tokens[i] if i >= 0 else ""
    next_term = bool(nxt) and nxt in ctx.q.content and nxt not in pos.within(c.start, c.end)
    # A verb, or a noun that takes する (牽制, 提起): what the case particle hangs on.
    verbal = i >= 0 and (pos.pos[i].startswith("動詞") or "サ変" in pos.pos[i])
    return {"en_instance": bool(topic) and m is not None and topic in m[1],
            "en_next_term": next_term,
            "en_case_term": next_term and verbal and text[then:then + 1] in _CASE}


def _after_aside(text: str, at: int) -> int:
    """Where the sentence goes on after a bracketed aside that starts at ``at`` (a reading,
    an English name: 応力（おうりょく、ストレス）とは), or ``at`` if none starts there."""
    if text[at:at + 1] in ("（", "("):
        close = text.find("）" if text[at] == "（" else ")", at + 1, at + 40)
        if close > 0:
            return close + 1
    return at


def echo(question: str, text: str, at: int, before: bool, slack: int = 2, most: int = 12) -> int:
    """The longest run of the question's characters that the sentence has just before (or after)
    ``at``, up to ``slack`` characters away. A question is often its sentence with the answer
    swapped for a wh-word: 日本で最も高い山は[何]か echoes 日本で最も高い山は[富士山]である,
    9 characters before the span; 富士山[は]日本で最も高い山 echoes 8 after it, one particle away."""
    near = text[max(0, at - slack - most):at] if before else text[at:at + slack + most]
    if set(near).isdisjoint(question):  # no run can echo (an English question, mostly): 33 look-ups spared
        return 0
    for n in range(most, 1, -1):
        for d in range(slack + 1):
            a = at - d - n if before else at + d
            if a >= 0 and a + n <= len(text) and text[a:a + n] in question:
                return n
    return 0


def _vectors(features: list[dict[str, float]]) -> np.ndarray:
    """Feature dicts as rows in FEATURES order, all at once; a name not in FEATURES is a bug."""
    for f in features:
        if not f.keys() <= _INDEX.keys():
            raise KeyError(f"short-answer features {sorted(f.keys() - _INDEX.keys())} are not in FEATURES")
    return np.array([[f.get(name, 0.0) for name in FEATURES] for f in features], dtype=np.float64)


def scored_candidates(q: Question, text: str, morphs: Sequence[Morpheme]) -> list[tuple[Candidate, np.ndarray]]:
    """The candidates of a sentence that fit what is asked, each with its feature vector.

    When a Japanese question asks for a fact the sentence has none of, any term may answer:
    クロマニョン人が…進出し始めたのは[いつ] -> 35,000年前 (no date the pattern knows),
    何人が…到来した -> ポルトガル人 (なにじん, not なんにん). Those candidates are ranked as
    for a 何 question and marked ``fallback``, for the confidence to read."""
    if q.asked.kind == DESCRIPTION:
        return []
    q = implied(q)
    scored = _scored(q, text, morphs)
    if scored or q.asked.kind not in FACT_KINDS or q.language != "ja":
        return scored
    as_term = replace(q, asked=replace(q.asked, kind=TERM, counter=None, granularity=None))
    scored = _scored(as_term, text, morphs)
    for _, x in scored:
        x[_INDEX["fallback"]] = 1.0
    return scored


# A Japanese question with no wh-word names what it asks for by the noun it ends with (a third
# of JSQuAD's questions: ヨーロッパを脱出した人物は, ルワンダ虐殺が行われた年は): the noun, and
# the kind it asks for. Nouns of one character must be the whole topic (日本人 is no 人).
_TOPIC_KINDS = (((("年",), ()), DATE), ((("人",), ("人物",)), PERSON),
                ((("国", "市"), ("首都", "都市", "場所", "地域")), PLACE),
                ((("党",), ("政党", "機関", "組織", "団体", "会社", "企業")), ORG))


def implied(q: Question) -> Question:
    """``q`` asking for the kind its last noun names, when it has no wh-word (see _TOPIC_KINDS):
    交響曲第2番が完成した年は -> a year (1894年, not 1894年9月), 首都は -> a place. The kind
    is the short answer's alone: retrieval and abstention read the question as asked (a term),
    and a sentence with nothing of the kind falls back to any term (scored_candidates)."""
    asked = q.asked
    if q.language != "ja" or asked.kind != TERM or asked.wh_start != len(q.nfkc):
        return q
    # 何 in hiragana is a wh-word too (MeCab reads it as 何): 気流を[なん]というか, 解析は[なに]か.
    wh = next((m for m in q.morphemes if m.surface in ("なに", "なん") and m.pos.startswith("代名詞")), None)
    if wh is not None:
        return replace(q, asked=replace(asked, wh_start=wh.start, wh_end=wh.end))
    topic = _roles(q).topic
    for (whole, ends), kind in _TOPIC_KINDS:
        if topic in whole or (topic.endswith(ends) if ends else False):
            # A year is a year (a sentence without one falls back to any term); a person, place
            # or organisation may be a term MeCab does not know as one (loose).
            return replace(q, asked=replace(asked, kind=kind, granularity="year" if kind == DATE else None,
                                            loose=kind != DATE))
    return q


def _scored(q: Question, text: str, morphs: Sequence[Morpheme]) -> list[tuple[Candidate, np.ndarray]]:
    ctx = _context(q, text, morphs)
    kept: list[Candidate] = []
    features: list[dict[str, float]] = []
    for c in _pool(ctx, morphs):
        admitted = _admitted(c, ctx)
        if admitted is None:
            continue
        kept.append(c)
        f = {**_kind_features(c, *admitted, ctx), **_surface_features(c, ctx), **_question_word_features(c, ctx),
             **_clause_features(c, ctx), **_alignment_features(c, ctx)}
        if ctx.q.asked.kind == TERM:
            f.update({f"term_{k}": f[k] for k in TERM_INTERACTIONS})
        if ctx.q.bridged is not None:
            f.update(_english_features(c, ctx))
        features.append(f)
    if not kept:
        return []
    return list(zip(kept, _vectors(features), strict=True))


def best_span(q: Question, text: str, morphs: Sequence[Morpheme],
              ranker: np.ndarray | None = None) -> tuple[Candidate, float] | None:
    """The best short-answer candidate of a sentence, or None when nothing fits."""
    scored = scored_candidates(q, text, morphs)
    return _best(scored, ranker_language(q), ranker) if scored else None


def _best(scored: list[tuple[Candidate, np.ndarray]], lang: str,
          ranker: np.ndarray | None = None) -> tuple[Candidate, float]:
    table = rankers()
    w = table.get(lang, table["other"]) if ranker is None else ranker
    scores = np.stack([x for _, x in scored]) @ w
    i = int(np.argmax(scores))  # the first of equals, as the candidates come
    return scored[i][0], float(scores[i])


def ranked(scored: Sequence[tuple[Candidate, np.ndarray]], lang: str,
           ranker: np.ndarray | None = None) -> list[tuple[Candidate, float, np.ndarray]]:
    """Candidates best first, each text once (its best-scored span), with score and features.

    The same text can come as two candidates (「核共有」 as a term and as a quoted term); as
    rivals they would make the best one look contested when it is not.
    """
    if not scored:
        return []
    table = rankers()
    w = table.get(lang, table["other"]) if ranker is None else ranker
    scores = np.stack([x for _, x in scored]) @ w
    out, seen = [], set()
    for i in np.argsort(-scores, kind="stable"):  # the first of equals, as the candidates come
        c, x = scored[int(i)]
        key = normalize(c.text)
        if key not in seen:
            seen.add(key)
            out.append((c, float(scores[i]), x))
    return out


def first_candidates(tokenizer: Tokenizer, q: Question, sentences: Sequence[str],
                     analysed: Callable[[str], Sequence[Morpheme]] | None = None,
                     ) -> tuple[int, list[tuple[Candidate, np.ndarray]]] | None:
    """The candidates of the first sentence that has any, with their features: (sentence index, candidates).
    ``analysed``: a sentence's MeCab morphemes (by default analysed with ``tokenizer`` here)."""
    if q.asked.kind == DESCRIPTION or (q.asked.kind == TERM and q.language != "ja" and q.bridged is None):
        # An English "what …" asks for a Japanese term that only the bridge aligns
        # across languages: without one, better no short answer than a guess.
        return None
    morphemes = analysed or functools.partial(analyse, tokenizer)
    for i, text in enumerate(sentences):
        scored = scored_candidates(q, text, morphemes(text))
        if scored:
            return i, scored
    return None


def short_answer(tokenizer: Tokenizer, q: Question, sentences: Sequence[str]) -> tuple[int, Candidate] | None:
    """The short answer in the first sentence that has one: (sentence index, span)."""
    found = first_candidates(tokenizer, q, sentences)
    if found is None:
        return None
    i, scored = found
    return i, _best(scored, ranker_language(q))[0]


def ranker_language(q: Question) -> str:
    """Whose weights rank a question's candidates. An English question through the bridge
    has Japanese content words (president -> 大統領), so the features read the same kind of
    evidence as for a Japanese one, and the weights learned on JSQuAD serve it better than
    the hand-set ones (English JSQuAD dev set: short EM 0.233 against 0.195), with ENGLISH
    added: what only an English question has, the names it says again (echo_share)."""
    return "bridged" if q.bridged is not None else q.language
