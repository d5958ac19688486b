"""How closely a sentence echoes a question, read from their characters.

A JSQuAD-style question is one sentence of the text reworded, the answer swapped for a
wh-word: 日本で最も高い山は何か asks about 日本で最も高い山は富士山である. The sentence that
answers it shares long runs of the question's characters, and those runs sit right
before and after the place of the wh-word. Lemma coverage (BM25, ``coverage``) sees the
shared words but not that they come as a phrase, nor on which side of the answer.

It also has something the question has not: the answer. 前座と真打の間。 echoes
前座と真打の間のことを何と呼んだ？ almost whole and has nothing left to answer with; the
next sentence, かつての上方落語では中座と呼んだ。, does.

    echo = Echo.of(question)          # once per question
    echo.features(Paired.of(normalize("日本で最も高い山は富士山である。")))
    # {"echo": 0.56, "echo_cover": 1.0, "anchor_before": 1.0, "anchor_after": 0.0, "anchor_order": 0.0,
    #  "rest": 0.44, "log_rest": 2.08}   (富士山である。 is the rest)

Sentences are compared in the matching form of :func:`ingest.clean.normalize` (NFKC, no
whitespace, lower case). Shared text is found through character pairs (bigrams): one
shared character (の, は) is no evidence, two (核兵, 大統) begin to be. All is set lookups,
a few tens of µs a sentence.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.clean import normalize

from .question import Question

ECHO_FEATURES = ("echo", "echo_cover", "anchor_before", "anchor_after", "anchor_order", "rest", "log_rest")
LONGEST = 16  # a chain of shared pairs this long (in characters) counts as a whole echo
ANCHOR = 8  # characters either side of the wh-word that are looked for
# Endings that ask rather than state, dropped from the question: 何ですか, 誰か？
_ASKING_ENDS = ("ですか", "でしょうか", "ますか", "のか", "か", "?")


def pairs_of(text: str) -> tuple[str, ...]:
    """Each pair of neighbouring characters, in order: 日本の -> (日本, 本の)."""
    return tuple(map(operator.add, text, text[1:]))


def bigrams(text: str) -> frozenset[str]:
    return frozenset(pairs_of(text))


def hits(seq: Sequence[str], pairs: frozenset[str]) -> bytes:
    """For each pair of ``seq`` (from :func:`pairs_of`), 1 if it is in ``pairs``, else 0."""
    return bytes(map(pairs.__contains__, seq))


@dataclass(frozen=True)
class Paired:
    """A text in matching form with its pairs, made once: a sentence is compared with every
    question it competes for."""

    text: str
    seq: tuple[str, ...]
    set: frozenset[str]

    @classmethod
    def of(cls, text: str) -> Paired:
        seq = pairs_of(text)
        return cls(text, seq, frozenset(seq))


def covered(marks: bytes) -> int:
    """How many characters lie inside a marked pair (``marks``: one per pair, from :func:`hits`):
    日本の山 against the pairs of 日本で最も高い山 -> 2 (日本; の and 山 are in no shared pair).
    A run of n marked pairs covers n + 1 characters."""
    return marks.count(1) + marks.count(b"\0\1") + marks.startswith(b"\1")


def chain(marks: bytes) -> int:
    """The most characters in one run of marked pairs (0 if none): the longest stretch of the
    question a sentence repeats, give or take a seam where two shared pieces meet."""
    best = max(map(len, marks.split(b"\0")), default=0)
    return best + 1 if best else 0


def _strip_asking(text: str) -> str:
    for end in _ASKING_ENDS:
        if text.endswith(end):
            return text[: -len(end)]
    return text


@dataclass(frozen=True)
class Echo:
    """A question's characters either side of its wh-word, in matching form, and their pairs."""

    before: Paired  # 日本で最も高い山は  (of 日本で最も高い山は何か)
    after: Paired  # ""  (the か that asks is dropped)
    pairs: frozenset[str]  # of ``before`` and ``after``, never across the wh-word

    @classmethod
    def of(cls, q: Question) -> Echo:
        a = q.asked
        if 0 <= a.wh_start <= a.wh_end <= len(q.nfkc):
            before, after = normalize(q.nfkc[: a.wh_start]), _strip_asking(normalize(q.nfkc[a.wh_end:]))
        else:
            before, after = _strip_asking(q.normalized), ""
        b, a_ = Paired.of(before), Paired.of(after)
        return cls(b, a_, b.set | a_.set)

    def features(self, sentence: Paired) -> dict[str, float]:
        """What the sentence (in matching form, see :class:`Paired`) shares with the question,
        as ECHO_FEATURES:

        - ``echo``: its longest chain of the question's pairs, against LONGEST (at most 1);
        - ``echo_cover``: the share of the question's characters in pairs it holds;
        - ``anchor_before`` / ``anchor_after``: the share of the ANCHOR characters just before
          (after) the wh-word that it holds as one run, taken from the wh-word outwards;
        - ``anchor_order``: 1 when both anchors (two characters or more) are in it in the
          question's order, the place of the answer between them;
        - ``rest`` / ``log_rest``: the share (and log1p of the number) of its characters that
          are in no pair of the question's: where an answer can be.
        """
        text = sentence.text
        mine_b, mine_a = hits(self.before.seq, sentence.set), hits(self.after.seq, sentence.set)
        total = len(self.before.text) + len(self.after.text)
        rest = len(text) - covered(hits(sentence.seq, self.pairs))
        before, after = self.before.text[-ANCHOR:], self.after.text[:ANCHOR]
        b, a = _longest_suffix(before, text), _longest_prefix(after, text)
        order = 0.0
        if b >= 2 and a >= 2:
            order = float(text.find(before[-b:]) < text.rfind(after[:a]))
        return {"echo": min(max(chain(mine_b), chain(mine_a)) / LONGEST, 1.0),
                "echo_cover": (covered(mine_b) + covered(mine_a)) / total if total else 0.0,
                "anchor_before": b / len(before) if before else 0.0, "anchor_after": a / len(after) if after else 0.0,
                "anchor_order": order, "rest": rest / len(text) if text else 0.0,
                "log_rest": math.log1p(rest)}


def _longest_suffix(part: str, text: str) -> int:
    """The length of the longest suffix of ``part`` that ``text`` contains (every shorter
    suffix is then in it too, so growing one character at a time finds it)."""
    n = 0
    while n < len(part) and part[len(part) - n - 1:] in text:
        n += 1
    return n


def _longest_prefix(part: str, text: str) -> int:
    n = 0
    while n < len(part) and part[: n + 1] in text:
        n += 1
    return n
