"""kotae's ingest: files -> documents -> clean text with offsets -> units -> passages -> index.

    from ingest import build_index
    build_index(["corpus/"], "my-index")
"""

from typing import TYPE_CHECKING, Any

from .clean import normalize
from .embed import DEFAULT_EMBEDDER, get_embedder
from .errors import IndexFileError, InputError, IntegrityError, KotaeError
from .records import Document, DocumentMeta, Passage, Unit
from .tokens import Tokenizer

if TYPE_CHECKING:
    from .index import IngestSummary, build_index

__all__ = [
    "DEFAULT_EMBEDDER", "Document", "DocumentMeta", "IndexFileError", "IngestSummary", "InputError",
    "IntegrityError", "KotaeError", "Passage", "Tokenizer", "Unit", "build_index",
    "get_embedder", "normalize",
]


def __getattr__(name: str) -> Any:
    # The writer (ingest.index: segmenting, loading, PDF, the lexical builder) is imported
    # when it is asked for, not by every reader of ingest.generations or ingest.manifest:
    # `kotae ask` never builds an index.
    if name in ("build_index", "IngestSummary"):
        from . import index

        return getattr(index, name)
    raise AttributeError(f"module 'ingest' has no attribute {name!r}")
