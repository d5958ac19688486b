"""Short answers: the exact span a question asks for, found offline in the answer sentence.

1. :func:`analyse_question` says what is asked — a date, a person, a place or
   organisation, a quantity (with its counter when the question names one:
   何発 -> 発), a name or term, or a description (なぜ, how) that has no short answer.
   Plain rules over the question's words.
2. :func:`candidates` lists the spans of a sentence that could be such an answer
   (dates, numbers with counters, 「」 terms, proper nouns from MeCab, noun compounds,
   katakana and Latin terms).
3. :func:`scored_candidates` keeps those that fit what is asked (and that the question
   does not already say) and describes each by named features: type fit, how close it
   sits to the question's words around the wh-word, the particle after it, its length…
   :func:`best_span` ranks them by a weighted sum. For Japanese questions the weights are
   learned on JSQuAD (``short_ranker.json``, written by benchmarks/train_short_ranker.py
   with figures from held-out articles); for English ones they are set by hand.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.clean import normalize
from ingest.errors import InputError
from ingest.facts import _COUNTERS
from ingest.facts import DATE as _DATE
from ingest.facts import QUANTITY as _QUANTITY
from ingest.tokens import Morpheme, Tokenizer, analyse

DATE, PERSON, PLACE, ORG, QUANTITY, TERM, DESCRIPTION = (
    "date", "person", "place", "organisation", "quantity", "term", "description")
FACT_KINDS = frozenset({DATE, PERSON, PLACE, ORG, QUANTITY})

# Japanese cues, tried in order; the first match decides.
_JA = [
    (DESCRIPTION,
     re.compile(r"なぜ|何故|どうして|理由|どのように|いかに|何のため|どういう意味|どう(?:なる|する|考え)")),
    (DATE, re.compile(r"いつ|何年(?!間)|何月|何日(?!間)|何年度|何時代|何世紀|どの時期|何年代")),
    (PERSON, re.compile(r"誰|だれ|何者|どの人物|どなた")),
    (PLACE, re.compile(r"どこ|どの国|何国|どの地域|どの都市|どこの国|何県|何市")),
    (ORG, re.compile(r"どの機関|どの組織|どの団体|どの企業|どの大学|どの会社|どの政党")),
    (QUANTITY, re.compile(r"いくつ|いくら|どれ(?:くらい|ほど|だけ)|どの(?:くらい|程度)|何(?:" + _COUNTERS + r")")),
    (TERM, re.compile(r"何|どの|どんな|どのような|名称|名前")),
]
# English cues.
_EN = [
    (QUANTITY, re.compile(r"\bhow (?:many|much|long|often|far|old|large|big)\b|\bwhat (?:\w+ )?(?:number|"
                          r"percentage|share|proportion|level|amount)\b", re.I)),
    (DESCRIPTION, re.compile(r"\bhow\b(?! (?:many|much|long|often|far|old|large|big)\b)|\bfor what reason\b|"
                             r"\bin what way\b|\bwhy\b", re.I)),
    (DATE, re.compile(r"\bwhen\b|\bwhat (?:year|date|month|day|time)\b|\bwhich (?:year|date|month)\b|\bsince when\b",
                      re.I)),
    (PERSON, re.compile(r"\bwho(?:m|se)?\b|\bwhich (?:person|official|leader)\b|\bby whom\b", re.I)),
    (PLACE, re.compile(r"\bwhere\b|\bwhich (?:country|countries|nation|city|region)\b|"
                       r"\bwhat (?:country|city|region)\b", re.I)),
    (ORG, re.compile(r"\b(?:which|what) (?:\w+ )?(?:organi[sz]ations?|agency|agencies|institutions?|forums?|"
                     r"bod(?:y|ies)|groups?|compan(?:y|ies)|parties|party)\b", re.I)),
    (TERM, re.compile(r"\bwhat\b|\bwhich\b|\bname\b|\bcalled\b", re.I)),
]
_ORDINAL_Q = re.compile(r"第何[回期次代条章位番号]*([一-龥ァ-ヺー]{0,6})")
_ORDINAL = re.compile(r"第[0-9０-９一二三四五六七八九十百]+[回期次代条章位番号]?[一-龥ァ-ヺー]{0,6}")
# 略称は / abbreviation: the answer is a short form (UNTAG, RKB), in capitals or in brackets.
_ABBREVIATION = re.compile(r"略称|略して|略語|頭文字|abbreviat|acronym", re.I)
# 何 followed by a noun names the answer's head: 何気団 -> 小笠原気団, 何国 -> 内陸国.
_HEAD = re.compile(r"何(?![とかをがのにでもへや])([一-龥ァ-ヺー]{1,4}?)(?:[をがはにでとのか？?。、]|という|と呼|$)")
_NAMING = re.compile(r"何と(?:呼|言|い)|何という|名称|名前|タイトル|題名|書名|曲名|called|named|\bname\b|title")
_JA_COUNTER = re.compile(r"何(" + _COUNTERS + r")")
# The counter Japanese uses for what an English "how many X" counts: a closed class.
_EN_COUNTERS = [(re.compile(p, re.I), c) for p, c in (
    (r"\bcountr(?:y|ies)|nations?\b", "か国"), (r"\b(?:people|persons?|members?|officials?|soldiers?)\b", "人"),
    (r"\btimes\b", "回"), (r"\b(?:warheads?|missiles?|rockets?|shells?)\b", "発"),
    (r"\b(?:silos?|reactors?|plants?|launchers?)\b", "基"), (r"\b(?:submarines?|ships?|vessels?|carriers?)\b", "隻"),
    (r"\b(?:aircraft|planes?|jets?|bombers?)\b", "機"), (r"\byears\b", "年間"), (r"\bpercent\b|%", "%"))]


@dataclass(frozen=True)
class Asked:
    """What a question asks for: ``kind``, the counter it names, and where its wh-word is."""

    kind: str
    counter: str | None = None
    wh_start: int = -1
    wh_end: int = -1
    head: str | None = None  # 何気団 -> 気団: the answer ends with it (小笠原気団)
    granularity: str | None = None  # 何年 -> year: 2010年, not 2010年9月4日


def _same_counter(a: str, b: str) -> bool:
    fold = {"カ国": "か国", "ヶ国": "か国", "箇国": "か国", "％": "%", "パーセント": "%", "ヶ月": "か月",
            "カ月": "か月", "種類": "種"}
    return fold.get(a, a) == fold.get(b, b)


def analyse_question(question: str, lang: str) -> Asked:
    """What is asked. Japanese cues first when the question has any Japanese."""
    q = unicodedata.normalize("NFKC", question)
    tables = [_EN] if lang == "en" else [_JA, _EN]
    for table in tables:
        hits = [(m.start(), order, kind, m) for order, (kind, pattern) in enumerate(table)
                if (m := pattern.search(q))]
        if table is _EN:
            # In English the leading wh-phrase decides: "What contingencies … when
            # coordinating …" asks for a term, not a date.
            hits.sort(key=lambda h: (h[0], h[1]))
        else:
            hits.sort(key=lambda h: h[1])
        for _, _, kind, m in hits[:1]:
            if m:
                counter = None
                if kind == QUANTITY and table is _JA:
                    c = _JA_COUNTER.search(q)
                    counter = c[1] if c else None
                elif kind == QUANTITY:
                    rest = q[m.end():m.end() + 40]
                    counter = next((c for p, c in _EN_COUNTERS if p.search(rest)), None)
                if kind == DATE and table is _JA and ("年間" in q or "日間" in q):
                    kind = QUANTITY
                ordinal = _ORDINAL_Q.search(q) if table is _JA else None
                if ordinal:  # 第何回党大会 asks for 第10回党大会, a name, not a count
                    return Asked(TERM, None, ordinal.start(), ordinal.end(), ordinal[1] or None)
                head = None
                if table is _JA and kind in (TERM, PLACE, ORG):
                    h = _HEAD.search(q)
                    head = h[1] if h else None
                granularity = None
                if kind == DATE:
                    granularity = "year" if re.search(r"何年(?!.{0,2}月)|what year|which year", q, re.I) \
                        else "month" if re.search(r"何月(?!.{0,2}日)", q) else None
                return Asked(kind, counter, m.start(), m.end(), head, granularity)
    # No wh-word: ラオスの首都は -> a term, and the question's last words sit next to it.
    return Asked(TERM if lang == "ja" else DESCRIPTION, None, len(q), len(q))


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


_BRACKETS = re.compile(r"「([^「」]{1,40})」|『([^『』]{1,40})』|“([^“”]{1,40})”|（([^（）]{1,30})）|\(([^()]{1,30})\)")
_KATAKANA = re.compile(r"[ァ-ヺー・]{2,}")
# Compounds ending like this name an organisation or a place: 国際原子力機関, 欧州連合, 沖縄県.
_ORG_SUFFIX = ("機関", "委員会", "会議", "省", "庁", "軍", "党", "大学", "協会", "連合", "機構", "政府", "議会",
               "銀行", "公社", "研究所", "センター", "防衛隊", "会社", "組合", "学会", "財団")
_PLACE_SUFFIX = ("県", "市", "州", "島", "町", "村", "郡", "地方", "半島", "大陸", "諸島")
_HONORIFICS = frozenset({"氏", "さん", "様", "君", "ら", "殿", "等"})
_PERSON_SUFFIX = ("氏", "さん", "大統領", "首相", "外相", "総書記", "司令官", "長官", "議長", "国王", "大臣", "主席",
                  "将軍", "博士", "教授", "代表", "所長")
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


def candidates(text: str, morphs: Sequence[Morpheme]) -> list[Candidate]:
    """Spans of a clean sentence that could be a short answer, with their kinds."""
    out: list[Candidate] = []
    dates: list[tuple[int, int]] = []
    for m in _DATE.finditer(text):
        out.append(Candidate(m.start(), m.end(), m[0], DATE))
        dates.append(m.span())
        # 2010年9月4日 also offers 2010年 and 2010年9月, for 何年 / 何月 questions.
        for part in re.finditer(r"年|月", m[0]):
            if m.start() + part.end() < m.end():
                out.append(Candidate(m.start(), m.start() + part.end(), m[0][:part.end()], DATE, sub=True))
    for m in _QUANTITY.finditer(text):
        if any(a <= m.start() and m.end() <= b for a, b in dates):
            continue
        out.append(Candidate(m.start(), m.end(), m[0], QUANTITY, m["counter"]))
    for m in _BRACKETS.finditer(text):
        g = next(i for i in range(1, 6) if m.group(i) is not None)
        inner = m.group(g).strip()
        if inner:
            s = m.start(g) + (len(m.group(g)) - len(m.group(g).lstrip()))
            out.append(Candidate(s, s + len(inner), inner, TERM))
    runs = _compounds(morphs)
    for start, end, run in runs:
        # Trim trailing honorifics: アラグチ氏 -> アラグチ (but keep 防衛隊, 司令官).
        while len(run) > 1 and run[-1].pos.startswith("接尾辞") and run[-1].surface in _HONORIFICS:
            run = run[:-1]
        start, end = run[0].start, run[-1].end
        span = text[start:end]
        kinds = [m.pos for m in run]
        after = text[end:end + 4]
        if any("人名" in p for p in kinds) or (_KATAKANA.fullmatch(span) and after.startswith(_PERSON_SUFFIX)):
            kind = PERSON
        elif any("地名" in p for p in kinds) or span.endswith(_PLACE_SUFFIX):
            kind = PLACE
        elif any("組織" in p for p in kinds) or span.endswith(_ORG_SUFFIX):
            kind = ORG
        elif all(p.startswith("名詞-数詞") for p in kinds):
            continue
        else:
            kind = TERM
        out.append(Candidate(start, end, span, kind))
        # The proper-noun core of a longer compound is a candidate of its own:
        # イスラム革命防衛隊のソレイマニ司令官 -> ソレイマニ.
        for core in run:
            proper = "人名" in core.pos or "地名" in core.pos or "組織" in core.pos
            if proper and (core.start, core.end) != (start, end):
                kind = PERSON if "人名" in core.pos else PLACE if "地名" in core.pos else ORG
                out.append(Candidate(core.start, core.end, core.surface, kind, sub=True))
    for m in _KATAKANA.finditer(text):  # MeCab splits unknown names: アラ+グチ
        if text[m.end():m.end() + 4].startswith(_PERSON_SUFFIX):
            out.append(Candidate(m.start(), m.end(), m[0], PERSON))
        elif "・" in m[0].strip("・"):  # ルチアーノ・ベリオ: a full name across the dot
            inner = [c.kind for c in out if m.start() <= c.start and c.end <= m.end()]
            span = m[0].strip("・")
            s = m.start() + m[0].index(span)
            out.append(Candidate(s, s + len(span), span, PERSON if PERSON in inner else TERM))
    # Noun phrases joined by の: 日米同盟の信頼性の維持.
    for i in range(len(runs) - 1):
        end = i
        while end + 1 < len(runs) and runs[end + 1][0] == runs[end][1] + 1 and text[runs[end][1]] == "の" \
                and end - i < 2:
            end += 1
            out.append(Candidate(runs[i][0], runs[end][1], text[runs[i][0]:runs[end][1]], TERM))
    for m in _ORDINAL.finditer(text):  # 第10回党大会
        out.append(Candidate(m.start(), m.end(), m[0], TERM))
    # A 「quoted」 term with the noun it names: 「軍備管理」アプローチ.
    for m in re.finditer(r"「[^「」]{1,30}」[ァ-ヺー一-龥]{1,8}", text):
        out.append(Candidate(m.start(), m.end(), m[0], TERM))
    # Two names of a kind side by side answer "who and who": シェーンベルクとツェムリンスキー.
    whole = {c.start: c for c in out if not c.sub and c.kind in (PERSON, PLACE, ORG)}
    for c in list(whole.values()):
        other = whole.get(c.end + 1)
        if other is not None and other.kind == c.kind and text[c.end] in "とや、・":
            out.append(Candidate(c.start, other.end, text[c.start:other.end], c.kind, joined=True))
    numeric = [(c.start, c.end) for c in out if c.kind in (DATE, QUANTITY)]
    # A term may hold a number (第8回党大会) but not cut one (約+2 of 約2,800人), nor be one
    # (1962年 is a date, not a term).
    out = [c for c in out if c.kind != TERM or not any(
        (a < c.end and c.start < b and not (c.start <= a and b <= c.end)) or (a, b) == (c.start, c.end)
        for a, b in numeric)]
    seen: set[tuple[int, int, str]] = set()
    unique = []
    for c in out:
        key = (c.start, c.end, c.kind)
        if key not in seen and c.text.strip():
            seen.add(key)
            unique.append(c)
    return unique


def _fit(c: Candidate, asked: Asked, lang: str = "ja") -> float:
    if c.kind == asked.kind:
        if asked.kind == QUANTITY and asked.counter and not (c.counter and _same_counter(c.counter, asked.counter)):
            return 0.0
        return 3.0
    if asked.kind == TERM:
        return {PLACE: 2.0, ORG: 2.0, PERSON: 1.5, QUANTITY: 0.5, DATE: 0.5}.get(c.kind, 0.0)
    if {asked.kind, c.kind} == {PLACE, ORG} and lang == "ja":
        return 2.0  # どこ asks for either; English "where"/"which organisation" are specific
    if asked.kind == PERSON and lang == "ja" and c.kind == TERM and c.text.endswith(_ROLES):
        return 1.0  # 誰が指揮するか -> 国連事務総長: a role names a person too
    if asked.kind == PERSON and lang != "ja" and (c.kind == ORG or (
            c.kind == TERM and c.text[:1].isascii() and c.text[:1].isupper() and " " in c.text)):
        return 1.0  # "who provided the photo?" may be answered by an organisation
    return 0.0


def _content(tokens: Iterable[str]) -> set[str]:
    return {t for t in tokens if t and t not in _QUESTION_WORDS}


# Words of the question that are about asking, not about the content.
_QUESTION_WORDS = frozenset([
    "何", "何時", "何処", "誰", "何故", "如何", "様", "何の", "幾", "幾つ", "居る", "為る", "成る",
    "言う", "呼ぶ", "有る", "在る", "此の", "其の", "か", "事", "物", "所", "よう", "思う", "考える",
    "述べる", "示す", "報告", "書", "論考", "本稿", "章",
    "where", "when", "who", "what", "which", "why", "how", "many", "much", "does", "do", "did",
    "is", "are", "was", "were", "the", "a", "an", "of", "in", "to", "for", "by", "on", "at",
])


def _window(morphs: Sequence[Morpheme], start: int, end: int, n: int) -> list[str]:
    """Content words within n characters either side of a span."""
    return [m.token() for m in morphs if (start - n <= m.start < start or end <= m.start < end + n) and m.token()]


def _next_content(morphs: Sequence[Morpheme], at: int) -> str:
    # The first content word after a span, skipping particles: 戦略核演習[を]実施 -> 実施.
    for m in morphs:
        if m.start >= at and m.token():
            return m.token()
    return ""


def _prev_content(morphs: Sequence[Morpheme], at: int) -> str:
    for m in reversed(morphs):
        if m.end <= at and m.token():
            return m.token()
    return ""


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
    "joined", "asks_pair",
)
_INDEX = {name: i for i, name in enumerate(FEATURES)}
HEURISTIC = {"fit": 1.0, "shared": -1.0, "next_near": 1.5, "prev_near": 1.0, "after": 0.5, "before": 0.3,
             "naming": 1.5, "sub": -0.5, "heads": 2.0, "abbreviation": 2.0, "length": -0.02}
_THEN = {"は": "then_wa", "が": "then_ga", "を": "then_wo", "に": "then_ni", "で": "then_de", "と": "then_to",
         "の": "then_no", "も": "then_mo", "、": "then_punct", "。": "then_punct", "だ": "then_copula",
         "な": "then_copula"}


def weights(table: dict[str, float]) -> np.ndarray:
    """A ranker's weights in FEATURES order; features it does not name weigh nothing."""
    unknown = set(table) - set(FEATURES)
    if unknown:
        raise InputError(f"unknown short-answer features {sorted(unknown)}; known: {', '.join(FEATURES)}")
    return np.array([table.get(name, 0.0) for name in FEATURES])


def _rankers() -> dict[str, np.ndarray]:
    """Weights by question language. The learned ranker saw only Japanese questions (JSQuAD):
    English ones, whose words never occur in the Japanese sentence, keep the hand-set weights."""
    path = Path(__file__).with_name("short_ranker.json")
    out = {"other": weights(HEURISTIC)}
    if path.exists():
        learned = json.loads(path.read_text(encoding="utf-8"))
        for lang in learned["languages"]:
            out[lang] = weights(learned["weights"])
    return out


RANKERS = _rankers()


def scored_candidates(question: str, asked: Asked, q_morphs: Sequence[Morpheme], text: str,
                      morphs: Sequence[Morpheme], lang: str = "ja") -> list[tuple[Candidate, np.ndarray]]:
    """The candidates of a sentence that fit what is asked, each with its feature vector."""
    if asked.kind == DESCRIPTION:
        return []
    qnorm = normalize(question)
    q_tokens = _content(m.token() for m in q_morphs)
    # The question's words right before and after its wh-word point at the answer's
    # neighbours: 安保理決議2231は[いつ]終了するか -> …2025年10月18日に[終了]する.
    left = [m.token() for m in q_morphs if m.end <= asked.wh_start and m.token() in q_tokens]
    right = [m.token() for m in q_morphs if m.start >= asked.wh_end and m.token() in q_tokens]
    near_left, near_right = set(left[-2:]), set(right[:2])
    naming = bool(_NAMING.search(question))
    abbreviation = bool(_ABBREVIATION.search(question))
    pair = bool(re.search(r"誰と誰|どことどこ|何と何|二人|2人|両者|ふたり", question))
    # Where the question's words sit in the sentence: an answer is usually close to them.
    anchors = [(m.start, m.end) for m in morphs if m.token() in q_tokens]
    out: list[tuple[Candidate, np.ndarray]] = []
    pool = candidates(text, morphs)
    if asked.head:  # 何内閣 -> 吉田内閣 out of 吉田内閣打倒: cut a compound after the head
        for c in list(pool):
            at = c.text.find(asked.head)
            if at > 0 and at + len(asked.head) < len(c.text):
                end = c.start + at + len(asked.head)
                pool.append(Candidate(c.start, end, text[c.start:end], c.kind))
    for c in pool:
        fit = _fit(c, asked, lang)
        heads = bool(asked.head and c.text.endswith(asked.head) and len(c.text) > len(asked.head))
        if heads:
            fit = max(fit, 2.0)  # 何国 -> 内陸国, whatever MeCab calls it
        if fit <= 0 or (c.kind == DATE and c.sub and not asked.granularity):
            continue
        if c.kind == DATE and asked.granularity and not c.text.endswith("年" if asked.granularity == "year" else "月"):
            continue  # 何年 asks for 1931年, not 1931年9月 (its year part is a candidate too)
        if asked.head and text.startswith(asked.head, c.end):
            continue  # 小笠原 of 小笠原気団 for 何気団: the answer includes its head
        cn = normalize(c.text)
        if not cn or cn in qnorm:
            continue  # the question already says it
        if c.kind == TERM and len(cn) < 2 and text[max(0, c.start - 1):c.start] not in ("「", "『"):
            continue  # 中, 性: one character is a fragment, not a term (but 「山」 is quoted as one)
        x = np.zeros(len(FEATURES))
        x[_INDEX["fit"]] = fit
        inside = [m for m in morphs if c.start <= m.start and m.end <= c.end and m.token()]
        # A span made only of the question's words is no answer; one that adds to
        # them is (戦略は何と呼ばれるか -> 最小報復戦略).
        x[_INDEX["shared"]] = sum(m.token() in q_tokens for m in inside) / max(len(inside), 1)
        nxt = _next_content(morphs, c.end)
        prv = _prev_content(morphs, c.start)
        # いわゆる「two-peer」問題 answers 米国の問題は何と呼ばれるか: the noun the
        # question puts before its wh-word often follows the answer in the source.
        x[_INDEX["next_near"]] = nxt in near_right or nxt in near_left
        x[_INDEX["prev_near"]] = prv in near_left
        after = {m.token() for m in morphs if c.end <= m.start and m.end <= c.end + 25}
        before = {m.token() for m in morphs if c.start - 25 <= m.start and m.end <= c.start}
        x[_INDEX["after"]] = len(q_tokens & after)
        x[_INDEX["before"]] = len(q_tokens & before)
        opener = text[max(0, c.start - 1):c.start]
        x[_INDEX["naming"]] = naming and (text[max(0, c.start - 4):c.start].endswith(("という", "いわゆる", "呼ばれる"))
                                         or opener in ("「", "『", "“", "（"))
        x[_INDEX["sub"]] = c.sub  # the part (a name in a compound, a year in a date) only when it fits better
        x[_INDEX["heads"]] = heads
        x[_INDEX["abbreviation"]] = abbreviation and (
            re.fullmatch(r"[A-Z][A-Z0-9&.\-]{1,9}", c.text) is not None or opener in ("（", "(", "「"))
        x[_INDEX["length"]] = len(c.text)  # between equal fits, the tighter span
        x[_INDEX["log_length"]] = np.log1p(len(c.text))
        x[_INDEX[c.kind]] = 1
        x[_INDEX["bracketed"]] = opener in ("「", "『", "“", "（", "(")
        x[_INDEX["relpos"]] = c.start / max(len(text), 1)
        gap = min((max(a - c.end, c.start - b, 0) for a, b in anchors), default=len(text))
        x[_INDEX["gap"]] = min(gap, 40) / 10
        x[_INDEX["no_chain"]] = "の" in c.text and c.kind == TERM
        x[_INDEX["ascii"]] = c.text.isascii()
        x[_INDEX["katakana"]] = _KATAKANA.fullmatch(c.text) is not None
        x[_INDEX["morphs"]] = len(inside)
        then = text[c.end:c.end + 1]
        if then in _THEN:
            x[_INDEX[_THEN[then]]] = 1
        x[_INDEX["after_no"]] = text[max(0, c.start - 1):c.start] == "の"
        x[_INDEX["end_of_sentence"]] = len(text) - c.end <= 6
        x[_INDEX["joined"]] = c.joined
        x[_INDEX["asks_pair"]] = c.joined and pair
        x[_INDEX["kind_match"]] = c.kind == asked.kind
        x[_INDEX["number_for_term"]] = asked.kind == TERM and c.kind in (DATE, QUANTITY)
        x[_INDEX["proper_for_term"]] = asked.kind == TERM and c.kind in (PERSON, PLACE, ORG)
        # ロシアが…宣言したのはいつか: the question's words within 6 characters of the span
        x[_INDEX["near_question_words"]] = bool(set(_window(morphs, c.start, c.end, 6)) & q_tokens)
        # Japanese is head-final: a span belongs to the predicate after it, up to the next
        # comma. 2023年2月に[新START条約の履行停止を宣言]し、2024年2月には… answers …宣言したのはいつか.
        stop = min((i for i in (text.find("、", c.end), text.find("。", c.end)) if i >= 0), default=len(text))
        begin = max(text.rfind("、", 0, c.start), text.rfind("。", 0, c.start)) + 1
        after = {m.token() for m in morphs if c.end <= m.start and m.end <= stop}
        before = {m.token() for m in morphs if begin <= m.start and m.end <= c.start}
        x[_INDEX["clause_after"]] = len(q_tokens & after)
        x[_INDEX["clause_before"]] = len(q_tokens & before)
        out.append((c, x))
    return out


def best_span(question: str, asked: Asked, q_morphs: Sequence[Morpheme], text: str,
              morphs: Sequence[Morpheme], lang: str = "ja",
              ranker: np.ndarray | None = None) -> tuple[Candidate, float] | None:
    """The best short-answer candidate of a sentence, or None when nothing fits."""
    scored = scored_candidates(question, asked, q_morphs, text, morphs, lang)
    return _best(scored, lang, ranker) if scored else None


def _best(scored: list[tuple[Candidate, np.ndarray]], lang: str,
          ranker: np.ndarray | None = None) -> tuple[Candidate, float]:
    w = RANKERS.get(lang, RANKERS["other"]) if ranker is None else ranker
    scores = np.stack([x for _, x in scored]) @ w
    i = int(np.argmax(scores))  # the first of equals, as the candidates come
    return scored[i][0], float(scores[i])


def first_candidates(tokenizer: Tokenizer, question: str, lang: str, sentences: Sequence[str],
                     asked: Asked) -> tuple[int, list[tuple[Candidate, np.ndarray]]] | None:
    """The candidates of the first sentence that has any, with their features: (sentence index, candidates)."""
    if asked.kind == DESCRIPTION or (asked.kind == TERM and lang != "ja"):
        # An English "what …" asks for a Japanese term the rules cannot align
        # across languages: better no short answer than a guess.
        return None
    question = unicodedata.normalize("NFKC", question)
    q_morphs = analyse(tokenizer, question)
    for i, text in enumerate(sentences):
        scored = scored_candidates(question, asked, q_morphs, text, analyse(tokenizer, text), lang)
        if scored:
            return i, scored
    return None


def short_answer(tokenizer: Tokenizer, question: str, lang: str, sentences: Sequence[str],
                 asked: Asked | None = None) -> tuple[int, Candidate] | None:
    """The short answer in the first sentence that has one: (sentence index, span)."""
    asked = asked or analyse_question(question, lang)
    found = first_candidates(tokenizer, question, lang, sentences, asked)
    if found is None:
        return None
    i, scored = found
    return i, _best(scored, lang)[0]
