"""Batch evaluation of question sets: hit@k, MRR, answer accuracy, abstention, latency.

Question sets are JSON Lines ``{"id", "question", "answers", "lang"}`` or SQuAD-format
JSON (JSQuAD), whose contexts become the corpus. A gold answer counts as found in a
cited text when it occurs there after :func:`ingest.clean.normalize` (NFKC, no
whitespace, lower case).

The metrics are computed here rather than with ranx or pytrec_eval: relevance is
"this cited span contains a gold string", decided per retrieved item at run time,
so there are no qrels to hand such a library, and hit@k and MRR over one ranked
list are a few lines each.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingest.clean import normalize
from ingest.errors import InputError
from ingest.records import Document

from .confidence import area_under_risk_coverage, expected_calibration_error, risk_coverage
from .language import detect_language
from .records import Answer

SQUAD_SEP = " [SEP] "


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    lang: str


@dataclass
class QuestionSet:
    """Questions read from a file, the lines that could not be used, and (for SQuAD) a corpus."""

    questions: list[Question]
    problems: list[str] = field(default_factory=list)
    documents: list[Document] | None = None
    digest: str = ""
    context_of: dict[str, str] = field(default_factory=dict)  # SQuAD: question id -> its context's doc id


def _jsonl(path: Path, text: str) -> QuestionSet:
    questions: list[Question] = []
    problems: list[str] = []
    seen: set[str] = set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{path}:{n}: not JSON ({e.msg}); skipped")
            continue
        if not isinstance(obj, dict):
            problems.append(f"{path}:{n}: not a JSON object; skipped")
            continue
        q = obj.get("question")
        if not isinstance(q, str) or not q.strip():
            problems.append(f"{path}:{n}: no question text; skipped")
            continue
        answers = obj.get("answers", [])
        if isinstance(answers, str):
            answers = [answers]
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            problems.append(f"{path}:{n}: answers must be a list of strings; skipped")
            continue
        qid = str(obj.get("id", f"line-{n}"))
        if qid in seen:
            problems.append(f"{path}:{n}: duplicate id {qid!r}; skipped")
            continue
        seen.add(qid)
        given = obj.get("lang")
        lang = given if isinstance(given, str) else detect_language(q)
        questions.append(Question(qid, q, tuple(a for a in answers if a.strip()), lang))
    return QuestionSet(questions, problems)


def _squad(path: Path, data: dict) -> QuestionSet:
    try:
        return _squad_items(path, data)
    except (KeyError, AttributeError, TypeError) as e:
        raise InputError(f"{path}: not valid SQuAD format ({type(e).__name__}: {e}); expected "
                         '{"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question", '
                         '"answers": [{"text"}]}]}]}]}') from None


def _squad_items(path: Path, data: dict) -> QuestionSet:
    documents: list[Document] = []
    out = QuestionSet([], [], documents, "", {})
    digest = hashlib.sha256()
    ids: set[str] = set()
    docs: set[str] = set()
    for ai, article in enumerate(data.get("data", [])):
        title = str(article.get("title", ""))
        for pi, para in enumerate(article.get("paragraphs", [])):
            context = para["context"]
            if not isinstance(context, str) or not context.strip():
                out.problems.append(f"{path}: article {ai} ({title!r}) paragraph {pi}: empty context; "
                                    "its questions are skipped")
                continue
            digest.update(context.encode("utf-8"))
            doc = f"{title}/{pi}"
            if doc in docs:  # two articles of one title (a sqlite IntegrityError before)
                doc = f"{title} ({ai})/{pi}"
            docs.add(doc)
            documents.append(_squad_document(doc, context))
            for qa in para.get("qas", []):
                _squad_question(path, qa, doc, out, ids)
    if not out.questions:
        raise InputError(f"{path}: a SQuAD file with no questions")
    out.digest = digest.hexdigest()
    return out


def _squad_document(doc: str, context: str) -> Document:
    # JSQuAD contexts are "title [SEP] paragraph": the title is a heading.
    cut = context.find(SQUAD_SEP)
    title_span = (0, cut) if cut > 0 else None
    body = cut + len(SQUAD_SEP) if cut > 0 else 0
    return Document(doc=doc, text=context, sha256=hashlib.sha256(context.encode("utf-8")).hexdigest(),
                    encoding="squad", title=title_span, body_start=body)


def _squad_question(path: Path, qa: dict, doc: str, out: QuestionSet, ids: set[str]) -> None:
    """One SQuAD question into ``out``, or a problem saying why it was skipped."""
    qid, text = str(qa["id"]), qa["question"]
    # A number as an answer ({"text": 1962}) is the number as written; other non-strings
    # (lists, objects, true) are no answer text at all.
    texts = [a["text"] for a in qa.get("answers", [])]
    texts = [str(t) if isinstance(t, int | float) and not isinstance(t, bool) else t for t in texts]
    if not isinstance(text, str) or not text.strip() or not all(isinstance(t, str) for t in texts):
        out.problems.append(f"{path}: question {qid!r}: question and answer texts must be text; skipped")
        return
    if qid in ids:
        out.problems.append(f"{path}: duplicate question id {qid!r}; skipped")
        return
    ids.add(qid)
    answers = () if qa.get("is_impossible") else tuple(dict.fromkeys(texts))
    out.questions.append(Question(qid, text, answers, detect_language(text)))
    out.context_of[qid] = doc


def read_questions(path: str | Path) -> QuestionSet:
    """Read a question set; raise InputError if nothing in it is usable."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such question file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; question sets are UTF-8 JSON Lines or SQuAD JSON") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    stripped = text.lstrip()
    if stripped.startswith("{") and '"data"' in stripped[:2000]:
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict) and "data" in data:
            return _squad(p, data)
    qs = _jsonl(p, text)
    if not qs.questions:
        detail = f" ({qs.problems[0]})" if qs.problems else ""
        raise InputError(f"{path}: no usable questions{detail}")
    return qs


def char_f1(prediction: str, gold: str) -> float:
    """Character-level F1 after normalisation (the usual measure for Japanese QA)."""
    p, g = Counter(normalize(prediction)), Counter(normalize(gold))
    common = sum((p & g).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(g.values())
    return 2 * precision * recall / (precision + recall)


def exact(prediction: str, gold: str) -> bool:
    """Exact match after normalisation (NFKC, no whitespace, lower case)."""
    return bool(normalize(prediction)) and normalize(prediction) == normalize(gold)


def found(gold: Iterable[str], text: str | None) -> bool:
    """A gold answer occurs in ``text`` after normalisation."""
    if not text:
        return False
    t = normalize(text)
    return any(normalize(g) and normalize(g) in t for g in gold)


@dataclass(frozen=True)
class Outcome:
    """One question's result, judged."""

    question: Question
    answer: Answer
    rank: int | None  # 1 = answer sentence or first citation holds a gold answer
    answer_correct: bool

    @property
    def answerable(self) -> bool:
        return bool(self.question.answers)


# The ways a question can fail, in the order a reader should look at them. Each failed
# question has exactly one: the first that applies.
FALSE_ABSTENTION = "false abstention"
MISSED_ABSTENTION = "missed abstention"
CITATION_NOT_FOUND = "citation not found"
WRONG_SENTENCE = "wrong answer sentence"
WRONG_SHORT = "right sentence but wrong short answer"
FAILURE_KINDS = (FALSE_ABSTENTION, MISSED_ABSTENTION, CITATION_NOT_FOUND, WRONG_SENTENCE, WRONG_SHORT)


@dataclass(frozen=True)
class Verdicts:
    """What one question got right; None where a measure does not apply.

    ``hit_at_1`` / ``hit_at_k``: the answer sentence or first citation / any citation holds a
    gold answer. ``short_exact`` is None when kotae gave no short answer (it withholds one it
    cannot ground, such as for English "what" questions): a withheld answer is not a wrong one.
    ``abstention``: abstained exactly when the question has no gold answer.
    """

    hit_at_1: bool | None
    hit_at_k: bool | None
    answer_sentence: bool | None
    short_exact: bool | None
    short_f1: float | None
    abstention: bool

    def failure(self, answerable: bool) -> str | None:
        """The kind of failure (one of FAILURE_KINDS), or None when no verdict is false."""
        if not self.abstention:
            return FALSE_ABSTENTION if answerable else MISSED_ABSTENTION
        if self.hit_at_k is False:
            return CITATION_NOT_FOUND
        if self.answer_sentence is False or self.hit_at_1 is False:
            return WRONG_SENTENCE
        if self.short_exact is False:
            return WRONG_SHORT
        return None

    def as_dict(self) -> dict[str, Any]:
        return {"hit@1": self.hit_at_1, "hit@k": self.hit_at_k, "answer_sentence": self.answer_sentence,
                "short_exact": self.short_exact,
                "short_f1": None if self.short_f1 is None else round(self.short_f1, 4),
                "abstention": self.abstention}


def verdicts(o: Outcome) -> Verdicts:
    """The per-question verdicts `kotae eval --out` writes and `--report` lists."""
    gold, a = o.question.answers, o.answer
    if not gold:
        return Verdicts(None, None, None, None, None, a.abstained)
    short = None if a.abstained or a.short is None else a.short.text
    return Verdicts(hit_at_1=o.rank == 1, hit_at_k=o.rank is not None, answer_sentence=o.answer_correct,
                    short_exact=None if short is None else any(exact(short, g) for g in gold),
                    short_f1=None if short is None else max(char_f1(short, g) for g in gold),
                    abstention=not a.abstained)


def outcome_row(o: Outcome) -> dict[str, Any]:
    """One line of `kotae eval --out`: the `ask --json` object, the id, the gold and the verdicts."""
    v = verdicts(o)
    return {**o.answer.as_dict(), "id": o.question.id, "gold": list(o.question.answers),
            "verdicts": v.as_dict(), "failure": v.failure(o.answerable)}


def judge(question: Question, answer: Answer) -> Outcome:
    if not question.answers or answer.abstained:
        return Outcome(question, answer, None, False)
    in_answer = answer.answer is not None and found(question.answers, answer.answer.text)
    rank = None
    for i, c in enumerate(answer.citations, 1):
        if found(question.answers, c.text):
            rank = i
            break
    if in_answer:
        rank = 1
    return Outcome(question, answer, rank, in_answer)


@dataclass(frozen=True)
class Abstention:
    """How a question set's abstentions went."""

    unanswerable: int  # questions with no gold answer: the right result is to abstain
    abstained: int  # of those, how many kotae abstained on
    false_abstentions: int  # answerable questions kotae abstained on


@dataclass(frozen=True)
class Latency:
    p50: float  # milliseconds per question
    p95: float


@dataclass(frozen=True)
class Summary:
    """The figures of a run (``kotae eval``); :meth:`as_dict` is its ``--json`` object."""

    n: int
    answerable: int
    hit_at_1: float
    hit_at_5: float
    mrr: float
    answer_accuracy: float  # the answer sentence contains a gold answer
    abstention: Abstention
    short_exact_match: float  # short answers against the gold list (best over it); none scores 0
    short_char_f1: float
    short_confidence: dict[str, Any]  # the short answers' risk-coverage curve, its area, calibration error
    answer_confidence: dict[str, Any]  # answer sentences marked confident, right, calibration error
    latency_ms: Latency
    seconds: float | None = None  # of the whole run, when it was timed
    questions_per_s: float | None = None
    by_lang: dict[str, Summary] | None = None  # the same figures per question language
    source: str | None = None  # the question set's file

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n": self.n, "answerable": self.answerable, "hit@1": self.hit_at_1, "hit@5": self.hit_at_5,
            "mrr": self.mrr, "answer_accuracy": self.answer_accuracy, "abstention": asdict(self.abstention),
            "short_exact_match": self.short_exact_match, "short_char_f1": self.short_char_f1,
            "short_confidence": self.short_confidence, "answer_confidence": self.answer_confidence,
            "latency_ms": asdict(self.latency_ms)}
        if self.seconds is not None:
            out["seconds"], out["questions_per_s"] = self.seconds, self.questions_per_s
        if self.by_lang is not None:
            out["by_lang"] = {lang: s.as_dict() for lang, s in self.by_lang.items()}
        if self.source is not None:
            out["source"] = self.source
        return out


def _rate(xs: Iterable[bool]) -> float:
    xs = list(xs)
    return round(sum(xs) / len(xs), 4) if xs else 0.0


def summarize(outcomes: Sequence[Outcome], seconds: float | None = None, with_langs: bool = True) -> Summary:
    """The figures of ``kotae eval``, and per language with ``with_langs``."""
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    n = len(answerable)
    lat = [o.answer.timings_ms.get("total", 0.0) for o in outcomes]
    by_lang = None
    if with_langs:
        by_lang = {lang: summarize([o for o in outcomes if o.question.lang == lang], None, False)
                   for lang in sorted({o.question.lang for o in outcomes})}
    return Summary(
        n=len(outcomes), answerable=n,
        hit_at_1=_rate(o.rank == 1 for o in answerable),
        hit_at_5=_rate(o.rank is not None and o.rank <= 5 for o in answerable),
        mrr=round(sum(1 / o.rank for o in answerable if o.rank) / n, 4) if n else 0.0,
        answer_accuracy=_rate(o.answer_correct for o in answerable),
        abstention=Abstention(len(unanswerable), sum(o.answer.abstained for o in unanswerable),
                              sum(o.answer.abstained for o in answerable)),
        short_exact_match=_rate(o.answer.short is not None and any(exact(o.answer.short.text, g)
                                                                   for g in o.question.answers)
                                for o in answerable),
        short_char_f1=round(sum(max((char_f1(o.answer.short.text, g) for g in o.question.answers), default=0.0)
                                for o in answerable if o.answer.short) / n, 4) if n else 0.0,
        short_confidence=short_confidence(answerable), answer_confidence=answer_confidence(answerable),
        latency_ms=Latency(round(float(np.percentile(lat, 50)), 2) if lat else 0.0,
                           round(float(np.percentile(lat, 95)), 2) if lat else 0.0),
        seconds=None if seconds is None else round(seconds, 2),
        questions_per_s=None if seconds is None else (round(len(outcomes) / seconds, 1) if seconds > 0 else None),
        by_lang=by_lang)


def short_confidence(answerable: Sequence[Outcome]) -> dict[str, Any]:
    """How far the short answers' confidence can be trusted: the risk-coverage curve (at each
    threshold, the share of questions whose short answer would be shown and the share of those
    that are right), its area, and the calibration error (10 bins) of the confidence."""
    rated = [(s.confidence, any(exact(s.text, g) for g in o.question.answers), s.shown)
             for o in answerable if (s := o.answer.short) is not None and s.confidence is not None]
    p = [c for c, _, _ in rated]
    y = [float(right) for _, right, _ in rated]
    # A question with no short answer is never shown: it counts in the coverage's denominator.
    missing = len(answerable) - len(rated)
    curve = risk_coverage(p + [-1.0] * missing, y + [0.0] * missing)
    return {"risk_coverage": [{k: round(v, 4) for k, v in point.items()} for point in curve],
            "area": round(area_under_risk_coverage(p, y), 4), "ece": round(expected_calibration_error(p, y), 4),
            "shown": sum(shown for _, _, shown in rated),
            "shown_right": sum(shown and right for _, right, shown in rated)}


def answer_confidence(answerable: Sequence[Outcome]) -> dict[str, Any]:
    """The answer sentences marked confident, how many of them hold a gold answer, and the
    calibration error (10 bins) of ``answer.confidence``."""
    rated = [(o.answer.confidence, o.answer_correct, o.answer.confident)
             for o in answerable if o.answer.confidence is not None]
    p = [c for c, _, _ in rated]
    y = [float(right) for _, right, _ in rated]
    return {"confident": sum(marked for _, _, marked in rated),
            "confident_right": sum(marked and right for _, right, marked in rated),
            "ece": round(expected_calibration_error(p, y), 4)}


def evaluate(ask_many: Callable[[list[str]], list[Answer]], questions: Sequence[Question],
             batch: int = 32, progress: bool = False,
             on_outcome: Callable[[Outcome], None] | None = None) -> tuple[list[Outcome], float]:
    """Run questions in batches. Ctrl-C stops early and keeps what was done."""
    outcomes: list[Outcome] = []
    bar = None
    if progress:
        import sys

        from tqdm import tqdm

        bar = tqdm(total=len(questions), unit="q", desc="questions", file=sys.stderr, leave=False)
    t0 = time.perf_counter()
    try:
        for i in range(0, len(questions), batch):
            chunk = list(questions[i:i + batch])
            for q, a in zip(chunk, ask_many([q.question for q in chunk]), strict=True):
                o = judge(q, a)
                outcomes.append(o)
                if on_outcome:
                    on_outcome(o)
            if bar is not None:
                bar.update(len(chunk))
    except KeyboardInterrupt:
        pass
    finally:
        if bar is not None:
            bar.close()
    return outcomes, time.perf_counter() - t0


def corpus_index(qset: QuestionSet, cache_dir: Path, embedder: str | None = None,
                 progress: bool = False) -> Path:
    """The index of a SQuAD set's contexts, built once and cached by their content hash."""
    from ingest.embed import DEFAULT_EMBEDDER
    from ingest.generations import CURRENT
    from ingest.index import build_index

    if qset.documents is None:
        raise InputError("this question set has no contexts of its own; give --index")
    spec = embedder or DEFAULT_EMBEDDER
    safe = "".join(ch if ch.isalnum() else "-" for ch in spec)[:40]
    index = Path(cache_dir) / f"squad-{qset.digest[:16]}-{safe}"
    if not (index / CURRENT).exists():
        build_index(None, index, spec, documents=qset.documents, progress=progress)
    return index
