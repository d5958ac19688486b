"""Where the English abstain threshold falls on the whole index: dev false abstentions against
dev off-topic questions abstained, for a range of thresholds (train_abstain.py's THRESHOLD_CAP).

Needs: the project installed with the bench extra, ../shared/eval/jsquad-valid-v1.3.json
(KOTAE_SHARED) and benchmarks/data/. Writes benchmarks/results/abstain_thresholds.json.
Run: python benchmarks/abstain_thresholds.py

Only dev sets are read: the English a1 renderings (answerable; all 1,145 contexts indexed) and
the dev off-topic sets (first, dev2, dev3). Each question's model probability is recorded once,
so every threshold is counted on the same answers; the rules' abstentions count at any threshold.
"""

from __future__ import annotations

import json

import numpy as np
from cached_index import cached_index
from common import ROOT, SHARED, write_result

from retriever import Retriever, ShortAnswer
from retriever.abstain import models
from retriever.evaluate import read_questions
from retriever.question import Question

DATA = ROOT / "benchmarks" / "data"
THRESHOLDS = (0.005, 0.0075, 0.01, 0.0125, 0.015, 0.0175, 0.02, 0.0225, 0.025, 0.03, 0.035, 0.04, 0.05)


class Recorder(Retriever):
    """A Retriever that records, per question, whether the rules abstain and the model's probability."""

    log: list[tuple[bool, float]]

    def abstain(self, q: Question, best: int, best_dense: float, short: ShortAnswer | None,
                lex_p: np.ndarray | None, du: np.ndarray | None = None) -> str | None:
        why = self.abstain_rules(q, best, best_dense, short, lex_p)
        byline = bool(q.intents) and self.index.units.kind[best] in q.intents
        p = 1.0 if byline or du is None else models()[q.language].probability(self.evidence(q, best, du, short))
        self.log.append((why is not None, p))
        return why


def questions(files: tuple[str, ...]) -> list[str]:
    return [json.loads(line)["question"] for f in files
            for line in (DATA / f).read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    qset = read_questions(SHARED / "eval" / "jsquad-valid-v1.3.json")
    r = Recorder.load(cached_index(qset.documents or [], "jsquad"))
    logged = {}
    for name, files in (("a1-en", ("jsquad_en.a1.jsonl",)),
                        ("offtopic-en-dev", ("offtopic_en.jsonl", "offtopic_en.dev2.jsonl", "offtopic_en.dev3.jsonl"))):
        r.log = []
        r.ask_many(questions(files))
        logged[name] = (np.array([a for a, _ in r.log]), np.array([p for _, p in r.log]))
    rows = []
    for t in THRESHOLDS:
        row = {"threshold": t, **{name: int((rules | (p < t)).sum()) for name, (rules, p) in logged.items()}}
        rows.append(row)
        print(row, flush=True)
    write_result("abstain_thresholds", {"shipped": models()["en"].threshold,
                                        "n": {name: len(p) for name, (_, p) in logged.items()}, "rows": rows})


if __name__ == "__main__":
    main()
