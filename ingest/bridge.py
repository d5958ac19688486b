"""The lexical bridge: English words and names -> the Japanese tokens of this corpus that mean them.

Built at ingest from the corpus's own vocabulary and stored in the index (``bridge.json``),
so an English question is looked up in a few thousand keys, never in the whole dictionary.
Three sources, strongest first:

1. **UniDic's lemma field.** Loanwords carry their English origin: ゲーム -> ゲーム-game, so
   "game" bridges to ゲーム with full weight.
2. **EDICT glosses** (``ingest.lexicon``). An entry counts when every token of its headword
   occurs in the corpus; each gloss short enough to name a thing becomes a key
   ("president (of a nation)" -> "president" -> 大統領). Weights favour EDICT's common words,
   earlier senses and first glosses, and a key keeps only its few best entries, so
   "president" reaches 大統領 and 社長 but not every head of every body. Each content word
   of four letters or more of a phrase gloss is also a key, prefixed ``PART`` and weaker
   (:func:`phrase_parts`): "fiscal" alone is no gloss, but a word of 年度's "fiscal year"; and
   a gloss in capitals is keyed once more, prefixed ``CAPS`` ("UN" -> "=un": 国連), for an
   acronym the corpus writes in Latin letters. An entry is marked VERB_GLOSS when only a
   verb's gloss made it (関する "to concern") and NOT_A_PREDICATE when the corpus never uses
   it as one (形 "form", a noun that takes no する), so that a question word's use can leave
   it out (:meth:`Bridge.entries`).
3. **Names by sound.** Proper nouns and katakana words of the corpus, romanised from their
   UniDic reading (所沢 -> トコロザワ -> tokorozawa) and keyed by consonant skeleton
   (``lexicon.name_key``), meet English spellings that no dictionary holds (Pezeshkian ->
   ペゼシュキアン); a name written with ・ is heard by its parts too (スヴァンテ・アレニウス:
   arenius).
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import IndexFileError
from .lexicon import (
    CAPS,
    LEXICON_PATH,
    STOPWORDS,
    capitals_key,
    gloss_keys,
    lexicon_lines,
    name_key,
    romaji,
    soft_spelling,
)
from .tokens import Tokenizer, analyse

BRIDGE_FILE = "bridge.json"
BRIDGE_FORMAT = 2  # 2: values as compact strings, parsed per look-up (an entry may carry a USE mark)
VERB_GLOSS = "v"  # the entry's key came from a verb's gloss ("to concern": 関する), no noun's
NOT_A_PREDICATE = "n"  # the entry cannot say what a verb says: a noun that takes no する (形 "form"; not 形成)
SENSE_WEIGHTS = (1.0, 0.6, 0.4)  # EDICT sense 1, 2, 3
LATER_GLOSS = 0.8  # "boss" is the 2nd gloss of 大統領's 2nd sense: a weaker reading of the key
COMMON = 1.0  # EDICT (P) entries ...
UNCOMMON = 0.6  # ... against the rest
ORIGIN = 1.0  # a UniDic loanword origin (ゲーム-game) is as sure as a common word's first gloss
KEEP_PER_KEY = 4  # entries a key keeps (the best), and only those within ...
KEEP_WITHIN = 0.5  # ... this share of the best weight
PART = "~"  # the prefix of a key made from one word of a phrase gloss (phrase_parts)
PART_WEIGHT = 0.5  # "fiscal" for 年度 ("fiscal year"): a part of its meaning (0.3 and 0.7 measured the same)
PART_MIN_LETTERS = 4  # "mid" of "mid-level boss" (中ボス), "sub", "non": prefixes, no part of a meaning
FREQUENT = 0.2  # tokens in more than this share of units (する, こと) bridge nothing
_KATAKANA = re.compile(r"^[ァ-ヺー・]+$")
_LOANWORD = re.compile(r"^.+-([A-Za-z][A-Za-z ]*)$")


@dataclass(frozen=True)
class Gloss:
    """What a Japanese word of the corpus means in the dictionary (for answer.gloss)."""

    headword: str
    reading: str
    gloss: str  # the first sense's glosses, "/"-separated


Alternatives = tuple[tuple[tuple[str, ...], float], ...]  # (Japanese tokens, weight), best first


@dataclass(frozen=True)
class Bridge:
    """English keys -> weighted Japanese token sequences; names by skeleton; glosses by tokens.

    Values are kept as the compact strings of ``bridge.json`` and parsed per look-up: a
    question reads a handful of keys, and parsing all 100k entries of a JSQuAD-sized
    bridge at load would cost a cold ``kotae ask`` a second.

    # terms["president"] == "大統領\t1.0\tn";  terms["concern"] == "関する\t1.0\tv|懸念\t0.8" (the report's)
    # terms["=un"] == "国連\t0.8\tn|un\t0.48\tn";  terms["security council"] == "安全 保障 理事 会\t0.6\tn"
    # names["tkrsw"] == "所沢\ttokorosawa";  glosses["大統領"] == "大統領\tだいとうりょう\tpresident (of a nation)"
    """

    terms: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    glosses: dict[str, str] = field(default_factory=dict)
    lexicon: str = ""

    def entries(self, key: str, unfit: str = "") -> Alternatives:
        """The Japanese an English key (a gloss, lower case) may stand for, leaving out those
        marked ``unfit`` (VERB_GLOSS for a word used as a noun, NOT_A_PREDICATE for one used as
        a verb: see :meth:`Vocabulary.read`)."""
        raw = self.terms.get(key)
        if not raw:
            return ()
        out = []
        for entry in raw.split("|"):
            tokens, _, rest = entry.partition("\t")
            weight, _, mark = rest.partition("\t")
            if not (unfit and mark == unfit):
                out.append((tuple(tokens.split(" ")), float(weight)))
        return tuple(out)

    @functools.cached_property
    def key_words(self) -> frozenset[str]:
        """Every word of the bridge's keys, made on first use: "pacific" when the corpus says
        太平洋 (keyed "pacific ocean") though no entry is keyed by "pacific" alone. The PART keys
        ("~pacific") and capitals keys ("=un") are left out: they repeat those words with a prefix
        no question word has."""
        return frozenset(w for key in self.terms if not key.startswith((PART, CAPS)) for w in key.split(" "))

    def heard(self, skeleton: str) -> tuple[tuple[tuple[str, ...], str], ...]:
        """Corpus names whose reading has this consonant skeleton, with their soft spelling."""
        raw = self.names.get(skeleton)
        if not raw:
            return ()
        return tuple((tuple(t.split(" ")), sp) for t, _, sp in (x.partition("\t") for x in raw.split("|")))

    def gloss(self, tokens: Sequence[str]) -> Gloss | None:
        """The dictionary's gloss of a word of the corpus, by its tokens."""
        raw = self.glosses.get(" ".join(tokens))
        return Gloss(*raw.split("\t")) if raw else None

    def write(self, path: Path) -> None:
        data = {"format": BRIDGE_FORMAT, "lexicon": self.lexicon,
                "terms": self.terms, "names": self.names, "glosses": self.glosses}
        path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Bridge:
        """The bridge stored in an index; an empty one for an index written before bridges."""
        if not path.is_file():
            return cls()
        return cls.parse(path.read_text(encoding="utf-8"), path)

    @classmethod
    def parse(cls, text: str, path: Path) -> Bridge:
        """The bridge of ``bridge.json``'s text (``path`` names it in errors)."""
        try:
            data = json.loads(text)
            if data.get("format") != BRIDGE_FORMAT:
                raise ValueError(data.get("format"))
            terms, names, glosses, lexicon = (data[k] for k in ("terms", "names", "glosses", "lexicon"))
            if not (isinstance(terms, dict) and isinstance(names, dict) and isinstance(glosses, dict)):
                raise TypeError
            return cls(terms, names, glosses, str(lexicon))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise IndexFileError(f"{path}: the English bridge is damaged or of another version; "
                                 "rebuild the index with kotae ingest") from None


@dataclass
class Vocabulary:
    """What the corpus says about its own words: unit frequency, readings, loanword origins."""

    units: int = 0
    df: Counter[str] = field(default_factory=Counter)
    origins: dict[str, str] = field(default_factory=dict)  # ゲーム -> game
    spoken: dict[tuple[str, ...], set[str]] = field(default_factory=lambda: defaultdict(set))  # names -> romaji
    predicates: set[str] = field(default_factory=set)  # verbs, adjectives, nouns that take する (形成, 発足)

    def hear(self, tokens: tuple[str, ...], kana: str) -> None:
        """Remember how a name (one or more tokens) sounds: ("所沢",) + トコロザワ -> tokorozawa.

        A name written with ・ is heard whole and by each of its parts, as English often gives
        only one: MeCab keeps スヴァンテ・アレニウス as one token, and "Arrhenius" (arenius) is
        too unlike suvanteareniusu to meet it, but meets its part アレニウス (areniusu)."""
        for said in dict.fromkeys([kana, *kana.split("・")]):
            spoken = romaji(said)
            if len(spoken) >= 3:
                self.spoken[tokens].add(spoken)

    def read(self, text: str, tokenizer: Tokenizer) -> None:
        """Count one unit's words: its tokens, and what its names and loanwords sound like.

        An ingest reads each unit as its document is written, so the corpus's text is never
        needed at once: the vocabulary grows with the words, not with the text.
        """
        self.units += 1
        seen: set[str] = set()
        run: list[tuple[str, str]] = []  # (token, kana) of adjacent name-like morphemes
        for m in [*analyse(tokenizer, text), None]:
            token = m.token() if m is not None else ""
            origin = _LOANWORD.match(m.lemma) if token and m is not None else None
            if origin:
                self.origins[token] = origin[1]
            if m is not None and token and (m.pos.startswith(("動詞", "形容詞")) or "サ変" in m.pos):
                self.predicates.add(token)  # can say what an English verb says: 形成(する), 述べる
            if m is not None and token and (m.pos.startswith("名詞-固有名詞") or _KATAKANA.match(m.surface)):
                # Both the spelling and the pronunciation: プレヴェザ is read プレベザ.
                for kana in {m.surface if _KATAKANA.match(m.surface) else "", m.reading} - {""}:
                    self.hear((token,), kana)
                run.append((token, m.surface if _KATAKANA.match(m.surface) else m.reading))
                seen.add(token)
                continue
            if len(run) > 1:  # MeCab splits unknown names: アラグチ -> アラ + グチ
                self.hear(tuple(t for t, _ in run), "".join(k for _, k in run))
            run = []
            if m is None or not token:
                continue
            seen.add(token)
        self.df.update(seen)


def corpus_vocabulary(texts: Iterable[str], tokenizer: Tokenizer) -> Vocabulary:
    """One MeCab pass over the corpus (its units' texts): see :meth:`Vocabulary.read`."""
    vocab = Vocabulary()
    for text in texts:
        vocab.read(text, tokenizer)
    return vocab


def dictionary_terms(vocab: Vocabulary, frequent: set[str], by_first: dict[str, list[str]]
                     ) -> tuple[dict[str, dict[tuple[str, ...], float]], dict, set[tuple[str, tuple[str, ...]]]]:
    """EDICT entries whose headword's tokens all occur in the corpus, keyed by their glosses
    (``by_first``: the lexicon's lines by first token, :func:`ingest.lexicon.lexicon_lines`),
    and the (key, entry) pairs that only a verb's gloss made ("concern" of 関する's "to concern")."""
    terms: dict[str, dict[tuple[str, ...], float]] = defaultdict(dict)
    glosses: dict[tuple[str, ...], Gloss] = {}
    nominal: dict[tuple[str, tuple[str, ...]], bool] = {}
    for line in (line for first in vocab.df for line in by_first.get(first, ())):
        tokens_text, headword, reading, flags, senses = line.rstrip("\n").split("\t")
        tokens = tuple(tokens_text.split(" "))
        if not all(t in vocab.df for t in tokens) or all(t in frequent for t in tokens):
            continue
        prio = COMMON if "P" in flags else UNCOMMON
        for i, sense in enumerate(senses.split("|")[: len(SENSE_WEIGHTS)]):
            for j, gloss in enumerate(sense.split("/")):
                w = prio * SENSE_WEIGHTS[i] * (1.0 if j == 0 else LATER_GLOSS)
                for key in (gloss_keys(gloss), capitals_key(gloss)):
                    if key:
                        terms[key][tokens] = max(terms[key].get(tokens, 0.0), w)
                        nominal[key, tokens] = nominal.get((key, tokens), False) or not gloss.startswith("to ")
        if tokens not in glosses or "P" in flags:
            glosses[tokens] = Gloss(headword, reading, senses.split("|")[0])
    return terms, glosses, {pair for pair, noun in nominal.items() if not noun}


def phrase_parts(terms: dict[str, dict[tuple[str, ...], float]],
                 df: Mapping[str, int] | None = None) -> dict[str, dict[tuple[str, ...], float]]:
    """Each content word of a phrase key (PART_MIN_LETTERS or more: not "mid" of "mid-level boss"),
    as a key of its own prefixed ``PART`` (looked up only for a question word no gloss holds
    alone), standing for the phrase's entries at PART_WEIGHT.

    # "fiscal year" -> 年度 gives "~fiscal" -> 年度 ("How did operating profit do in fiscal 2024?")
    # "snow removal" -> 除雪 gives "~snow" -> 除雪 ("How should snow clearing be organised?")
    """
    parts: dict[str, dict[tuple[str, ...], float]] = defaultdict(dict)
    for key, found in terms.items():
        words = key.split(" ")
        if len(words) < 2:
            continue
        for word in set(words) - STOPWORDS:
            if len(word) >= PART_MIN_LETTERS and not word.isdigit():
                best = parts[PART + word]
                for tokens, w in best_entries(found, df):
                    best[tokens] = max(best.get(tokens, 0.0), w * PART_WEIGHT)
    return parts


def best_entries(found: dict[tuple[str, ...], float], df: Mapping[str, int] | None = None) -> Alternatives:
    """A key's best few entries: "president" keeps 大統領 (1.0) and 社長 (1.0), not 頭取 (0.36).

    Of entries equally weighted, those whose rarest token the corpus uses most (``df``: units
    per token) come first: "first" is the first gloss of eight common words (初, 初め, 先ず,
    ファースト, ...), and which four it keeps should be the ones this corpus says, not the first
    four in code-point order (ファースト before 初め)."""
    def used(tokens: tuple[str, ...]) -> int:
        return min((df.get(t, 0) for t in tokens), default=0) if df else 0

    ranked = sorted(found.items(), key=lambda kv: (-kv[1], -used(kv[0]), len(kv[0]), kv[0]))
    top = ranked[0][1]
    return tuple((t, w) for t, w in ranked[:KEEP_PER_KEY] if w >= KEEP_WITHIN * top)


def build_bridge(texts: Iterable[str], tokenizer: Tokenizer | None = None,
                 path: Path = LEXICON_PATH) -> Bridge:
    """The bridge of a corpus given as the texts of its units."""
    return bridge_of(corpus_vocabulary(texts, tokenizer or Tokenizer()), path)


def bridge_of(vocab: Vocabulary, path: Path = LEXICON_PATH) -> Bridge:
    """The bridge of a corpus, from what :class:`Vocabulary` counted of its units."""
    limit = max(FREQUENT * vocab.units, 5)
    frequent = {t for t, n in vocab.df.items() if n > limit}
    header, by_first = lexicon_lines(path, vocab.df)
    terms, glosses, verbal = dictionary_terms(vocab, frequent, by_first)
    del by_first  # (the lines kept: only those of this corpus's words)
    for token, origin in vocab.origins.items():
        key = gloss_keys(origin)
        if key and token not in frequent:
            terms[key][(token,)] = ORIGIN
    terms.update(phrase_parts(terms, vocab.df))
    names: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for tokens, spoken in vocab.spoken.items():
        for s in spoken:
            names[name_key(s)].add((" ".join(tokens), soft_spelling(s)))

    def entry(key: str, tokens: tuple[str, ...], w: float) -> str:
        """One entry as bridge.json keeps it, with its mark (see Bridge.entries)."""
        mark = VERB_GLOSS if (key, tokens) in verbal else "" if tokens[-1] in vocab.predicates else NOT_A_PREDICATE
        return f"{' '.join(tokens)}\t{round(w, 3)}" + (f"\t{mark}" if mark else "")

    return Bridge(
        terms={k: "|".join(entry(k, t, w) for t, w in best_entries(v, vocab.df)) for k, v in terms.items()},
        names={k: "|".join(f"{t}\t{sp}" for t, sp in sorted(v)) for k, v in names.items()},
        glosses={" ".join(t): f"{g.headword}\t{g.reading}\t{g.gloss}" for t, g in glosses.items()},
        lexicon=header)
