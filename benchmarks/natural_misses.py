"""Where kotae's answer sentence goes wrong on the natural questions, English beside Japanese.

Needs: the project installed with the bench extra. Writes benchmarks/results/natural_misses.json.
Run: python benchmarks/natural_misses.py (the index of benchmarks/data/natural is the one
bench_english.py builds and caches; see cached_index.py).

For every question of ``benchmarks/data/natural`` (each asked in English and in Japanese) the
candidate sentences are ranked as ``Retriever.ask`` ranks them, abstention aside, and the top one
is classed: right (it holds a gold span), wrong passage (no candidate holds one: the search
missed) or wrong sentence (a candidate holds one). A wrong sentence is also "answer next" when
the gold sentence is the one right after it in its document, the topic-then-answer pattern:

    # "Why is the city moving from a three-day to a seven-day stockpile?"
    # picked:   市の備蓄はこれまで3日分を基本としてきました。
    # the gold: しかし、…物資が届くまでに時間がかかることが…明らかになっています。

Counts are given overall and by the question's kind (reason, view, recommendation, …).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from bench_english import DATA, read_jsonl
from cached_index import cached_index
from common import ROOT, contains, write_result

from ingest.load import load
from retriever import Retriever


def top_sentence(r: Retriever, question: str, vector: np.ndarray) -> tuple[int, list[int]]:
    """The unit ``ask`` would answer with (abstention aside) and the candidates it was chosen from."""
    ix = r.index
    q = r.analyse(question)
    du = ix.unit_vectors @ vector
    fused, _ = r.fuse(q, du, ix.passage_vectors @ vector)
    top = [int(p) for p in np.argsort(-fused, kind="stable")[: r.settings.passages_considered]]
    cand = r.candidates(q, top)
    return r.rerank(q, r.rank_sentences(q, cand, fused, du)).order[0], cand


def miss_class(r: Retriever, best: int, cand: Sequence[int], gold: Sequence[str]) -> str:
    """right, wrong passage, or wrong sentence / answer next (see the module's docstring)."""
    units = r.index.units
    if contains(gold, units.text[best]):
        return "right"
    if not any(contains(gold, units.text[u]) for u in cand):
        return "wrong passage"
    after = best + 1
    if after < len(units.text) and units.doc[after] == units.doc[best] and contains(gold, units.text[after]):
        return "answer next"
    return "wrong sentence"


def classes(r: Retriever, rows: Sequence[dict]) -> dict:
    vectors = r.embedder.queries([row["question"] for row in rows])  # type: ignore[union-attr]
    found = []
    for row, v in zip(rows, vectors, strict=True):
        best, cand = top_sentence(r, row["question"], v)
        found.append((row["kind"], miss_class(r, best, cand, row["answers"])))
    total = Counter(c for _, c in found)
    by_kind: dict[str, Counter] = {}
    for kind, c in found:
        by_kind.setdefault(kind, Counter())[c] += 1
    return {"n": len(rows), **dict(total), "by_kind": {k: dict(v) for k, v in sorted(by_kind.items())}}


def main() -> None:
    paths = [str(ROOT / "corpus" / "nuclear-outlook-2025.txt"), str(DATA / "natural" / "docs")]
    r = Retriever.load(cached_index(load(paths).documents, "natural"))
    result: dict = {lang: classes(r, read_jsonl(DATA / "natural" / f"questions_{lang}.jsonl")) for lang in ("en", "ja")}
    # The held-out set (never tuned on) against all nine documents, as bench_english.py asks it.
    r = Retriever.load(cached_index(load([*paths, str(DATA / "natural_heldout" / "docs")]).documents,
                                    "natural_heldout"))
    result["held_out"] = {lang: classes(r, read_jsonl(DATA / "natural_heldout" / f"questions_{lang}.jsonl"))
                          for lang in ("en", "ja")}
    for name, figures in [*((lang, result[lang]) for lang in ("en", "ja")),
                          *((f"held out {lang}", f) for lang, f in result["held_out"].items())]:
        print(name, {k: v for k, v in figures.items() if k != "by_kind"}, flush=True)
    write_result("natural_misses", {"data": "benchmarks/data/natural (the report and six documents); held_out: "
                                    "benchmarks/data/natural_heldout (two more, asked against all nine)", **result})


if __name__ == "__main__":
    main()
