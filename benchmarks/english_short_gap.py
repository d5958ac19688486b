"""Where English short answers are lost, next to the same questions in Japanese (issue 14).

Needs: the project installed with the bench extra, ../shared/eval/jsquad-valid-v1.3.json and
benchmarks/data/jsquad_en.a1/.a2.jsonl. Writes benchmarks/results/english_short_gap.json.
Run: python benchmarks/english_short_gap.py (the JSQuAD index is built once and cached, as
for bench_english.py; about a minute once it is).

Every question of a set (a1, where English rules and weights were chosen; a2, held out) is
asked as kotae asks it (k=5, all 1,145 contexts), in English and in its original Japanese,
and put in the first class that fits:

- ``right``: the short answer equals a gold answer (exact match after normalising);
- ``abstained``;
- ``wrong_sentence``: the answer sentence holds no gold answer (no span of it can be right);
- ``no_candidates``: the sentence holds one, but no candidate fits what is asked;
- ``gold_not_a_candidate``: candidates were offered, none equals a gold answer;
- ``gold_ranked_below``: one does, and another was ranked first.

``en_on_ja_sentence`` is the English short EM when the English question's short-answer step
reads the sentence kotae picked for the Japanese question: how much of the gap to Japanese
the answer sentence accounts for, and how much the span within it.

``--report``: the map of the report's 25 answerable English questions, one by one
(``corpus/questions/report.jsonl``, against the report's own index): whether the answer
sentence holds a gold answer, where the gold stands among the candidates, the candidate that
won and the features that put it above the gold (weight × difference), and what kotae picks
for a Japanese rendering of the same question (``benchmarks/data/report_en_twins.jsonl``,
written by hand). A right answer here equals or contains a gold answer, as bench_report.py
counts it. Writes benchmarks/results/english_short_gap_report.json.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from cached_index import cached_index
from common import ROOT, SHARED, contains, exact, write_result

from ingest.load import load
from retriever import Retriever
from retriever.evaluate import read_questions
from retriever.question import Question
from retriever.retriever import ShortCandidates
from retriever.short import FEATURES, first_candidates, ranked, ranker_language, rankers

DATA = ROOT / "benchmarks" / "data"
K = 5
CLASSES = ("right", "abstained", "wrong_sentence", "no_candidates", "gold_not_a_candidate", "gold_ranked_below")


class Recorder(Retriever):
    """kotae as it is, keeping each question's short-answer input and what it found."""

    seen: list[tuple[Question, list[str], ShortCandidates | None]]

    def short_candidates(self, q: Question, units: list[int]) -> ShortCandidates | None:
        found = super().short_candidates(q, units)
        self.seen.append((q, [self.index.units.text[u] for u in units], found))
        return found


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def classify(answer: object, gold: Sequence[str], found: ShortCandidates | None) -> str:
    """The first class of CLASSES that fits one answered question (see the module's docstring)."""
    short, sentence = getattr(answer, "short", None), getattr(answer, "answer", None)
    if short is not None and any(exact(short.text, g) for g in gold):
        return "right"
    if getattr(answer, "abstained", False):
        return "abstained"
    if sentence is None or not contains(gold, sentence.text):
        return "wrong_sentence"
    if found is None or not found.ranked:
        return "no_candidates"
    if not any(exact(c.text, g) for c, _, _ in found.ranked for g in gold):
        return "gold_not_a_candidate"
    return "gold_ranked_below"


def asked(r: Recorder, questions: list[str]) -> list[tuple[object, Question, list[str], ShortCandidates | None]]:
    """Each question's answer with its analysed form, the sentences its short-answer step read
    (none when it abstained before that step) and what that step found."""
    r.seen = []
    answers = r.ask_many(questions, k=K)
    by_text = {q.text: (q, sentences, found) for q, sentences, found in r.seen}
    out = []
    for text, a in zip(questions, answers, strict=True):
        q, sentences, found = by_text.get(text, (r.analyse(text), [], None))
        out.append((a, q, sentences, found))
    return out


def on_sentences(r: Retriever, q: Question, sentences: list[str], gold: Sequence[str]) -> bool:
    """Whether ``q``'s short-answer step, given ``sentences``, picks a gold answer."""
    found = first_candidates(r.tokenizer, q, sentences) if sentences else None
    if found is None:
        return False
    best = ranked(found[1], ranker_language(q))
    return bool(best) and any(exact(best[0][0].text, g) for g in gold)


def split_figures(r: Recorder, rows: list[dict]) -> dict:
    golds = [row["answers"] for row in rows]
    en = asked(r, [row["question"] for row in rows])
    ja = asked(r, [row["ja"] for row in rows])
    out: dict = {"n": len(rows)}
    for lang, results in (("en", en), ("ja", ja)):
        counts = Counter(classify(a, g, found) for (a, _, _, found), g in zip(results, golds, strict=True))
        out[lang] = {c: round(counts[c] / len(rows), 3) for c in CLASSES}
    # The English question on the sentence kotae picked for the Japanese one (not when the
    # English one abstained: that is counted as lost either way).
    crossed = [not e[0].abstained and on_sentences(r, e[1], j[2], g)  # type: ignore[attr-defined]
               for e, j, g in zip(en, ja, golds, strict=True)]
    out["en_on_ja_sentence"] = round(sum(crossed) / len(rows), 3)
    return out


def beaten_by(found: ShortCandidates, gold_rank: int, ranker: str, most: int = 3) -> list[str]:
    """The features that put the winner above the gold candidate, largest first: "name +x.xx"
    (the weight times the difference of their values)."""
    w = rankers()[ranker]
    diff = (found.ranked[0][2] - found.ranked[gold_rank][2]) * w
    order = [int(i) for i in diff.argsort()[::-1][:most] if diff[int(i)] > 0]
    return [f"{FEATURES[i]} +{diff[i]:.2f}" for i in order]


def report_row(qid: str, gold: Sequence[str], en: tuple, ja: tuple) -> dict:
    """One report question's line of the map (see the module's docstring)."""
    (a, q, _, found), (ja_answer, _, _, _) = en, ja
    short = a.short.text if a.short is not None else None
    ranked_ = found.ranked if found is not None else []
    gold_rank = next((i for i, (c, _, _) in enumerate(ranked_) if contains(gold, c.text)), None)
    row = {"id": qid, "asked": q.asked.kind, "gold": list(gold), "short": short,
           "right": bool(short) and contains(gold, short), "abstained": a.abstained,
           "sentence_right": a.answer is not None and contains(gold, a.answer.text),
           "candidates": len(ranked_), "gold_rank": gold_rank,
           "ja_short": ja_answer.short.text if ja_answer.short is not None else None}
    row["ja_right"] = bool(row["ja_short"]) and contains(gold, row["ja_short"])
    if found is not None and gold_rank:
        row["beaten_by"] = beaten_by(found, gold_rank, ranker_language(q))
    return row


def report_map() -> None:
    """The report's English questions one by one (--report; see the module's docstring)."""
    rows = [q for q in read_questions(ROOT / "corpus" / "questions" / "report.jsonl").questions
            if q.lang == "en" and q.answers]
    twins = {t["id"]: t["ja"] for t in read_jsonl(DATA / "report_en_twins.jsonl")}
    r = Recorder.load(cached_index(load([ROOT / "corpus"]).documents, "report"))
    en = asked(r, [q.question for q in rows])
    ja = asked(r, [twins[q.id] for q in rows])
    table = [report_row(q.id, q.answers, e, j) for q, e, j in zip(rows, en, ja, strict=True)]
    for t in table:
        print(f"{t['id']} {'right' if t['right'] else 'wrong':5} sentence {'yes' if t['sentence_right'] else 'no ':3} "
              f"gold@{t['gold_rank']} {t['short']!r} ja {t['ja_short']!r} {' '.join(t.get('beaten_by', []))}")
    n = len(table)
    summary = {k: round(sum(t[k] for t in table) / n, 3) for k in ("right", "sentence_right", "ja_right")}
    print(summary)
    write_result("english_short_gap_report", {"data": "corpus/questions/report.jsonl (answerable English questions); "
                                              "Japanese twins: benchmarks/data/report_en_twins.jsonl",
                                              "k": K, "n": n, **summary, "questions": table})


def main() -> None:
    if "--report" in sys.argv[1:]:
        report_map()
        return
    qset = read_questions(SHARED / "eval" / "jsquad-valid-v1.3.json")
    r = Recorder.load(cached_index(qset.documents or [], "jsquad"))
    result: dict = {"data": "JSQuAD v1.3 validation (JGLUE by Yahoo Japan, CC BY-SA 4.0); English renderings in "
                            "benchmarks/data (see its README)", "k": K, "classes": list(CLASSES)}
    for split in ("a1", "a2"):
        result[split] = split_figures(r, read_jsonl(DATA / f"jsquad_en.{split}.jsonl"))
        print(split, result[split], flush=True)
    write_result("english_short_gap", result)


if __name__ == "__main__":
    main()
