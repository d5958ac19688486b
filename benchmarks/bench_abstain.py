"""Abstention, before and after the abstain model: off-topic questions abstained and false
abstentions on answerable sets, by the rules alone and by the rules with the model.

Needs: the project installed with the bench extra, ../shared/eval/jsquad-valid-v1.3.json
(KOTAE_SHARED), benchmarks/data/ and corpus/. Writes benchmarks/results/abstain.json.
Run: python benchmarks/bench_abstain.py

One run answers every question once with the model on; an abstention whose why is the
model's (retriever/abstain.py) is one the rules alone would not have made, so both columns
come from the same answers. Sets: off-topic en/ja (benchmarks/data; the first, dev2 and dev3 sets are
among train_abstain.py's unanswerable questions, the held-out ones are never used to fit or tune),
the English JSQuAD renderings a1/a2 and their Japanese originals, all 4,442 Japanese JSQuAD
questions (whole validation index), the report set and the natural set (report + documents).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from cached_index import cached_index
from common import ROOT, SHARED, write_result

from ingest.load import load
from retriever import Retriever
from retriever.evaluate import read_questions

DATA = ROOT / "benchmarks" / "data"
MODEL_WHY = "the corpus likely does not answer"
# What each set is to the abstain step: "dev" sets fitted it (train_abstain.py: Japanese JSQuAD,
# English a1, the first off-topic sets) or chose its rules; "held out" sets never did; "check"
# sets were only watched for false abstentions.
ROLE = {"offtopic-en": "dev", "offtopic-ja": "dev", "offtopic-en-dev2": "dev", "offtopic-ja-dev2": "dev",
        "offtopic-en-dev3": "dev", "offtopic-ja-dev3": "dev",
        "offtopic-en-heldout": "held out",
        "offtopic-ja-heldout": "held out", "a1-en": "dev", "a1-ja": "dev", "a2-en": "held out", "a2-ja": "dev",
        "jsquad-ja-all": "dev", "report-answerable": "check", "report-unanswerable": "check",
        "natural-en": "check", "natural-ja": "check"}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def counts(r: Retriever, questions: Sequence[str]) -> dict:
    answers = r.ask_many(list(questions))
    model = sum(a.abstained and MODEL_WHY in (a.why or "") for a in answers)
    total = sum(a.abstained for a in answers)
    return {"n": len(answers), "abstained_rules": total - model, "abstained_with_model": total}


def jsquad(r: Retriever) -> dict:
    out = {}
    for lang in ("en", "ja"):
        for name, file in ((f"offtopic-{lang}", f"offtopic_{lang}.jsonl"),
                           (f"offtopic-{lang}-dev2", f"offtopic_{lang}.dev2.jsonl"),
                           (f"offtopic-{lang}-dev3", f"offtopic_{lang}.dev3.jsonl"),
                           (f"offtopic-{lang}-heldout", f"offtopic_{lang}.heldout.jsonl")):
            out[name] = counts(r, [row["question"] for row in read_jsonl(DATA / file)])
            print(name, out[name], flush=True)
    for split in ("a1", "a2"):
        rows = read_jsonl(DATA / f"jsquad_en.{split}.jsonl")
        for lang, key in (("en", "question"), ("ja", "ja")):
            out[f"{split}-{lang}"] = counts(r, [row[key] for row in rows])
            print(split, lang, out[f"{split}-{lang}"], flush=True)
    return out


def small_sets() -> dict:
    report = read_questions(ROOT / "corpus" / "questions" / "report.jsonl").questions
    r = Retriever.load(cached_index(load([ROOT / "corpus"]).documents, "abstain-report"))
    out = {"report-answerable": counts(r, [q.question for q in report if q.answers]),
           "report-unanswerable": counts(r, [q.question for q in report if not q.answers])}
    docs = load([str(ROOT / "corpus" / "nuclear-outlook-2025.txt"), str(DATA / "natural" / "docs")]).documents
    r = Retriever.load(cached_index(docs, "natural"))
    for lang in ("en", "ja"):
        out[f"natural-{lang}"] = counts(r, [row["question"] for row in
                                            read_jsonl(DATA / "natural" / f"questions_{lang}.jsonl")])
    print(out, flush=True)
    return out


def main() -> None:
    qset = read_questions(SHARED / "eval" / "jsquad-valid-v1.3.json")
    r = Retriever.load(cached_index(qset.documents or [], "jsquad"))
    result = {"sets": {**small_sets(), **jsquad(r)}}
    result["sets"]["jsquad-ja-all"] = counts(r, [q.question for q in qset.questions])
    print("jsquad ja", result["sets"]["jsquad-ja-all"], flush=True)
    for name, c in result["sets"].items():
        c["role"] = ROLE[name]
    write_result("abstain", result)


if __name__ == "__main__":
    main()
