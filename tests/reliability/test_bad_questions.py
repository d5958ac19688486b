"""Reliability 2: bad questions through ``kotae ask``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reliability_support import GOOD, REPORT, assert_cites_source, one_error, run_kotae

from retriever import Retriever

REPORT_SOURCES = {"corpus/nuclear-outlook-2025.txt": REPORT.read_text(encoding="utf-8")}

ANSWERED_QUESTIONS = [  # (case, question): exit 0 and one valid JSON object, answered or abstained
    ("only punctuation", "？？？"),
    ("ascii punctuation", "?!.,;:()[]{}<>\"'"),
    ("10,000 characters", ("安保理決議2231はいつ終了するか" * 700)[:10_000]),
    ("control characters", "\x07\x1b[31m安保理決議2231\x7f\x08はいつ終了するか\x1b[0m"),
    ("bidi and zero-width", "\u202e安保理決議\u200b2231\u202cはいつ終了するか\ufeff"),
    ("Korean", "북한의 핵 프로그램은?"),
    ("Russian", "Когда истекает резолюция 2231?"),
    ("emoji", "🚀💥☢️"),
    ("combining marks", "a\u0301\u0301\u0301 e\u0308\u20dd"),
]


@pytest.mark.parametrize(("case", "question"), ANSWERED_QUESTIONS, ids=[c[0] for c in ANSWERED_QUESTIONS])
def test_odd_question_answers_or_abstains(report_lexical: Path, env: dict[str, str], case: str,
                                          question: str) -> None:
    proc = run_kotae(env, "ask", question, "--index", report_lexical, "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    d = json.loads(proc.stdout)
    assert isinstance(d["abstained"], bool)
    assert (d["answer"] is None) == d["abstained"]
    assert_cites_source(d, REPORT_SOURCES)


# On a lexical-only index a question none of whose tokens is in the index scores every
# passage 0: with no evidence it abstains rather than cite the corpus's first sentence.
@pytest.mark.parametrize("question", ["？？？", "🚀💥☢️", "북한의 핵 프로그램은?"])
def test_question_without_any_evidence_abstains(report_lexical: Path, question: str) -> None:
    assert Retriever.load(report_lexical).ask(question).abstained


@pytest.mark.parametrize("question", ["", "   ", "\t\n", "\x07\x1b"], ids=["empty", "spaces", "tab-newline",
                                                                       "only-control"])
def test_empty_question_is_exit_2(report_lexical: Path, env: dict[str, str], question: str) -> None:
    proc = run_kotae(env, "ask", question, "--index", report_lexical, "--json")
    one_error(proc, 2, "question is empty")
    assert proc.stdout == ""


def test_odd_questions_on_an_index_with_vectors(e5_index: Path, env: dict[str, str]) -> None:
    """The same questions through the embedder (one `ask -` run): each one JSON line, exit 0."""
    questions = [q for _, q in ANSWERED_QUESTIONS]
    proc = run_kotae(env, "ask", "-", "--index", e5_index, "--json", stdin="\n".join(questions) + "\n")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(out) == len(questions)
    sources = {"docs/a.txt": GOOD}
    for d in out:
        assert (d["answer"] is None) == d["abstained"]
        assert_cites_source(d, sources)


def test_questions_on_stdin_with_nul_and_bad_lines(report_lexical: Path, env: dict[str, str]) -> None:
    # NUL cannot be passed in argv; on stdin it is one more control character. A line
    # that is nothing but control characters is a bad question: that line gets an error
    # object and a "kotae: line N:" warning, the others are answered, and the exit is 2.
    lines = ["安保理決議\x002231はいつ終了するか", "\x00\x07", "북한의 핵 프로그램은?", "", "？？？"]
    proc = run_kotae(env, "ask", "-", "--index", report_lexical, "--json", stdin="\n".join(lines) + "\n")
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["kotae: line 2: the question is empty; ask something, e.g. "
                                                'kotae ask "安保理決議2231はいつ終了するか"']
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(out) == 4  # the blank line is skipped
    assert "error" in out[1] and "error" not in out[0]
    assert out[0]["answer"]["text"].endswith("2025年10月18日に終了する。")
    for d in (out[0], out[2], out[3]):
        assert_cites_source(d, REPORT_SOURCES)
