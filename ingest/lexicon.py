"""The shipped English-Japanese lexicon and the spelling rules that compare English with Japanese.

``ingest/data/edict.tsv.gz`` is derived from EDICT (© Electronic Dictionary Research and
Development Group, CC BY-SA 4.0; see ``ingest/data/ATTRIBUTION.md``) by
``benchmarks/build_lexicon.py``. Nothing here reads it at import time: an ingest reads it
once (:func:`lexicon_lines`), keeping the entries its corpus holds (``ingest.bridge``). The
same script writes ``ingest/data/edict_words.txt.gz``, every word of the lexicon's keys
(:func:`key_words`), which a query reads on first need (:func:`dictionary_words`) to tell a
name the dictionary knows from one it does not. The script leaves out headwords that say "not"
with an auxiliary (:func:`negated`).

These public functions turn text into comparable keys, used alike at ingest and query:

* :func:`gloss_keys` — the English keys of one dictionary gloss;
* :func:`english_forms` — the forms an English question word is looked up under, and
  :func:`derived_forms` — weaker guesses in another word class or spelling, tried after them;
* :func:`romaji` and :func:`name_key` — Japanese readings and English spellings of names
  reduced to one consonant skeleton, so that Tokorozawa meets トコロザワ (所沢).
"""

from __future__ import annotations

import functools
import gzip
import re
from collections import defaultdict
from collections.abc import Container
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import KotaeError
from .tokens import analyse

if TYPE_CHECKING:
    from .tokens import Tokenizer

LEXICON_PATH = Path(__file__).resolve().parent / "data" / "edict.tsv.gz"
# Every English word of the lexicon's keys, one a line (derived from LEXICON_PATH by
# benchmarks/build_lexicon.py: :func:`key_words`), for what the dictionary can name at all.
WORDS_PATH = LEXICON_PATH.with_name("edict_words.txt.gz")
MAX_KEY_WORDS = 3  # glosses longer than this are descriptions, not names of the thing

# English words that carry no meaning a dictionary could bridge: articles, pronouns,
# auxiliaries, question words and prepositions (the question's kind is read elsewhere),
# and light verbs and adverbs whose glosses are everywhere ("get" is a gloss of 40 entries).
STOPWORDS = frozenset("""a an the of in on at to for by with from about into onto over under as than then
is are was were be been being am do does did done doing has have had having will would shall should can
could may might must what who whom whose when where why how which whichever whatever that this these those
it its it's they them their there here he him his she her we us our you your i me my not no nor or and
but if so such also only just very much many more most some any each every all both either neither one
ones other another same own said say says called known name named kind type sort way thing things
something anything whether while during before after since until upon within without between among
through against toward towards per via like up down out off again further once well often sometimes
usually almost likely get gets got make makes take takes put puts come comes go goes give gives happen
happens happened become becomes became""".split())  # noqa: SIM905 - a word list reads better as text

# Question words that differ from the base form in more than an ending ("used": english_forms
# strips -ed from longer words only). "born" is none: glossed "(to be) born", it is its own key.
IRREGULAR = {
    "became": "become", "began": "begin", "begun": "begin", "bought": "buy", "brought": "bring",
    "built": "build", "came": "come", "caught": "catch", "chose": "choose", "chosen": "choose", "died": "die",
    "drew": "draw", "drawn": "draw", "drove": "drive", "driven": "drive", "ate": "eat", "eaten": "eat",
    "fell": "fall", "fallen": "fall", "felt": "feel", "fought": "fight", "found": "find", "flew": "fly",
    "flown": "fly", "gave": "give", "given": "give", "went": "go", "gone": "go", "grew": "grow",
    "grown": "grow", "held": "hold", "kept": "keep", "knew": "know", "led": "lead", "left": "leave",
    "lost": "lose", "made": "make", "meant": "mean", "met": "meet", "paid": "pay", "ran": "run", "rose": "rise",
    "risen": "rise", "sold": "sell", "sent": "send", "set": "set", "shot": "shoot", "sang": "sing",
    "sung": "sing", "sat": "sit", "spoke": "speak", "spoken": "speak", "spent": "spend", "stood": "stand",
    "struck": "strike", "used": "use", "taught": "teach", "told": "tell", "thought": "think", "took": "take",
    "taken": "take", "understood": "understand", "won": "win", "wrote": "write", "written": "write",
    "children": "child", "men": "man", "women": "woman", "people": "person", "feet": "foot", "teeth": "tooth",
    "mice": "mouse", "lives": "life", "wives": "wife", "leaves": "leaf", "largest": "large", "biggest": "big",
    "highest": "high", "longest": "long", "oldest": "old", "best": "good", "better": "good", "worst": "bad",
}

_PAREN = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|\{[^{}]*\}")
_WORDS = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_LEADING = ("to ", "be ", "a ", "an ", "the ")  # in this order: "to be born" -> "born" (生まれる)


def lexicon_header(tokenizer: Tokenizer) -> str:
    """The first line of the lexicon: which tokenizer made its tokens (ingest compares it)."""
    v = tokenizer.version
    return f"#kotae-lexicon 1\t{v['tokenizer']}\t{v['dictionary']}"


def lexicon_lines(path: Path = LEXICON_PATH,
                  firsts: Container[str] | None = None) -> tuple[str, dict[str, list[str]]]:
    """The lexicon's header, and its lines by first token: 国際 -> ["国際 連合\t国際連合\t…", ...].

    A line is ``tokens<TAB>headword<TAB>reading<TAB>flags<TAB>senses`` (see
    benchmarks/build_lexicon.py). Indexed by first token so that a corpus looks up its own
    words instead of scanning 270k lines; the rest is split only for the entries a corpus
    holds. ``firsts`` (a corpus's vocabulary), when given, keeps only the lines whose first
    token is in it: the whole lexicon is ~70 MB in memory, a corpus's share of it a few.
    """
    if not path.is_file():
        raise KotaeError(f"the English-Japanese lexicon {path} is missing; reinstall kotae "
                         "or rebuild it with python benchmarks/build_lexicon.py")
    by_first: dict[str, list[str]] = defaultdict(list)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        header = f.readline().rstrip("\n")
        for line in f:
            first = line.partition("\t")[0].partition(" ")[0]
            if firsts is None or first in firsts:
                by_first[first].append(line)
    return header, dict(by_first)


NEGATIONS = frozenset({"ない", "ず", "ぬ"})  # the lemmas of ない, ん, ぬ, ず as auxiliaries


def negated(tokenizer: Tokenizer, head: str) -> bool:
    """Whether a headword says "not" with an auxiliary, which kotae's tokens drop: the entry would
    stand for the opposite of its tokens.

    # いけない ("wrong; must not do") -> tokens 行く;  つまらない ("boring") -> 詰まる;  行かん -> 行く
    # 少ない, 仕方ない: one adjective each, kept
    """
    return any(m.pos.startswith("助動詞") and m.lemma in NEGATIONS for m in analyse(tokenizer, head))


def gloss_keys(gloss: str) -> str | None:
    """The lookup key of one gloss, or None when it is a description rather than a name.

    Parentheses go (they qualify the sense), then a leading "to"/"be"/"a"/"the":
    # "president (of a nation)" -> "president"
    # "to elect"                -> "elect"
    # "to be born"              -> "born": a question says "born", never "be born" (生まれる)
    # "the United Nations"      -> "united nations"
    # "person who does not know when to quit" -> None (more than MAX_KEY_WORDS words)
    """
    text = _PAREN.sub(" ", gloss.lower())
    text = " ".join(text.split())
    for lead in _LEADING:
        if text.startswith(lead):
            text = text[len(lead):]
    words = _WORDS.findall(text.replace("-", " "))
    if not words or len(words) > MAX_KEY_WORDS or all(w in STOPWORDS for w in words):
        return None
    return " ".join(words)


CAPS = "="  # the prefix of a key made from a gloss in capitals (capitals_key)
_CAPITALS = re.compile(r"[A-Z][A-Z0-9]{1,7}")


def capitals_key(gloss: str) -> str | None:
    """The key of a gloss written in capitals, for a question's acronym that the corpus also
    writes in Latin letters: "UN" (国連) -> "=un". A question's "UN" stands for its Latin
    letters and for 国連, but its "START" (the treaty) for no "start" (始める), which only a
    gloss in capitals tells apart.

    # "UN" -> "=un";  "NATO" -> "=nato";  "start" -> None;  "United Nations" -> None
    """
    text = _PAREN.sub(" ", gloss).strip()
    return CAPS + text.lower() if _CAPITALS.fullmatch(text) else None


def key_words(path: Path = LEXICON_PATH) -> frozenset[str]:
    """Every word of every gloss key of the lexicon (:func:`gloss_keys`): "pacific" (of
    "pacific ocean", 太平洋), "budapest", "kilimanjaro" (of "mount kilimanjaro"). Slow (the
    whole lexicon: seconds); a query reads the shipped list instead (:func:`dictionary_words`)."""
    words: set[str] = set()
    with gzip.open(path, "rt", encoding="utf-8") as f:
        f.readline()
        for line in f:
            for gloss in re.split(r"[|/]", line.rstrip("\n").rpartition("\t")[2]):
                key = gloss_keys(gloss)
                if key:
                    words.update(key.split(" "))
    return frozenset(words)


@functools.cache
def dictionary_words(path: Path = WORDS_PATH) -> frozenset[str]:
    """The words the dictionary names anything by (:func:`key_words`, as shipped), read on
    first use: ~60k words, a few tens of ms."""
    if not path.is_file():
        raise KotaeError(f"the lexicon's word list {path} is missing; reinstall kotae "
                         "or rebuild it with python benchmarks/build_lexicon.py")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return frozenset(f.read().split())


def english_forms(word: str) -> list[str]:
    """The forms a question word is looked up under, the word itself first.

    No stemmer: the dictionary's glosses are base forms, so only inflections are undone,
    and each guess is only a guess until the bridge holds it.
    # "presidents" -> ["presidents", "president"];  "founded" -> ["founded", "found", "founde"]
    # "became" -> ["became", "become"];  "studies" -> ["studies", "study", "studie"]
    """
    out = [word]
    if word in IRREGULAR:
        out.append(IRREGULAR[word])
    n = len(word)
    if n > 4 and word.endswith("ies"):
        out.append(word[:-3] + "y")
    if n > 3 and word.endswith("s") and not word.endswith(("ss", "us")):  # taxis -> taxi; analysis -> analysi, no key
        out.append(word[:-1])
    if n > 4 and word.endswith("es"):
        out.append(word[:-2])
    if n > 4 and word.endswith("ed"):
        stem = word[:-2]
        out += [stem[:-1] + "y"] if stem.endswith("i") else []
        out += [stem[:-1]] if len(stem) > 2 and stem[-1] == stem[-2] else []  # stopped -> stop
        out += [stem, word[:-1]]  # founded -> found; raised -> raise ("used" is too short: IRREGULAR)
    if n > 5 and word.endswith("ing"):
        stem = word[:-3]
        out += [stem[:-1]] if stem[-1] == stem[-2] else []  # running -> run
        out += [stem, stem + "e"]  # making -> make
    return list(dict.fromkeys(out))


# British spellings and their American twins (EDICT glosses use both, unevenly): a question's
# "organised" meets a gloss "organize", "labour" one "labor". Each is an ending, rewritten only
# at the end of a word or before one of TWIN_ENDINGS, after a stem of TWIN_STEM letters or more
# that holds a vowel (spelling_twins): "street" keeps its "tre", "four" and "hours" their "our".
_SPELLINGS = (("isation", "ization"), ("ise", "ize"), ("ising", "izing"), ("ised", "ized"), ("yse", "yze"),
              ("our", "or"), ("tre", "ter"), ("ogue", "og"))
TWIN_ENDINGS = ("", "s", "ed", "er", "ers", "ful", "ite", "ing", "able", "al")  # labourer, colourful, favourite
TWIN_STEM = 3  # "col" of colour, "cen" of centre, "catal" of catalogue; not "f" of four, "r" of rise
_VOWEL = re.compile(r"[aeiouy]")


def spelling_twins(word: str) -> list[str]:
    """The word in the other spelling (British <-> American), changed at its ending only.

    # "colour" -> ["color"];  "labourer" -> ["laborer"];  "centre" -> ["center"];  "organize" -> ["organise"]
    # "street" -> [] (no "steret");  "four" -> [] (no "for");  "hours" -> [];  "rise" -> []
    """
    out: list[str] = []
    for british, american in _SPELLINGS:
        for ending in TWIN_ENDINGS:
            for this, other in ((british, american), (american, british)):
                if this == american and "z" not in american:  # "or", "ter", "og" are also plain English endings
                    continue
                tail = this + ending
                stem = word[: len(word) - len(tail)]
                if word.endswith(tail) and len(stem) >= TWIN_STEM and _VOWEL.search(stem):
                    out.append(stem + other + ending)
    return list(dict.fromkeys(out))
# A verb and the noun made from it: EDICT glosses a サ変 noun as a noun only (導入: "introduction",
# 集中: "concentration", 関与: "participation"), so a question's verb "introduced" finds no key.
_NOUN_ENDINGS = (("e", "ion"), ("e", "ation"), ("e", "tion"), ("", "ment"), ("", "ion"), ("", "ation"),
                 ("e", "al"), ("", "al"), ("e", "ure"), ("b", "ption"), ("be", "ption"), ("me", "mption"))


@functools.lru_cache(maxsize=1 << 14)
def derived_forms(word: str) -> tuple[str, ...]:
    """Guesses at the same meaning in another word class or spelling, for a question word none of
    whose :func:`english_forms` the dictionary holds (each, again, only a guess until a key holds it).

    # "introduced" -> [..., "introduction", ...]  (導入: glossed "introduction" only)
    # "organised"  -> [..., "organized", "organization", ...];  "higher" -> ["high", ...]
    # "currently"  -> ["current", ...];  "concentrate" -> [..., "concentration", ...]

    Kept once made (a question word recurs across questions; each has about 20 guesses).
    """
    inflected = english_forms(word)
    bases = list(inflected[1:] or inflected)  # "introduced": introduce (+ tion), not introduced (+ ment)
    out: list[str] = []
    n = len(word)
    if n > 4 and word.endswith(("er", "est")):  # higher -> high, larger -> large, bigger -> big
        stem = word[:-2] if word.endswith("er") else word[:-3]
        out += [stem, stem + "e"] + ([stem[:-1]] if stem[-1] == stem[-2] else [])
        out += [stem[:-1] + "y"] if stem.endswith("i") else []  # earlier -> early
    if n > 4 and word.endswith("ly"):  # currently -> current, simply -> simple, easily -> easy
        out += [word[:-2], word[:-1] + "e", word[:-3] + "y" if word.endswith("ily") else word[:-2]]
        out += [word[:-4]] if word.endswith("ically") else []
    for base in list(bases):
        bases += spelling_twins(base)  # organised -> organized, organize -> organise
    for base in bases:
        out += [base[: len(base) - len(cut)] + end for cut, end in _NOUN_ENDINGS
                if base.endswith(cut) and len(base) > 3]
    out += bases
    return tuple(f for f in dict.fromkeys(out) if f not in inflected)


# Katakana syllables in Hepburn romaji. Hiragana are mapped to katakana first.
_MORA = dict(zip(
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン"
    "ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポヴァィゥェォャュョヮ",
    (  # noqa: SIM905 - aligned with the kana above, easier to check as text
        "a i u e o ka ki ku ke ko sa shi su se so ta chi tsu te to na ni nu ne no ha hi fu he ho ma mi mu me mo "
        "ya yu yo ra ri ru re ro wa o n ga gi gu ge go za ji zu ze zo da ji zu de do ba bi bu be bo pa pi pu pe "
        "po vu a i u e o ya yu yo wa").split(), strict=True))
_SMALL_Y = {"ャ": "a", "ュ": "u", "ョ": "o"}
_SMALL_V = {"ァ": "a", "ィ": "i", "ゥ": "u", "ェ": "e", "ォ": "o"}


def romaji(kana: str) -> str:
    """Hepburn romaji of a kana reading, long-vowel marks dropped (as English spells names).

    # トーキョー -> tokyo;  トコロザワ -> tokorozawa;  プレヴェザ -> pureveza;  ホッカイドウ -> hokkaidou
    """
    kata = "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in kana)
    out: list[str] = []
    double = False
    for ch in kata:
        if ch == "ッ":
            double = True
            continue
        if ch in _SMALL_Y and out and out[-1].endswith("i") and len(out[-1]) > 1:
            prev = out.pop()[:-1]  # キャ -> kya, シャ -> sha, チョ -> cho
            syl = prev + ("" if prev in ("sh", "ch", "j") else "y") + _SMALL_Y[ch]
        elif ch in _SMALL_V and out and out[-1][-1] in "aiueo" and len(out[-1]) > 1:
            syl = out.pop()[:-1] + _SMALL_V[ch]  # ヴェ -> ve, ティ -> ti, ファ -> fa
        elif ch in _MORA:
            syl = _MORA[ch]
        else:
            continue  # ー and anything that is not kana
        if double and syl[0] not in "aiueon":
            syl = syl[0] + syl
        double = False
        out.append(syl)
    return "".join(out)


# English spellings and romaji reduced alike, in this order (digraphs before letters).
_SPELLING = (
    (r"r+h?(?=[aeiouy])", "r"),  # Arrhenius -> arenius (アレニウス), Rhodes -> rodes: a spoken r, written rr or rh
    (r"ng(?![aeiouy])", "n"),  # Washington -> washinton (ワシントン)
    (r"r(?![aeiouy])", ""),  # Carter -> cate (カーター): an English r after a vowel is not spoken
    (r"ph", "f"), (r"th", "s"), (r"ck", "k"), (r"qu", "kw"), (r"x", "ks"),
    (r"ch(?![aeiouy])", "k"),  # Christopher -> kristopher (クリストファー)
    (r"c(?!h)", "k"),
    (r"([bdfgjklmnpqrtvwxz])h", r"\1"),  # Khan -> kan; sh and ch stay
    (r"sh", "s"), (r"l", "r"), (r"v", "b"), (r"z", "s"), (r"dz", "s"),
    (r"y(?![aeiou])", "i"),  # Sydney -> sidnei (シドニー)
    (r"(ou|oo|uu|ei|ii|aa|ee)", None),  # toukyou -> tokyo: long vowels are written once
    (r"(.)\1+", r"\1"),  # hokkaido -> hokaido
)


_NOT_LETTER = re.compile(r"[^a-z]")
_SPELLING_RULES = tuple((re.compile(pattern), (lambda m: m[0][0]) if repl is None else repl)
                        for pattern, repl in _SPELLING)


@functools.lru_cache(maxsize=1 << 16)
def soft_spelling(text: str) -> str:
    """A name spelled so that English and romaji forms meet, vowels kept (for similarity).

    # "Tokyo" and romaji "toukyou" -> "tokyo";  "Preveza" -> "prebesa", romaji "pureveza" -> "purebesa"

    Kept once made: an English question that names someone the bridge could not place
    has every reading of its answer's passages respelled (about 40 a passage), and those
    readings (タイ, サク, ...) recur across passages and questions.
    """
    s = _NOT_LETTER.sub("", text.lower())
    for pattern, repl in _SPELLING_RULES:
        s = pattern.sub(repl, s)
    return s


def name_key(text: str) -> str:
    """The consonant skeleton of a name: the look-up key that English and romaji share.

    # "Tokorozawa" / tokorozawa -> "tkrsw";  "Preveza" / pureveza -> "prbs"
    """
    s = soft_spelling(text)
    return (s[0] if s[:1] in tuple("aeiou") else "") + re.sub(r"[aeiou]", "", s)
