"""kotae's ingest: files -> documents -> clean text with offsets -> units -> passages -> index.

    from ingest import build_index
    build_index(["corpus/"], "my-index")
"""

from .clean import clean, normalize
from .embed import DEFAULT_EMBEDDER, get_embedder
from .errors import IndexFileError, InputError, IntegrityError, KotaeError
from .index import IngestSummary, build_index
from .load import load
from .records import Document, DocumentMeta, Passage, Unit
from .segment import segment
from .tokens import Tokenizer

__all__ = [
    "DEFAULT_EMBEDDER", "Document", "DocumentMeta", "IndexFileError", "IngestSummary", "InputError",
    "IntegrityError", "KotaeError", "Passage", "Tokenizer", "Unit", "build_index", "clean",
    "get_embedder", "load", "normalize", "segment",
]
