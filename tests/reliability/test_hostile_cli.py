"""Reliability 10: a careless or hostile command line (issue 17, items 7 and 8): standard
output closed or full, empty and non-positive options, unwritable report files, odd
SQuAD files, and text that would drive the terminal. One line and an exit code each,
never a traceback, and nothing the run already did is lost or hidden.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from reliability_support import GOOD, answers, kotae_cmd, one_error, run_kotae, write_files

from ingest import build_index
from ingest.generations import generation
from ingest.manifest import read_manifest


@pytest.fixture(scope="module")
def lexical_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    build_index([write_files(root / "docs", {"a.txt": GOOD})], root / "index", "none")
    return root / "index"


def _run_shell(env: dict[str, str], redirect: str, *args: object) -> subprocess.CompletedProcess[str]:
    """kotae with its standard output closed (``>&-``) or on a full disk (``>/dev/full``)."""
    cmd = " ".join(f"'{a}'" for a in kotae_cmd(*args)) + " " + redirect
    return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=180, env=env)


@pytest.mark.parametrize("redirect", [">&-", ">/dev/full"], ids=["closed", "full"])
@pytest.mark.parametrize("json_out", [False, True], ids=["text", "json"])
def test_ask_with_nowhere_to_print(lexical_index: Path, env: dict[str, str], redirect: str,
                                   json_out: bool) -> None:
    # Before: OSError or AttributeError tracebacks (exit 1).
    args = ["ask", "運用検討会議", "--index", lexical_index] + (["--json"] if json_out else [])
    proc = _run_shell(env, redirect, *args)
    one_error(proc, 74, "cannot write to standard output")


@pytest.mark.parametrize("redirect", [">&-", ">/dev/full"], ids=["closed", "full"])
def test_ingest_with_nowhere_to_print_says_the_index_was_written(tmp_path: Path, env: dict[str, str],
                                                                 redirect: str) -> None:
    docs = write_files(tmp_path / "docs", {"a.txt": GOOD})
    proc = _run_shell(env, redirect, "ingest", docs, "--index", tmp_path / "index", "--embedder", "none", "-q")
    one_error(proc, 74, f"the index at {tmp_path / 'index'} was written (1 documents)", "summary was not printed")
    assert read_manifest(generation(tmp_path / "index")).documents_sha256.keys() == {"docs/a.txt"}


def test_ask_into_a_closed_pipe_is_quiet(lexical_index: Path, env: dict[str, str]) -> None:
    # A reader that stops early (| head -1) is not an error.
    cmd = " ".join(f"'{a}'" for a in kotae_cmd("ask", "-", "--index", lexical_index, "--json"))
    proc = subprocess.run(["bash", "-c", f"yes 運用検討会議 | head -300 | {cmd} | head -1"], capture_output=True,
                          text=True, timeout=180, env=env)
    assert proc.stderr == "" and json.loads(proc.stdout)["question"] == "運用検討会議"


OPTION_CASES = [  # (case, arguments after the command, words of the one line)
    ("ingest --index ''", ["ingest", "DOCS", "--index", "", "--embedder", "none", "-q"], "--index is empty"),
    ("ask --index ''", ["ask", "運用検討会議", "--index", ""], "--index is empty"),
    ("eval --batch 0", ["eval", "QUESTIONS", "--index", "INDEX", "--batch", "0"], "--batch must be at least 1, got 0"),
    ("eval --batch -5", ["eval", "QUESTIONS", "--index", "INDEX", "--batch", "-5"], "got -5"),
]


@pytest.mark.parametrize(("case", "args", "says"), OPTION_CASES, ids=[c[0] for c in OPTION_CASES])
def test_bad_option_values(tmp_path: Path, env: dict[str, str], lexical_index: Path, case: str,
                           args: list[str], says: str) -> None:
    # Before: --index '' made ingest write the default index and ask read "."; --batch 0 a
    # ZeroDivisionError; --batch -5 exit 0 having evaluated nothing.
    docs = write_files(tmp_path / "docs", {"a.txt": GOOD})
    questions = write_files(tmp_path, {"q.jsonl": '{"question": "運用検討会議", "answers": ["運用検討会議"]}\n'})
    fill = {"DOCS": str(docs), "QUESTIONS": str(questions / "q.jsonl"), "INDEX": str(lexical_index)}
    proc = run_kotae(env, *[fill.get(a, a) for a in args])
    one_error(proc, 2, says)
    assert proc.stdout == ""


def test_an_unwritable_report_fails_before_the_run(tmp_path: Path, env: dict[str, str],
                                                  lexical_index: Path) -> None:
    questions = write_files(tmp_path, {"q.jsonl": '{"question": "運用検討会議", "answers": ["運用検討会議"]}\n'})
    for where in (tmp_path, tmp_path / "q.jsonl" / "report.md"):  # a directory; under a file
        proc = run_kotae(env, "eval", questions / "q.jsonl", "--index", lexical_index, "--report", where)
        one_error(proc, 2, "--report", "cannot write")
        assert proc.stdout == ""  # refused before the run, not after it


def test_a_report_that_cannot_be_written_after_the_run_keeps_the_figures(tmp_path: Path, env: dict[str, str],
                                                                         lexical_index: Path) -> None:
    # Before: the whole run's figures were lost with the traceback.
    questions = write_files(tmp_path, {"q.jsonl": '{"question": "運用検討会議", "answers": ["xyz"]}\n'})
    proc = run_kotae(env, "eval", questions / "q.jsonl", "--index", lexical_index, "--report", "/dev/full", "--json")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    said = [x.strip() for x in proc.stderr.splitlines() if "kotae:" in x]  # beside the progress bar
    assert len(said) == 1 and said[0].startswith("kotae: error: /dev/full: cannot write the report"), said
    assert "the figures above are complete" in said[0]
    assert json.loads(proc.stdout)["n"] == 1


def _squad(articles: list[tuple[object, str, list[tuple[str, object]]]]) -> str:
    data = [{"title": title, "paragraphs": [{"context": context, "qas": [
        {"id": qid, "question": "運用検討会議を重視するのはどこか", "answers": [{"text": answer, "answer_start": 0}]}
        for qid, answer in qas]}]} for title, context, qas in articles]
    return json.dumps({"version": "test", "data": data}, ensure_ascii=False)


SQUAD_CASES = [  # (case, articles, the warning expected, questions evaluated)
    ("an integer answer", [("t", "2026年に交渉を始める。", [("q1", 2026)])], None, 1),
    ("two articles of one title", [("t", GOOD, [("q1", "日本")]), ("t", "米国は交渉を始める。", [("q2", "米国")])],
     None, 2),
    ("an empty context", [("t", "", [("q1", "日本")]), ("u", GOOD, [("q2", "日本")])], "empty context", 1),
    ("an answer that is a list", [("t", GOOD, [("q1", ["日本"])]), ("u", GOOD, [("q2", "日本")])],
     "must be text", 1),
]


@pytest.mark.parametrize(("case", "articles", "warns", "n"), SQUAD_CASES, ids=[c[0] for c in SQUAD_CASES])
def test_odd_squad_files(tmp_path: Path, env: dict[str, str], case: str, articles: list, warns: str | None,
                         n: int) -> None:
    # Before: a TypeError, a sqlite IntegrityError, and a traceback on an empty context.
    path = write_files(tmp_path, {"squad.json": _squad(articles)}) / "squad.json"
    proc = run_kotae(env, "eval", path, "--embedder", "none", "--json")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    warnings = [x for x in proc.stderr.splitlines() if x.startswith("kotae: warning:")]
    assert (warns is None and not warnings) or (len(warnings) == 1 and warns in warnings[0]), proc.stderr
    assert json.loads(proc.stdout)["n"] == n


def test_text_that_drives_a_terminal_is_escaped_there(tmp_path: Path, env: dict[str, str]) -> None:
    # U+202E turns the rest of a line around; ESC [ 2 J clears the screen. The JSON keeps the
    # source's characters (offsets reproduce it); the text printed for a person escapes them.
    text = "日本は\u202e核兵器不拡散条約\u202cの運用検討会議を重視する。\n"
    docs = write_files(tmp_path / "docs", {"rtl\u202etxt.txt": text})
    build_index([docs], tmp_path / "index", "none")
    proc = run_kotae(env, "ask", "運用検討会議", "--index", tmp_path / "index")
    assert proc.returncode == 0, proc.stderr
    assert "\u202e" not in proc.stdout and "\\u202e" in proc.stdout and "運用検討会議" in proc.stdout
    proc = run_kotae(env, "ask", "運用検討会議", "--index", tmp_path / "index", "--json")
    assert "\u202e" in json.loads(proc.stdout)["answer"]["text"]


@pytest.mark.parametrize("zw", ["\ufeff", "\u200b", "\u2060"], ids=["BOM", "ZWSP", "word-joiner"])
def test_a_zero_width_character_inside_a_date(tmp_path: Path, zw: str) -> None:
    # Before: 202<U+FEFF>5年10月18日 gave the short answer 5年10月18日, a wrong date.
    text = f"安保理決議2231は202{zw}5年10月18日に終了する。\n"
    build_index([write_files(tmp_path / "docs", {"a.txt": text})], tmp_path / "index", "none")
    (answer,) = answers(tmp_path / "index", ["安保理決議2231はいつ終了するか"])
    short = answer["answer"]["short"]
    assert short["text"].replace(zw, "") == "2025年10月18日"
    assert text[short["start"]:short["end"]] == short["text"]  # still the source's characters
