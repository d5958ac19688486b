"""The lexical index: BM25 (Lucene variant) over MeCab lemmas, in bm25s's saved format.

Every (row, term) score is precomputed into a sparse matrix (CSC: one column per term),
saved as NumPy arrays beside a vocabulary, as bm25s saves its index. Scoring a query is
then a sum of matrix columns, which :class:`LexicalIndex` does with NumPy alone: the
query path never imports bm25s or SciPy (half a second of a cold `kotae ask`).

The index is built by :class:`Bm25Builder` from counts, not texts: an ingest adds each
document's rows as it is written and keeps only, per row, which terms occur how often
(8 bytes a distinct term), so a corpus's tokens are never all held at once. Its scores
are bm25s's, bit for bit (tests/test_lexical.py builds both).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# Tuned on JSQuAD contexts (1,000 questions, BM25 alone, context@1): k1=1.2/b=0.75 0.880,
# k1=0.9/b=0.4 0.893, k1=0.7/b=0.5 0.894. Short paragraphs want little length normalisation.
K1 = 0.9
B = 0.4


# bm25s's names for the files of a saved index; LexicalIndex reads the same.
SCORE_CHUNK = 1 << 20  # entries scored at once (their float64 temporaries: ~40 MB)
FILES = {"data": "data.csc.index.npy", "indices": "indices.csc.index.npy", "indptr": "indptr.csc.index.npy",
         "vocab": "vocab.index.json", "params": "params.index.json"}


class Growing:
    """A 1-d NumPy array appended to in place (capacity doubled as needed): a million
    small appends cost no Python object each, as a list of arrays would."""

    def __init__(self, dtype: type) -> None:
        self.array: np.ndarray = np.empty(1024, dtype=dtype)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        end = self.size + len(values)
        if end > len(self.array):
            grown = np.empty(max(end, 2 * len(self.array)), dtype=self.array.dtype)
            grown[:self.size] = self.array[:self.size]
            self.array = grown
        self.array[self.size:end] = values
        self.size = end

    def values(self) -> np.ndarray:
        return self.array[:self.size]


class Bm25Builder:
    """Rows added one document at a time, kept as term counts; :meth:`write` scores them.

    Term ids are given in order of first occurrence (bm25s numbers a set's order, which
    changes with Python's string hashing), so the same corpus gives the same files.
    """

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.terms = Growing(np.int32)  # per row, its distinct terms ...
        self.counts = Growing(np.int32)  # ... how often each occurs in the row
        self.distinct = Growing(np.int64)  # per row: how many distinct terms
        self.lengths = Growing(np.int64)  # per row: how many tokens

    def add(self, token_lists: Sequence[Sequence[str]]) -> None:
        """Add one row per token list (a document's passages, or its units)."""
        distinct, lengths = [], []
        for tokens in token_lists:
            found: dict[int, int] = {}
            for t in tokens:
                i = self.vocab.setdefault(t, len(self.vocab))
                found[i] = found.get(i, 0) + 1
            self.terms.extend(np.fromiter(found.keys(), np.int32, len(found)))
            self.counts.extend(np.fromiter(found.values(), np.int32, len(found)))
            distinct.append(len(found))
            lengths.append(len(tokens))
        self.distinct.extend(np.asarray(distinct, np.int64))
        self.lengths.extend(np.asarray(lengths, np.int64))

    def scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The CSC arrays (data, indices, indptr) of every (row, term) score."""
        terms, counts, lengths = self.terms.values(), self.counts.values(), self.lengths.values()
        rows = np.repeat(np.arange(len(lengths), dtype=np.int32), self.distinct.values())
        df = np.bincount(terms, minlength=len(self.vocab))
        n = len(lengths)
        # math.log per term, in float64, then float32: bm25s's idf to the last bit
        # (NumPy's vectorised log may differ from it by an ulp).
        idf = np.array([math.log(1 + (n - f + 0.5) / (f + 0.5)) for f in df.tolist()], dtype=np.float32)
        avg = lengths.mean() if n else np.float64(0.0)
        data = np.empty(len(terms), dtype=np.float32)
        for lo in range(0, len(terms), SCORE_CHUNK):  # float64 temporaries for a chunk, not for all
            at = slice(lo, lo + SCORE_CHUNK)
            # The Lucene term-frequency part, tf / (k1 (1 - b + b len/avg) + tf), in float64 as
            # bm25s computes it row by row, then times the idf and rounded to float32.
            norm = K1 * ((1 - B) + B * lengths[rows[at]].astype(np.float64) / avg)
            tf = counts[at].astype(np.float64)
            data[at] = idf[terms[at]].astype(np.float64) * (tf / (norm + tf))
        # Column by column (term), rows ascending within one: rows were added in order.
        order = np.argsort(terms, kind="stable")
        indptr = np.zeros(len(self.vocab) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        return data[order], rows[order], indptr

    def write(self, directory: Path) -> None:
        """Save the index into ``directory`` (bm25s's files; ``bm25s.BM25.load`` reads them)."""
        directory.mkdir(parents=True, exist_ok=True)
        data, indices, indptr = self.scores()
        for name, array in (("data", data), ("indices", indices), ("indptr", indptr)):
            np.save(directory / FILES[name], array)
        # An empty term scores a row with no tokens (bm25s's create_empty_token).
        vocab = self.vocab if "" in self.vocab else {**self.vocab, "": len(self.vocab)}
        (directory / FILES["vocab"]).write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        params = {"k1": K1, "b": B, "delta": 0.5, "method": "lucene", "idf_method": "lucene",
                  "dtype": "float32", "int_dtype": "int32", "num_docs": len(self.lengths.values()),
                  "backend": "numpy"}
        (directory / FILES["params"]).write_text(json.dumps(params, indent=4), encoding="utf-8")


def build(token_lists: Sequence[Sequence[str]], directory: Path) -> None:
    """Index one token list per row into ``directory`` (an empty list still gets a row,
    so every row index stays a passage id)."""
    builder = Bm25Builder()
    builder.add(token_lists)
    builder.write(directory)


class LexicalIndex:
    """BM25 scores of all documents for a query, from bm25s's saved arrays."""

    def __init__(self, directory: Path) -> None:
        self.data = np.load(directory / FILES["data"])
        self.indices = np.load(directory / FILES["indices"])
        self.indptr = np.load(directory / FILES["indptr"])
        with open(directory / FILES["vocab"], encoding="utf-8") as f:
            self.vocab: dict[str, int] = json.load(f)
        with open(directory / FILES["params"], encoding="utf-8") as f:
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

    def idf(self, token: str) -> float:
        """The token's BM25 idf here, log(1 + (N - df + 0.5) / (df + 0.5)) over the N rows (at
        least 1): what the retriever weighs a question's words by (of 1,145 passages, a word in 3
        of them: 5.79; one in 1,100, such as する: 0.04; one in none: 7.74)."""
        n = max(self.size, 1)
        df = self.document_frequency(token)
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def rarity(self, token: str) -> float:
        """The token's idf over that of a token no row holds (the largest): 0-1, 1 for unseen."""
        n = max(self.size, 1)
        return self.idf(token) / float(np.log(1 + (n + 0.5) / 0.5))
