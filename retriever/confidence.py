"""Calibrated confidence: the probability that an answer sentence, or a short answer, is right.

The rankers that pick the answer sentence and the short answer give scores whose size
means nothing on its own: a short-answer score of 3.1 is a sure date for one question
and a coin toss between two names for another. So kotae describes each pick by its
*evidence* — its score, its margin over the runner-up, its share of the candidates'
softmax, what kind of fact was asked, how well its sentence did — and maps that to a
probability (boosted trees, or a logistic model followed by an isotonic step), fitted on JSQuAD
validation with cross-validation by article (benchmarks/train_confidence.py, which writes
``confidence.json`` beside this module with the held-out figures and the threshold).

    context = short_context(ranked, 0, sentence, runners_up) | span_evidence(
        ranked[0][0], morphs, asked_heads(question), document, article)
    evidence = short_evidence(scores, 0, row, sentence_confidence, asked_kind, context)
    shipped_calibration().short.probability(evidence)   # -> 0.93

The same evidence functions serve kotae and the training script, so what was fitted is
what runs.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ingest.clean import normalize
from ingest.errors import IndexFileError
from ingest.tokens import Morpheme

from .short import FEATURES, Candidate

CALIBRATION_FILE = Path(__file__).with_name("confidence.json")

# The asked kinds of retriever.short, as evidence: a date question is answered right more
# often than a term question with the same ranker margin.
ASKED_KINDS = ("date", "person", "place", "organisation", "quantity", "term", "description")


def _relative(scores: np.ndarray, i: int) -> dict[str, float]:
    """Where candidate ``i`` stands among ``scores``: its gap to the best, its margin over
    the best of the others, its softmax share, and how many competed."""
    s = np.asarray(scores, dtype=float)
    others = np.delete(s, i)
    top = float(s.max())
    e = np.exp(s - top)
    return {"score": float(s[i]), "gap": float(s[i]) - top,
            "margin": min(float(s[i] - others.max()), MARGIN_CAP) if others.size else MARGIN_CAP,
            "share": float(e[i] / e.sum()), "top": float(s[i] >= top),
            "log_candidates": math.log(len(s))}


MARGIN_CAP = 10.0  # a lone candidate's margin: beyond any seen between two


def _asked(kind: str) -> dict[str, float]:
    return {f"asks_{k}": float(kind == k) for k in ASKED_KINDS}


def short_summary(ranked: Sequence[tuple[object, float, np.ndarray]]) -> dict[str, float]:
    """What a sentence's short-answer candidates (best first: candidate, score, features) say
    about the sentence. A sentence that answers the question usually offers a span that fits
    it and sits where the question's own words put it (its echo, retriever.short.echo)."""
    if not ranked:
        return {}
    scores = np.array([s for _, s, _ in ranked])
    first = dict(zip(FEATURES, ranked[0][2].tolist(), strict=True))
    top = _relative(scores, 0)
    return {"found": 1.0, "share": top["share"], "margin": top["margin"], "score": top["score"],
            "echo": max(first.get("echo_before", 0.0), first.get("echo_after", 0.0)), "fit": first.get("fit", 0.0),
            # How the question lines up around the span (retriever.short's alignment features):
            # a sentence the question rewords holds its words close around the answer.
            "proximity": first.get("proximity", 0.0), "outside": first.get("outside", 0.0),
            "particle_match": first.get("particle_match", 0.0)}


# Features of the answer sentence compared with the best of the other candidates (pick_lead).
LEAD_FEATURES = ("coverage", "echo", "echo_cover", "lexical", "dense_raw", "anchor_before", "anchor_after", "type")


def pick_lead(scores: np.ndarray, x: np.ndarray, names: Sequence[str], i: int, following: int) -> dict[str, float]:
    """How candidate ``i`` (row ``i`` of ``x``, features in ``names`` order) stands against the
    other candidates of its question, feature by feature (LEAD_FEATURES: its value less the best
    of the others'), and against the sentence after it (``following``: its row, -1 when that
    sentence did not compete). A pick that holds the question's words no better than another
    sentence is a guess between two, and a pick whose next sentence scores nearly as well often
    rewords the question and leaves the answer to that one:

    # 梅雨の期間中ほとんど雨が降らない場合を何と呼ぶ？ (gold: 空梅雨)
    # 梅雨の期間中ほとんど雨が降らない場合がある。 (the pick: it rewords the question)
    # このような梅雨のことを空梅雨（からつゆ）という。 (the next sentence, ranked second: the answer)
    """
    others = np.delete(x, i, axis=0)
    out = {}
    for name in LEAD_FEATURES:
        j = list(names).index(name)
        out[f"lead_{name}"] = float(x[i, j] - others[:, j].max()) if len(others) else float(x[i, j])
    order = np.argsort(-np.asarray(scores), kind="stable")
    out["next_gap"] = float(scores[following] - scores[i]) if following >= 0 else -MARGIN_CAP
    out["next_second"] = float(len(order) > 1 and following >= 0 and int(order[1]) == following)
    return out


# A title this short names what its document is about (JSQuAD's オランダ, ドミニカ国); a
# longer one describes the document (汐見市　地域防災計画の見直しについて…) and names no one
# thing a question could ask for. JSQuAD's 59 titles are 2 to 12 characters long.
TOPIC_MAX = 12
# topic_elsewhere when no title names a topic (a report's long title, or none). Every JSQuAD
# title names one, so the picks' trees never saw this value: such a pick is scored by trees
# fitted without topic_elsewhere (Calibration.untitled). Read as "the topic is in the pick", it
# made the natural dev set's Japanese answers marked confident 60 right of 66 where the
# calibrator before it had 33 of 33; fitting the trees on a copy of each pick with the topic
# unknown as well cost JSQuAD's held-out share marked confident 0.711 -> 0.690.
TOPIC_UNKNOWN = -1.0


def names_topic(title: str | None) -> bool:
    """Whether a document's title is short enough to name its topic (TOPIC_MAX)."""
    return 0 < len(normalize(title or "")) <= TOPIC_MAX


# Words that point back to something named before the sentence: the document's topic (同国,
# この国), a person (彼女は), a thing (これは). A sentence that rewords the question with one of
# them where the answer should stand names the answer elsewhere:
#   旧イギリス植民地であり、現在はイギリス連邦の一員である国は？ (gold: ドミニカ国)
#   同国は旧イギリス植民地であり、現在はイギリス連邦の一員である。 (the pick: 同国 is the answer)
BACK_REFERENCE = re.compile(
    r"同(?:国|社|市|町|村|県|州|島|氏|局|党|紙|誌|校|館|園|地|船|機|艦|曲|作|書|軍|団|店|線|駅|川|山|湖|港|寺|城"
    r"|家|人|会|部|省|庁|法|条約|番組|大学|チーム|グループ)"
    r"|(?:この|その|本|当)(?:国|地|町|市|島|人物|会社|社|作品|曲|番組|法律|制度|湖|川|山|寺|城|都市|地域|鳥|魚|種"
    r"|病気|言語)"
    r"|これ(?:は|が|を|ら)|それ(?:は|が|を|ら)|彼(?:女)?(?:は|が|の|を|に)")


def topic_evidence(title: str | None, sentence: str, question: str) -> dict[str, float]:
    """Whether a sentence leaves the answer to what was named before it (each 1.0 or 0.0):

    - ``topic_elsewhere``: 1.0 when its document's title is short enough to name a topic
      (TOPIC_MAX) and neither the sentence nor the question holds it, 0.0 when one does, and
      TOPIC_UNKNOWN when no title names a topic. JSQuAD often asks for the article's topic
      with a question that rewords one sentence of it, and that sentence says 同国 or nothing
      at all (of the picks that held no gold answer on the dev folds, a third had it in the
      title):
      # ソフトドラッグの販売・所持・使用が合法化されている国は (article オランダ, gold オランダ)
      # 大麻等ソフトドラッグの販売・所持・使用、…が合法化されている。 (the pick)
    - ``back_reference``: it holds a word pointing back (BACK_REFERENCE) that the question
      does not hold.
    """
    text, asked = normalize(sentence), normalize(question)
    topic = normalize(title or "")
    back = float(any(m.group(0) not in question for m in BACK_REFERENCE.finditer(sentence)))
    if not names_topic(title):
        return {"topic_elsewhere": TOPIC_UNKNOWN, "back_reference": back}
    return {"topic_elsewhere": float(topic not in text and topic not in asked), "back_reference": back}


def sentence_evidence(scores: np.ndarray, i: int, row: Mapping[str, float], coverage: float,
                      asked_kind: str, short: Mapping[str, float] | None = None,
                      lead: Mapping[str, float] | None = None,
                      topic: Mapping[str, float] | None = None) -> dict[str, float]:
    """Evidence that candidate sentence ``i`` holds the answer.

    ``scores`` are all candidate sentences' ranker scores, ``row`` sentence ``i``'s named
    features (retriever.retriever.SENTENCE_FEATURES), ``coverage`` the share of the
    question's content words it holds (1.0 for questions other than Japanese), ``short``
    what its short-answer candidates say (short_summary), when they were looked for, ``lead``
    how it stands against the other candidates (pick_lead), when known, ``topic`` whether it
    leaves the answer to what was named before it (topic_evidence).
    """
    out = _relative(scores, i)
    # The ranker's score counts from its mean over the question's candidates: the score itself
    # carries an offset that moves with the ranker's weights (0.05 more on dense_raw, which is
    # about 0.85 for every sentence, adds 0.04 to all of them and changes no pick), so a
    # calibrator fitted on the scores of the rankers that did not see one fold misreads those
    # of the ranker that did not see another (benchmarks/train_confidence.py).
    out["score_centred"] = out.pop("score") - float(np.mean(scores))
    out.update({f"sentence_{k}": float(v) for k, v in row.items()})
    out["coverage"] = coverage
    out.update(_asked(asked_kind))
    out.update({f"short_{k}": v for k, v in (short or {}).items()})
    out.update(lead or {})
    out.update(topic or {})
    return out


# Candidates the second stage re-ranks (Calibration.rerank): the linear ranker's best three. Its
# fourth and fifth held a gold answer where its best three held none for about 1% of JSQuAD's
# questions, too few to pay for scoring them.
RERANK_SENTENCES = 3


def rerank_evidence(scores: np.ndarray, x: np.ndarray, names: Sequence[str], i: int, rank: int,
                    following: int, coverage: float, asked_kind: str,
                    topic: Mapping[str, float]) -> dict[str, float]:
    """Evidence that candidate ``i`` (row ``i`` of ``x``, the linear ranker's ``rank``-th best)
    holds the answer, for the second stage that re-orders the ranker's best few: what
    :func:`sentence_evidence` says of it without its short-answer candidates (looked for in the
    pick alone), how it stands against the others (pick_lead) and its rank. The linear ranker
    adds its features; the trees can say that a lead in score means less when the sentence
    leaves the answer to its topic or to a word pointing back, or when the next one states
    the fact asked:

    # 旧イギリス植民地であり、現在はイギリス連邦の一員である国は？ (gold: ドミニカ国)
    # 同国は旧イギリス植民地であり、… (the linear ranker's best: 同国 is the answer)
    # ドミニカ国は、カリブ海に浮かぶ島国である。 (its second: the answer)
    """
    named = dict(zip(names, x[i].tolist(), strict=True))
    lead = pick_lead(scores, x, names, i, following)
    evidence = sentence_evidence(scores, i, named, coverage, asked_kind, None, lead, topic)
    evidence["rank"] = float(rank)
    return evidence


def reranked(order: Sequence[int], scores: Sequence[float]) -> list[int]:
    """``order`` (the linear ranker's, best first) with the best scored of its first ``len(scores)``
    moved to the front (the first of equals); the rest keep their order."""
    best = int(np.argmax(scores)) if len(scores) else 0
    return [order[best], *(u for j, u in enumerate(order) if j != best)]


def short_evidence(scores: np.ndarray, i: int, row: Mapping[str, float], sentence_confidence: float,
                   asked_kind: str, context: Mapping[str, float] | None = None) -> dict[str, float]:
    """Evidence that short-answer candidate ``i`` is the answer: where it stands among the
    sentence's candidates, its ranker features (retriever.short.FEATURES), how sure kotae is
    of the sentence (a right span in a wrong sentence is rare: the retrieval and the span must
    agree), and ``context``: what :func:`short_context` says of it and its rival, and what
    :func:`span_evidence` says of its span."""
    out = _relative(scores, i)
    out.update({f"short_{k}": float(row.get(k, 0.0)) for k in FEATURES})
    out["sentence_logit"] = logit(sentence_confidence)
    out.update(_asked(asked_kind))
    # The same lead means more for some kinds than others: a sentence rarely holds two dates
    # that fit いつ, while a term question has many nouns that fit 何.
    for kind in ASKED_KINDS[:-1]:
        asks = out[f"asks_{kind}"]
        out.update({f"asks_{kind}_margin": asks * out["margin"], f"asks_{kind}_share": asks * out["share"],
                    f"asks_{kind}_sentence_logit": asks * out["sentence_logit"]})
    out["share_sentence_logit"] = out["share"] * out["sentence_logit"]
    out.update(context or {})
    return out


def by_confidence(probabilities: Sequence[float], language: str = "ja") -> list[int]:
    """The order in which short-answer candidates are offered: for a Japanese question, most
    probable first, the ranker's order between equals. The calibrator reads what the ranker's
    weighted sum does not (the characters around the span, the same text in the next sentences,
    the rival), so its probability is the better judge of the ranker's best three:

    # ローマ共和国が第二次ポエニ戦争に勝利したのはいつ？
    # 紀元前201年に第二次ポエニ戦争に勝利したローマ共和国は、… (the answer sentence)
    # the ranker's best: 201年 (0.38, cut out of a longer date); its second: 紀元前201年 (0.61)

    On JSQuAD held out by article, short EM over all questions rose from 0.561 to 0.572
    (benchmarks/train_confidence.py; folds 0-2 0.542 -> 0.550, folds 3-4 0.579 -> 0.594).

    Other questions keep the ranker's order: the calibrator learned from Japanese questions, and
    on the report's English ones its order lost more than it won (short answer holds a gold
    0.52 -> 0.44: "What is China's HGV …?" got HGV, the question's own word, over 極超音速滑空体)."""
    if language != "ja":
        return list(range(len(probabilities)))
    return sorted(range(len(probabilities)), key=lambda i: -probabilities[i])


# The rival's features the short calibrator reads: a runner-up that fits as well as the pick
# (the same kind, the wh-word's particle after it) makes the pick a coin toss.
RIVAL_FEATURES = ("kind_match", "particle_match", "proximity", "fit", "in_slot", "echo_before", "echo_after")
AGREEMENT_SENTENCES = 4  # runner-up sentences searched for the candidate's text


def _char_class(ch: str) -> float:
    """0 none (the sentence's edge), 1 kanji, 2 katakana, 3 hiragana, 4 Latin letter or digit, 5 other."""
    if not ch:
        return 0.0
    if "\u4e00" <= ch <= "\u9fff" or ch == "々":
        return 1.0
    if "\u30a1" <= ch <= "\u30fc":
        return 2.0
    if "\u3041" <= ch <= "\u3096":
        return 3.0
    return 4.0 if ch.isascii() and ch.isalnum() else 5.0


def short_context(ranked: Sequence[tuple[Any, float, np.ndarray]], i: int, sentence: str,
                  runners_up: Sequence[str]) -> dict[str, float]:
    """What the candidates' scores do not say about candidate ``i`` of ``ranked`` (best first:
    a retriever.short.Candidate with offsets into ``sentence``, its score, its features):

    - whether the span is cut out of a longer word: 社会[主義] after the pick 社会 (kanji on
      both sides of the cut) is often a fragment of the answer 社会主義;
    - its rival (the best other candidate): as well placed as the pick, or not;
    - how many candidates fit the kind asked (one date among the nouns, or three);
    - agreement: how many of the next sentences by rank (``runners_up``) say the same text
      (「マレボ湖」 in the two best sentences about the river is rarely a coincidence);
    - its margin over the spans that overlap it and over those that do not (_overlap_evidence).
    """
    c = ranked[i][0]
    kind_match = FEATURES.index("kind_match")
    out = {"next_char": _char_class(sentence[c.end:c.end + 1]),
           "prev_char": _char_class(sentence[c.start - 1:c.start] if c.start else ""),
           "kind_matches": float(sum(x[kind_match] for _, _, x in ranked)),
           "sentence_chars": float(len(sentence)),
           "agree_next": float(any(c.text in t for t in runners_up[:2])),
           "agree_count": float(sum(c.text in t for t in runners_up[:AGREEMENT_SENTENCES]))}
    if len(ranked) > 1:
        j = 1 if i == 0 else 0
        rival, mine = ranked[j][0], c
        out.update({f"rival_{k}": float(ranked[j][2][FEATURES.index(k)]) for k in RIVAL_FEATURES})
        out["rival_overlap"] = float(rival.start < mine.end and mine.start < rival.end)
    out.update(_overlap_evidence(ranked, i))
    return out


def _overlap_evidence(ranked: Sequence[tuple[Any, float, np.ndarray]], i: int) -> dict[str, float]:
    """Candidate ``i``'s standing against two kinds of rival: the spans that overlap it (the
    same answer cut wider or narrower) and those that do not (another answer). The margin
    over all rivals mixes them:

    # 1500年にインドを目指したのは？
    # …1500年にインドを目指したペドロ・アルヴァレス・カブラルがブラジルを「発見」し、…
    # ペドロ・アルヴァレス・カブラル 11.2, ペドロ 9.9, アルヴァレス・カブラル 9.5: a margin of
    # 1.3 over parts of the pick itself; over the best other answer (ブラジル), far more.

    A small margin over a part is a doubt about the edges; over another answer, about the
    answer. Read by the calibrator, these raised the questions shown at 0.91 precision on
    folds 0-2 from 0.336 to 0.355 (JSQuAD, held out by article; benchmarks/train_confidence.py)."""
    c, mine = ranked[i][0], ranked[i][1]
    scores = np.array([s for _, s, _ in ranked], dtype=float)
    overlaps = np.array([o.start < c.end and c.start < o.end for o, _, _ in ranked])
    overlaps[i] = True
    others = overlaps.copy()
    others[i] = False
    e = np.exp(scores - scores.max())
    return {"disjoint_margin": min(mine - float(scores[~overlaps].max()), MARGIN_CAP) if (~overlaps).any()
            else MARGIN_CAP,
            "overlap_margin": min(mine - float(scores[others].max()), MARGIN_CAP) if others.any() else MARGIN_CAP,
            "cluster_share": float(e[overlaps].sum() / e.sum()),
            "disjoint_share": float(e[i] / (e[i] + e[~overlaps].sum()))}


def recurrence(text: str, document: str, article: str) -> dict[str, float]:
    """How often a short-answer candidate's text recurs, as log(1 + count): in the document of
    its sentence (``doc_count``) and in its article (``article_count``: every document that shares
    the document's title, Retriever.recurrence_texts), both texts normalised (ingest.clean.normalize).

    A question that rewords one sentence of an article often asks for what the whole article is
    about, and a span the article names once is a detail of that sentence:

    # 世界第2位の農産物輸出国は？ (gold: オランダ; article オランダ, 72 paragraphs)
    # オランダはアメリカ合衆国に次ぎ世界第2位の農産物輸出国である。 (the answer sentence)
    # オランダ: 3 times in its paragraph, 174 in the article; アメリカ合衆国: 1 and 3.

    Read by the short calibrator, the two lowered its held-out log loss on JSQuAD (folds 0-2
    0.471 -> 0.468, folds 3-4 0.491 -> 0.488; benchmarks/train_confidence.py); with the count in
    the paragraph alone, or in the article alone, the share of short answers shown did not rise."""
    key = normalize(text)
    if not key:
        return {"doc_count": 0.0, "article_count": 0.0}
    return {"doc_count": math.log1p(document.count(key)), "article_count": math.log1p(article.count(key))}


# Parts of speech (UniDic's, matched by prefix, the first that matches) as the numbers
# span_grammar gives: 0 none (the sentence's edge, or another part), then 1, 2, … in this order.
GRAMMAR_PARTS = ("名詞-普通名詞", "名詞-固有名詞", "名詞-数詞", "接頭辞", "接尾辞", "形状詞", "副詞", "連体詞",
                 "形容詞", "動詞", "助詞", "助動詞", "補助記号", "記号", "名詞-助動詞語幹")
GRAMMAR_REACH = 2  # morphemes read on each side of a span
# The particles and marks span_grammar names by themselves beside the parts (1, 2, …; 0 another
# word, -1 none: the sentence's edge). The particle before a span says what it is to the words
# before it: [ケプラー]の第3法則 is a modifier, の[第3法則] a head, 「[自主独立]」路線 a quotation.
GRAMMAR_WORDS = {"は": 1, "が": 2, "を": 3, "に": 4, "の": 5, "と": 6, "で": 7, "も": 8, "や": 9, "から": 10, "へ": 11,
                 "、": 12, "「": 13, "（": 14, "(": 14, "」": 15, "）": 16, ")": 16, "。": 17, "など": 18, "より": 19,
                 "まで": 20}


def _part(m: Morpheme | None) -> float:
    if m is None:
        return 0.0
    return float(next((k + 1 for k, part in enumerate(GRAMMAR_PARTS) if m.pos.startswith(part)), 0))


def _word(m: Morpheme | None) -> float:
    return -1.0 if m is None else float(GRAMMAR_WORDS.get(m.surface, 0))


def span_grammar(morphs: Sequence[Morpheme], start: int, end: int) -> dict[str, float]:
    """The parts of speech (GRAMMAR_PARTS) of a span's first and last morphemes and of the
    GRAMMAR_REACH morphemes on each side of it, and which of those beside it are the particles and
    marks of GRAMMAR_WORDS, in ``morphs`` (the sentence's, in order; the span at [start, end) of
    the same text). The short-answer ranker reads the particle after a span; the calibrator reads
    what kind of word touches it, which says whether the span is a whole phrase or a piece cut out
    of one:

    # 実態としては建築家の設計責任が大きいため…建築家に設計が[依頼]されている。
    # 依頼 is followed by a verb (さ-れ): a noun cut out of the predicate, right far less often
    # than its score says (held out by article on JSQuAD: picks offered at 0.6 or more with a
    # verb after them were right 0.65 of the time where the calibrator without this said 0.84).

    Read by the short calibrator with head_evidence, the parts raised the share of questions
    shown at the 0.91 rule from 0.374 to 0.396 (folds 0-2 0.390 -> 0.413, folds 3-4 0.359 -> 0.379;
    the mean of 3 tree seeds, JSQuAD held out by article; benchmarks/train_confidence.py) and short
    EM from 0.597 to 0.605 (the parts of the span alone, or of the morphemes next to it alone,
    raised it less); the particles and marks then to 0.406 (folds 0-2 0.427, folds 3-4 0.385) and
    EM to 0.608. Three morphemes on each side, or UniDic's finer parts, did no better on folds 0-2."""
    starts = [m.start for m in morphs]
    first = bisect.bisect_right(starts, start) - 1  # the morpheme the span starts in
    last = bisect.bisect_left(starts, end) - 1  # the last one that starts inside it

    def at(k: int) -> Morpheme | None:
        return morphs[k] if 0 <= k < len(morphs) else None

    out = {"grammar_first": _part(at(first)), "grammar_last": _part(at(max(last, first)))}
    for d in range(1, GRAMMAR_REACH + 1):
        before, after = at(first - d) if first >= 0 else None, at(max(last, first) + d)
        out |= {f"grammar_before_{d}": _part(before), f"grammar_after_{d}": _part(after),
                f"word_before_{d}": _word(before), f"word_after_{d}": _word(after)}
    return out


# The noun a question puts after its wh-word (何の法則, どの方角, 何という説) or before it as
# its topic (最高機関は何). A span that ends with it is the whole answer more often than one
# that stops short: 何の法則 -> ケプラーの第3法則, not ケプラー.
_HEAD_AFTER = re.compile(r"(?:何|なに|なん|どの|どんな|どういう)(?:の|という|と言う)?([一-龥ァ-ヺー]{1,4})")
_HEAD_BEFORE = re.compile(r"([一-龥ァ-ヺー]{1,4})(?:は|とは)(?:何|なに|なん|どれ|どこ|誰|だれ)")


def asked_heads(question: str) -> frozenset[str]:
    """The nouns ``question`` names its answer by, NFKC-normalised (_HEAD_AFTER, _HEAD_BEFORE):
    # 太陽系で…説明できるのは何の法則か -> {法則}; 日本共産党の地区組織の最高機関は何か -> {最高機関}"""
    text = unicodedata.normalize("NFKC", question)
    return frozenset(m.group(1) for pattern in (_HEAD_AFTER, _HEAD_BEFORE) for m in pattern.finditer(text))


def head_evidence(heads: frozenset[str], span: str) -> dict[str, float]:
    """Whether the question names its answer by a noun (asked_heads: ``heads``), and whether the
    span ends with that noun's last two characters (最高機関 -> 機関: 地区党会議 does not, the
    whole name of the body does not either, so this is evidence, not a rule)."""
    text = unicodedata.normalize("NFKC", span)
    return {"head_asked": float(bool(heads)), "head_end": float(any(text.endswith(h[-2:]) for h in heads))}


def span_evidence(c: Candidate, morphs: Sequence[Morpheme], heads: frozenset[str], document: str,
                  article: str) -> dict[str, float]:
    """What the short calibrator reads of candidate ``c``'s own span, beside its rank and its
    rivals (short_context): recurrence in ``document`` and ``article``, span_grammar in ``morphs``
    (its sentence's) and head_evidence for ``heads`` (asked_heads of the question). One function
    for kotae (Retriever.short) and for the calibrator's training (benchmarks/train_confidence.py),
    so that the trees read at run time what they were fitted on."""
    return recurrence(c.text, document, article) | span_grammar(morphs, c.start, c.end) | head_evidence(heads, c.text)


class StepMapped:
    """What :class:`Calibrator` and :class:`Forest` share: evidence read in ``features`` order
    (a feature the evidence lacks counts as 0), a logistic output, then the isotonic step
    ``knots``/``values`` (the logistic output at the knots and the probability there,
    interpolated between; empty knots leave the logistic output as it is)."""

    features: tuple[str, ...]
    knots: tuple[float, ...]
    values: tuple[float, ...]

    def logistic(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        p = self.logistic(x)
        return np.interp(p, self.knots, self.values) if self.knots else p

    def probability(self, evidence: Mapping[str, float]) -> float:
        return float(self.probabilities(self.row(evidence)[None, :])[0])

    def row(self, evidence: Mapping[str, float]) -> np.ndarray:
        """Evidence in ``features`` order; a feature the evidence lacks counts as 0."""
        return np.array([evidence.get(name, 0.0) for name in self.features])


@dataclass(frozen=True)
class Calibrator(StepMapped):
    """A logistic model over named evidence, then an isotonic map of its output.

    ``mean``/``scale`` standardise each feature; ``knots``/``values`` are the isotonic step
    (the logistic output at the knots and the probability there, interpolated between);
    empty knots leave the logistic output as it is.
    """

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    knots: tuple[float, ...] = ()
    values: tuple[float, ...] = ()

    def logistic(self, x: np.ndarray) -> np.ndarray:
        """The logistic model's output for rows of evidence in ``features`` order."""
        z = ((x - np.array(self.mean)) / np.array(self.scale)) @ np.array(self.weights) + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def as_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "weights": [round(w, 6) for w in self.weights],
                "bias": round(self.bias, 6), "mean": [round(m, 6) for m in self.mean],
                "scale": [round(s, 6) for s in self.scale], "knots": [round(k, 6) for k in self.knots],
                "values": [round(v, 6) for v in self.values]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Calibrator:
        n = len(d["features"])
        if not (len(d["weights"]) == len(d["mean"]) == len(d["scale"]) == n) or len(d["knots"]) != len(d["values"]):
            raise ValueError("features, weights, mean and scale must have one entry each, knots one value each")
        return cls(tuple(d["features"]), tuple(d["weights"]), float(d["bias"]), tuple(d["mean"]),
                   tuple(d["scale"]), tuple(d["knots"]), tuple(d["values"]))


@dataclass(frozen=True)
class Forest(StepMapped):
    """Boosted decision trees over named evidence (fitted with LightGBM by
    benchmarks/train_confidence.py, evaluated here with numpy alone), then an optional
    isotonic step as in :class:`Calibrator`.

    Each tree is a table of nodes, the root first: a node with ``feature`` -1 is a leaf worth
    ``value``; any other sends a row to ``left`` when its ``feature`` is at most ``threshold``,
    else to ``right``. The probability is the logistic of the sum of the leaves reached.
    Where a logistic model adds a sentence's margin and its short answer's score, the trees
    can say that a wide margin means less when the sentence offers no candidate of the kind
    asked (何年 and no date in it).
    """

    features: tuple[str, ...]
    feature: tuple[tuple[int, ...], ...]  # per tree, per node
    threshold: tuple[tuple[float, ...], ...]
    left: tuple[tuple[int, ...], ...]
    right: tuple[tuple[int, ...], ...]
    value: tuple[tuple[float, ...], ...]
    knots: tuple[float, ...] = ()
    values: tuple[float, ...] = ()

    @cached_property
    def _flat(self) -> tuple[np.ndarray, ...]:
        """All trees' nodes in one table, made on first use: the feature each node reads (0 for a
        leaf), its threshold, its children as rows of the table (right, left; a leaf is its own
        child, so a row that reached one stays), its value, each tree's root, and the depth of
        the deepest leaf."""
        starts = np.cumsum([0] + [len(t) for t in self.feature[:-1]], dtype=np.int64)
        feature = np.array([f for t in self.feature for f in t], dtype=np.int64)
        own = np.arange(len(feature))
        left = np.array([c + s for t, s in zip(self.left, starts, strict=True) for c in t], dtype=np.int64)
        right = np.array([c + s for t, s in zip(self.right, starts, strict=True) for c in t], dtype=np.int64)
        leaf = feature < 0
        children = np.stack([np.where(leaf, own, right), np.where(leaf, own, left)], axis=1)
        depth = np.zeros(len(feature), dtype=np.int64)
        for i in np.flatnonzero(~leaf):  # preorder: a node's row comes before its children's
            depth[left[i]] = depth[right[i]] = depth[i] + 1
        threshold = np.array([v for t in self.threshold for v in t], dtype=np.float64)
        value = np.array([v for t in self.value for v in t], dtype=np.float64)
        return np.maximum(feature, 0), threshold, children, value, starts, np.array(depth.max(initial=0))

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The sum of the leaves each row of ``x`` (evidence in ``features`` order) reaches."""
        feature, threshold, children, value, starts, depth = self._flat
        node = np.broadcast_to(starts, (x.shape[0], len(starts)))
        rows = np.arange(x.shape[0])[:, None]
        for _ in range(int(depth)):  # every row of every tree is at a leaf after as many steps
            node = children[node, (x[rows, feature[node]] <= threshold[node]).astype(np.int64)]
        return value[node].sum(axis=1)

    def logistic(self, x: np.ndarray) -> np.ndarray:
        """The logistic of :meth:`raw`."""
        return 1.0 / (1.0 + np.exp(-np.clip(self.raw(x), -30, 30)))

    def as_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "trees": [
            {"feature": list(f), "threshold": [round(v, 9) for v in t], "left": list(lo), "right": list(hi),
             "value": [round(v, 9) for v in val]}
            for f, t, lo, hi, val in zip(self.feature, self.threshold, self.left, self.right, self.value, strict=True)],
            "knots": [round(k, 6) for k in self.knots], "values": [round(v, 6) for v in self.values]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Forest:
        trees = d["trees"]
        for t in trees:
            n = len(t["feature"])
            # children after their node (preorder, as train_confidence writes them): raw() walks
            # each tree as many steps as its deepest leaf, counted in that order, so a child
            # listed before its node (or a loop) would stop a row short of a leaf
            if not (len(t["threshold"]) == len(t["left"]) == len(t["right"]) == len(t["value"]) == n) or any(
                    not -1 <= f < len(d["features"]) or (f >= 0 and not (i < lo < n and i < hi < n))
                    for i, (f, lo, hi) in enumerate(zip(t["feature"], t["left"], t["right"], strict=True))):
                raise ValueError("a tree's node tables differ in length or point outside the tree or the "
                                 "features, or back to a node before the child")
        if len(d.get("knots", ())) != len(d.get("values", ())):
            raise ValueError("knots and values must have one entry each")

        def column(key: str) -> tuple[tuple[Any, ...], ...]:
            return tuple(tuple(t[key]) for t in trees)

        return cls(tuple(d["features"]), column("feature"), column("threshold"), column("left"), column("right"),
                   column("value"), tuple(d.get("knots", ())), tuple(d.get("values", ())))


Model = Calibrator | Forest


def model_from_dict(d: Mapping[str, Any]) -> Model:
    """A calibrator as confidence.json stores it: trees when it has them, else a logistic model."""
    return Forest.from_dict(d) if "trees" in d else Calibrator.from_dict(d)


def logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class Calibration:
    """The two calibrators and the thresholds chosen with them on held-out articles.

    The calibrators learned from Japanese questions. An English question's evidence is the
    same kind but not the same size (its words reach the text through a dictionary, and its
    short answers are ranked by hand-set weights), so its probabilities are mapped once more
    by ``english_sentence`` / ``english_short``: a logistic curve over the Japanese
    calibrator's logit (Platt scaling; for the sentence, its margin over the runner-up too),
    fitted on the English renderings of JSQuAD questions.
    """

    sentence: Model  # the answer sentence: the ranker's pick
    short: Model
    min_confidence: float  # a short answer under this is not shown (no → line)
    min_sentence_confidence: float  # an answer sentence under this is marked low confidence
    english_sentence: Calibrator | None = None
    english_short: Calibrator | None = None
    # English short answers have their own threshold, chosen the same way on the English sets:
    # with a third of them right, the Japanese one showed four held-out English answers, none
    # right. Above 1.0 (none reaches it) when no threshold reached the precision asked.
    min_english_confidence: float | None = None
    # Sentences other than the pick (the best sentence of each cited passage), fitted on the
    # runners-up: a pick and a runner-up are two populations, and one logistic model for both
    # separated the picks less well (held out by article, the share of answer sentences marked
    # confident at 0.95 precision rose from 0.61 to 0.67 on folds 0-2 with the picks alone).
    # None: ``sentence`` scores them too.
    cited: Model | None = None
    # The picks' trees without topic_elsewhere, for a pick whose document's title names no topic
    # (TOPIC_UNKNOWN), and the threshold chosen with them the same way. None: ``sentence`` scores
    # every pick.
    untitled: Model | None = None
    min_untitled_sentence_confidence: float | None = None
    # The second stage that re-orders a Japanese question's best RERANK_SENTENCES candidate
    # sentences (rerank_evidence): trees fitted on JSQuAD's candidates to rank those that hold
    # the answer first (their output orders a question's candidates; it is no probability).
    # None: the linear ranker's order stands.
    rerank: Model | None = None

    def sentence_threshold(self, topic_named: bool = True) -> float:
        """The confidence an answer sentence needs to be marked confident; ``topic_named``: its
        document's title names a topic (names_topic)."""
        untitled = self.min_untitled_sentence_confidence
        return self.min_sentence_confidence if topic_named or untitled is None else untitled

    def short_threshold(self, language: str) -> float:
        """The confidence a short answer in ``language`` needs to be shown."""
        english = self.min_english_confidence
        return english if language == "en" and english is not None else self.min_confidence

    def sentence_probability(self, evidence: Mapping[str, float], language: str, pick: bool = True) -> float:
        """The probability that a sentence holds the answer: the ranker's pick (``pick``), or
        another candidate (a cited passage's best sentence)."""
        calibrator = self.sentence if pick or self.cited is None else self.cited
        if pick and self.untitled is not None and evidence.get("topic_elsewhere") == TOPIC_UNKNOWN:
            calibrator = self.untitled
        return self._language(calibrator.probability(evidence), language, self.english_sentence, evidence)

    def short_probability(self, evidence: Mapping[str, float], language: str) -> float:
        return self._language(self.short.probability(evidence), language, self.english_short)

    def short_probabilities(self, evidence: Sequence[Mapping[str, float]], language: str) -> list[float]:
        """:meth:`short_probability` of several candidates, in one pass of the calibrator."""
        if not evidence:
            return []
        p = self.short.probabilities(np.stack([self.short.row(e) for e in evidence]))
        return [self._language(float(v), language, self.english_short) for v in p]

    @staticmethod
    def _language(p: float, language: str, english: Calibrator | None,
                  evidence: Mapping[str, float] | None = None) -> float:
        """``p`` for a question in ``language``: an English one's mapped by ``english``, which reads
        the logit of ``p`` and may read the ``evidence`` too (the sentence's margin)."""
        if language != "en" or english is None:
            return p
        return english.probability({**(evidence or {}), "logit": logit(p)})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Calibration:
        """The calibration of confidence.json's data; a part written after the file was (``rerank``,
        ``untitled``, ``cited``, the English mappings) is None when it is missing."""
        english = d.get("english") or {}
        untitled_threshold = d.get("min_untitled_sentence_confidence")
        return cls(sentence=model_from_dict(d["sentence"]), short=model_from_dict(d["short"]),
                   min_confidence=float(d["min_confidence"]),
                   min_sentence_confidence=float(d["min_sentence_confidence"]),
                   english_sentence=Calibrator.from_dict(english["sentence"]) if "sentence" in english else None,
                   english_short=Calibrator.from_dict(english["short"]) if "short" in english else None,
                   min_english_confidence=float(english["min_confidence"]) if "min_confidence" in english else None,
                   cited=model_from_dict(d["cited"]) if "cited" in d else None,
                   untitled=model_from_dict(d["untitled"]) if "untitled" in d else None,
                   min_untitled_sentence_confidence=None if untitled_threshold is None else float(untitled_threshold),
                   rerank=model_from_dict(d["rerank"]) if "rerank" in d else None)


@cache
def shipped_calibration(path: Path = CALIBRATION_FILE) -> Calibration:
    """The calibration shipped with kotae, read once on first use."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Calibration.from_dict(data)
    except FileNotFoundError:
        raise IndexFileError(f"{path} is missing: reinstall kotae, or write it with "
                             "benchmarks/train_confidence.py") from None
    except (ValueError, KeyError, TypeError) as e:
        raise IndexFileError(f"{path} is damaged ({type(e).__name__}: {e}); reinstall kotae, or "
                             "rewrite it with benchmarks/train_confidence.py") from None


def expected_calibration_error(p: Sequence[float], y: Sequence[float], bins: int = 10) -> float:
    """ECE over equal-width bins: the mean |accuracy - confidence|, weighted by bin size."""
    pa, ya = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    if pa.size == 0:
        return 0.0
    which = np.minimum((pa * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            total += m.sum() * abs(float(ya[m].mean()) - float(pa[m].mean()))
    return total / pa.size


THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # where kotae eval reads the risk-coverage curve


def risk_coverage(p: Sequence[float], y: Sequence[float],
                  thresholds: Sequence[float] = THRESHOLDS) -> list[dict[str, float]]:
    """Per threshold, the share of items at or above it (coverage) and how many of those are
    right (precision; 1.0 when none is shown, since nothing shown is wrong)."""
    pa, ya = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    out = []
    for t in thresholds:
        shown = pa >= t
        n = int(shown.sum())
        out.append({"threshold": float(t), "coverage": n / pa.size if pa.size else 0.0,
                    "precision": float(ya[shown].mean()) if n else 1.0, "shown": n})
    return out


def area_under_risk_coverage(p: Sequence[float], y: Sequence[float]) -> float:
    """Mean precision over all coverages: sort by confidence, average the precision of each
    prefix (1.0 is a ranker that shows every right answer before any wrong one)."""
    pa, ya = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    if pa.size == 0:
        return 0.0
    order = np.argsort(-pa, kind="stable")
    hits = np.cumsum(ya[order])
    return float(np.mean(hits / np.arange(1, pa.size + 1)))
