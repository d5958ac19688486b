"""Where kotae keeps what it can rebuild: the default index, JSQuAD indexes, built model graphs."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """kotae's cache: $XDG_CACHE_HOME/kotae, else ~/.cache/kotae (read when called, so a
    changed environment, as in a test, is seen)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kotae"
