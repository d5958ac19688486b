"""`kotae eval`: run a question set and print its figures (the work is in retriever.evaluate)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ingest.cache import cache_dir
from ingest.errors import KotaeError

if TYPE_CHECKING:
    from retriever.evaluate import Outcome


def run_eval(args: argparse.Namespace, index_arg: Callable[[argparse.Namespace], Path]) -> int:
    from qa_cli.main import settings_of
    from retriever import Retriever
    from retriever.evaluate import corpus_index, evaluate, outcome_row, read_questions, summarize

    from .report import confidence_lines, failures_markdown, summary_table

    qset = read_questions(args.questions)
    for problem in qset.problems:
        print(f"kotae: warning: {problem}", file=sys.stderr)
    if qset.documents is not None and args.index is None:
        index = corpus_index(qset, cache_dir(), args.embedder, progress=True)
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
        summary = replace(summarize(outcomes, seconds), source=str(args.questions))
        print(json.dumps(summary.as_dict(), ensure_ascii=False) if args.json
              else "\n".join([summary_table(summary), *confidence_lines(summary)]), flush=True)
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
