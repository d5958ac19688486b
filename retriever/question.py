"""A question, analysed once into the record every later step reads.

    q = Question.of("安保理決議2231はいつ終了するか", tokenizer)
    q.language, q.tokens, q.asked.kind      # "ja", ("安保理", "決議", "2231", "いつ", "終了", ...), "date"

The analysis, in order:

1. NFKC (``nfkc``): the form MeCab reads, and the one every offset below indexes;
   ``normalized`` is the matching form of :func:`ingest.clean.normalize` (also no
   whitespace, lower case), for "does the question already say this span".
2. The language, by script (:mod:`retriever.language`).
3. MeCab, once: the morphemes (short answers read their parts of speech and offsets)
   and, from the same morphemes, the lexical tokens (BM25 and coverage) by the one token
   rule of :func:`ingest.tokens.lexical_token`, so a question's tokens are a passage's.
4. What it asks for (:class:`Asked`): a date, person, place, organisation, quantity
   (with its counter: 何発 -> 発), a term, or a description (なぜ, how) with no short answer.
5. Its intents: questions about the document itself (筆者は誰か, the photo) point to
   bylines and captions.
6. For an English question about a view rather than a fact, the kind of statement that
   answers it (``view``): a reason, a recommendation, a plan or an expectation, each said
   by cue words in Japanese prose (ため, べき, 進める, 見通し; :data:`VIEW_CUES`).

A later step that needs more evidence about the question adds a field here and fills it
once, rather than analysing the text again: an English question's words bridged to the
index's Japanese (``bridged``) need the index, so :meth:`retriever.Retriever.analyse` adds them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ingest.clean import normalize
from ingest.facts import COUNTERS
from ingest.tokens import Morpheme, analyse

from .language import detect_language

if TYPE_CHECKING:
    from ingest.tokens import Tokenizer

    from .english import BridgedTerm

DATE, PERSON, PLACE, ORG, QUANTITY, TERM, DESCRIPTION = (
    "date", "person", "place", "organisation", "quantity", "term", "description")
FACT_KINDS = frozenset({DATE, PERSON, PLACE, ORG, QUANTITY})

# Japanese cues, tried in order; the first match decides (なぜ before 何: 何故 is なぜ).
_JA = [
    (DESCRIPTION,
     re.compile(r"なぜ|何故|どうして|理由|どのように|いかに|何のため|どういう意味|どう(?:なる|する|考え)")),
    (DATE, re.compile(r"いつ|何年(?!間)|何月|何日(?!間)|何年度|何時代|何世紀|どの時期|何年代")),
    (PERSON, re.compile(r"誰|だれ|何者|どの人物|どなた")),
    (PLACE, re.compile(r"どこ|どの国|何国|どの地域|どの都市|どこの国|何県|何市")),
    (ORG, re.compile(r"どの機関|どの組織|どの団体|どの企業|どの大学|どの会社|どの政党")),
    (QUANTITY, re.compile(r"いくつ|いくら|どれ(?:くらい|ほど|だけ)|どの(?:くらい|程度)|何(?:" + COUNTERS + r")")),
    (TERM, re.compile(r"何|どの|どんな|どのような|名称|名前")),
]
# English cues; the one that starts first decides, and of two that start together the first
# in this table. "How much does X matter …" asks for a degree, not a number: a description.
# (Answered by 入漁料は政府の歳入の柱である, it abstained as "asks for a quantity and the
# best sentence has none".) "How much does it cost", "how much did they spend" are amounts.
_EN_DEGREE = re.compile(r"\bhow much (?:do|does|did|will|would|can|could|should|might|may)\b(?:\s+[\w'’-]+){1,8}?"
                        r"\s+(?:matter|affect|influence|depend|rely|help|hurt|contribute|care|benefit|shape|drive|"
                        r"worry|concern)\b", re.I)  # not weigh, change, improve: "how much did prices change" is 3%
_EN = [
    (DESCRIPTION, _EN_DEGREE),
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
_LATER_WH = re.compile(r"(?:は|が|を)(?:誰|だれ|何者|何|どこ|いつ)")
_SUBORDINATE = re.compile(r"(?:when|where|while|if|once|as|although|though)\b", re.I)
_ORDINAL_Q = re.compile(r"第何[回期次代条章位番号]*([一-龥ァ-ヺー]{0,6})")
# 何 followed by a noun names the answer's head: 何気団 -> 小笠原気団, 何国 -> 内陸国.
_HEAD = re.compile(r"何(?![とかをがのにでもへや])([一-龥ァ-ヺー]{1,4}?)(?:[をがはにでとのか？?。、]|という|と呼|$)")
_JA_COUNTER = re.compile(r"何(" + COUNTERS + r")")
# The counter Japanese uses for what an English "how many X" counts: a closed class.
_EN_COUNTERS = [(re.compile(p, re.I), c) for p, c in (
    (r"\bcountr(?:y|ies)|nations?\b", "か国"), (r"\b(?:people|persons?|members?|officials?|soldiers?)\b", "人"),
    (r"\btimes\b", "回"), (r"\b(?:warheads?|missiles?|rockets?|shells?)\b", "発"),
    (r"\b(?:silos?|reactors?|plants?|launchers?)\b", "基"), (r"\b(?:submarines?|ships?|vessels?|carriers?)\b", "隻"),
    (r"\b(?:aircraft|planes?|jets?|bombers?)\b", "機"), (r"\byears\b", "年間"), (r"\bpercent\b|%", "%"))]

# Words of a question that are about asking, not about the content: they are not
# evidence that a sentence answers it (lexical tokens, so 何時 and 居る are lemmas).
QUESTION_WORDS = frozenset([
    "何", "何時", "何処", "誰", "何故", "如何", "様", "何の", "幾", "幾つ", "居る", "為る", "成る",
    "言う", "呼ぶ", "有る", "在る", "此の", "其の", "か", "事", "物", "所", "よう", "思う", "考える",
    "述べる", "示す", "報告", "書", "論考", "本稿", "章",
    "where", "when", "who", "what", "which", "why", "how", "many", "much", "does", "do", "did",
    "is", "are", "was", "were", "the", "a", "an", "of", "in", "to", "for", "by", "on", "at",
])

# Questions about the document itself rather than its content (筆者は誰か, when
# was it written, what does the photo show) point to bylines and captions.
_INTENTS = {
    "byline": ("筆者", "著者", "執筆", "脱稿", "書いた", "書き手", "author", "wrote", "written", "writer"),
    "caption": ("写真", "画像", "キャプション", "photo", "picture", "image", "caption"),
}


@dataclass(frozen=True)
class Asked:
    """What a question asks for: ``kind``, the counter it names, and where its wh-word is."""

    kind: str
    counter: str | None = None
    wh_start: int = -1  # offsets into Question.nfkc
    wh_end: int = -1
    head: str | None = None  # 何気団 -> 気団: the answer ends with it (小笠原気団)
    granularity: str | None = None  # 何年 -> year: 2010年, not 2010年9月4日; 何年代 -> decade: 1990年代
    # The kind is only implied by the noun a question without a wh-word ends with (首都は -> a
    # place; retriever.short.implied), so a term may answer it too: ヴィエンチャン is no place to MeCab.
    loose: bool = False


@dataclass(frozen=True)
class Question:
    """One question, analysed once; see the module's docstring for each field's making."""

    text: str
    nfkc: str
    normalized: str
    language: str
    morphemes: tuple[Morpheme, ...]
    tokens: tuple[str, ...]
    content: frozenset[str]  # tokens that are not QUESTION_WORDS: what an answer should share
    asked: Asked
    intents: frozenset[str]
    # Content tokens that name what the question is about: names, numbers, katakana and Latin
    # words (オーストラリア, 1953, DNA); English ones are filled with ``bridged`` (budapest).
    anchors: frozenset[str] = frozenset()
    # English evidence, which needs an index: the retriever fills it (Retriever.analyse) from
    # the index's bridge — the question's terms with their Japanese equivalents
    # (president -> 大統領), and the BM25 weight of each Japanese token. None otherwise.
    bridged: tuple[BridgedTerm, ...] | None = None
    bridged_weights: dict[str, float] | None = None
    bridged_idf: dict[str, float] | None = None  # the idf of those tokens in the index's passages
    # The BM25 of ``bridged`` over the index's passages and over its units (english.term_scores),
    # worked out with the terms (Retriever.bridged).
    bridged_scores: tuple[np.ndarray, np.ndarray] | None = field(default=None, compare=False, repr=False)
    # The question's similarity to every unit and every passage by the index's second vector
    # (multilingual USE, for English questions on an index that has it), filled the same way.
    second_dense: tuple[np.ndarray, np.ndarray] | None = field(default=None, compare=False, repr=False)
    # reason, recommendation, plan or expectation (English questions; see VIEW_CUES), or reason
    # for a Japanese one (japanese_view)
    view: str | None = None

    @classmethod
    def of(cls, text: str, tokenizer: Tokenizer, language: str | None = None) -> Question:
        """Analyse ``text``; ``language`` overrides the detected one (a question set's ``lang``)."""
        nfkc = unicodedata.normalize("NFKC", text)
        lang = language or detect_language(text)
        morphemes = tuple(analyse(tokenizer, nfkc))
        tokens = tuple(t for t in (m.token() for m in morphemes) if t)
        content = frozenset(tokens) - QUESTION_WORDS
        asked = asked_for(nfkc, lang)
        return cls(text=text, nfkc=nfkc, normalized=normalize(text), language=lang, morphemes=morphemes,
                   tokens=tokens, content=content, asked=asked, intents=intents(text),
                   view=view_asked(nfkc) if lang == "en" else japanese_view(nfkc, asked) if lang == "ja" else None,
                   anchors=frozenset(t for m in morphemes if (t := m.token()) in content and is_anchor(m)))


# The author as the holder of a view asks about the content, not the byline: 筆者は何を主張
# しているか, "What does the author expect for US-China arms control?" (issue 15).
_OPINION = re.compile(r"考え|主張|述べ|指摘|期待|予想|予測|見通|提言|懸念|論じ|\b(?:expects?|thinks?|argues?|says?|"
                      r"believes?|proposes?|recommends?|suggests?|predicts?|warns?|considers?|fears?|calls? for)\b",
                      re.I)


# The statement a question about a view asks for, by its English wording; the first kind in
# this order that matches decides ("Why should Japan…" asks for a reason). The verbs of a cause
# are matched whole: "What drove prices up?" asks a reason, "What drivers of growth…" and "What
# pushback did the ministry face?" ask for things ("What prompts…" and "What triggers…", a verb
# or a plural noun, are still read as a reason).
_EN_VIEWS = [
    ("reason", re.compile(r"\bwhy\b|\bfor what reason\b|\breasons?\b|\bcaus(?:e|es|ed|ing)\b|\bexplains?\b|"
                          r"\b(?:meant|intended|designed|supposed) to\b|\bholding (?:\w+ ){0,3}back\b|"
                          r"\bslowing (?:\w+ ){0,3}down\b|\bbehind\b|\bmotivat|\bpurpose\b|\baims?\b|"
                          r"\bwhat (?:has |had |might |could )?(?:prompt(?:s|ed)?|drove|drives?|push(?:es|ed)?|"
                          r"trigger(?:s|ed)?|spark(?:s|ed)?|led)\b|"
                          r"\bfor what\b|(?<!famous )(?<!known )(?<!named )(?<!noted )\bfor\s*\?*\s*$", re.I)),
    # "What kind of subsidy does the author want…": what someone wants done is a proposal.
    ("recommendation", re.compile(r"\bshould\b|\brecommend|\bpropos|\badvi[sc]e|\bcalls? for\b|\bought to\b|"
                                  r"\bneeds? to\b|\bmust\b|\b(?:has|have) to\b|\b(?:do|does|would) (?:the )?\w+ want\b",
                                  re.I)),
    ("plan", re.compile(r"\bplans?\b|\bplanning\b|\bintends?\b|\bdoing\b|\bsteps?\b|\bmeasures?\b|"
                        r"\bapproach|\bstance\b|\bposture\b|\bposition (?:itself|themselves|yourself)\b|"
                        r"\bhow (?:will|does|do|is|are|did|can) (?:[\w’'-]+ ){0,5}?(?:get|make|deal|"
                        r"handle|respond|tackle|address|start|bring|use|reach|keep|cope|fill|support)\b", re.I)),
    ("expectation", re.compile(r"\bexpect|\bpredict|\bforecast|\boutlook\b|\bprospects?\b|\blikely\b|"
                               r"\bhow realistic\b|\bwill\b|\bfuture\b|\bin the (?:near|coming|next)\b", re.I)),
]
# How Japanese prose says each kind of statement: a reason (ため, ので, 理由), a recommendation
# (べき, 必要がある, and a proposal list's 〜こと。), a plan (進める, 目指す, 支援する), an
# expectation (見込み, 見通し, だろう, おそれ). "Why is the city moving to a seven-day
# stockpile?" is answered by 〜時間がかかることが…明らかになっています (the reason), not by
# 市の備蓄はこれまで3日分を基本としてきました, the sentence that shares its words.
VIEW_CUES = {
    "reason": re.compile(r"ため|ので|から(?:だ|です|である)|理由|原因|要因|背景|によって|により|ことから|せいで|妨げ"),
    "recommendation": re.compile(r"べき|必要(?:がある|があろう|だ|です|である)|求められ|望まれ|提言|"
                                 r"重要(?:だ|です|である)|こと[。]?$"),
    # A plan, or the stance an approach takes (姿勢, 立場: "What kind of approach to North Korea is
    # Washington expected to take?" -> …との姿勢を打ち出しており).
    "plan": re.compile(r"進め|目指|取り組|導入|支援|計画|予定|設け|拡充|始め|開始|方針|図る|強化|整備|"
                       r"姿勢|立場|路線|態度"),
    "expectation": re.compile(r"見込|見通|予想|予測|見られ|見てい|だろう|でしょう|可能性|おそれ|恐れ|推計|考えられ|"
                              r"と見る|ではないか"),
}


# A sentence that opens with a consequence (このため、そこで、これに応えるため) is the
# response to the sentence before it, and that sentence is its reason:
#   市の備蓄はこれまで3日分を基本としてきました。しかし、…物資が届くまでに時間がかかる…。
#   このため、2027年度までに備蓄を7日分へ引き上げます。
_CONSEQUENCE = re.compile(r"^(?:(?:この|その|これに応える|これを受けた|これらの)ため(?:に)?|そこで|したがって|"
                          r"このことから|これを踏まえ(?:て)?|こうした(?:ことから|状況を受けて))[、,]?")


# A reason stated outright: a sentence that closes on its cause (…を最も嫌うからである。
# …ためだ。), or names it (理由は, 背景には, 原因は). VIEW_CUES' reason also holds ため and
# により in the middle of a sentence (目的のための施策, 補助により), which say a purpose or a
# means as often as a cause: on the natural dev set's "why" questions a candidate with this
# cue held the gold span 33% of the time, one with only the wider cue 15%, one with neither 3%.
REASON_STATED = re.compile(r"(?:から|ため|ので|せい)(?:である|だ|です|でしょう|であろう)?[。」]?$|"
                           r"理由(?:は|として)|背景には|原因は|ためだ|からだ|ことが大きい|によるもの")


def states_reason(text: str) -> bool:
    """Whether a sentence states a reason outright (REASON_STATED), ignoring an opening このため."""
    opening = _CONSEQUENCE.match(text)
    return REASON_STATED.search(text[opening.end():] if opening else text) is not None


# A sentence that opens by taking up the one before it: a turn (しかし, ただし, むしろ), a
# consequence or response (このため, その結果, これに応えるため), a conclusion (したがって).
# It adds no topic of its own, so a question about the topic before it may be answered by it:
#   屋外の防災行政無線が…聞き取りにくいという声が多く寄せられています。
#   これに応えるため、避難情報をスマートフォンに直接届ける「しおみ防災アプリ」の配信を…始めます。
TAKES_UP = re.compile(r"^(?:しかし|ただし|だが|むしろ|そこで|ところが|したがって|つまり|すなわち|この(?:ため|結果)|"
                      r"その(?:ため|結果)|これに(?:応える|対し|より)|これを受け|こうした)")


def takes_up(text: str) -> bool:
    """Whether a sentence opens by taking up the sentence before it (TAKES_UP)."""
    return TAKES_UP.match(text) is not None


def states_view(view: str, text: str, next_text: str | None) -> bool:
    """Whether a sentence ``text`` (followed by ``next_text`` in its document, if any) makes
    the kind of statement ``view`` asks for: its cue words, or for a reason the sentence a
    consequence follows, for a plan or recommendation a sentence that opens with one."""
    opening = _CONSEQUENCE.match(text)
    body = text[opening.end():] if opening else text  # このため is no reason of its own sentence
    if VIEW_CUES[view].search(body):
        return True
    if view == "reason":
        return next_text is not None and _CONSEQUENCE.match(next_text) is not None
    return view in ("plan", "recommendation") and opening is not None


# A Japanese question that asks why: なぜ, 何故, どうして, …理由は/として. 原因は何か asks for the
# cause as a noun, which the sentence naming it answers (梅雨前線による豪雨の原因は？): no view.
_JA_REASON = re.compile(r"なぜ|何故|どうして|理由(?:は|を|として|に)")


def japanese_view(text: str, asked: Asked | None = None) -> str | None:
    """The view a Japanese question asks for: a reason (_JA_REASON), else None; when the question
    was analysed (``asked``), only if it asks for a description, not when なぜ stands in the clause
    about what is asked (「…なぜ顔を見せないのだろう?」とアルマに尋ねたのは誰 asks for a person)."""
    if asked is not None and asked.kind != DESCRIPTION:
        return None
    return "reason" if _JA_REASON.search(text) else None


def view_asked(text: str) -> str | None:
    """The kind of statement an English question about a view asks for (see VIEW_CUES), or None."""
    return next((kind for kind, pattern in _EN_VIEWS if pattern.search(text)), None)


# "Who issued this notice?", "When was this chapter finalised?": who or when of the text itself.
_ABOUT_THIS_TEXT = re.compile(r"\b(?:who|when|whom) (?:\w+ ){0,3}this (?:report|chapter|notice|paper|document|article|"
                              r"study|piece|analysis|commentary|memo|section|letter)\b", re.I)


_KATAKANA_WORD = re.compile(r"[ァ-ヺー・]{2,}")


def is_anchor(m: Morpheme) -> bool:
    """A name, number in digits, katakana or Latin word: オーストラリア, 1953, ラグビー, DNA. A
    question's other words (首都, 長い, 川) are found in some sentence of any large corpus;
    these say which sentence is about the thing asked. (Not 二 of 二重: a numeral in a word.)"""
    return (m.pos.startswith("名詞-固有名詞") or bool(_KATAKANA_WORD.fullmatch(m.surface))
            or (m.surface.isascii() and m.surface.isalnum()))


def anchor_runs(q: Question) -> list[tuple[str, ...]]:
    """The question's anchors as names: adjacent ones are one name, held only when all its parts
    are. # ラグビーワールドカップ -> (ラグビー, ワールド, カップ): ワールドカップ alone is in
    JSQuAD's Congo article, ラグビー nowhere."""
    runs: list[list[str]] = []
    last = -1
    for m in q.morphemes:
        t = m.token()
        if t in q.anchors:
            if last == m.start and runs:
                runs[-1].append(t)
            else:
                runs.append([t])
            last = m.end
        elif m.surface == "・" and last == m.start:
            last = m.end  # グスタフ・マーラー is one name
        elif t or m.pos.startswith("名詞"):
            last = -1
    return [tuple(dict.fromkeys(r)) for r in runs]


def intents(text: str) -> frozenset[str]:
    """The kinds of unit a question is about when it asks about the document itself."""
    q = text.lower()
    found = {kind for kind, words in _INTENTS.items() if any(w in q for w in words)}
    if _ABOUT_THIS_TEXT.search(text):
        found.add("byline")
    if _OPINION.search(text):
        found.discard("byline")
    return frozenset(found)


def asked_for(text: str, lang: str) -> Asked:
    """What is asked, from NFKC ``text``. Japanese cues first when the question has any Japanese."""
    for japanese in ((False,) if lang == "en" else (True, False)):
        cue = _first_cue(text, japanese)
        if cue is not None:
            return _asked(cue[0], cue[1], text, japanese)
    # No wh-word: ラオスの首都は -> a term, and the question's last words sit next to it.
    return Asked(TERM if lang == "ja" else DESCRIPTION, None, len(text), len(text))


def _first_cue(text: str, japanese: bool, start: int = 0) -> tuple[str, re.Match[str]] | None:
    table = _JA if japanese else _EN
    hits = [(m.start(), order, kind, m) for order, (kind, pattern) in enumerate(table)
            if (m := pattern.search(text, start))]
    if not hits:
        return None
    if not japanese and start == 0 and _SUBORDINATE.match(text):
        # "When X happens, how does Y move?": a leading when/where/if clause sets the scene;
        # the question is the first clause after it that asks anything ("When a case is
        # decided, what must the organisation, as a rule, give …?" asks what, not when).
        for cut in sorted(m.start() for m in re.finditer(r"[,;] ", text)):
            later = _first_cue(text, japanese, cut + 1)
            if later is not None:
                return later
    # In English the leading wh-phrase decides: "What contingencies … when coordinating …"
    # asks for a term, not a date. In Japanese the table's order does (なぜ … 何 is なぜ).
    _, _, kind, m = min(hits, key=(lambda h: h[1]) if japanese else (lambda h: (h[0], h[1])))
    if japanese and kind == DESCRIPTION:
        # なぜ or 理由 inside the clause that describes what is asked about is not the question:
        # 「…なぜ顔を見せないのだろう?」とアルマに尋ねたのは[誰], その理由について述べているのは[誰]か,
        # …との理由で設置されている防衛部隊の別称は[何]か. A wh-word after a particle, later in the
        # question, asks; 理由は何か (the particle right after the cue) still asks for the reason.
        wh = _LATER_WH.search(text, m.end() + 1)
        if wh is not None:
            return _first_cue(text, japanese, wh.start() + 1)
    return kind, m


def _asked(kind: str, m: re.Match[str], q: str, japanese: bool) -> Asked:
    """The details of a question whose cue ``m`` says it asks for ``kind``."""
    counter = None
    if kind == QUANTITY and japanese:
        c = _JA_COUNTER.search(q)
        counter = c[1] if c else None
    elif kind == QUANTITY and re.search(r"percent", m[0], re.I):
        counter = "%"  # "What percentage of the people…" asks for a share, not a number of 人
    elif kind == QUANTITY:
        rest = q[m.end():m.end() + 40]
        counter = next((c for p, c in _EN_COUNTERS if p.search(rest)), None)
    if kind == DATE and japanese and ("年間" in q or "日間" in q):
        kind = QUANTITY  # 何年間 asks for a length of time, not a year
    ordinal = _ORDINAL_Q.search(q) if japanese else None
    if ordinal:  # 第何回党大会 asks for 第10回党大会, a name, not a count
        return Asked(TERM, None, ordinal.start(), ordinal.end(), ordinal[1] or None)
    head = None
    if japanese and kind in (TERM, PLACE, ORG):
        h = _HEAD.search(q)
        head = h[1] if h else None
    granularity = None
    if kind == DATE:
        granularity = "decade" if re.search(r"何年代|what decade|which decade", q, re.I) \
            else "year" if re.search(r"何年(?!.{0,2}月)|what year|which year", q, re.I) \
            else "month" if re.search(r"何月(?!.{0,2}日)|(?:what|which) month", q, re.I) else None
    return Asked(kind, counter, m.start(), m.end(), head, granularity)
