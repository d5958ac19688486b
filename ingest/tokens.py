"""Lexical tokens: MeCab (fugashi + unidic-lite) lemmas, the same for passages and queries."""

from __future__ import annotations

import re
import sys
import threading
import unicodedata
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .errors import KotaeError

if TYPE_CHECKING:
    import fugashi

# Parts of speech that carry no search evidence: punctuation, symbols, blanks,
# particles and auxiliaries (は, が, です …).
_DROP = ("補助記号", "記号", "空白", "助詞", "助動詞")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LOANWORD = re.compile(r"^(.+)-[A-Za-z][A-Za-z ]*$")
_TAGGERS = threading.local()
_PROPER = "名詞-固有名詞"
# MeCab is handed text in pieces of at most this many characters. It crashed the
# process (SIGSEGV, no message) on one ~1 M character string; segmentation keeps units
# far shorter, and this bound holds for anything else (a question, an older index).
MECAB_CHUNK = 1 << 15


@lru_cache(maxsize=1 << 16)
def _fold(word: str) -> str:
    # Interned: MeCab gives a new string for each of a 50 MB report's ~6 M tokens
    # (80 bytes each, 0.6 GB held until the index is written); its vocabulary is a few
    # thousand words, so this cache also makes the NFKC below nearly free.
    return sys.intern(unicodedata.normalize("NFKC", word).lower())


def lexical_token(surface: str, lemma: str, pos: str) -> str:
    """The lexical-index token of one MeCab morpheme, or '' for one that carries no evidence.

    The one token rule, for passages, questions and short answers alike:

    * punctuation, symbols, blanks, particles and auxiliaries give none (は, が, です);
    * a UniDic lemma otherwise, so 述べている and 述べた both give 述べる;
    * proper nouns keep their surface: UniDic gives the reading as the lemma of some
      names (秋山 -> アキヤマ), which would merge homophones;
    * a loanword lemma drops its English gloss: コンピュータ -> コンピューター-computer -> コンピューター;
    * NFKC and lower case last (ＮＰＴ -> npt, ２０２４ -> 2024), so text that was not
      normalised before analysis (a sentence's clean text) gives the same tokens.
    """
    if pos.startswith(_DROP):
        return ""
    if pos.startswith(_PROPER) or not lemma or lemma == "*":
        return _fold(surface)
    m = _LOANWORD.match(lemma)
    return _fold(m[1] if m else lemma)


class Tokenizer:
    """Lexical tokens of a text (see :func:`lexical_token`); the text is NFKC-normalised first."""

    def __init__(self) -> None:
        self._tagger  # noqa: B018 - fail here, not at the first question, if fugashi is missing

    @property
    def _tagger(self) -> fugashi.Tagger:
        # One MeCab tagger per thread for the life of the process, shared by every
        # Tokenizer: fugashi does not give a Tagger's memory back when it is deleted
        # (~2 MB each, measured), so a script that reloads an index or ingests in a
        # loop grew by that much every time. Per thread, because a MeCab tagger must
        # not parse in two threads at once.
        tagger = getattr(_TAGGERS, "tagger", None)
        if tagger is None:
            try:
                import fugashi
            except ImportError:  # pragma: no cover - a dependency
                raise KotaeError("tokenising needs fugashi and unidic-lite: "
                                 "pip install fugashi unidic-lite") from None
            tagger = _TAGGERS.tagger = fugashi.Tagger()
        return tagger

    @cached_property
    def version(self) -> dict[str, str]:
        info = self._tagger.dictionary_info[0]
        return {"tokenizer": f"fugashi {installed_version('fugashi', 'fugashi')}",
                "dictionary": f"unidic-lite {installed_version('unidic-lite', 'unidic_lite')}",
                "dictionary_version": str(info.get("version"))}

    def parse(self, text: str) -> str:
        """MeCab's output for ``text`` (one morpheme a line), at most MECAB_CHUNK characters
        at a time: a word across a cut is split there, in texts no unit is as long as."""
        tagger = self._tagger
        if len(text) <= MECAB_CHUNK:
            return tagger.parse(text)
        return "\n".join(tagger.parse(text[i:i + MECAB_CHUNK]) for i in range(0, len(text), MECAB_CHUNK))

    def __call__(self, text: str) -> list[str]:
        return self.tokens_and_pos(text)[0]

    def tokens_and_pos(self, text: str) -> tuple[list[str], list[str]]:
        """Lexical tokens, and the parts of speech of proper nouns (for fact kinds)."""
        text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", text))
        out: list[str] = []
        proper: list[str] = []
        # The default UniDic output is surface\tpron\tkana\tlemma\tpos\t…: parsing the
        # string is about twice as fast as reading fugashi's node objects.
        for line in self.parse(text).split("\n"):
            cols = line.split("\t", 5)
            if len(cols) < 5:
                continue
            token = lexical_token(cols[0], cols[3], cols[4])
            if not token:
                continue
            if cols[4].startswith(_PROPER):
                proper.append(cols[4])
            out.append(token)
        return out, proper


def installed_version(project: str, module: str) -> str:
    """The installed version of ``project`` (whose import name is ``module``).

    Read from the name of the one ``.dist-info`` folder beside the module
    (``fugashi-1.5.2.dist-info``) or, for a project pip installed with ``setup.py install``
    (unidic-lite has no wheel: a new virtual environment's pip without ``wheel`` does that),
    its ``.egg-info`` folder (``unidic_lite-1.0.8.egg-info``, or ``…-1.0.8-py3.11.egg-info``
    from older setuptools); else from importlib.metadata: that scans every folder of the
    path, and importing it costs a cold ``kotae ask`` 0.03 s of CPU (0.1 s on a busy
    machine) for the two versions every index's manifest is checked against.
    """
    from importlib.util import find_spec

    spec = find_spec(module)
    if spec is not None and spec.origin:
        prefix = project.replace("-", "_") + "-"
        for suffix in (".dist-info", ".egg-info"):
            found = list(Path(spec.origin).parent.parent.glob(f"{prefix}*{suffix}"))
            if len(found) == 1:
                return found[0].name[len(prefix):-len(suffix)].split("-py")[0]
    from importlib.metadata import version

    return version(project)


class Morpheme(NamedTuple):
    """One MeCab token with its offsets in the analysed text."""

    surface: str
    start: int
    end: int
    pos: str  # UniDic parts of speech joined by '-': 名詞-固有名詞-人名-姓
    lemma: str
    reading: str = ""  # as pronounced, in katakana: 東京 -> トーキョー ('' for unknown words)

    def token(self) -> str:
        """The lexical-index token this morpheme gives ('' if it gives none)."""
        return lexical_token(self.surface, self.lemma, self.pos)


def analyse(tokenizer: Tokenizer, text: str) -> list[Morpheme]:
    """MeCab analysis of ``text`` as it is (no NFKC), with character offsets into it."""
    safe = _CONTROL.sub(" ", text)
    out: list[Morpheme] = []
    cursor = 0
    for line in tokenizer.parse(safe).split("\n"):
        cols = line.split("\t")
        if len(cols) < 5:
            continue
        surface = cols[0]
        at = safe.find(surface, cursor)
        if at < 0:
            continue
        reading = cols[1] if cols[1] != "*" else ""
        out.append(Morpheme(surface, at, at + len(surface), cols[4], cols[3], reading))
        cursor = at + len(surface)
    return out
