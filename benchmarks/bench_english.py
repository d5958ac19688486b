"""English questions over the whole JSQuAD validation corpus, next to the same questions in Japanese.

Needs: the project installed with the bench extra, ../shared/eval/jsquad-valid-v1.3.json and
benchmarks/data/ (jsquad_en.a1/.a2.jsonl, offtopic_en/ja.jsonl, natural/). Writes
benchmarks/results/english.json. Run: python benchmarks/bench_english.py
(the JSQuAD index is built once into ~/.cache/kotae/bench and reused; see cached_index.py).

Sets: a1 (articles 0-29) is where weights were chosen, a2 (articles 30-58) is the held-out
headline; both are English renderings of JSQuAD questions with the Japanese gold answers and
the original Japanese question (field ``ja``), asked against all 1,145 contexts.

Figures for kotae (k=5): hit@1 (the first citation holds a gold answer), answer accuracy (the
answer sentence does), short EM, false abstentions; the same without the bridge (English
words only meet the corpus's Latin text, the state before issue 14); baselines over the same
index's passages: BM25 over MeCab lemmas and e5-small-q4 alone (passage vectors). Off-topic questions (en, ja) count
abstentions; the natural set (report + four documents, 72 questions per language) counts
answer sentences holding a gold span; Tatoeba jpn-eng (CC BY 2.0 FR) counts English sentences
whose aligned Japanese sentence is cited first. Latency: warm ``ask`` of English questions with
and without the bridge, in the same run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from cached_index import cached_index
from common import ROOT, SHARED, contains, exact, write_result

from ingest.bridge import Bridge
from ingest.load import documents_from_texts, load
from ingest.tokens import Tokenizer
from retriever import Retriever
from retriever.evaluate import read_questions

DATA = ROOT / "benchmarks" / "data"
K = 5


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def kotae_figures(r: Retriever, questions: Sequence[str], golds: Sequence[Sequence[str]]) -> dict:
    answers = r.ask_many(list(questions), k=K)
    n = len(answers)
    first = [bool(a.citations) and contains(g, a.citations[0].text) for a, g in zip(answers, golds, strict=True)]
    sentence = [a.answer is not None and contains(g, a.answer.text) for a, g in zip(answers, golds, strict=True)]
    short = [a.short is not None and any(exact(a.short.text, x) for x in g)
             for a, g in zip(answers, golds, strict=True)]
    return {"n": n, "hit@1": round(sum(first) / n, 3), "answer_accuracy": round(sum(sentence) / n, 3),
            "short_em": round(sum(short) / n, 3), "false_abstentions": round(sum(a.abstained for a in answers) / n, 3)}


def without_bridge(r: Retriever) -> Retriever:
    """kotae as it was before the bridge: English lexical weight 0.15, no bridged words."""
    plain = r.with_settings(lexical={**r.settings.lexical, "en": 0.15})
    plain.index = _IndexWithoutBridge(r.index)  # type: ignore[assignment]
    return plain


class _IndexWithoutBridge:
    """The same index, its bridge empty and unnamed, as an index built before bridges reads."""

    def __init__(self, index: object) -> None:
        self._index = index
        self.bridge = Bridge()

    def __getattr__(self, name: str) -> object:
        return getattr(self._index, name)


def baselines(r: Retriever, questions: Sequence[str], golds: Sequence[Sequence[str]]) -> dict:
    """hit@1 of BM25 (MeCab lemmas) and of e5 alone over the same index's passages."""
    ix = r.index
    tokenizer = Tokenizer()
    dense = ix.passage_vectors @ r.embedder.queries(list(questions)).T  # type: ignore[union-attr,operator]
    bm25 = [int(np.argmax(ix.passage_lexical.scores(tokenizer(q)))) for q in questions]
    e5 = [int(i) for i in np.argmax(dense, axis=0)]
    return {name: {"hit@1": round(float(np.mean([contains(g, ix.passages.text[p])
                                                  for p, g in zip(top, golds, strict=True)])), 3)}
            for name, top in (("bm25", bm25), ("dense", e5))}


def latency(r: Retriever, questions: Sequence[str]) -> dict:
    """Warm ask, one question at a time, p50 in ms, with and without the bridge (same run)."""
    plain = without_bridge(r)
    times: dict[str, list[float]] = {"bridge": [], "plain": []}
    for q in questions:
        for name, system in (("bridge", r), ("plain", plain)):
            t0 = time.perf_counter()
            system.ask(q)
            times[name].append((time.perf_counter() - t0) * 1000)
    p50 = {k: float(np.percentile(v, 50)) for k, v in times.items()}
    return {"p50_ms_with_bridge": round(p50["bridge"], 1), "p50_ms_without": round(p50["plain"], 1),
            "added_p50_ms": round(p50["bridge"] - p50["plain"], 1), "n": len(questions)}


def jsquad_sets(r: Retriever) -> dict:
    plain = without_bridge(r)
    out = {}
    for split in ("a1", "a2"):
        rows = read_jsonl(DATA / f"jsquad_en.{split}.jsonl")
        golds = [row["answers"] for row in rows]
        for lang, field in (("en", "question"), ("ja", "ja")):
            qs = [row[field] for row in rows]
            out[f"{split}-{lang}"] = {
                "kotae": kotae_figures(r, qs, golds),
                "kotae without bridge": kotae_figures(plain, qs, golds) if lang == "en" else None,
                **baselines(r, qs, golds)}
            print(split, lang, out[f"{split}-{lang}"], flush=True)
    return out


def offtopic(r: Retriever) -> dict:
    out = {}
    for lang in ("en", "ja"):
        qs = [row["question"] for row in read_jsonl(DATA / f"offtopic_{lang}.jsonl")]
        out[lang] = {"n": len(qs), "abstained": sum(a.abstained for a in r.ask_many(qs))}
    return out


def natural() -> dict:
    docs = load([str(ROOT / "corpus" / "nuclear-outlook-2025.txt"), str(DATA / "natural" / "docs")]).documents
    r = Retriever.load(cached_index(docs, "natural"))
    out = {}
    for lang in ("en", "ja"):
        rows = read_jsonl(DATA / "natural" / f"questions_{lang}.jsonl")
        out[lang] = kotae_figures(r, [row["question"] for row in rows], [row["answers"] for row in rows])
        if lang == "en":
            out["en without bridge"] = kotae_figures(without_bridge(r), [row["question"] for row in rows],
                                                     [row["answers"] for row in rows])
    return out


def tatoeba() -> dict:
    """Tatoeba jpn-eng (CC BY 2.0 FR): each English sentence against the 1,000 Japanese ones;
    top-1 is the aligned sentence first, with and without the bridge."""
    eng = (SHARED / "eval" / "tatoeba.jpn-eng.eng").read_text(encoding="utf-8").splitlines()
    jpn = (SHARED / "eval" / "tatoeba.jpn-eng.jpn").read_text(encoding="utf-8").splitlines()
    ids = [f"jpn/{i:04d}" for i in range(len(jpn))]
    r = Retriever.load(cached_index(documents_from_texts(zip(ids, jpn, strict=True)), "tatoeba"))
    out = {}
    for name, system in (("kotae", r), ("kotae without bridge", without_bridge(r))):
        answers = system.ask_many(eng, k=K)
        first = [bool(a.citations) and a.citations[0].doc == i for a, i in zip(answers, ids, strict=True)]
        out[name] = {"n": len(eng), "top1": round(sum(first) / len(eng), 4)}
    return out


def main() -> None:
    qset = read_questions(SHARED / "eval" / "jsquad-valid-v1.3.json")
    docs = qset.documents or []
    r = Retriever.load(cached_index(docs, "jsquad"))
    result: dict = {"data": "JSQuAD v1.3 validation (JGLUE by Yahoo Japan, CC BY-SA 4.0); English renderings "
                            "and off-topic/natural sets in benchmarks/data (see its README)",
                    "contexts": len(docs), "k": K}
    result["jsquad"] = jsquad_sets(r)
    result["offtopic"] = offtopic(r)
    print("offtopic", result["offtopic"], flush=True)
    a1 = [row["question"] for row in read_jsonl(DATA / "jsquad_en.a1.jsonl")][:100]
    result["latency"] = latency(r, a1)
    print("latency", result["latency"], flush=True)
    result["natural"] = natural()
    print("natural", result["natural"], flush=True)
    result["tatoeba"] = tatoeba()
    print("tatoeba", result["tatoeba"], flush=True)
    write_result("english", result)


if __name__ == "__main__":
    main()
