"""kotae's ingest: files -> documents -> clean text with offsets -> units -> passages -> index.

    from ingest import build_index
    build_index(["corpus/"], "my-index")
"""

from .clean import normalize
from .embed import DEFAULT_EMBEDDER, get_embedder
from .errors import IndexFileError, InputError, IntegrityError, KotaeError
from .index import IngestSummary, build_index
from .records import Document, DocumentMeta, Passage, Unit
from .tokens import Tokenizer

__all__ = [
    "DEFAULT_EMBEDDER", "Document", "DocumentMeta", "IndexFileError", "IngestSummary", "InputError",
    "IntegrityError", "KotaeError", "Passage", "Tokenizer", "Unit", "build_index",
    "get_embedder", "normalize",
]
