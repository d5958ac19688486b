"""What the embedder and the lexical index read of a unit: its text, with what its place says.

Kept apart from ingest.index so that the generation writer (ingest.writer), which embeds
units with USE as they are written, reads them exactly as the preparation did.
"""

from __future__ import annotations

# Captions and bylines say what they are only by their place on the page; the
# label gives them the words a reader's question uses (筆者, 写真, author, photo).
KIND_LABELS = {
    "byline": "筆者・執筆者・脱稿日 (author, written by, date)",
    "caption": "写真のキャプション (photo caption)",
}


def embed_text(section: str | None, text: str, kind: str = "sentence") -> str:
    """What the embedder sees for a unit: its section title (its topic) and kind label.

    # 提言 / 日本は、まず、… -> "提言: 日本は、まず、…"
    """
    label = KIND_LABELS.get(kind)
    head = " / ".join(x for x in (section, label) if x)
    return f"{head}: {text}" if head else text


def lexical_text(unit_text: str, kind: str) -> str:
    """What the lexical index reads for a unit: its text and its kind label."""
    label = KIND_LABELS.get(kind)
    return f"{label} {unit_text}" if label else unit_text
