"""Writing one generation of an index a document at a time (see ingest.index for its files).

An ingest hands each prepared document to :meth:`GenerationWriter.add` as soon as it is
ready (from this process or from a Ray worker) and lets go of it: its rows go into SQLite,
its vectors into the FAISS indexes, its tokens into the BM25 builders as counts, its
units' words into the English bridge's vocabulary (and their USE vectors, when kept).
What the writer keeps grows with the vectors and the vocabulary, not with the corpus's
text: an ingest of 10 GB of reports never holds 10 GB of units.
:meth:`GenerationWriter.finish` then writes the files that need the whole corpus (BM25
scores need every row's length; the bridge, every word).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import generations, store
from .bridge import BRIDGE_FILE, Vocabulary, bridge_of
from .generations import READERS
from .lexical import Bm25Builder
from .manifest import Manifest
from .store import Prepared
from .tokens import Tokenizer
from .unit_text import embed_text
from .use_vectors import UseRows


@dataclass(frozen=True)
class Written:
    """What the manifest says of one document written."""

    doc: str
    sha256: str
    encoding: str
    chars: int
    units: int
    passages: int
    meta: dict[str, str]


def passage_vectors(prepared: Prepared) -> np.ndarray:
    """A passage's vector: the normalised mean of its units' vectors."""
    dim = prepared.vectors.shape[1]
    out = np.zeros((len(prepared.passages), dim), dtype=np.float32)
    for i, p in enumerate(prepared.passages):
        if dim:
            v = prepared.vectors[list(p.units)].mean(axis=0)
            out[i] = v / max(float(np.linalg.norm(v)), 1e-12)
    return out


def _flat_index(dim: int) -> Any:
    import faiss

    return faiss.IndexFlatIP(dim)


class GenerationWriter:
    """A generation being written into ``gen`` (which must not exist yet), a document at a time."""

    def __init__(self, gen: Path, dim: int, use: UseRows | None = None) -> None:
        """``use``: gather the units' USE vectors too (ingest.use_vectors), reusing those of the
        generation it was made with."""
        gen.mkdir(parents=True)
        (gen / READERS).touch()
        self.gen, self.dim = gen, dim
        self.store = store.StoreWriter(gen / "store.sqlite")
        # FAISS keeps its own copy of what is added, so the vectors are held once, there.
        self.unit_index = _flat_index(dim) if dim else None
        self.passage_index = _flat_index(dim) if dim else None
        self.passage_lexical, self.unit_lexical = Bm25Builder(), Bm25Builder()
        self.vocabulary = Vocabulary()
        self.use = use
        self.tokenizer = Tokenizer()  # the bridge's MeCab pass over each unit
        self.documents: list[Written] = []
        self.words = False  # whether a passage holds a word: without one BM25 has nothing to index

    def add(self, p: Prepared) -> None:
        """Write one document's rows and count its words; the caller may drop ``p`` after."""
        self.store.add(p)
        if self.unit_index is not None and self.passage_index is not None:
            if len(p.units):
                self.unit_index.add(np.ascontiguousarray(p.vectors, dtype=np.float32))
            if len(p.passages):
                self.passage_index.add(passage_vectors(p))
        self.passage_lexical.add(p.passage_tokens)
        self.unit_lexical.add(p.unit_tokens)
        for u in p.units:
            self.vocabulary.read(u.text, self.tokenizer)
        if self.use is not None:  # the second vector English questions use
            self.use.add([None if u.kind == "heading" else embed_text(u.section, u.text, u.kind) for u in p.units],
                         p.use_vectors)
        self.words = self.words or any(p.passage_tokens)
        d = p.document
        self.documents.append(Written(doc=d.doc, sha256=d.sha256, encoding=d.encoding, chars=len(d.text),
                                      units=len(p.units), passages=len(p.passages), meta=p.meta.as_dict()))

    def finish(self, manifest: Manifest) -> None:
        """Write what needs the whole corpus, then the manifest (last: a generation with a
        manifest is whole)."""
        self.store.close()
        generations.checkpoint("store-written")
        if self.unit_index is not None and self.passage_index is not None:
            import faiss

            faiss.write_index(self.unit_index, str(self.gen / "units.faiss"))
            faiss.write_index(self.passage_index, str(self.gen / "passages.faiss"))
            self.unit_index = self.passage_index = None  # freed before BM25 is scored
        self.passage_lexical.write(self.gen / "lexical" / "passages")
        self.unit_lexical.write(self.gen / "lexical" / "units")
        bridge_of(self.vocabulary).write(self.gen / BRIDGE_FILE)
        if self.use is not None:
            self.use.write(self.gen)
        generations.checkpoint("lexical-written")
        manifest.write(self.gen)

    def abandon(self) -> None:
        """Close the store without committing (the caller removes the directory)."""
        self.store.close(commit=False)  # closing twice (after finish) is harmless
