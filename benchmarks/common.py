"""Shared pieces of the benchmark scripts: paths, baselines, scoring, result files.

Baselines, each what a user would reach for instead of kotae:

* ``Bm25`` — BM25 (bm25s, Lucene variant) over MeCab lemmas, the classic Japanese search;
* ``Dense`` — e5-small-q4 alone: cosine between the query and each unit;
* ``LangChainNaive`` — the pipeline a LangChain user writes first: RecursiveCharacterTextSplitter
  over the raw text, LangChain's FAISS vector store, the same e5-small-q4 embeddings through a
  LangChain ``Embeddings`` adapter, top-k similarity search.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("KOTAE_SHARED", ROOT.parent / "shared"))
RESULTS = ROOT / "benchmarks" / "results"
CACHE = Path(os.environ.get("KOTAE_BENCH_CACHE", Path.home() / ".cache" / "kotae" / "bench"))

from ingest.clean import normalize  # noqa: E402
from ingest.tokens import Tokenizer  # noqa: E402


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def write_result(name: str, result: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    result = {"benchmark": name, "date": time.strftime("%Y-%m-%d"), "machine": machine(), **result}
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")
    return path


def contains(gold: Sequence[str], text: str) -> bool:
    t = normalize(text)
    return any(normalize(g) and normalize(g) in t for g in gold)


class Bm25:
    """BM25 over MeCab lemmas with bm25s."""

    name = "bm25 (bm25s, MeCab lemmas)"

    def __init__(self, texts: Sequence[str], tokenizer: Tokenizer) -> None:
        import bm25s

        self.tokenizer = tokenizer
        self.model = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
        self.model.index([tokenizer(t) for t in texts], show_progress=False)
        self.n = len(texts)

    def search(self, questions: Sequence[str], k: int) -> list[list[int]]:
        out = []
        for q in questions:
            scores = self.model.get_scores(self.tokenizer(q))
            out.append([int(i) for i in np.argsort(-scores, kind="stable")[:k]])
        return out


class Dense:
    """e5-small-q4 alone: one vector per text, exact cosine search."""

    name = "dense (e5-small-q4 alone)"

    def __init__(self, texts: Sequence[str], embedder: Embedder | None = None) -> None:
        from ingest.embed import get_embedder

        self.embedder = embedder or get_embedder("e5-small-q4")
        self.vectors = self.embedder.passages(list(texts))

    def search(self, questions: Sequence[str], k: int) -> list[list[int]]:
        q = self.embedder.queries(list(questions))
        scores = q @ self.vectors.T
        return [[int(i) for i in np.argsort(-row, kind="stable")[:k]] for row in scores]


class LangChainNaive:
    """RecursiveCharacterTextSplitter + LangChain FAISS + e5-small-q4 through an Embeddings adapter."""

    name = "langchain (splitter + FAISS + e5-small-q4)"

    def __init__(self, documents: Sequence[tuple[str, str]], chunk_size: int = 500, chunk_overlap: int = 50,
                 embedder: Embedder | None = None) -> None:
        from langchain_community.vectorstores import FAISS
        from langchain_core.embeddings import Embeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from ingest.embed import get_embedder

        e5 = embedder or get_embedder("e5-small-q4")

        class E5Embeddings(Embeddings):
            def embed_documents(self, texts: list[str]) -> list[list[float]]:
                return e5.passages(texts).tolist()

            def embed_query(self, text: str) -> list[float]:
                return e5.queries([text])[0].tolist()

        splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
        texts, metas = [], []
        for doc, text in documents:
            for chunk in splitter.split_text(text):
                texts.append(chunk)
                metas.append({"doc": doc})
        self.chunks = len(texts)
        self.store = FAISS.from_texts(texts, E5Embeddings(), metadatas=metas)

    def search(self, questions: Sequence[str], k: int) -> list[list[tuple[str, str]]]:
        """(doc id, chunk text) per hit."""
        return [[(d.metadata["doc"], d.page_content) for d in self.store.similarity_search(q, k=k)]
                for q in questions]


def rank_of(gold: Sequence[str], texts: Sequence[str]) -> int | None:
    for i, t in enumerate(texts, 1):
        if contains(gold, t):
            return i
    return None


def figures(ranks: Sequence[int | None], answer_ok: Sequence[bool] | None = None) -> dict:
    """hit@1, hit@5, MRR (and answer accuracy when the system picks an answer sentence)."""
    n = len(ranks)
    out = {"n": n,
           "hit@1": round(sum(r == 1 for r in ranks) / n, 4) if n else 0.0,
           "hit@5": round(sum(r is not None and r <= 5 for r in ranks) / n, 4) if n else 0.0,
           "mrr": round(sum(1 / r for r in ranks if r) / n, 4) if n else 0.0}
    if answer_ok is not None:
        out["answer_accuracy"] = round(sum(answer_ok) / n, 4) if n else 0.0
    return out


class CachedE5:
    """e5-small-q4 passage vectors cached on disk by text, so baselines that embed the
    same texts (whole JSQuAD contexts, Tatoeba sentences) pay for them once across runs."""

    def __init__(self, name: str) -> None:
        from ingest.embed import get_embedder

        self.e5 = get_embedder("e5-small-q4")
        self.path = CACHE / f"e5-passages-{name}.npz"
        self.cache: dict[str, np.ndarray] = {}
        if self.path.exists():
            data = np.load(self.path, allow_pickle=False)
            self.cache = dict(zip(data["texts"].tolist(), data["vectors"], strict=False))

    def passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            for t, v in zip(missing, self.e5.passages(missing), strict=False):
                self.cache[t] = v
            CACHE.mkdir(parents=True, exist_ok=True)
            keys = list(self.cache)
            np.savez(self.path, texts=np.array(keys), vectors=np.stack([self.cache[k] for k in keys]))
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, self.e5.dim), np.float32)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.e5.queries(texts)


from retriever.evaluate import char_f1, exact  # noqa: E402,F401  (re-exported for the scripts)

if TYPE_CHECKING:
    from ingest.embed import Embedder, Progress
