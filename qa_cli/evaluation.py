"""`kotae eval`: run a question set and print its figures (the work is in retriever.evaluate)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ingest.errors import KotaeError

if TYPE_CHECKING:
    from retriever.evaluate import Outcome


def _cache_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "kotae"


def _table(summary: dict) -> str:
    rows = [("", "n", "hit@1", "hit@5", "MRR", "answer acc", "short EM", "short F1", "abstained", "false abst.")]

    def row(name: str, s: dict) -> tuple:
        ab = s["abstention"]
        return (name, str(s["n"]), f"{s['hit@1']:.3f}", f"{s['hit@5']:.3f}", f"{s['mrr']:.3f}",
                f"{s['answer_accuracy']:.3f}", f"{s['short_exact_match']:.3f}", f"{s['short_char_f1']:.3f}",
                f"{ab['abstained']}/{ab['unanswerable']}",
                str(ab["false_abstentions"]))

    rows.append(row("all", summary))
    for lang, s in summary.get("by_lang", {}).items():
        rows.append(row(lang, s))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lat = summary["latency_ms"]
    lines.append(f"latency p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms · "
                 f"{summary.get('seconds', 0):.1f} s ({summary.get('questions_per_s')} questions/s)")
    return "\n".join(lines)


def _curve(summary: dict) -> list[str]:
    """The short answers' risk-coverage curve (threshold: share of questions shown, precision)
    and what was marked at the thresholds in use."""
    sc, ac = summary["short_confidence"], summary["answer_confidence"]
    points = sc["risk_coverage"]
    return ["short answers by confidence (share of questions shown, share of those right):",
            "confidence ≥ " + " ".join(f"{p['threshold']:>5.1f}" for p in points),
            "shown        " + " ".join(f"{p['coverage']:>5.2f}" for p in points),
            "right        " + " ".join(f"{p['precision']:>5.2f}" for p in points),
            f"area under the curve {sc['area']:.3f} · ECE {sc['ece']:.3f} · shown at the threshold in use "
            f"{sc['shown']} ({sc['shown_right']} right) · answer sentences marked confident {ac['confident']} "
            f"({ac['confident_right']} right), ECE {ac['ece']:.3f}"]


def run_eval(args: argparse.Namespace, index_arg: Callable[[argparse.Namespace], Path]) -> int:
    from qa_cli.main import settings_of
    from retriever import Retriever
    from retriever.evaluate import corpus_index, evaluate, failures_markdown, outcome_row, read_questions, summarize

    qset = read_questions(args.questions)
    for problem in qset.problems:
        print(f"kotae: warning: {problem}", file=sys.stderr)
    if qset.documents is not None and args.index is None:
        index = corpus_index(qset, _cache_dir(), args.embedder, progress=True)
        retriever = Retriever.load(index, settings=settings_of(args))
    else:
        retriever = Retriever.load(index_arg(args), args.embedder, settings_of(args))
    docs = retriever.documents(args.doc) if args.doc else None
    with contextlib.ExitStack() as stack:
        # Both files are opened before the run: an unwritable --report used to fail
        # after it, losing the figures of a run that may have taken an hour.
        out = _open_for_writing(stack, args.out, "--out")
        if args.report:
            _writable(args.report, "--report")

        def write(o: Outcome) -> None:
            if out is not None:
                try:
                    out.write(json.dumps(outcome_row(o), ensure_ascii=False) + "\n")
                except OSError as e:
                    raise KotaeError(f"--out {args.out}: cannot write ({e.strerror})") from None

        outcomes, seconds = evaluate(lambda qs: retriever.ask_many(qs, k=args.k, docs=docs), qset.questions,
                                     batch=args.batch, progress=True, on_outcome=write)
        if len(outcomes) < len(qset.questions):
            print(f"kotae: interrupted after {len(outcomes)} of {len(qset.questions)} questions; "
                  "figures are for those", file=sys.stderr)
        summary = summarize(outcomes, seconds)
        summary["source"] = str(args.questions)
        print(json.dumps(summary, ensure_ascii=False) if args.json else "\n".join([_table(summary), *_curve(summary)]),
              flush=True)
        if args.report:  # after the figures are out: a full disk here loses only the report
            try:
                Path(args.report).write_text(failures_markdown(outcomes, summary, str(args.questions)),
                                             encoding="utf-8")
            except OSError as e:
                raise KotaeError(f"{args.report}: cannot write the report ({e.strerror}); "
                                 "the figures above are complete") from None
    return 0


def _open_for_writing(stack: contextlib.ExitStack, path: str | None, option: str) -> TextIO | None:
    """``path`` opened for writing, a line at a time: a write that fails says so where it
    fails (one line), and closing has nothing left to flush that could fail again."""
    if not path:
        return None
    try:
        f = open(path, "w", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed by the stack
    except OSError as e:
        raise KotaeError(f"{option} {path}: cannot write ({e.strerror}); choose a writable file") from None
    stack.callback(_close_quietly, f)
    return f


def _close_quietly(f: TextIO) -> None:
    with contextlib.suppress(OSError):  # a failed write was reported when it failed
        f.close()


def _writable(path: str, option: str) -> None:
    """Fail now, not after an hour's run, if ``path`` cannot be written."""
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as e:
        raise KotaeError(f"{option} {path}: cannot write ({e.strerror}); choose a writable file") from None
