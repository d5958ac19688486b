"""The lexical index: BM25 (Lucene variant) over MeCab lemmas, built with bm25s.

bm25s precomputes every (document, term) score into a sparse matrix and saves it
as NumPy arrays beside a vocabulary. Scoring a query is then a sum of matrix
columns, which :class:`LexicalIndex` does with NumPy alone: the query path never
imports bm25s or SciPy (half a second of a cold `kotae ask`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# Tuned on JSQuAD contexts (1,000 questions, BM25 alone, context@1): k1=1.2/b=0.75 0.880,
# k1=0.9/b=0.4 0.893, k1=0.7/b=0.5 0.894. Short paragraphs want little length normalisation.
K1 = 0.9
B = 0.4


def build(token_lists: Sequence[Sequence[str]], directory: Path) -> None:
    """Index one token list per document into ``directory`` (bm25s's saved format)."""
    import bm25s

    directory.mkdir(parents=True, exist_ok=True)
    model = bm25s.BM25(k1=K1, b=B, method="lucene")
    # An empty document still needs a row, so every row index stays a passage id.
    model.index([list(t) for t in token_lists], show_progress=False)
    model.save(str(directory), show_progress=False)


class LexicalIndex:
    """BM25 scores of all documents for a query, from bm25s's saved arrays."""

    def __init__(self, directory: Path) -> None:
        self.data = np.load(directory / "data.csc.index.npy")
        self.indices = np.load(directory / "indices.csc.index.npy")
        self.indptr = np.load(directory / "indptr.csc.index.npy")
        with open(directory / "vocab.index.json", encoding="utf-8") as f:
            self.vocab: dict[str, int] = json.load(f)
        with open(directory / "params.index.json", encoding="utf-8") as f:
            self.size = int(json.load(f)["num_docs"])

    def term_ids(self, tokens: Sequence[str]) -> list[int]:
        ids = {self.vocab[t] for t in tokens if t and t in self.vocab}
        return sorted(ids)

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.float32)
        for t in self.term_ids(tokens):
            lo, hi = self.indptr[t], self.indptr[t + 1]
            np.add.at(out, self.indices[lo:hi], self.data[lo:hi])
        return out

    def document_frequency(self, token: str) -> int:
        t = self.vocab.get(token)
        return 0 if t is None else int(self.indptr[t + 1] - self.indptr[t])
