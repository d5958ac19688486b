"""Tatoeba jpn-eng (CC BY 2.0 FR, via the LASER test set): each of 1,000 English sentences
asked against the 1,000 Japanese sentences; the gold is the aligned translation.

Needs: the project installed with the bench extra, ../shared/eval/tatoeba.jpn-eng.{eng,jpn}.
Writes benchmarks/results/tatoeba.json. Run: python benchmarks/bench_tatoeba.py [SPEC]
(with an embedder SPEC such as e5-small-int8: kotae alone, to results/tatoeba-SPEC.json)

top-1: the first citation (kotae) or the first hit (baselines) is the aligned sentence.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from common import SHARED, Bm25, CachedE5, Dense, LangChainNaive, write_result

from ingest import build_index
from ingest.load import documents_from_texts
from ingest.tokens import Tokenizer
from retriever import Retriever

K = 5


def top(ranked: list[list[str]], gold: list[str]) -> dict:
    n = len(gold)
    return {"n": n, "top1": round(sum(bool(r) and r[0] == g for r, g in zip(ranked, gold, strict=False)) / n, 4),
            "top5": round(sum(g in r[:5] for r, g in zip(ranked, gold, strict=False)) / n, 4),
            "mrr": round(sum(1 / (r.index(g) + 1) for r, g in zip(ranked, gold, strict=False) if g in r) / n, 4)}


def main() -> None:
    # python benchmarks/bench_tatoeba.py e5-small-int8: kotae alone with that embedder spec
    spec = sys.argv[1] if len(sys.argv) > 1 else None
    eng = (SHARED / "eval" / "tatoeba.jpn-eng.eng").read_text(encoding="utf-8").splitlines()
    jpn = (SHARED / "eval" / "tatoeba.jpn-eng.jpn").read_text(encoding="utf-8").splitlines()
    ids = [f"jpn/{i:04d}" for i in range(len(jpn))]
    result: dict = {"data": "Tatoeba jpn-eng (LASER test set, CC BY 2.0 FR): English -> Japanese",
                    "questions": len(eng)}
    with tempfile.TemporaryDirectory() as tmp:
        documents = documents_from_texts(zip(ids, jpn, strict=True))
        build_index(None, Path(tmp) / "index", spec, documents=documents, progress=True)
        r = Retriever.load(Path(tmp) / "index")
        ranked = []
        for i in range(0, len(eng), 64):
            for a in r.ask_many(eng[i:i + 64], k=K):
                ranked.append(list(dict.fromkeys(c.doc for c in a.citations)))
    result["kotae"] = top(ranked, ids)
    print("kotae", result["kotae"])
    if spec:
        write_result(f"tatoeba-{spec}", {**result, "embedder": spec})
        return
    e5 = CachedE5("tatoeba")
    for name, system in (("bm25", Bm25(jpn, Tokenizer())), ("dense", Dense(jpn, e5))):
        result[name] = top([[ids[i] for i in row] for row in system.search(eng, K)], ids)
        print(name, result[name])
    lc = LangChainNaive(list(zip(ids, jpn, strict=False)), embedder=e5)
    result["langchain"] = top([[d for d, _ in h] for h in lc.search(eng, K)], ids)
    print("langchain", result["langchain"])
    write_result("tatoeba", result)


if __name__ == "__main__":
    main()
