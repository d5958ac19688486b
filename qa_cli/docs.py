"""`kotae docs`: what an index holds, one document at a time (the work is in ingest.catalog)."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from ingest.catalog import DocName, DocumentInfo, Section, documents, select_documents


def openable(doc: str, path: str | None) -> str:
    """How the terminal names a document: a path that opens from the current directory.

    Relative when the file is under the current directory, absolute when it is elsewhere,
    and the document id when the file is gone (or was text given through the Python API).
    # /home/u/reports/corpus/x.txt seen from /home/u/reports -> corpus/x.txt
    """
    if path is None or not os.path.exists(path):
        return doc
    rel = os.path.relpath(path)
    return path if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel


def render_document(info: DocumentInfo) -> str:
    """The terminal lines for one document."""
    size = f"{info.chars:,} characters"
    if info.pages:
        size += f" · {info.pages} pages"
    rows = [info.id]
    if info.path is not None:
        gone = "" if os.path.exists(info.path) else "  (the file is no longer there)"
        rows.append(f"  path      {openable(info.path, info.path)}{gone}")
    rows.append(f"  title     {info.title or '–'}")
    by = " · ".join(v for v in (info.meta.author, info.meta.date, info.meta.affiliation) if v)
    if by:
        rows.append(f"  by        {by}")
    rows.append(f"  size      {size} · {len(info.sections)} sections")
    rows.append(f"  sha256    {info.sha256}")
    rows.append(f"  ingested  {info.ingested or 'unknown'}")
    for i, (depth, s) in enumerate(zip(outline(info.sections), info.sections, strict=True)):
        rows.append(f"  {'sections' if i == 0 else '':9} {'  ' * depth}{s.text}  (line {s.line})")
    return "\n".join(rows)


def outline(sections: Sequence[Section]) -> list[int]:
    """Indentation depths for a list of headings, for display only.

    Levels the numbering states count relative to the document's shallowest one; a heading
    whose numbering states none sits one deeper than the last that did.
    # 第1節 / （1）送電網 / 第2節 -> 0 / 1 / 0
    """
    stated = [s.level for s in sections if s.level is not None]
    top = min(stated, default=1)
    depths: list[int] = []
    last: int | None = None
    for s in sections:
        if s.level is not None:
            last = s.level - top
            depths.append(last)
        else:
            depths.append(0 if last is None else last + 1)
    return depths


def cmd_docs(args: argparse.Namespace, index_arg: Callable[[argparse.Namespace], Path]) -> int:
    found = documents(index_arg(args))
    if args.doc:  # what --doc would pick on ask and eval, to check a pattern before asking
        found = [found[i] for i in select_documents(args.doc, [DocName(d.id, d.path, d.title) for d in found])]
    if args.json:
        print(json.dumps({"documents": [d.as_dict() for d in found]}, ensure_ascii=False))
    else:
        print("\n\n".join(render_document(d) for d in found))
    return 0
