"""Questions in, cited answers out: dense + lexical passage search, sentence re-scoring.

    from retriever import Retriever
    r = Retriever.load("my-index")
    print(r.ask("安保理決議2231はいつ終了するか").answer.text)
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Container, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ingest.catalog import DocName, select_documents
from ingest.clean import clean, normalize, offset_map
from ingest.embed import Embedder, get_embedder
from ingest.embed import warm as start_warming
from ingest.errors import IndexFileError, InputError, IntegrityError, KotaeError
from ingest.lexical import LexicalIndex
from ingest.lexicon import dictionary_words, english_forms
from ingest.manifest import check_tokenizer
from ingest.tokens import Morpheme, Tokenizer, analyse
from ingest.use_vectors import one_blas_thread, question_similarities

from .abstain import Evidence, Term, lead, models, standing, states_number, term_evidence
from .alignment import ECHO_FEATURES, Echo, Paired
from .confidence import (
    AGREEMENT_SENTENCES,
    RERANK_SENTENCES,
    TOPIC_UNKNOWN,
    Calibration,
    asked_heads,
    by_confidence,
    names_topic,
    pick_lead,
    rerank_evidence,
    reranked,
    sentence_evidence,
    shipped_calibration,
    short_context,
    short_evidence,
    short_summary,
    span_evidence,
    topic_evidence,
)
from .english import (
    BridgedTerm,
    Sound,
    anchor_words,
    bridge_question,
    heard_in,
    sentence_glosses,
    sound_of,
    term_coverage,
    term_coverages,
    term_scores,
    token_weights,
)
from .language import detect_language
from .question import (
    DATE,
    DESCRIPTION,
    FACT_KINDS,
    ORG,
    PERSON,
    PLACE,
    QUANTITY,
    Question,
    anchor_runs,
    states_reason,
    states_view,
    takes_up,
)
from .records import Answer, Citation, GlossNote, ShortAnswer
from .short import FEATURES, Candidate, first_candidates, ranked, ranker_language
from .store import IndexReader, SpanRows

# Characters of a question that are used. e5 reads at most 512 tokens, and embedding
# costs about 1 ms a token here: a pasted page must not take seconds.
MAX_QUESTION = 512

ANSWER_KINDS = frozenset({"sentence", "caption", "byline"})
SHORT_CANDIDATES = 3  # short answers listed in answer.short_candidates


@dataclass(frozen=True)
class Settings:
    """The retriever's tunables; defaults were chosen on the report's questions and JSQuAD.

    ``lexical`` is the weight of BM25 against dense similarity per question language.
    For a Japanese question BM25 over lemmas is strong evidence. An English question's
    words reach the Japanese text through the index's bridge (president -> 大統領), a
    weaker kind of evidence: 0.4 was best on the English JSQuAD dev set (a1), between
    0.2 and 0.5 (benchmarks/bench_english.py).
    """

    lexical: dict[str, float] = field(default_factory=lambda: {
        "ja": 0.7, "en": 0.4, "mixed": 0.3, "other": 0.2})
    # Weight of the index's second vector (multilingual USE, ingest.use_vectors) within the
    # dense score, per question language; a language not named, or an index without those
    # vectors, uses e5 alone. e5 and USE miss different English questions (issue 14): on
    # the English JSQuAD dev set (a1) hit@1 rose from 0.749 with e5 alone to 0.763 at 0.2,
    # 0.777 at 0.6 and 0.784 at 0.8; 0.6 with the sentence feature below (0.3) was the best
    # pair on a1 and the natural dev set together (benchmarks/bench_english.py).
    second_dense: dict[str, float] = field(default_factory=lambda: {"en": 0.6})
    unit_max: float = 0.5  # passage dense score: mix of its mean vector and its best sentence
    fusion: str = "scale"  # how dense and BM25 scores are put on one scale: scale, z or rrf
    passages_considered: int = 3  # passages whose sentences compete for the answer
    # Abstention, calibrated on the report's unanswerable questions and checked on JSQuAD
    # (all answerable) for false abstentions; see README "Abstention".
    abstain_dense: float = 0.0  # answer sentence similarity under this abstains
    abstain_coverage: float = 0.2  # share of a Japanese question's content words the answer must hold
    abstain_fact_coverage: float = 0.45  # ... or this share, when it also lacks the kind of fact asked
    abstain_missing_fact: bool = True  # an English date/person/place/quantity question whose answer has none
    # Share of an English question's bridged terms (idf-weighted) the answer must hold.
    # (0: on English JSQuAD the answer sentence holds none of them for 5% of answerable
    # questions, as often as for questions the corpus cannot answer.)
    abstain_bridged_coverage: float = 0.0
    abstain_bridged_fact_coverage: float = 0.2  # ... or this share, when it also lacks the kind of fact asked
    # Share of an English question's names that, named by the dictionary, the index never
    # mentions, from which it abstains: "How high is Mount Kilimanjaro?" (キリマンジャロ nowhere).
    # On the English dev set no answerable question reached 0.5 (the most: 1 of 3 names);
    # 25 of its 116 off-topic questions did, 3 of them let through by the model.
    abstain_absent_names: float = 0.5
    # After the rules, the fitted model of retriever/abstain.py weighs the evidence together
    # (how the answer stands against the corpus, coverage, the missing fact).
    abstain_model: bool = True
    short_sentences: int = 1  # sentences searched for a short answer: the answer sentence only
    # The answer sentence is the candidate with the best weighted sum of SENTENCE_FEATURES;
    # a feature not named weighs nothing (and is not computed). None: the ranker learned on
    # JSQuAD for Japanese questions (sentence_ranker.json), ENGLISH_SET for English, HAND_SET for the others.
    sentence_weights: dict[str, float] | None = None
    # Calibrated confidence (retriever/confidence.json): a short answer under min_confidence
    # is not shown, an answer sentence under min_sentence_confidence is marked low confidence.
    # None takes the thresholds chosen on held-out JSQuAD articles by train_confidence.py (for
    # the answer sentence of a document whose title names no topic, a report's, the untitled
    # trees' own: Calibration.sentence_threshold); a number given here applies to every answer.
    min_confidence: float | None = None
    min_sentence_confidence: float | None = None
    # A Japanese question's best few candidate sentences are re-ordered by the calibration's
    # second stage (Calibration.rerank, retriever.confidence.RERANK_SENTENCES of them); False
    # keeps the linear ranker's order.
    rerank: bool = True


# What is known about a candidate answer sentence (Retriever._sentence_features): how its
# passage, its words and its vector match the question, how its characters echo it
# (retriever.alignment), and how the sentence before it does (a question that rewords
# 拍の周期の長短によって、音楽の速度を感じる。 is answered by the next one, これをテンポという。).
FOLLOWS_MATCH = ("follows_match", "follows_match_stated", "follows_match_linked")  # Retriever._follows_match
NEIGHBOURS = ("takes_up", "prev_type", "next_type")  # Retriever._neighbour_features
SENTENCE_FEATURES = ("passage", "top_passage", "lexical", "dense", "dense_gap", "intent", "type", "coverage",
                     "log_length", "dense_raw", "passage_margin", "second_dense", "view", *ECHO_FEATURES,
                     "prev_coverage", "prev_echo", "prev_echo_cover", *FOLLOWS_MATCH, *NEIGHBOURS, "prev_match",
                     "bridged_coverage")
_SENTENCE_COLUMN = {name: i for i, name in enumerate(SENTENCE_FEATURES)}
# Weights set by hand on the report's questions and JSQuAD (and English ones on the English
# dev sets); English questions keep them, with ENGLISH_SET's additions (their words are not in
# the Japanese sentence for the echo to see).
HAND_SET = {"passage": 1.0, "lexical": 0.5, "dense": 1.0,
            "intent": 0.6,  # a byline or caption for a question about the document itself (筆者は誰か)
            "type": 0.5,  # a sentence that states the kind of fact asked for (a date for いつ)
            "second_dense": 0.3,  # its USE similarity, for an English question (0 for others)
            "view": 0.5,  # a reason for "why…", a proposal for "what should…" (English; question.VIEW_CUES)
            # For "why…", the sentence after the one that matches the question best, more so when it
            # states a reason outright (Retriever._follows_match): chosen on the natural dev set.
            "follows_match": 0.25, "follows_match_stated": 0.5,
            # For any view asked (reason, recommendation, plan, expectation), the sentence after the
            # best match when it opens by taking it up (しかし, このため, その結果): chosen on the natural dev set.
            "follows_match_linked": 0.5,
            # For "why…", how well the sentence before the candidate matches the question
            # (Retriever._prev_match): follows_match made gradual, for a reason stated after a
            # sentence that matches well but is not the best match. 0.75 on the natural dev set.
            "prev_match": 0.75}
# English questions' weights: HAND_SET's, and what an English question's bridged terms say of a
# sentence asked for a fact (chosen on the English JSQuAD dev set a1 and the natural dev set:
# a1's answer sentences 208 -> 213 of 287 right, none lost; the natural set's 96 of 129 unchanged).
ENGLISH_SET = {**HAND_SET,
               # The share of the question's bridged terms the sentence holds (term_coverage), for
               # a question asking no view: a fact is stated in the sentence that holds the words
               # it is asked by; a reason or a proposal, often in the sentence after them.
               "bridged_coverage": 0.25,
               # The sentence after it states the kind of fact asked (a date for "when"): the
               # sentence rewords the question and leaves the fact to the next one:
               #   "What is the thundery rain at the very end of the rainy season called?"
               #   また、梅雨の末期には雷をともなった雨が降ることが多く、… (rewords it)
               #   これを送り梅雨（おくりづゆ）と呼ぶ。 (the answer)
               "next_type": -0.25}
# What the sentence before a candidate is judged by in prev_match: how it matches the question.
MATCH_FEATURES = ("lexical", "dense", "second_dense")
# Features the learned Japanese ranker leaves at 0 (benchmarks/train_sentence_ranker.py): chosen
# on English questions alone, and a Japanese question's reason is placed by its echo already.
ENGLISH_ONLY = ("prev_match", "bridged_coverage")
SENTENCE_RANKER_FILE = Path(__file__).with_name("sentence_ranker.json")
# What a view asked weighs in the learned Japanese ranker: JSQuAD, which it learns from, has too
# few questions about a view (48 of 4,442 say なぜ, 理由 or 原因, most asking for a noun) to
# weigh them, so benchmarks/train_sentence_ranker.py sets them by hand: HAND_SET's weights times
# JAPANESE_VIEW_SCALE (the learned weights are about 2.4 times HAND_SET's). 3 is the smallest
# multiple with the most right answer sentences on the natural dev set's Japanese questions
# (97 of 129 at 0, 98 at 1, 101 at 2, 106 at 3 and 4, 104 at 5): the reason is often stated in
# the sentence after the one that rewords the question:
#   津波の際に2か所の小学校を避難先として使わないことにしたのはなぜか
#   一方、…2か所の小学校は、津波の際の避難先としては使わないことにしました。 (rewords it)
#   浸水のおそれがある建物に人を集めることは、かえって危険だと判断したためです。 (the reason)
VIEW_FEATURES = ("view", *FOLLOWS_MATCH)
JAPANESE_VIEW_SCALE = 3.0


def sentence_weights(table: Mapping[str, float]) -> np.ndarray:
    """A sentence ranker's weights in SENTENCE_FEATURES order; features it does not name weigh nothing."""
    unknown = set(table) - set(SENTENCE_FEATURES)
    if unknown:
        raise InputError(f"unknown sentence features {sorted(unknown)}; known: {', '.join(SENTENCE_FEATURES)}")
    return np.array([table.get(name, 0.0) for name in SENTENCE_FEATURES])


@cache
def sentence_rankers(path: Path = SENTENCE_RANKER_FILE) -> dict[str, np.ndarray]:
    """Weights by question language, read on first use: learned for the languages the file
    names (benchmarks/train_sentence_ranker.py), hand-set for the others: ENGLISH_SET for
    English, HAND_SET for any other ("other")."""
    out = {"other": sentence_weights(HAND_SET), "en": sentence_weights(ENGLISH_SET)}
    try:
        learned = json.loads(path.read_text(encoding="utf-8"))
        for lang in learned["languages"]:
            out[lang] = sentence_weights(learned["weights"])
    except FileNotFoundError:
        pass  # a checkout without the learned ranker ranks every language by hand
    except (ValueError, KeyError, TypeError) as e:
        raise IndexFileError(f"{path} is damaged ({type(e).__name__}: {e}); reinstall kotae, or "
                             "rewrite it with benchmarks/train_sentence_ranker.py") from None
    return out


def _rel(gaps: Sequence[tuple[int, int]], start: int) -> list[tuple[int, int]]:
    return [(a - start, b - start) for a, b in gaps]


def _scale(x: np.ndarray) -> np.ndarray:
    """Scores relative to the best: 1 for the top, 0 at the median."""
    if x.size == 0:
        return x
    top = float(x.max())
    mid = float(np.median(x))
    if top - mid <= 1e-9:
        return np.zeros_like(x)
    return (x - mid) / (top - mid)


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - float(x.mean())) / sd if sd > 1e-9 else np.zeros_like(x)


def _rrf(x: np.ndarray, k: float = 60.0) -> np.ndarray:
    ranks = np.empty(len(x))
    ranks[np.argsort(-x, kind="stable")] = np.arange(1, len(x) + 1)
    return 1.0 / (k + ranks) * (k + 1)


_NORMS = {"scale": _scale, "z": _z, "rrf": _rrf}


# How an abstention names the fact a question asks for.
_FACT_NAMES = {DATE: "a date", PERSON: "a person", PLACE: "a place", ORG: "an organisation", QUANTITY: "a quantity"}


def _index_embedder(index_dir: str | Path, spec: str) -> Embedder:
    """The embedder an index names. One that cannot be loaded here (a model path on
    another machine) is a problem of the index, exit 3, like any other mismatch."""
    path = Path(spec).expanduser()
    if (spec.startswith(("/", "./", "../", "~")) or path.is_absolute()) and not path.exists():
        # Said before sentence-transformers and PyTorch are imported (tens of seconds) to find out.
        raise IndexFileError(f"{index_dir} was built with embedder {spec!r}, a model path that is not on this "
                             "machine; copy the model there, or rebuild with kotae ingest")
    try:
        return get_embedder(spec)
    except KotaeError as e:
        raise IndexFileError(f"{index_dir} was built with embedder {spec!r}, which cannot be loaded here "
                             f"({str(e).split(';')[0]}); rebuild with kotae ingest") from None


@dataclass(frozen=True)
class Scope:
    """The part of an index a search ranks: which passages and units (by position) it may use."""

    passages: np.ndarray  # bool, one per passage
    units: np.ndarray  # bool, one per unit


@dataclass(frozen=True)
class Ranking:
    """Candidate sentences (units) with their SENTENCE_FEATURES and scores, and the units best first
    (by score, unless the second stage put another of the best few first: Retriever.rerank)."""

    cand: list[int]
    x: np.ndarray
    score: np.ndarray
    order: list[int]


@dataclass(frozen=True)
class ShortCandidates:
    """The short-answer candidates of one sentence (unit), best first, with score and features."""

    unit: int
    ranked: list[tuple[Candidate, float, np.ndarray]]

    @property
    def fallback(self) -> bool:
        """Whether the candidates only stand in for the fact asked, which the sentence lacks
        (retriever.short.scored_candidates): for abstaining, the fact is missing all the same."""
        return bool(self.ranked) and bool(self.ranked[0][2][FEATURES.index("fallback")] > 0)


def _patterns(docs: Sequence[str]) -> list[str]:
    # docs="x.pdf" is one pattern, not the five one-character patterns x . p d f
    return [docs] if isinstance(docs, str) else list(docs)


class Retriever:
    """Load an index once, then ask it many questions."""

    def __init__(self, reader: IndexReader, embedder: Embedder | None, settings: Settings | None = None,
                 tokenizer: Tokenizer | None = None, calibration: Calibration | None = None) -> None:
        self.index = reader
        self._calibration = calibration  # None: the one shipped with kotae, read on first use
        self.embedder = embedder
        self.settings = settings or Settings()
        self.tokenizer = tokenizer or Tokenizer()
        table = self.settings.sentence_weights
        self._sentence_weights = None if table is None else sentence_weights(table)
        self._scopes: dict[tuple[str, ...], Scope] = {}  # by the patterns given: `ask -` asks with one set
        self._matching_forms: dict[int, Paired] = {}  # by unit (Retriever._matching)
        self._analysed: dict[str, list[Morpheme]] = {}  # by text (Retriever.morphemes)
        self._second_pending: dict[str, Future] = {}  # USE similarities being computed, by NFKC text
        self._bridged_pending: dict[str, Future] = {}  # bridged terms and their BM25 being worked out, by text
        self._second_worker: ThreadPoolExecutor | None = None
        self._sounds: dict[tuple[int, ...], Sound] = {}  # by passages (Retriever.terms)
        self._normalized: dict[int | str, str] = {}  # documents by number, articles by title (recurrence_texts)
        self._articles: dict[str, list[int]] | None = None  # documents by title, made on first use

    def sentence_weights(self, language: str) -> np.ndarray:
        """The sentence ranker's weights for a question in ``language`` (SENTENCE_FEATURES order)."""
        if self._sentence_weights is not None:
            return self._sentence_weights
        rankers = sentence_rankers()
        return rankers.get(language, rankers["other"])

    @property
    def calibration(self) -> Calibration:
        return self._calibration or shipped_calibration()

    @classmethod
    def load(cls, index_dir: str | Path, embedder: str | None = None,
             settings: Settings | None = None, calibration: Calibration | None = None,
             warm: bool = True) -> Retriever:
        """Open an index. ``embedder``, if given, must be the one the index was built with.

        ``warm``: start loading the embedder's fast query engine in the background (see
        ``ingest.embed.E5Engine.warm``); a process that asks one question and exits, as
        ``kotae ask QUESTION`` does, passes False and never loads it.
        """
        reader = IndexReader(index_dir)
        if embedder is not None and embedder != reader.embedder_spec:
            raise IndexFileError(f"{index_dir} was built with embedder {reader.embedder_spec!r}, "
                                 f"not {embedder!r}; drop --embedder or rebuild the index with it")
        tokenizer = Tokenizer()
        check_tokenizer(reader.manifest, tokenizer.version, index_dir)
        model = _index_embedder(index_dir, reader.embedder_spec) if reader.dim else None
        if model is not None and model.dim != reader.dim:
            raise IndexFileError(f"{index_dir}: embedder {reader.embedder_spec!r} gives {model.dim} "
                                 f"dimensions, the index has {reader.dim}; rebuild the index")
        if warm and model is not None:
            start_warming(model)
        return cls(reader, model, settings, tokenizer, calibration)

    def with_settings(self, **changes: Any) -> Retriever:
        return type(self)(self.index, self.embedder, replace(self.settings, **changes), self.tokenizer,
                          self._calibration)

    # -- public API ---------------------------------------------------------

    def ask(self, question: str, k: int = 3, docs: Sequence[str] | None = None) -> Answer:
        """Answer one question; ``docs`` (patterns, see :meth:`documents`) searches only those documents."""
        return self.ask_many([question], k=k, docs=docs)[0]

    def ask_many(self, questions: Sequence[str], k: int = 3, docs: Sequence[str] | None = None) -> list[Answer]:
        """Answer a batch: one embedding call and one matrix product for all questions."""
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        scope = self.scope(docs)
        qs = [_check_question(q) for q in questions]
        if not qs:
            return []
        # One BLAS thread: an ask's products are matrix-vector products, which OpenBLAS splits
        # over every core; on this 2-core machine under load (1-min load average 10) JSQuAD's
        # 4,509 x 384 product took 24 ms that way and 0.1 ms on one thread. Held until the USE
        # similarities started in the worker thread are done: OpenBLAS takes its thread count
        # back up only when asked from this thread (ingest.use_vectors.one_blas_thread).
        with one_blas_thread():
            started = self._start_english(qs)
            try:
                return self._answers(qs, k, scope)
            finally:
                futures_wait(started)

    def _answers(self, qs: list[str], k: int, scope: Scope | None) -> list[Answer]:
        """The questions embedded at once, then answered one by one (:meth:`ask_many`)."""
        t0 = time.perf_counter()
        qvecs = self.embedder.queries(qs) if self.embedder is not None else None
        t1 = time.perf_counter()
        dense_u = dense_p = None
        if qvecs is not None and self.index.unit_vectors is not None:
            dense_u = self.index.unit_vectors @ qvecs.T  # units x questions
            dense_p = self.index.passage_vectors @ qvecs.T
        t2 = time.perf_counter()
        per_q_embed = (t1 - t0) * 1000 / len(qs)
        per_q_dense = (t2 - t1) * 1000 / len(qs)
        answers = []
        for i, q in enumerate(qs):
            s0 = time.perf_counter()
            du = dense_u[:, i] if dense_u is not None else None
            dp = dense_p[:, i] if dense_p is not None else None
            answer = self._answer(q, du, dp, k, scope)
            s1 = time.perf_counter()
            local_search = answer.timings_ms.get("search", 0.0)
            answers.append(replace(answer, timings_ms={
                "embed": per_q_embed, "search": per_q_dense + local_search,
                "answer": max((s1 - s0) * 1000 - local_search, 0.0),
                "total": per_q_embed + per_q_dense + (s1 - s0) * 1000}))
        return answers

    def documents(self, patterns: Sequence[str] | None = None) -> list[str]:
        """The ids of the index's documents in index order, or of those ``patterns`` pick: an
        id, a path, or a glob on the id, path, file name or title ('*.pdf', '*防災*'). A pattern
        that picks nothing raises InputError naming the near matches."""
        sources = self.index.sources
        if patterns is None:
            return [s.doc for s in sources]
        return [sources[i].doc for i in select_documents(_patterns(patterns), self._names())]

    def scope(self, docs: Sequence[str] | None) -> Scope | None:
        """The passages and units of the documents ``docs`` picks (None: the whole index)."""
        if docs is None:
            return None
        key = tuple(_patterns(docs))
        if key not in self._scopes:
            ix = self.index
            picked = np.zeros(len(ix.sources), dtype=bool)
            picked[select_documents(key, self._names())] = True
            if len(self._scopes) >= 64:
                self._scopes.clear()
            self._scopes[key] = Scope(passages=picked[ix.passages.doc], units=picked[ix.units.doc])
        return self._scopes[key]

    def _names(self) -> list[DocName]:
        return [DocName(s.doc, s.path, s.title) for s in self.index.sources]

    # -- scoring ------------------------------------------------------------

    def _answer(self, question: str, du: np.ndarray | None, dp: np.ndarray | None, k: int,
                scope: Scope | None = None) -> Answer:
        """One question, step by step: analyse -> fuse -> candidates -> rank_sentences -> rerank ->
        short -> cite -> abstain."""
        q = self.analyse(question)
        t0 = time.perf_counter()
        searched = len(self.index.passages) if scope is None else int(scope.passages.sum())
        if searched == 0:
            where = "the index holds" if scope is None else "the documents chosen with --doc hold"
            return Answer(question, q.language, True, None, (), why=f"{where} no passages")
        fused, lex_p = self.fuse(q, du, dp, scope)
        order = np.argsort(-fused, kind="stable")[:searched]  # passages out of scope sort last
        t1 = time.perf_counter()
        top = [int(p) for p in order[: max(self.settings.passages_considered, k)]]
        cand = self.candidates(q, top[: self.settings.passages_considered], scope)
        if not cand:
            return Answer(question, q.language, True, None, (), why="no passage holds a sentence to answer with")
        ranking = self.rerank(q, self.rank_sentences(q, cand, fused, du))
        best = ranking.order[0]
        found = self.short_candidates(q, ranking.order[: self.settings.short_sentences])
        sure = self.confidences(q, ranking, [best], found)[0]
        shorts = self.short(found, sure, q, ranking.order)
        short = shorts[0] if shorts else None
        citations = self.cite(q, best, top[:k], fused, du, ranking, sure)
        best_dense = float(du[best]) if du is not None else 1.0
        fact = None if found is not None and found.fallback else short  # いつ answered by 夜間: no date
        why = self.abstain(q, best, best_dense, fact, lex_p if du is None else None, du)
        gloss = self.glosses(q, best, short) if q.bridged is not None and why is None else ()
        threshold = self.settings.min_sentence_confidence
        if threshold is None:
            threshold = self.calibration.sentence_threshold(names_topic(self.title_of(best)))
        return Answer(question, q.language, why is not None,
                      None if why else self._unit_citation(best, best_dense), citations,
                      timings_ms={"search": (t1 - t0) * 1000}, short=None if why else short, why=why,
                      gloss=gloss, confidence=None if why else sure, confident=why is None and sure >= threshold,
                      short_candidates=() if why else shorts)

    def analyse(self, question: str) -> Question:
        """The question analysed once; an English one also gets its words bridged to the
        index's Japanese (president -> 大統領), the evidence BM25 and coverage read for it."""
        q = Question.of(question, self.tokenizer)
        if q.language != "en":
            return q
        if not self.index.bridge.lexicon:  # an index built before bridges: English words meet only Latin text
            return replace(q, second_dense=self.second_dense(q))
        started = self._bridged_pending.pop(question, None)
        if started is not None and started.cancel():
            started = None  # the worker is still on USE (a busy machine): bridged here meanwhile, not after it
        terms, scores = started.result() if started is not None else self.bridged(question)
        weights = token_weights(terms)
        # The Japanese its words stand for are what an answer sentence shares with it, as a
        # Japanese question's own words are (the short answer's features read them).
        return replace(q, bridged=terms, bridged_weights=weights, content=q.content | frozenset(weights),
                       second_dense=self.second_dense(q), anchors=anchor_words(question),
                       bridged_idf=self.token_idf(weights), bridged_scores=scores)

    def bridged(self, question: str) -> tuple[tuple[BridgedTerm, ...], tuple[np.ndarray, np.ndarray]]:
        """An English question's words bridged to the index's Japanese, with their BM25 over the
        passages and over the units (english.term_scores): all the bridge needs of the question
        alone, which :meth:`ask_many` works out beside its e5 vector (:meth:`_start_english`)."""
        ix = self.index
        terms = bridge_question(question, ix.bridge, ix.passage_lexical.vocab)
        return terms, (term_scores(ix.passage_lexical, terms), term_scores(ix.unit_lexical, terms))

    def second_dense(self, q: Question) -> tuple[np.ndarray, np.ndarray] | None:
        """The question's USE similarity to every unit and passage, when its language weighs
        USE and the index has USE vectors (the encoder loads on the first such question);
        those :meth:`ask_many` started for it if it did."""
        ix = self.index
        if not self.settings.second_dense.get(q.language) or ix.use_unit_vectors is None \
                or ix.use_passage_vectors is None:
            return None
        started = self._second_pending.pop(q.nfkc, None)
        if started is not None:
            units, passages = started.result()
        else:
            units, passages = question_similarities(q.nfkc, ix.use_unit_vectors, ix.use_passage_vectors)
        return units, passages

    def _start_english(self, questions: Sequence[str]) -> list[Future]:
        """Start, in a worker thread, what the English questions need besides their e5 vector:
        their USE similarities (:meth:`second_dense`) and, with an embedder to wait for, their
        bridged terms and BM25 (:meth:`bridged`), to be worked out while e5 embeds the questions
        in this thread (ONNX Runtime lets go of the GIL while it runs). Each question is still
        encoded alone, so its similarities do not depend on the batch it came in.

        # "Who became Iran's president?": e5's vector takes about 10-15 ms here, USE's 4 ms and
        # the bridge's work 0.6 ms; one after the other, they added their time to every English
        # question's answer. USE goes first: the bridge's work is Python, which would hold the
        # GIL against e5's tokenizer (Python too) at the start, not against e5's encoder.
        # (100 English JSQuAD questions, paired: the bridge's work here took 0.43-0.46 ms off a
        # warm ask at load 1.2-1.3, three runs; at load 3, with no core to spare, nothing.)
        """
        ix = self.index
        units, passages = ix.use_unit_vectors, ix.use_passage_vectors
        use_vectors = (units, passages) if units is not None and passages is not None else ()
        use = bool(self.settings.second_dense.get("en")) and bool(use_vectors)
        bridge = self.embedder is not None and bool(ix.bridge.lexicon)
        if not (use or bridge):
            return []
        for pending in (self._second_pending, self._bridged_pending):
            if len(pending) > 1_000:  # left by asks that failed before their answers
                pending.clear()
        started = []
        for text in questions:
            if detect_language(text) != "en":
                continue
            nfkc = unicodedata.normalize("NFKC", text)
            if use and nfkc not in self._second_pending:
                started.append(self._second_pending.setdefault(nfkc, self._worker().submit(
                    question_similarities, nfkc, *use_vectors)))
            if bridge and text not in self._bridged_pending:
                started.append(self._bridged_pending.setdefault(text, self._worker().submit(self.bridged, text)))
        return started

    def _worker(self) -> ThreadPoolExecutor:
        """The thread that works out English questions' USE similarities and bridged terms."""
        if self._second_worker is None:
            self._second_worker = ThreadPoolExecutor(1, thread_name_prefix="kotae-english")
        return self._second_worker

    def _lexical(self, lexical: LexicalIndex, q: Question) -> np.ndarray:
        """BM25 of every row of ``lexical``: the question's tokens, or its bridged terms (each
        term once, by its best Japanese alternative; worked out with the terms, :meth:`bridged`)."""
        if q.bridged is not None:
            known = q.bridged_scores
            if known is not None and lexical is self.index.passage_lexical:
                return known[0]
            if known is not None and lexical is self.index.unit_lexical:
                return known[1]
            return term_scores(lexical, q.bridged)
        return lexical.scores(q.tokens)

    def fuse(self, q: Question, du: np.ndarray | None, dp: np.ndarray | None,
             scope: Scope | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Each passage's score: dense and BM25 on one scale, weighed by the question's language.
        Returns (fused, BM25) passage scores.

        With a ``scope`` the passages of other documents score -inf (BM25 0) and the two
        scores are put on one scale among the scope's passages alone, as if the index held
        only those documents: a small report asked on its own is ranked against itself, not
        against the thousands of passages of a large corpus beside it."""
        ix = self.index
        lex_p = self._lexical(ix.passage_lexical, q)
        dense = self._passage_dense(du, dp)
        second = self._passage_dense(*q.second_dense) if q.second_dense is not None else None
        if scope is None:
            return self._fused(q, lex_p, dense, second), lex_p
        keep = scope.passages
        fused = np.full(len(lex_p), -np.inf)
        fused[keep] = self._fused(q, lex_p[keep], None if dense is None else dense[keep],
                                  None if second is None else second[keep])
        return fused, np.where(keep, lex_p, 0.0)

    def _passage_dense(self, du: np.ndarray | None, dp: np.ndarray | None) -> np.ndarray | None:
        """A passage's dense score: its mean vector's similarity mixed with its best sentence's."""
        if dp is None or du is None:
            return None
        ix = self.index
        best_unit = np.maximum.reduceat(du[ix.member_flat], ix.member_offsets) if len(ix.member_flat) else dp
        return (1 - self.settings.unit_max) * dp + self.settings.unit_max * best_unit

    def _fused(self, q: Question, lex: np.ndarray, dense: np.ndarray | None,
               second: np.ndarray | None = None) -> np.ndarray:
        if dense is None:
            return _scale(lex)
        w = self.settings.lexical.get(q.language, self.settings.lexical["other"])
        norm = _NORMS[self.settings.fusion]
        semantic = norm(dense)
        if second is not None:  # e5 and USE, each on the one scale, then weighed
            a = self.settings.second_dense.get(q.language, 0.0)
            semantic = (1 - a) * semantic + a * norm(second)
        return (1 - w) * semantic + w * norm(lex)

    def candidates(self, q: Question, passages: Sequence[int], scope: Scope | None = None) -> list[int]:
        """The units that compete for the answer: the answerable units of the top passages,
        then the units the question is about (bylines for 筆者は誰か), wherever they rank
        within the ``scope``."""
        ix = self.index
        cand: list[int] = []
        seen: set[int] = set()
        for p in passages:
            for u in ix.passages.members[p]:
                if u not in seen and ix.units.kind[u] in ANSWER_KINDS:
                    seen.add(u)
                    cand.append(int(u))
        for kind in q.intents:
            for u in ix.units_of_kind.get(kind, ()):
                if u not in seen and (scope is None or scope.units[u]):
                    seen.add(u)
                    cand.append(u)
        return cand

    def rank_sentences(self, q: Question, cand: list[int], fused: np.ndarray, du: np.ndarray | None,
                       known: Ranking | None = None) -> Ranking:
        """The candidate units, best first, by the weighted sum of their SENTENCE_FEATURES
        (``known``: an earlier ranking of some of them for the same question, whose echo is reused)."""
        x = self._sentence_features(q, cand, fused, du, known)
        score = x @ self.sentence_weights(q.language)
        return Ranking(cand, x, score, [int(cand[i]) for i in np.argsort(-score, kind="stable")])

    def rerank(self, q: Question, ranking: Ranking) -> Ranking:
        """``ranking`` with the best of its best RERANK_SENTENCES candidates by the calibration's
        second stage first (Calibration.rerank; Japanese questions: it learned from them), or
        as it is (``Settings.rerank`` False: always). The linear ranker adds up its features; the
        trees read them together, with how each candidate stands against the others and whether
        it leaves the answer to its document's topic (JSQuAD, held out by article:
        benchmarks/train_confidence.py)."""
        model = self.calibration.rerank
        if model is None or not self.settings.rerank or q.language != "ja" or len(ranking.cand) < 2:
            return ranking
        top = ranking.order[:RERANK_SENTENCES]
        as_read = self.question_as_read(q)
        topics = [topic_evidence(self.title_of(u), self.index.units.text[u], as_read) for u in top]
        if any(t["topic_elsewhere"] == TOPIC_UNKNOWN for t in topics):
            # A document whose title names no topic (a report's): the trees learned from JSQuAD's
            # articles, each titled by its topic; on the natural dev set's Japanese questions
            # (reports, views asked) they moved 10 answers, 7 away from a right sentence and 1 to
            # one (benchmarks/natural_misses.py). There the linear ranker's order stands.
            return ranking
        at = {u: i for i, u in enumerate(ranking.cand)}
        idf = self._idf(q)
        coverage = [self._coverage(q, u, idf) for u in top]
        following = self.next_candidates(ranking.cand)
        rows = np.stack([model.row(rerank_evidence(
            ranking.score, ranking.x, SENTENCE_FEATURES, at[u], rank, following[at[u]], coverage[rank],
            q.asked.kind, topic)) for rank, (u, topic) in enumerate(zip(top, topics, strict=True))])
        # A runner-up holding too few of the question's words by itself (under abstain_coverage,
        # the share the coverage rule asks of a sentence with its neighbours) does not compete:
        # on JSQuAD, letting it did cost 4 more false abstentions of 4,442 questions.
        scores = np.where([rank == 0 or c >= self.settings.abstain_coverage for rank, c in enumerate(coverage)],
                          model.logistic(rows), -np.inf)
        return replace(ranking, order=reranked(ranking.order, scores.tolist()))

    def confidences(self, q: Question, ranking: Ranking, units: Sequence[int],
                    found: ShortCandidates | None = None) -> list[float]:
        """The calibrated probability that each of ``units`` (candidates) holds the answer; ``found``,
        the short-answer candidates of one of them, is evidence for that one."""
        idf = self._idf(q)
        following = self.next_candidates(ranking.cand)
        as_read = self.question_as_read(q)
        out = []
        for u in units:
            i = ranking.cand.index(u)
            named = dict(zip(SENTENCE_FEATURES, ranking.x[i].tolist(), strict=True))
            short = short_summary(found.ranked) if found is not None and found.unit == u else None
            lead = pick_lead(ranking.score, ranking.x, SENTENCE_FEATURES, i, following[i])
            topic = topic_evidence(self.title_of(u), self.index.units.text[u], as_read)
            evidence = sentence_evidence(ranking.score, i, named, self._coverage(q, u, idf), q.asked.kind, short,
                                         lead, topic)
            out.append(self.calibration.sentence_probability(evidence, q.language, pick=u == ranking.order[0]))
        return out

    def title_of(self, u: int) -> str | None:
        """The title of the document unit ``u`` belongs to (retriever.confidence.topic_evidence reads it)."""
        return self.index.sources[int(self.index.units.doc[u])].title

    @staticmethod
    def question_as_read(q: Question) -> str:
        """The question's text, and for an English one the Japanese its words were bridged to
        (Iran -> イラン), where a document's title is looked for (topic_evidence)."""
        japanese = ["".join(tokens) for t in q.bridged or () for tokens, _ in t.alternatives]
        return " | ".join([q.text, *japanese])

    def cite(self, q: Question, best: int, top: Sequence[int], fused: np.ndarray, du: np.ndarray | None,
             ranking: Ranking, sure: float) -> tuple[Citation, ...]:
        """The top passages as citations: first the one that holds the answer, scored by the answer's
        confidence, then the others by the probability that their best sentence holds the answer,
        so that every score shown is on the one scale of answer.confidence."""
        ix = self.index
        holder = int(max(ix.unit_passages[best], key=lambda p: fused[p]))
        others = [p for p in top if p != holder][: len(top) - 1]
        extra = [u for p in others for u in ix.passages.members[p]
                 if u not in ranking.cand and ix.units.kind[u] in ANSWER_KINDS]
        if extra:  # passages cited beyond those whose sentences competed (k > passages_considered)
            wider = self.rank_sentences(q, ranking.cand + list(dict.fromkeys(extra)), fused, du, ranking)
            # the answer stays the pick (confidences scores it as one), whatever the wider order
            ranking = replace(wider, order=[best, *(u for u in wider.order if u != best)])
        at = {u: i for i, u in enumerate(ranking.cand)}
        tops = [max((u for u in ix.passages.members[p] if u in at), key=lambda u: ranking.score[at[u]], default=None)
                for p in others]
        known = [u for u in tops if u is not None]
        sure_of = dict(zip(known, self.confidences(q, ranking, known), strict=True))
        scored = sorted(((sure_of.get(u, 0.0) if u is not None else 0.0, p) for u, p in zip(tops, others, strict=True)),
                        key=lambda t: -t[0])
        return tuple(self._passage_citation(p, score) for score, p in [(sure, holder), *scored])

    def abstain(self, q: Question, best: int, best_dense: float, short: ShortAnswer | None,
                lex_p: np.ndarray | None, du: np.ndarray | None = None) -> str | None:
        """Why the best sentence is no answer, or None when it is one: by the hand-set rules,
        then by the fitted model of retriever/abstain.py.

        The rules read one piece of evidence at a time (coverage, the missing fact); the
        model weighs them together with how the answer stands against the corpus (``du``:
        every sentence's similarity to the question), and catches questions the rules let
        through: on JSQuAD with half its articles indexed, 84% of the other half's Japanese
        questions abstained where the rules caught 61%, for 0.2 points more false
        abstentions (English, weaker through the bridge: 15% from 13%, for 0.7 points;
        benchmarks/train_abstain.py, out of fold). ``lex_p`` (the BM25 passage scores) is
        given on a lexical-only index, where no lexical match at all means no evidence.

        Where the model says so (its ``overrule``), the coverage rule is its evidence rather
        than a verdict: a Japanese question whose sentence and neighbours hold under a fifth
        of its words is abstained on only when the model, too, finds an answer unlikely. Its
        words are often said otherwise in an answering passage (# 国際連合 asked, 国連 written).
        On JSQuAD's 4,442 answerable questions the rules' false abstentions fell from 21 to 16
        that way, and the budget freed let the model catch 88 of the 112 dev off-topic questions
        where it caught 87, for 29 false abstentions in all where there were 31
        (benchmarks/abstain_levers.py, abstain_thresholds.py)."""
        # An English question's terms against the best sentence are read by a rule (the
        # absent names) and by the model: worked out once, here, for both.
        terms = self.terms(q, best) if q.bridged is not None else None
        model = models().get(q.language) if self.settings.abstain_model else None
        weighed = model is not None and du is not None and model.overrule < 1.0
        why = self.abstain_rules(q, best, best_dense, short, lex_p, terms, coverage=not weighed)
        if why is not None or du is None or model is None:
            return why
        if bool(q.intents) and self.index.units.kind[best] in q.intents:
            return None  # a byline answers 筆者は誰か however little it resembles the question
        ev = self.evidence(q, best, du, short, terms)
        if weighed and model.probability(ev) < model.overrule and q.bridged is None and q.language == "ja":
            why = self.low_coverage(self._window_coverage(q, best))  # the coverage rule, where it holds
        return why or model.why(ev, self.fact_name(q))

    @staticmethod
    def fact_name(q: Question) -> str:
        """The kind of fact asked, in words ("a number of 発", "a date"), or ""."""
        return f"a number of {q.asked.counter}" if q.asked.counter else _FACT_NAMES.get(q.asked.kind, "")

    def missing_fact(self, q: Question, best: int, short: ShortAnswer | None) -> bool:
        """Whether the question asks for a date, person, place, organisation or quantity and
        the best sentence offers none: no short answer of the kind, or, for an English
        quantity, no number in the sentence's text at all. English names no counter a
        Japanese sentence's number must carry: "How many times has Dominica won…" is
        answered by 2度の優勝経験, which the short-answer step offers as no number of 回
        (:func:`states_number`)."""
        if q.asked.kind not in FACT_KINDS:
            return False
        if q.language != "ja" and q.asked.kind == QUANTITY:
            return not states_number(self.index.units.text[best], q.asked.counter)
        return short is None

    def evidence(self, q: Question, best: int, du: np.ndarray, short: ShortAnswer | None,
                 terms: Sequence[Term] | None = None) -> Evidence:
        """What is known about the question and its best sentence, for the abstain model
        (``terms``: :meth:`terms` of the two, when the caller has them already)."""
        dense_z, top_z = standing(du, best)
        if q.bridged is not None:
            bridged = q.bridged
            coverage = self._bridged_coverage(q, best)
            known = sum(1 for t in bridged if t.alternatives) / len(bridged) if bridged else 1.0
        else:
            coverage = self._coverage(q, best)
            idf = self._idf(q)
            total = sum(idf.values())
            lexical = self.index.passage_lexical
            known = sum(v for t, v in idf.items() if lexical.document_frequency(t) > 0) / total if total else 1.0
        missing = self.missing_fact(q, best, short)
        second = (float(q.second_dense[0][best]), float(q.second_dense[0].max())) if q.second_dense else (0.0, 0.0)
        if q.second_dense is None and q.language == "en":  # an index without USE vectors: not measured
            second = (float("nan"), float("nan"))
        return Evidence(dense=float(du[best]), dense_z=dense_z, top_z=top_z, coverage=coverage,
                        known=known, missing_fact=missing, lead=lead(du), second=second[0], second_top=second[1],
                        **term_evidence(self.terms(q, best) if terms is None else terms))  # type: ignore[arg-type]

    def terms(self, q: Question, best: int) -> list[Term]:
        """The question's content words (Japanese) or bridged terms (English), each with its
        rarity in this corpus and whether the best sentence, its passage and the corpus hold it."""
        ix = self.index
        lexical = ix.passage_lexical
        rarity = lexical.rarity
        sentence = ix.units.tokens[best]
        passage = frozenset().union(*(ix.units.tokens[u] for p in ix.unit_passages[best]
                                      for u in ix.passages.members[p]))
        if q.bridged is None:
            if q.language != "ja":
                return []
            words = [Term(t, rarity(t), False, t in sentence, t in passage, lexical.document_frequency(t) > 0)
                     for t in sorted(q.content - q.anchors)]
            names = [Term("".join(run), max(rarity(t) for t in run), True, all(t in sentence for t in run),
                          all(t in passage for t in run), all(lexical.document_frequency(t) > 0 for t in run))
                     for run in anchor_runs(q)]
            return words + names
        # What the bridge and the dictionary hold is read only for a word the bridge could not place.
        unplaced = any(not t.alternatives for t in q.bridged)
        phrased, dictionary = (ix.bridge.key_words, dictionary_words()) if unplaced else (frozenset(), frozenset())
        terms = [self.bridged_term(t, q.anchors, rarity, sentence, passage, phrased, dictionary) for t in q.bridged]
        if not any(t.anchor and not t.in_passage for t in terms):
            return terms
        # A name the bridge could not place may still be said in the passage, in readings of
        # words it never saw whole: "Taisaku" in 北原泰作. Heard there, it is held.
        sound = self._sound(tuple(ix.unit_passages[best]))
        return [replace(t, in_passage=True, in_corpus=True) if t.anchor and not t.in_passage and heard_in(t.text, sound)
                else t for t in terms]

    def _sound(self, passages: tuple[int, ...]) -> Sound:
        """How the passages sound (english.sound_of), kept once made: questions on one report
        often look for a name in the same passages."""
        known = self._sounds.get(passages)
        if known is None:
            if len(self._sounds) >= 10_000:
                self._sounds.clear()
            texts = self.index.passages.text
            known = self._sounds[passages] = sound_of([m for p in passages for m in self.morphemes(texts[p])])
        return known

    @staticmethod
    def bridged_term(t: BridgedTerm, anchors: frozenset[str], rarity: Any, sentence: frozenset[str],
                     passage: frozenset[str], phrased: Container[str] = frozenset(),
                     dictionary: Container[str] = frozenset()) -> Term:
        """An English term as a :class:`Term`: as rare as its commonest reading ("year" may be
        年, however rare 年次 is), and a term no passage can say ("budapest", no ブダペスト
        anywhere) as rare as can be.

        A word with digits that the bridge cannot place ("19th", "1860s", "24th": the corpus
        writes 19世紀, 1860年代, 第24回) is not counted as absent from the corpus: it is a number
        in another spelling, not a name the corpus lacks. (Of the 287 English a1 questions, 14
        were marked as naming something absent for such a word alone.) Nor is a word the bridge
        holds only inside a phrase (``phrased``: the words of its keys): "the eastern equatorial
        Pacific" has no entry of its own, but the corpus's 太平洋 is keyed "pacific ocean". A word
        unplaced is named when ``dictionary`` (the lexicon's key words) holds it: "budapest" is,
        and so absent; "arrhenius" is not, and so only unplaced (:func:`term_evidence`).

        A term of several words is read word by word: placed when each of its words is, named
        when the dictionary holds each ("pacific island" with no entry: both are key words of
        this bridge, so placed; "taisaku kitahara": neither is, so neither placed nor named)."""
        alts = [alt for alt, _ in t.alternatives]
        words = t.english.split() if not alts else []
        forms = [english_forms(w) for w in words]
        placed = bool(alts) or (bool(words) and all(any(ch.isdigit() for ch in w) or any(f in phrased for f in fs)
                                                    for w, fs in zip(words, forms, strict=True)))
        return Term(t.english, min((max(rarity(x) for x in alt) for alt in alts), default=1.0),
                    any(w in anchors for w in t.english.split()),
                    any(all(x in sentence for x in alt) for alt in alts),
                    any(all(x in passage for x in alt) for alt in alts), placed,
                    bool(alts) or (bool(words) and all(any(f in dictionary for f in fs) for fs in forms)))

    def abstain_rules(self, q: Question, best: int, best_dense: float, short: ShortAnswer | None,
                      lex_p: np.ndarray | None, terms: Sequence[Term] | None = None,
                      coverage: bool = True) -> str | None:
        """Why the best sentence is no answer by the hand-set rules, or None (``terms``: as
        for :meth:`evidence`; ``coverage`` False: without the rule on a Japanese question's
        coverage alone, which :meth:`abstain` then weighs with the model)."""
        st = self.settings
        # No evidence at all: nothing lexical on a lexical-only index, or a question with
        # no letters or digits (？？？, emoji) whose embedding means nothing.
        if lex_p is not None and float(lex_p.max()) <= 0:
            return "no passage shares a word with the question (and this index has no embeddings)"
        if not any(ch.isalnum() for ch in q.text):
            return "the question has no letters or digits to search for"
        if best_dense < st.abstain_dense:
            return f"the best sentence's similarity {best_dense:.2f} is under the threshold {st.abstain_dense:.2f}"
        # Japanese questions share words with the sentence that answers them, so low
        # coverage is evidence of no answer; a missing fact (何発 with no count of 発)
        # is, when coverage is also middling. English questions share no words with
        # Japanese text: there the missing fact alone decides.
        missing_fact = st.abstain_missing_fact and self.missing_fact(q, best, short)
        fact = self.fact_name(q)
        if missing_fact and q.language != "ja" and (q.bridged is None or q.asked.kind == QUANTITY):
            # Without a bridge the missing fact alone decides; through one, a missing count
            # still does: "How many ICBM silos…" is answered by a number or not at all.
            return f"the question asks for {fact} and the best sentence has none"
        if bool(q.intents) and self.index.units.kind[best] in q.intents:
            return None  # a byline answers 筆者は誰か whatever words it shares
        if q.bridged is not None:
            return self._abstain_bridged(q, best, missing_fact, fact, terms)
        if q.language != "ja":
            return None
        held = self._window_coverage(q, best)
        if coverage and (why := self.low_coverage(held)) is not None:
            return why
        if missing_fact and held < st.abstain_fact_coverage:
            return (f"the best sentence has no {fact.split(' ', 1)[1]} and it and its neighbours hold "
                    f"{held:.0%} of the question's content words "
                    f"({st.abstain_fact_coverage:.0%} needed without one)")
        return None

    def low_coverage(self, held: float) -> str | None:
        """The coverage rule: why a Japanese question's best sentence, with its neighbours, is no
        answer when it holds ``held`` (:meth:`_window_coverage`) of the question's words, or None."""
        need = self.settings.abstain_coverage
        if held >= need:
            return None
        return (f"the best sentence and its neighbours hold {held:.0%} of the question's content words "
                f"(idf-weighted; {need:.0%} needed)")

    def _window_coverage(self, q: Question, best: int) -> float:
        """Coverage (:meth:`_coverage`) of the best sentence with the sentences either side of it in
        its document. An answer often leaves the question's words to the sentence before it:

        # 政府は新経済メカニズムを導入した。それは1986年のことである。
        # asked 新経済メカニズムはいつ導入されたか, the ranker rightly picks the second sentence
        # (the date), which holds none of the question's words; its neighbour holds them all.
        # (With the sentence alone, 84 of JSQuAD's 4,442 answerable questions were abstained on.)"""
        ix = self.index
        doc = ix.units.doc[best]
        window = frozenset().union(*(ix.units.tokens[u] for u in (best - 1, best, best + 1)
                                     if 0 <= u < len(ix.units.text) and ix.units.doc[u] == doc))
        idf = self._idf(q)
        total = sum(idf.values())
        return sum(v for t, v in idf.items() if t in window) / total if total else 1.0

    def _abstain_bridged(self, q: Question, best: int, missing_fact: bool, fact: str,
                         terms: Sequence[Term] | None = None) -> str | None:
        """Abstention for English through the bridge: Japanese-like evidence, only weaker (a
        paraphrase or a word the dictionary lacks leaves a term uncovered), so a missing date,
        person or place abstains only when little of the question is found as well."""
        st = self.settings
        bridged = q.bridged or ()
        if bridged and all(t.source == "unbridged" for t in bridged):
            # "What is the capital of France?" of a report that says neither 首都 nor フランス.
            return "none of the question's words has a counterpart in the indexed documents"
        names = term_evidence(self.terms(q, best) if terms is None else terms)
        if float(names["absent"]) >= st.abstain_absent_names:
            return f"the indexed documents never mention {names['word']!r} (a name the dictionary knows)"
        coverage = self._bridged_coverage(q, best)
        if coverage < st.abstain_bridged_coverage:
            return (f"the best sentence holds {coverage:.0%} of the question's bridged terms "
                    f"(idf-weighted; {st.abstain_bridged_coverage:.0%} needed)")
        if missing_fact and coverage < st.abstain_bridged_fact_coverage:
            return (f"the question asks for {fact}, the best sentence has none and holds {coverage:.0%} "
                    f"of the question's bridged terms ({st.abstain_bridged_fact_coverage:.0%} needed without one)")
        return None

    def _sentence_features(self, q: Question, cand: list[int], fused: np.ndarray,
                           du: np.ndarray | None, known: Ranking | None = None) -> np.ndarray:
        """What is known about each candidate sentence, in SENTENCE_FEATURES order."""
        ix = self.index
        c = np.array(cand)
        x = np.zeros((len(cand), len(SENTENCE_FEATURES)))
        col = _SENTENCE_COLUMN
        p_best = np.array([max(fused[p] for p in ix.unit_passages[u]) for u in cand])
        if "byline" in q.intents:
            # A byline speaks for its whole document: "Who issued this notice?" is answered by
            # the byline of the document whose passages match the question, not by the byline
            # whose own line does (each is a passage of its own).
            doc_best = np.full(len(ix.sources), -np.inf)
            np.maximum.at(doc_best, ix.passages.doc, fused)
            bylines = np.array([ix.units.kind[u] == "byline" for u in cand])
            p_best = np.where(bylines, doc_best[ix.units.doc[c]], p_best)
        top = float(fused.max()) or 1.0
        x[:, col["passage"]] = p_best / top
        x[:, col["top_passage"]] = p_best >= top
        lex_u = self._lexical(ix.unit_lexical, q)[c]
        x[:, col["lexical"]] = lex_u / lex_u.max() if lex_u.max() > 0 else 0
        if du is not None:
            dn = du[c]
            x[:, col["dense"]] = (dn - dn.min()) / (float(dn.max() - dn.min()) or 1.0)
            x[:, col["dense_gap"]] = dn - dn.max()
            x[:, col["dense_raw"]] = dn  # the cosine itself: 0.9 is close whatever the others score
        if q.second_dense is not None:
            sn = q.second_dense[0][c]
            x[:, col["second_dense"]] = (sn - sn.min()) / (float(sn.max() - sn.min()) or 1.0)
        ranking = np.sort(fused[np.isfinite(fused)])[::-1]
        # How far the best passage leads the next: a clear lead means the search was sure.
        x[:, col["passage_margin"]] = ranking[0] - ranking[1] if len(ranking) > 1 else 1.0
        if q.intents:
            x[:, col["intent"]] = [ix.units.kind[u] in q.intents for u in cand]
        if q.asked.kind in FACT_KINDS:
            need = f"quantity:{q.asked.counter}" if q.asked.counter else q.asked.kind
            x[:, col["type"]] = [need in ix.units.facts[u] for u in cand]
        if q.view is not None:  # a sentence that gives a reason for "why…", a proposal for "what should…"
            x[:, col["view"]] = [states_view(q.view, ix.units.text[u], self._next_sentence(u)) for u in cand]
        weighed = self.sentence_weights(q.language) != 0  # what no weight looks at is not worth computing
        if weighed[col["coverage"]] or weighed[col["prev_coverage"]]:
            idf = self._idf(q)
            x[:, col["coverage"]] = [self._coverage(q, u, idf) for u in cand]
            x[:, col["prev_coverage"]] = [self._coverage(q, p, idf) if p >= 0 else 0.0 for p in self._previous(cand)]
        if weighed[col["log_length"]]:
            x[:, col["log_length"]] = np.log1p([len(ix.units.text[u]) for u in cand])
        if weighed[[col[name] for name in (*ECHO_FEATURES, "prev_echo", "prev_echo_cover")]].any():
            self._echo_features(q, cand, x, known)
        # asked a fact or a term, not a view or a description ("how…", a statement: Tatoeba's lines)
        fact = q.view is None and q.asked.kind != DESCRIPTION
        if q.bridged is not None and fact and weighed[col["bridged_coverage"]]:
            idf = self._bridged_idf(q)
            x[:, col["bridged_coverage"]] = term_coverages(q.bridged, [ix.units.tokens[u] for u in cand], idf)
        if q.view == "reason" and weighed[col["prev_match"]]:
            self._prev_match(q, cand, x)
        if q.view is not None and weighed[[col[name] for name in FOLLOWS_MATCH]].any():
            self._follows_match(q, cand, x)
        self._neighbour_features(q, cand, x)
        return x

    def _neighbour_features(self, q: Question, cand: list[int], x: np.ndarray) -> None:
        """Fill NEIGHBOURS, always (a lookup and a pattern a candidate; the calibrator reads
        them for every language): whether a candidate opens by taking up the sentence before
        it, and whether the sentence before or after it states the kind of fact asked. A
        sentence that rewords the question often leaves the fact to the next one, and the
        calibrator reads a pick without the fact asked but followed by one as a likely miss:

        # 安保理決議2231はいつ終了するか (the report, l.94-97)
        # しかし、イラン国内では、…信頼構築は困難であろう。 (no date; next_type 1)
        # さらに、…安保理決議 2231 は、2025 年 10 月18日に終了する。 (type 1)
        # そうなれば、欧米諸国は…制裁を復活させることができるようになるが、… (prev_type 1)
        """
        col = _SENTENCE_COLUMN
        units = self.index.units
        x[:, col["takes_up"]] = [takes_up(units.text[u]) for u in cand]
        if q.asked.kind not in FACT_KINDS:
            return
        need = f"quantity:{q.asked.counter}" if q.asked.counter else q.asked.kind
        x[:, col["prev_type"]] = [p >= 0 and need in units.facts[p] for p in self._previous(cand)]
        x[:, col["next_type"]] = [n >= 0 and need in units.facts[n] for n in self._following(cand)]

    def _follows_match(self, q: Question, cand: list[int], x: np.ndarray) -> None:
        """Mark the candidate that follows, in its document, the candidate the other features rank
        first: whether it opens by taking that one up (question.takes_up: しかし, このため), and
        for a reason asked, that it follows and whether it states a reason outright
        (question.states_reason). Asked why, the sentence that matches the question best
        restates what is to be explained, and the reason comes next:

        # "Why shouldn't Japan present its engagement as countering China?"
        # 筆者は、日本が島嶼国への関与を「中国への対抗」として打ち出すべきではないと考える。 <- matches best
        # 島嶼国は大国間競争の駒として扱われることを最も嫌うからである。 <- the answer
        (on the natural dev set, 8 of 40 "why" questions were answered by the sentence after the
        best match, 20 by the best match itself)."""
        col = _SENTENCE_COLUMN
        w = self.sentence_weights(q.language).copy()
        w[[col[name] for name in FOLLOWS_MATCH]] = 0.0
        best = cand[int(np.argmax(x @ w))]
        units = self.index.units
        for i, u in enumerate(cand):
            if u == best + 1 and units.doc[u] == units.doc[best]:
                x[i, col["follows_match_linked"]] = float(takes_up(units.text[u]))
                if q.view == "reason":
                    x[i, col["follows_match"]] = 1.0
                    x[i, col["follows_match_stated"]] = float(states_reason(units.text[u]))

    def _prev_match(self, q: Question, cand: list[int], x: np.ndarray) -> None:
        """Fill prev_match: how well the sentence before each candidate, itself a candidate,
        matches the question by MATCH_FEATURES (their weighted sum, 0 for the worst candidate and 1
        for the best). Asked why, the sentences that match best restate what is to be explained,
        and the reason often follows one of them, not only the very best (_follows_match):

        # "Why is the city moving from a three-day to a seven-day stockpile?"
        # 市の備蓄はこれまで3日分を基本としてきました。 <- matches best (prev_match of the next: 1.0)
        # しかし、大規模な災害では…物資が届くまでに時間がかかることが…明らかになっています。 <- the answer
        (on the natural dev set's English "why" questions, 26 of 41 answer sentences were right
        without it, 28 with it)."""
        col = _SENTENCE_COLUMN
        w = self.sentence_weights(q.language)
        match = [col[name] for name in MATCH_FEATURES]
        m = x[:, match] @ w[match]
        span = float(m.max() - m.min())
        m = (m - m.min()) / span if span > 1e-12 else np.zeros_like(m)
        at = {u: i for i, u in enumerate(cand)}
        for i, p in enumerate(self._previous(cand)):
            j = at.get(p)
            if j is not None:
                x[i, col["prev_match"]] = m[j]

    def _previous(self, cand: list[int]) -> list[int]:
        """The unit before each candidate in its document, or -1 for a document's first."""
        doc = self.index.units.doc
        return [u - 1 if u > 0 and doc[u - 1] == doc[u] else -1 for u in cand]

    def _following(self, cand: list[int]) -> list[int]:
        """The unit after each candidate in its document, or -1 for a document's last."""
        doc = self.index.units.doc
        n = len(doc)
        return [u + 1 if u + 1 < n and doc[u + 1] == doc[u] else -1 for u in cand]

    def next_candidates(self, cand: list[int]) -> list[int]:
        """For each candidate, the position in ``cand`` of the unit after it in its document,
        or -1 when that unit does not compete (retriever.confidence.pick_lead reads it)."""
        at = {u: i for i, u in enumerate(cand)}
        return [at.get(n, -1) for n in self._following(cand)]

    def _echo_features(self, q: Question, cand: list[int], x: np.ndarray, known: Ranking | None) -> None:
        """Fill the ECHO_FEATURES of the candidates, and the echo of the sentence before each;
        those of ``known`` (an earlier ranking for the same question) are copied, not redone."""
        col = _SENTENCE_COLUMN
        names = [col[name] for name in (*ECHO_FEATURES, "prev_echo", "prev_echo_cover")]
        done = {u: known.x[i, names] for i, u in enumerate(known.cand)} if known is not None else {}
        todo = [i for i, u in enumerate(cand) if u not in done]
        if not todo:
            x[:, names] = [done[u] for u in cand]
            return
        echo = Echo.of(q)
        previous = self._previous([cand[i] for i in todo])
        found = {u: echo.features(self._matching(u)) for u in {*(cand[i] for i in todo), *previous} if u >= 0}
        for row, p in zip(todo, previous, strict=True):
            for name, v in found[cand[row]].items():
                x[row, col[name]] = v
            if p >= 0:
                x[row, col["prev_echo"]], x[row, col["prev_echo_cover"]] = found[p]["echo"], found[p]["echo_cover"]
        for row, u in enumerate(cand):
            if u in done:
                x[row, names] = done[u]

    def _matching(self, u: int) -> Paired:
        """A unit's text in matching form with its character pairs, kept once made: the same
        sentences compete again and again for questions on one report."""
        known = self._matching_forms.get(u)
        if known is None:
            if len(self._matching_forms) >= 100_000:
                self._matching_forms.clear()
            known = self._matching_forms[u] = Paired.of(normalize(self.index.units.text[u]))
        return known

    def morphemes(self, text: str) -> list[Morpheme]:
        """MeCab's analysis of an indexed text (a unit or a passage), kept once made. An ask
        analyses its answer sentence for the short answer and again for the glosses, and
        questions on one report meet the same sentences again and again (MeCab takes
        about 0.5 ms a sentence here)."""
        known = self._analysed.get(text)
        if known is None:
            if len(self._analysed) >= 20_000:
                self._analysed.clear()
            known = self._analysed[text] = analyse(self.tokenizer, text)
        return known

    def _next_sentence(self, u: int) -> str | None:
        """The text of the sentence after unit ``u`` in its document, or None."""
        units = self.index.units
        if u + 1 < len(units) and units.doc[u + 1] == units.doc[u] and units.kind[u + 1] == "sentence":
            return units.text[u + 1]
        return None

    def short_candidates(self, q: Question, units: list[int]) -> ShortCandidates | None:
        """The short-answer candidates of the first of ``units`` that has any, best first."""
        ix = self.index
        found = first_candidates(self.tokenizer, q, [ix.units.text[u] for u in units], self.morphemes)
        if found is None:
            return None
        return ShortCandidates(units[found[0]], ranked(found[1], ranker_language(q)))

    def short(self, found: ShortCandidates | None, sure: float, q: Question,
              order: Sequence[int] = ()) -> tuple[ShortAnswer, ...]:
        """The best short answers with calibrated confidences (``sure``: that of the answer
        sentence; ``order``: the candidate sentences best first, where the same answer found
        again in another is evidence for it), best first, in raw offsets, verified like citations."""
        if found is None:
            return ()
        ix, u = self.index, found.unit
        doc = int(ix.units.doc[u])
        runners_up = [ix.units.text[v] for v in order[:AGREEMENT_SENTENCES + 1] if v != u][:AGREEMENT_SENTENCES]
        ot = offset_map(ix.sources[doc].text, int(ix.units.start[u]), int(ix.units.end[u]), ix.units.gaps[u])
        scores = np.array([s for _, s, _ in found.ranked])
        threshold = self.settings.min_confidence
        threshold = self.calibration.short_threshold(q.language) if threshold is None else threshold
        listed = found.ranked[:SHORT_CANDIDATES]
        document, article = self.recurrence_texts(doc)
        sentence = ix.units.text[u]
        morphs, heads = self.morphemes(sentence), asked_heads(q.text)  # the morphemes: kept since first_candidates
        evidence = [short_evidence(scores, rank, dict(zip(FEATURES, x.tolist(), strict=True)), sure, q.asked.kind,
                                   short_context(found.ranked, rank, sentence, runners_up)
                                   | span_evidence(c, morphs, heads, document, article))
                    for rank, (c, _, x) in enumerate(listed)]
        # The candidates at once: the trees walk all their rows in one pass (a third of the time of three).
        p = self.calibration.short_probabilities(evidence, q.language)
        out = []
        for rank, i in enumerate(by_confidence(p, q.language)):
            cand = listed[i][0]
            start, end = ot.pos[cand.start], ot.raw_end(cand.end)
            self._verified(doc, start, end, (), cand.text)
            out.append(ShortAnswer(cand.text, start, end, cand.kind, p[i], shown=rank == 0 and p[i] >= threshold))
        return tuple(out)

    def recurrence_texts(self, doc: int) -> tuple[str, str]:
        """Document ``doc``'s text and its article's (the documents that share its title; one
        without a title is an article of its own), normalised, kept once made: where
        retriever.confidence.recurrence counts a short answer's text. A JSQuAD context is one
        paragraph of a Wikipedia article and shares the article's title."""
        sources = self.index.sources
        if self._articles is None:
            # filled apart, then kept: a thread asking at the same time never sees half the titles
            # (and would keep an article cut short in _normalized)
            articles: dict[str, list[int]] = {}
            for i, s in enumerate(sources):
                if s.title:
                    articles.setdefault(s.title, []).append(i)
            self._articles = articles
        if len(self._normalized) >= 4_000:  # a bound on memory: JSQuAD's 1,145 paragraphs and their articles fit
            self._normalized.clear()
        title = sources[doc].title
        document = self._normalized.get(doc)
        if document is None:
            document = self._normalized[doc] = normalize(sources[doc].text)
        if not title:
            return document, document
        article = self._normalized.get(title)
        if article is None:
            members = self._articles.get(title, [doc])
            article = self._normalized[title] = "\n".join(normalize(sources[i].text) for i in members)
        return document, article

    def glosses(self, q: Question, best: int, short: ShortAnswer | None) -> tuple[GlossNote, ...]:
        """Dictionary glosses of the short answer and of the answer's words that the English
        question's terms stand for, in raw offsets (only those that reproduce the source)."""
        ix = self.index
        text = ix.units.text[best]
        at = text.find(short.text) if short is not None else -1
        notes = sentence_glosses(ix.bridge, q.bridged or (), self.morphemes(text),
                                 (at, at + len(short.text)) if short is not None and at >= 0 else None)
        doc = int(ix.units.doc[best])
        raw = ix.sources[doc].text
        ot = offset_map(raw, int(ix.units.start[best]), int(ix.units.end[best]), ix.units.gaps[best])
        out = []
        for g in notes:
            start, end = ot.pos[g.start], ot.raw_end(g.end)
            if clean(raw[start:end]) == text[g.start:g.end]:
                out.append(GlossNote(text[g.start:g.end], start, end, g.gloss, g.romaji, g.source))
        return tuple(out)

    def _idf(self, q: Question) -> dict[str, float]:
        """The idf of a Japanese question's content words; none for other languages, whose
        words cannot be expected in Japanese text."""
        if q.language != "ja":
            return {}
        return self.token_idf(q.content)

    def _bridged_idf(self, q: Question) -> dict[str, float]:
        """The idf of the Japanese tokens an English question's terms were bridged to (worked out
        once, by :meth:`analyse`: the sentence ranker and abstention read it three times an ask)."""
        return q.bridged_idf if q.bridged_idf is not None else self.token_idf(q.bridged_weights or {})

    def token_idf(self, tokens: Iterable[str]) -> dict[str, float]:
        """The idf of each of ``tokens`` over the index's passages."""
        return {t: self.index.passage_lexical.idf(t) for t in tokens}

    def _bridged_coverage(self, q: Question, unit: int) -> float:
        """Share of an English question's bridged terms (idf-weighted) the unit holds."""
        return term_coverage(q.bridged or (), self.index.units.tokens[unit], self._bridged_idf(q))

    def _coverage(self, q: Question, unit: int, idf: dict[str, float] | None = None) -> float:
        """Share of the question's content words (idf-weighted) found in the answer sentence
        (1.0 for questions other than Japanese)."""
        idf = self._idf(q) if idf is None else idf
        total = sum(idf.values())
        if not total:
            return 1.0
        return sum(v for t, v in idf.items() if t in self.index.units.tokens[unit]) / total

    # -- citations ----------------------------------------------------------

    def _verified(self, doc: int, start: int, end: int, gaps: Sequence[tuple[int, int]], text: str) -> None:
        raw = self.index.sources[doc].text
        if not (0 <= start < end <= len(raw)) or clean(raw[start:end], _rel(gaps, start)) != text:
            raise IntegrityError(f"citation [{start}:{end}] of {self.index.sources[doc].doc} does not "
                                 "reproduce its source text; the index is inconsistent, rebuild it "
                                 "and report this as a bug")

    def _citation(self, rows: SpanRows, i: int, score: float) -> Citation:
        """Row ``i`` of the units or the passages as a verified citation."""
        span = rows.span(i)
        doc = int(rows.doc[i])
        self._verified(doc, span["start"], span["end"], span["gaps"], span["text"])
        source = self.index.sources[doc]
        return Citation(doc=source.doc, path=source.path, score=score, **span)

    def _unit_citation(self, u: int, score: float) -> Citation:
        return self._citation(self.index.units, u, score)

    def _passage_citation(self, p: int, score: float) -> Citation:
        return self._citation(self.index.passages, p, score)


def _check_question(question: str) -> str:
    if not isinstance(question, str):
        raise InputError(f"a question must be text, got {type(question).__name__}")
    q = " ".join("".join(ch if ch.isprintable() else " " for ch in question).split())
    if not q:
        raise InputError("the question is empty; ask something, e.g. kotae ask \"安保理決議2231はいつ終了するか\"")
    return q[:MAX_QUESTION]
