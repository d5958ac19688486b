"""Where the abstain thresholds fall on the whole index: dev false abstentions against dev
off-topic questions abstained, for a range of thresholds (train_abstain.py's THRESHOLD_CAP) and,
for Japanese, of probabilities above which the model overrules the coverage rule (OVERRULE).

Needs: the project installed with the bench extra, ../shared/eval/jsquad-valid-v1.3.json
(KOTAE_SHARED) and benchmarks/data/. Writes benchmarks/results/abstain_thresholds.json.
Run: python benchmarks/abstain_thresholds.py

Only dev sets are read: the English a1 renderings and all 4,442 Japanese JSQuAD questions
(answerable; all 1,145 contexts indexed), the dev off-topic sets (first, dev2, dev3) and the
natural English dev set (answerable, on the report and the natural documents). Each
question's model probability is recorded once, so every threshold is counted on the same
answers; the rules' abstentions count at any threshold (the coverage rule's only below the overrule).
"""

from __future__ import annotations

import json

import numpy as np
from cached_index import cached_index
from common import ROOT, SHARED, write_result

from ingest.load import load
from retriever import Retriever, ShortAnswer
from retriever.abstain import models
from retriever.evaluate import read_questions
from retriever.question import Question

DATA = ROOT / "benchmarks" / "data"
# Japanese: the threshold with the probability above which the coverage rule is overruled (1: never).
JA_THRESHOLDS = (0.02, 0.025, 0.03, 0.035, 0.0375, 0.04, 0.0425, 0.045, 0.05, 0.06)
JA_OVERRULES = (1.0, 0.3, 0.2, 0.1, 0.07, 0.05)
THRESHOLDS = (0.005, 0.0075, 0.01, 0.0125, 0.015, 0.0175, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15)


class Recorder(Retriever):
    """A Retriever that records, per question, whether the rules abstain and the model's probability."""

    log: list[tuple[bool, bool, float]]

    def abstain(self, q: Question, best: int, best_dense: float, short: ShortAnswer | None,
                lex_p: np.ndarray | None, du: np.ndarray | None = None) -> str | None:
        why = self.abstain_rules(q, best, best_dense, short, lex_p)
        firm = self.abstain_rules(q, best, best_dense, short, lex_p, coverage=False)
        byline = bool(q.intents) and self.index.units.kind[best] in q.intents
        model = models().get(q.language)  # none for a question of mixed script, as in Retriever.abstain
        p = 1.0 if byline or du is None or model is None else model.probability(self.evidence(q, best, du, short))
        self.log.append((firm is not None, why is not None and firm is None, p))
        return why


def questions(files: tuple[str, ...]) -> list[str]:
    return [json.loads(line)["question"] for f in files
            for line in (DATA / f).read_text(encoding="utf-8").splitlines() if line.strip()]


def record(r: Recorder, asked: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(firm rules abstain, the coverage rule alone abstains, model probability) per question."""
    r.log = []
    r.ask_many(asked)
    firm, soft, p = zip(*r.log, strict=True)
    return np.array(firm), np.array(soft), np.array(p)


def main() -> None:
    qset = read_questions(SHARED / "eval" / "jsquad-valid-v1.3.json")
    r = Recorder.load(cached_index(qset.documents or [], "jsquad"))
    en = {name: record(r, questions(files)) for name, files in (
        ("a1-en", ("jsquad_en.a1.jsonl",)),
        ("offtopic-en-dev", ("offtopic_en.jsonl", "offtopic_en.dev2.jsonl", "offtopic_en.dev3.jsonl")))}
    docs = load([str(ROOT / "corpus" / "nuclear-outlook-2025.txt"), str(DATA / "natural" / "docs")]).documents
    en["natural-en"] = record(Recorder.load(cached_index(docs, "natural")), questions(("natural/questions_en.jsonl",)))
    rows = []
    for t in THRESHOLDS:
        row = {"threshold": t, **{name: int((firm | soft | (p < t)).sum()) for name, (firm, soft, p) in en.items()}}
        rows.append(row)
        print(row, flush=True)
    ja = {"jsquad-ja": record(r, [q.question for q in qset.questions]),
          "offtopic-ja-dev": record(r, questions(("offtopic_ja.jsonl", "offtopic_ja.dev2.jsonl",
                                                  "offtopic_ja.dev3.jsonl")))}
    ja_rows = []
    for overrule in JA_OVERRULES:
        for t in JA_THRESHOLDS:
            row = {"overrule": overrule, "threshold": t, **{
                name: int((firm | (soft & (p < overrule)) | (p < t)).sum()) for name, (firm, soft, p) in ja.items()}}
            ja_rows.append(row)
            print(row, flush=True)
    shipped = models()
    write_result("abstain_thresholds", {
        "shipped": shipped["en"].threshold, "n": {name: len(p) for name, (_, _, p) in en.items()}, "rows": rows,
        "ja": {"shipped": [shipped["ja"].overrule, shipped["ja"].threshold],
               "n": {name: len(p) for name, (_, _, p) in ja.items()}, "rows": ja_rows}})


if __name__ == "__main__":
    main()
