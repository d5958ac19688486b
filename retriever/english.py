"""English questions meet Japanese text through the index's bridge (``ingest.bridge``).

    terms = bridge_question("Who became Iran's president?", bridge, vocab)
    # (BridgedTerm("iran", ((("イラン",), 1.0),)), BridgedTerm("president", ((("大統領",), 1.0),)))

Each content word of the question (or a phrase of two or three: "prime minister" -> 首相,
looked up before its words) becomes a :class:`BridgedTerm`: the Japanese token sequences
of this corpus that it may stand for, weighted by the bridge. A word is looked up under all
its inflections ("numbers" and "number"), leaving out the entries its use in the question
cannot mean (:func:`word_use`: "the concern" -> 懸念, not 関する); one no gloss holds is tried,
weaker, in another word class or spelling ("introduced" -> introduction -> 導入); a single word
also stands, weaker still, for the phrase glosses it is a word of ("fiscal" -> 年度, of "fiscal
year"; "capital" -> 首都 besides 資本). A word the dictionary misses, or a capitalised one, is
also tried as a name by sound, and Latin words the corpus itself holds (NPT, 2231; an acronym
also for its glosses in capitals: UN -> 国連) stand for themselves. The terms then score
passages and sentences with BM25 (:func:`term_scores`) and tell how much of the question a
sentence covers (:func:`term_coverage`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

from ingest.bridge import NOT_A_PREDICATE, PART, VERB_GLOSS, Bridge
from ingest.lexical import LexicalIndex
from ingest.lexicon import CAPS, STOPWORDS, derived_forms, english_forms, name_key, romaji, soft_spelling
from ingest.tokens import Morpheme

MAX_PHRASE = 3
NAME_SIMILARITY = 0.75  # soft spellings this alike are one name: pezeshkian / pesesukian 0.84
NAME_WEIGHT = 0.9  # a name heard in the corpus, against a dictionary entry's 1.0
LATIN_WEIGHT = 1.0  # NPT, 2231: the corpus's own spelling
MAX_ALTERNATIVES = 6  # a term's alternatives, at most (a key keeps 4; a word and its base, up to 8)
DERIVED_WEIGHT = 0.8  # "introduced" found as "introduction": a guess at the sense
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")
_KATAKANA = re.compile(r"[ァ-ヺー・]+")


@dataclass(frozen=True)
class BridgedTerm:
    """One English word or phrase of a question and the Japanese it may stand for."""

    english: str
    alternatives: tuple[tuple[tuple[str, ...], float], ...]  # (tokens, weight), best first
    source: str  # "dictionary", "name", "latin", or "unbridged" (no alternatives: nothing in the corpus)


def question_words(question: str) -> list[tuple[str, bool]]:
    """(lower-cased word, capitalised inside the sentence) pairs: "Who became Iran's president?"
    -> [("who", False), ("became", False), ("iran", True), ("president", False)]."""
    out = []
    for i, m in enumerate(_WORD.finditer(question)):
        word = re.sub(r"['’]s$", "", m[0])
        for part in word.split("-"):
            if part:
                out.append((part.lower(), i > 0 and part[0].isupper()))
    return out


def anchor_words(question: str) -> frozenset[str]:
    """The question's names, acronyms and numbers, lower-cased: what it is about rather than
    how it asks. "Which river flows through Budapest?" -> {"budapest"}; "How many NBA titles
    did the Lakers win in 2020?" -> {"nba", "lakers", "2020"}. A capital that only starts the
    question says nothing ("Which", "Rivers of ...")."""
    out = set()
    for i, m in enumerate(_WORD.finditer(question)):
        word = re.sub(r"['’]s$", "", m[0])
        for part in word.split("-"):
            acronym = len(part) > 1 and part.isupper()
            if part and ((i > 0 and part[0].isupper()) or acronym or any(ch.isdigit() for ch in part)):
                out.add(part.lower())
    return frozenset(out)


ECHO_SIMILARITY = 0.6  # in one sentence a looser likeness suffices: columbus / koronbusu 0.71


def echoed(words: Sequence[str], morphs: Sequence[Morpheme]) -> frozenset[int]:
    """Positions (``Morpheme.start``) of a sentence's morphemes that say one of an English
    question's ``words`` again: a name by its sound, a Latin word or a number as written.

    # "Who accepted the offer that Taisaku Kitahara had turned down?" on 北原泰作が断った…
    # -> 北原 (kitahara); "Who provides Wikidata?" on ウィキ+データは… -> both (uikideta)
    # "What was adopted … in October 1951?" on 1951年10月…51年綱領 -> 1951, not 51

    A question asks about what it names: such a morpheme is the question's, not the answer.
    Only one sentence is searched, so a likeness looser than the bridge's (NAME_SIMILARITY,
    over the whole corpus) is safe; only names and katakana, Latin or digit words are compared,
    alone or as runs of up to MAX_PHRASE touching ones (a name MeCab cuts in two), and only
    runs with about as many consonants as the word (:func:`name_key`: 北原泰 is not Kitahara)."""
    said = {w for w in words if w not in STOPWORDS}
    sounds = [(s, len(name_key(w))) for w in said if w.isalpha() and len(s := soft_spelling(w)) >= 3]
    out: set[int] = set()
    for i, m in enumerate(morphs):
        if m.surface.isascii():
            if m.surface.lower() in said:
                out.add(m.start)
            continue
        run: list[Morpheme] = []
        spoken = ""
        for n in morphs[i:i + MAX_PHRASE]:
            if not (n.reading and (n.pos.startswith("名詞-固有名詞") or _KATAKANA.fullmatch(n.surface))) \
                    or (run and n.start != run[-1].end):
                break
            run.append(n)
            spoken += soft_spelling(romaji(n.reading))
            key = len(name_key(spoken))
            if len(spoken) >= 3 and any(0.75 * k <= key <= 1.35 * k
                                        and alike(SequenceMatcher(None, spoken, s), ECHO_SIMILARITY)
                                        for s, k in sounds):
                out.update(k.start for k in run)
    # A name whose part is said is said whole: カール・ウーズ for "Carl Woese" (woese and
    # ウーズ are too far apart to meet by sound, carl and カール are not).
    dotted = [(a.start, b.start) for a, dot, b in zip(morphs, morphs[1:], morphs[2:], strict=False)
              if dot.surface == "・" and a.end == dot.start and dot.end == b.start
              and _KATAKANA.fullmatch(a.surface) and _KATAKANA.fullmatch(b.surface)]
    for pairs in (dotted, dotted[::-1]):  # both ways, for a name of three parts
        for a_start, b_start in pairs:
            if a_start in out or b_start in out:
                out.update((a_start, b_start))
    return frozenset(out)


# Words that say how a question asks about a view, not what it is about: "What does the
# author think…", "in the author's view", "what do they expect". Bridged, they are 筆者,
# 考える, 見る, 期待: words of the view sentences of every report in the index, so the
# snow-clearing question "How do the authors think snow clearing should be organised?" drew
# 筆者は、協議会の目的を…改めるべきだと考える from a transport brief. A Japanese question keeps
# such words out of its evidence the same way (question.QUESTION_WORDS: 考える, 思う, 述べる).
FRAMING = frozenset("""author authors writer writers think thinks believe believes view views expect expects
argue argues according consider considers see sees regard regards want wants""".split())  # noqa: SIM905 - a word list reads better as text

# Spellings of a country that the dictionary's glosses do not use: EDICT glosses 米国 as
# "America; USA", never "the United States", and "US" lower-cased is the pronoun "us", a
# stop word. "What has to go hand in hand with any improvement in US–China relations?" lost
# its US altogether. Case matters: "tell us" is no country.
_COUNTRY_SPELLINGS = re.compile(r"\b(?:[Tt]he )?[Uu]nited [Ss]tates\b|\bU\.S\.(?:A\.)?|\bUSA?\b")
# A people or an adjective stands for its country as well as for what the dictionary says:
# "European" alone reached 洋 (ocean), "American" nothing.
DEMONYMS = {"american": "america", "americans": "america", "chinese": "china", "russian": "russia",
            "russians": "russia", "japanese": "japan", "european": "europe", "europeans": "europe",
            "korean": "korea", "koreans": "korea", "australian": "australia", "australians": "australia",
            "british": "britain", "indian": "india", "french": "france", "german": "germany",
            "taiwanese": "taiwan", "iranian": "iran"}
# A capital stands for its government in policy writing, which Japanese reports name by the
# country: "How is Beijing likely to retaliate?" is about 中国's response, and a report that
# never writes 北京 left Beijing with no counterpart at all (the question then abstained).
CAPITALS = {"beijing": "china", "washington": "america", "moscow": "russia", "tokyo": "japan",
            "seoul": "korea", "pyongyang": "north korea", "taipei": "taiwan", "canberra": "australia",
            "tehran": "iran", "manila": "philippines", "london": "britain", "paris": "france",
            "berlin": "germany", "brussels": "europe", "delhi": "india", "kyiv": "ukraine", "kiev": "ukraine",
            "hanoi": "vietnam", "jakarta": "indonesia", "wellington": "new zealand", "ottawa": "canada"}
STANDS_FOR = {**DEMONYMS, **CAPITALS}  # a word -> the country words it also stands for
# An acronym the corpus writes in Latin letters is that name, whatever the same letters
# mean as a word: "New START" is the treaty the report writes 新START条約, and START read
# as "start" reached 始める and 開始, which lead nowhere near it.
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]+\b")
# Japanese names two countries together by one kanji each: 米中 (US–China), 日米, 米露, 中露, 日韓.
COUNTRY_KANJI = {"america": "米", "japan": "日", "china": "中", "russia": "露", "korea": "韓", "australia": "豪",
                 "europe": "欧", "india": "印", "britain": "英", "france": "仏", "germany": "独", "taiwan": "台"}
PAIR_WEIGHT = 0.8  # 米中 as two tokens 米 + 中 (MeCab splits it), which may also stand apart

SHORT_SKELETON = 3  # "Ito", "Abe", "Kobe": names of fewer consonants are heard only when spelled alike
MIN_SHORT_NAME = 3  # soft spellings of a name, at least ("Ooi", "Ii" are too short to tell)
MIN_HEARD = 4  # soft spellings shorter than this ("abe", "aso") are heard inside too many readings


def alike(matcher: SequenceMatcher, need: float) -> bool:
    """Whether ``matcher.ratio() >= need``, its cheap upper bounds tried first (ratio <=
    quick_ratio <= real_quick_ratio, on one denominator: the answer is the same). Most spellings
    compared share too few letters to be one name, which the letter counts alone tell: the
    matching blocks that ratio needs were most of a heard name's time (heard_in, over a passage)."""
    return matcher.real_quick_ratio() >= need and matcher.quick_ratio() >= need and matcher.ratio() >= need


@dataclass(frozen=True)
class Sound:
    """A text as it sounds: its morphemes' readings in soft spelling, joined, and the offsets
    where morphemes begin and end (a name heard must start and end at such a boundary)."""

    text: str
    bounds: frozenset[int]


def sound_of(morphs: Sequence[Morpheme]) -> Sound:
    """# 北原泰作 -> キタハラ|タイ|サク -> "kitahara" + "tai" + "saku", bounds {0, 8, 11, 15}"""
    parts = []
    bounds = {0}
    at = 0
    for m in morphs:
        # A name MeCab does not know comes whole: スヴァンテ・アレニウス, said as two.
        for said in (m.reading.split("・") if m.reading else [m.surface.lower() if m.surface.isascii() else ""]):
            part = soft_spelling(romaji(said) if m.reading else said)
            if part:
                parts.append(part)
                at += len(part)
                bounds.add(at)
    return Sound("".join(parts), frozenset(bounds))


def heard_in(word: str, sound: Sound) -> bool:
    """Whether an English-spelled name is said in a text by sound, as a run of whole morphemes
    whose soft spelling is as alike as a name the bridge hears (NAME_SIMILARITY): "Arrhenius"
    in アレニウス (areniusu), "Wikidata" in ウィキデータ (uikideta). Names shorter than
    MIN_HEARD ("Abe") are not looked for: too many readings hold them."""
    w = soft_spelling(word)
    if len(w) < MIN_HEARD:
        return False
    bounds = sorted(sound.bounds)
    matcher = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(w)
    for i, start in enumerate(bounds):
        if sound.text[start:start + 1] != w[0] and not (w[0] in "aeiouw" and sound.text[start:start + 1] in "aeiou"):
            continue
        for end in bounds[i + 1:]:
            if end - start > 1.35 * len(w):
                break
            if end - start >= 0.75 * len(w):
                matcher.set_seq1(sound.text[start:end])
                if alike(matcher, NAME_SIMILARITY):
                    return True
    return False


def dictionary_term(words: Sequence[str], bridge: Bridge, unfit: str = "") -> BridgedTerm | None:
    """The bridge's entries for a word or phrase under the inflections of its last word; failing
    those, under its derived forms (:func:`ingest.lexicon.derived_forms`), weaker; and for a
    single word, also as a part of phrase glosses (``ingest.bridge.phrase_parts``, weaker still).
    Entries marked ``unfit`` for the word's use in the question (:func:`word_use`) are left out
    while any other is found.

    # "presidents" -> "president" -> 大統領 (1.0)
    # "introduced" -> "introduction" -> 導入 (0.8): no gloss says "introduce"
    # "fiscal"     -> "~fiscal" -> 年度 (0.5, of "fiscal year"): no gloss is "fiscal" alone
    # "capital"    -> 資本, 都 ... and "~capital" -> 首都 (0.5, of "capital city"): the city is
    #                 asked for more often than the dictionary's first senses suggest
    # "formed" (a verb) -> not 形 ("form", a noun that takes no する) but "formation" -> 形成, 結成
    # "the concern" (a noun) -> 懸念, not 関する ("to concern")
    """
    best = _tiered(words, bridge, unfit) or (_tiered(words, bridge, "") if unfit else {})
    if len(words) == 1:
        # A phrase that holds the word's own Japanese adds only its other words: "plan" is 計画,
        # and 戦争計画 ("war plan") would add 戦争 to the question.
        own = {t for tokens in best for t in tokens}
        for part in english_forms(words[0]):
            for tokens, w in bridge.entries(PART + part, unfit):  # weighed PART_WEIGHT in the bridge
                if own.isdisjoint(tokens):
                    best.setdefault(tokens, w)
    return BridgedTerm(" ".join(words), _strongest(best), "dictionary") if best else None


def _tiered(words: Sequence[str], bridge: Bridge, unfit: str) -> dict[tuple[str, ...], float]:
    """The entries of the first tier of forms (:func:`_lookup_tiers`) that finds any."""
    best: dict[tuple[str, ...], float] = {}
    for forms, weight in _lookup_tiers(words):
        for last in forms:
            for tokens, w in bridge.entries(" ".join([*words[:-1], last]), unfit):
                best[tokens] = max(best.get(tokens, 0.0), w * weight)
        if best:
            break
    return best


# A noun follows these; a verb these (or is a past form: "formed", "introduced").
_BEFORE_NOUN = frozenset("""a an the this that these those its their his her our my your any each every no main
key major chief biggest greatest""".split())  # noqa: SIM905 - a word list reads better as text
_BEFORE_VERB = frozenset("""will would can could should must may might did does do not cannot""".split())  # noqa: SIM905


def word_use(words: Sequence[tuple[str, bool]], i: int) -> str:
    """Which of the bridge's entries the question's ``i``-th word cannot mean, by how it is used:
    VERB_GLOSS after a determiner ("the concern", "the states"), NOT_A_PREDICATE after an
    auxiliary or in a past form ("was formed", "did they introduce"), else "".

    # "Why is the growth in curtailment a concern?" -> "concern": VERB_GLOSS (懸念, not 関する)
    # "When was the Aso cabinet formed?" -> "formed": NOT_A_PREDICATE (結成, 形成, not 形)
    """
    word = words[i][0]
    before = words[i - 1][0] if i > 0 else ""
    if before in _BEFORE_NOUN:
        return VERB_GLOSS
    if before in _BEFORE_VERB or (len(word) > 4 and word.endswith("ed")):
        return NOT_A_PREDICATE
    return ""


def _lookup_tiers(words: Sequence[str]) -> Iterator[tuple[Sequence[str], float]]:
    """The forms of a phrase's last word to look up, tier by tier, each tier made only when
    the one before found nothing (most words are found as they are). A tier's forms are all
    looked up: a plural or past form that is a key of its own ("numbers", "parts") is often
    a rare sense, its base ("number", "part") the common one."""
    yield english_forms(words[-1]), 1.0
    yield derived_forms(words[-1]), DERIVED_WEIGHT


def _strongest(found: dict[tuple[str, ...], float]) -> tuple[tuple[tuple[str, ...], float], ...]:
    """The best MAX_ALTERNATIVES of a term's entries found under several forms, best first.

    # "numbers": 数 at 0.32 (its third sense "figures; numbers"), and under "number" 数 at 1.0, 番号 ...
    # "parts": 部品 ("parts") and, under "part", 部分, 一部 ..."""
    ranked = sorted(found.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))
    return tuple(ranked[:MAX_ALTERNATIVES])


def name_term(word: str, bridge: Bridge) -> BridgedTerm | None:
    """Corpus names that sound like ``word``: "pezeshkian" -> ペゼシュキアン.

    A name of fewer than SHORT_SKELETON consonants must sound exactly alike: "Kobe" is 神戸
    (コウベ -> kobe) and "Aso" 麻生 (アソウ -> aso), but a likeness of 0.75 between words of
    three or four letters would hear "Abe" in アベ and アビ alike."""
    key = name_key(word)
    soft = soft_spelling(word)
    if len(soft) < MIN_SHORT_NAME:
        return None
    need = NAME_SIMILARITY if len(key) >= SHORT_SKELETON else 1.0
    found: dict[tuple[str, ...], float] = {}
    for tokens, spelling in bridge.heard(key):
        matcher = SequenceMatcher(None, soft, spelling)
        if alike(matcher, need):
            found[tokens] = max(found.get(tokens, 0.0), NAME_WEIGHT * matcher.ratio())
    if not found:
        return None
    return BridgedTerm(word, tuple(sorted(found.items(), key=lambda kv: -kv[1])), "name")


def bridge_question(question: str, bridge: Bridge, vocabulary: Collection[str]) -> tuple[BridgedTerm, ...]:
    """The question's content words and phrases with the Japanese they may stand for.

    Phrases first, so "prime minister" is 首相 rather than 首位 + 大臣; a capitalised word
    the dictionary knows is also tried as a name (Rose -> ローズ as well as 薔薇).
    """
    plain = _COUNTRY_SPELLINGS.sub("America", question)
    words = question_words(plain)
    held_acronyms = {a.lower() for a in _ACRONYM.findall(plain) if a.lower() in vocabulary}
    placed: list[tuple[int, BridgedTerm]] = []  # each term with the position of its first word
    i = 0
    while i < len(words):
        word, capital = words[i]
        if word in STOPWORDS or word in FRAMING:
            i += 1
            continue
        if word in held_acronyms:  # the corpus's own Latin letters, and glosses in capitals, not the word's
            latin = BridgedTerm(word, (((word,), LATIN_WEIGHT),), "latin")
            spelled = bridge.entries(CAPS + word)  # "UN": 国連 as well as the corpus's "UN"
            placed.append((i, (spelled and _joined(word, latin, BridgedTerm(word, spelled, "dictionary"))) or latin))
            i += 1
            continue
        term = None
        for n in range(min(MAX_PHRASE, len(words) - i), 1, -1):
            span = [w for w, _ in words[i:i + n]]
            if span[-1] not in STOPWORDS and (term := dictionary_term(span, bridge)):
                break
        else:
            n = 1
            term = dictionary_term([word], bridge, word_use(words, i))
            if word in STANDS_FOR:
                term = _joined(word, term, dictionary_term(STANDS_FOR[word].split(), bridge))
        if n == 1:
            term = _with_name_and_latin(word, capital, term, bridge, vocabulary)
        # A content word with no counterpart in the corpus still counts, as missing evidence:
        # "capital" and "France" asked of a report that never names either.
        placed.append((i, term or BridgedTerm(word, (), "unbridged")))
        i += n
    return tuple(_with_country_pairs(placed, vocabulary))


def _joined(word: str, *terms: BridgedTerm | None) -> BridgedTerm | None:
    """One term for ``word`` holding the alternatives of ``terms``, each at its best weight."""
    best: dict[tuple[str, ...], float] = {}
    for term in terms:
        for tokens, w in term.alternatives if term else ():
            best[tokens] = max(best.get(tokens, 0.0), w)
    if not best:
        return None
    return BridgedTerm(word, tuple(sorted(best.items(), key=lambda kv: -kv[1])), "dictionary")


def _with_country_pairs(placed: list[tuple[int, BridgedTerm]], vocabulary: Collection[str]) -> list[BridgedTerm]:
    """Terms of two countries named together ("US–China", "the US and Russia") also stand for
    the Japanese pair word: # US–China -> 米中 (tokens 米, 中), US–Russia -> 米露."""
    terms = [term for _, term in placed]
    for k in range(len(placed) - 1):
        (i, a), (j, b) = placed[k], placed[k + 1]
        ka = COUNTRY_KANJI.get(STANDS_FOR.get(a.english, a.english))
        kb = COUNTRY_KANJI.get(STANDS_FOR.get(b.english, b.english))
        if ka is None or kb is None or ka == kb or j - i > 2:  # at most "and" between them
            continue
        pairs: list[tuple[tuple[str, ...], float]] = []
        for first, second in ((ka, kb), (kb, ka)):
            if first + second in vocabulary:
                pairs.append(((first + second,), 1.0))
            elif first in vocabulary and second in vocabulary:
                pairs.append(((first, second), PAIR_WEIGHT))
        pair = BridgedTerm("", tuple(pairs), "dictionary")
        terms[k] = _joined(a.english, terms[k], pair) or terms[k]
        terms[k + 1] = _joined(b.english, terms[k + 1], pair) or terms[k + 1]
    return terms


def _with_name_and_latin(word: str, capital: bool, term: BridgedTerm | None, bridge: Bridge,
                         vocabulary: Collection[str]) -> BridgedTerm | None:
    """A single word's dictionary term, joined by the corpus names it sounds like and by
    the word itself when the corpus writes it in Latin letters (NPT, 2231)."""
    alternatives = list(term.alternatives) if term else []
    source = term.source if term else ""
    if term is None or capital:
        name = name_term(word, bridge)
        if name is not None:
            alternatives += name.alternatives
            source = source or "name"
    if word in vocabulary:
        alternatives.append(((word,), LATIN_WEIGHT))
        source = source or "latin"
    if not alternatives:
        return None
    best: dict[tuple[str, ...], float] = {}
    for tokens, w in alternatives:
        best[tokens] = max(best.get(tokens, 0.0), w)
    return BridgedTerm(word, tuple(sorted(best.items(), key=lambda kv: -kv[1])), source)


def token_weights(terms: Sequence[BridgedTerm]) -> dict[str, float]:
    """Each Japanese token's weight in the query: the best any term gives it."""
    out: dict[str, float] = {}
    for term in terms:
        for tokens, w in term.alternatives:
            for t in tokens:
                out[t] = max(out.get(t, 0.0), w)
    return out


def term_coverage(terms: Sequence[BridgedTerm], tokens: Collection[str], idf: dict[str, float]) -> float:
    """Share of the question's terms (idf-weighted) that the sentence's ``tokens`` hold.

    A term is held when all tokens of one of its alternatives are: "security council"
    needs 安全, 保障, 理事 and 会. A word with no counterpart in the corpus weighs as much
    as the average bridged term (or 1 when none is bridged) and is never held. 1.0 for a
    question without content words (nothing to judge by).
    """
    return term_coverages(terms, [tokens], idf)[0]


def term_coverages(terms: Sequence[BridgedTerm], sentences: Sequence[Collection[str]],
                   idf: dict[str, float]) -> list[float]:
    """:func:`term_coverage` of each of ``sentences`` (their tokens), the terms weighed once."""
    weights = [max((min(idf.get(t, 0.0) for t in alt) for alt, _ in term.alternatives), default=0.0)
               for term in terms]
    bridged = [w for w, term in zip(weights, terms, strict=True) if term.alternatives]
    unbridged = sum(bridged) / len(bridged) if bridged else 1.0
    total = sum(w if term.alternatives else unbridged for w, term in zip(weights, terms, strict=True))
    if total <= 0:
        return [1.0] * len(sentences)
    # Each term's one-token alternatives as one set, its longer ones apart: a sentence holds the term
    # when it meets the set or holds all of a longer one (a set test a term, not a loop a token).
    weighed = [(w, frozenset(alt[0] for alt, _ in term.alternatives if len(alt) == 1),
                [frozenset(alt) for alt, _ in term.alternatives if len(alt) > 1])
               for w, term in zip(weights, terms, strict=True) if w > 0 and term.alternatives]
    out = []
    for tokens in sentences:
        held = tokens if isinstance(tokens, (set, frozenset)) else frozenset(tokens)
        out.append(sum(w for w, single, longer in weighed
                       if not single.isdisjoint(held) or any(alt <= held for alt in longer)) / total)
    return out


def term_scores(index: LexicalIndex, terms: Sequence[BridgedTerm]) -> np.ndarray:
    """BM25 of every document for bridged terms: each term counts once, by its best alternative.

    A term is one concept however many Japanese words may say it: "rainy season" found as
    梅雨 and as 雨期 in one paragraph is not twice the evidence, and a common alternative
    (分 for "part") must not add to a rare one (部位). Tokens of one alternative add up
    (安全 + 保障 + 理事 + 会 for "security council").
    """
    out = np.zeros(index.size, dtype=np.float32)
    alternatives = [alt for term in terms for alt in term.alternatives]
    if not alternatives:
        return out
    rows = alternative_rows(index, [tokens for tokens, _ in alternatives])
    rows *= np.array([w for _, w in alternatives], dtype=np.float32)[:, None]
    first = 0
    for term in terms:  # added one by one, in order (np.maximum.reduceat on rows is 20 times slower)
        if term.alternatives:
            out += rows[first:first + len(term.alternatives)].max(axis=0)
            first += len(term.alternatives)
    return out


def alternative_rows(index: LexicalIndex, alternatives: Sequence[tuple[str, ...]]) -> np.ndarray:
    """BM25 of every document for each alternative (a row each, float32): its tokens' scores
    added up in their order (安全 + 保障 + 理事 + 会).

    The tokens are gathered a place at a time, all alternatives at once: an English question
    has some 25 alternatives of one to five tokens, and a scatter-add a token (with an array
    made, weighed and compared an alternative) was most of term_scores' 0.2 ms a search, two
    searches an ask (passages, sentences). Within one place each (row, document) comes once
    (a row has one token there, a column's rows are distinct), so each document's sum is made
    in the tokens' order, as an alternative alone made it."""
    rows = np.zeros((len(alternatives), index.size), dtype=np.float32)
    found = [(row, place, t) for row, tokens in enumerate(alternatives) for place, token in enumerate(tokens)
             if (t := index.vocab.get(token)) is not None]
    for place in sorted({place for _, place, _ in found}):
        row = np.array([r for r, p, _ in found if p == place])
        term = np.array([t for _, p, t in found if p == place])
        lo, hi = index.indptr[term], index.indptr[term + 1]
        # the positions lo..hi-1 of every column, end to end
        at = np.arange(int((hi - lo).sum())) + np.repeat(lo - np.cumsum(hi - lo) + (hi - lo), hi - lo)
        rows[np.repeat(row, hi - lo), index.indices[at]] += index.data[at]
    return rows


MAX_GLOSSES = 6


@dataclass(frozen=True)
class SentenceGloss:
    """A dictionary gloss of morphemes ``[first, last]`` of a sentence (see :func:`sentence_glosses`)."""

    start: int  # offsets into the sentence text
    end: int
    gloss: str  # the dictionary's first sense ("" for a name known only by its sound)
    romaji: str
    source: str  # "EDICT", or "reading" for a name romanised from its reading


def sentence_glosses(bridge: Bridge, terms: Sequence[BridgedTerm], morphs: Sequence[Morpheme],
                     short: tuple[int, int] | None) -> list[SentenceGloss]:
    """Glosses of the short answer (``short``: offsets in the sentence) and of the sentence's
    words that the question's terms stand for, in sentence order.

    # "Who became Iran's president?" on ペゼシュキアン氏がイランの大統領に就任し…
    # -> ペゼシュキアン (pezeshukian), イラン (iran): names, by their reading;
    #    大統領 (daitouryou): "president (of a nation)", EDICT's first sense
    """
    wanted = {alt for term in terms for alt, _ in term.alternatives}
    starts = {alt[0] for alt in wanted}
    tokens = [m.token() for m in morphs]
    spans: list[tuple[int, int]] = []  # morpheme index ranges [i, j)
    if short is not None:
        inside = [k for k, m in enumerate(morphs) if m.start < short[1] and m.end > short[0]]
        if inside:
            spans.append((inside[0], inside[-1] + 1))
    i = 0
    while i < len(morphs):
        if tokens[i] not in starts:  # no alternative begins here: 大統領 for "president" begins at 大統領
            i += 1
            continue
        for j in range(min(len(morphs), i + 6), i, -1):
            key = tuple(t for t in tokens[i:j] if t)
            if tokens[i] and tokens[j - 1] and key in wanted and not any(a < j and i < b for a, b in spans):
                spans.append((i, j))
                i = j - 1
                break
        i += 1
    out = [_gloss(bridge, morphs[a:b], tokens[a:b]) for a, b in sorted(spans)]
    return [g for g in out if g is not None][:MAX_GLOSSES]


def _gloss(bridge: Bridge, morphs: Sequence[Morpheme], tokens: Sequence[str]) -> SentenceGloss | None:
    """The gloss of a run of morphemes: the dictionary's, or for a name its reading alone."""
    spoken = " ".join(r for r in (romaji(m.reading) for m in morphs) if r)
    name = any(m.pos.startswith("名詞-固有名詞") for m in morphs)
    # A name is given by its reading only: the dictionary's word of the same spelling is
    # often another word (イラン, the country to UniDic, is 伊蘭, a plant, to EDICT).
    entry = None if name else bridge.gloss(tuple(t for t in tokens if t))
    if entry is not None:
        return SentenceGloss(morphs[0].start, morphs[-1].end, entry.gloss.replace("/", "; "),
                             romaji(entry.reading) or spoken, "EDICT")
    if spoken and (name or all(_KATAKANA.fullmatch(m.surface) for m in morphs)):
        return SentenceGloss(morphs[0].start, morphs[-1].end, "", spoken, "reading")
    return None
