"""The English bridge: spelling rules, the bridge built from a tiny corpus and lexicon, question terms."""

from __future__ import annotations

import gzip
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.bridge import NOT_A_PREDICATE, PART, PART_WEIGHT, VERB_GLOSS, Bridge, build_bridge
from ingest.errors import IndexFileError
from ingest.lexical import LexicalIndex
from ingest.lexical import build as build_lexical
from ingest.lexicon import (
    LEXICON_PATH,
    WORDS_PATH,
    capitals_key,
    derived_forms,
    dictionary_words,
    english_forms,
    gloss_keys,
    key_words,
    lexicon_header,
    name_key,
    negated,
    romaji,
    soft_spelling,
    spelling_twins,
)
from ingest.tokens import Tokenizer
from retriever import Retriever
from retriever.english import (
    DERIVED_WEIGHT,
    BridgedTerm,
    alike,
    bridge_question,
    name_term,
    term_coverage,
    term_coverages,
    term_scores,
    token_weights,
    word_use,
)
from retriever.retriever import HAND_SET

ROMAJI = [
    ("トコロザワ", "tokorozawa"),
    ("トーキョー", "tokyo"),  # long-vowel marks dropped, as English spells names
    ("プレヴェザ", "pureveza"),
    ("ホッカイドウ", "hokkaidou"),  # ッ doubles the next consonant
    ("ペゼシュキアン", "pezeshukian"),
    ("キョウト", "kyouto"),
    ("ところざわ", "tokorozawa"),  # hiragana too
]


@pytest.mark.parametrize(("kana", "expected"), ROMAJI)
def test_romaji(kana: str, expected: str) -> None:
    assert romaji(kana) == expected


# English spellings and Japanese readings of the same name share a key; others do not.
SAME_NAME = [
    ("Tokorozawa", "トコロザワ"), ("Preveza", "プレヴェザ"), ("Washington", "ワシントン"),
    ("Pezeshkian", "ペゼシュキアン"), ("Tokyo", "トウキョウ"), ("Christopher", "クリストファー"),
    ("Sydney", "シドニー"), ("Hokkaido", "ホッカイドウ"), ("Carter", "カーター"), ("Araghchi", "アラグチ"),
]
OTHER_NAME = [("Tokorozawa", "トヨカワ"), ("Preveza", "プロヴァンス"), ("Washington", "ウェリントン")]


@pytest.mark.parametrize(("english", "kana"), SAME_NAME)
def test_name_key_meets(english: str, kana: str) -> None:
    assert name_key(english) == name_key(romaji(kana))


@pytest.mark.parametrize(("english", "kana"), OTHER_NAME)
def test_name_key_keeps_apart(english: str, kana: str) -> None:
    assert name_key(english) != name_key(romaji(kana))


@given(st.text())
def test_spelling_keys_are_plain_letters(text: str) -> None:
    soft, key = soft_spelling(text), name_key(text)
    assert soft == "" or (soft.isascii() and soft.isalpha() and soft.islower())
    it = iter(soft)
    assert all(ch in it for ch in key)  # the skeleton is a subsequence of the soft spelling


GLOSSES = [
    ("president (of a nation)", "president"),
    ("to elect", "elect"),
    ("to be born", "born"),  # a question's "born" (生まれる)
    ("the United Nations", "united nations"),
    ("person who does not know when to quit", None),  # a description, not a name
    ("of", None),
]


@pytest.mark.parametrize(("gloss", "key"), GLOSSES)
def test_gloss_keys(gloss: str, key: str | None) -> None:
    assert gloss_keys(gloss) == key


@pytest.mark.parametrize(("word", "expected"), [
    ("presidents", "president"), ("became", "become"), ("founded", "found"), ("studies", "study"),
    ("running", "run"), ("making", "make"), ("used", "use"),
])
def test_english_forms(word: str, expected: str) -> None:
    forms = english_forms(word)
    assert forms[0] == word and expected in forms


@pytest.mark.parametrize(("word", "expected"), [
    ("introduced", "introduction"), ("organised", "organization"), ("organize", "organisation"),
    ("higher", "high"), ("bigger", "big"), ("currently", "current"), ("simply", "simple"),
    ("absorbing", "absorption"), ("involved", "involvement"), ("labour", "labor"), ("concentrate", "concentration"),
])
def test_derived_forms(word: str, expected: str) -> None:
    derived = derived_forms(word)
    assert expected in derived
    assert not set(derived) & set(english_forms(word))  # looked up only after the inflections


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=14))
def test_derived_forms_are_new_words(word: str) -> None:
    # Guesses only: each once, none empty, none an inflection already looked up before them.
    derived = derived_forms(word)
    assert len(derived) == len(set(derived)) and all(derived)
    assert not set(derived) & set(english_forms(word))


@pytest.mark.parametrize(("word", "twins"), [
    ("colour", ["color"]), ("labourer", ["laborer"]), ("colourful", ["colorful"]), ("centre", ["center"]),
    ("catalogue", ["catalog"]), ("organize", ["organise"]), ("organisation", ["organization"]),
    ("street", []), ("four", []), ("hours", []), ("tour", []), ("rise", []), ("size", []), ("vogue", []),
])
def test_spelling_twins_change_endings_only(word: str, twins: list[str]) -> None:
    assert spelling_twins(word) == twins


@pytest.mark.parametrize(("word", "not_derived"), [("street", "steret"), ("four", "for"), ("hours", "hor")])
def test_derived_forms_spell_plain_words_as_they_are(word: str, not_derived: str) -> None:
    assert not_derived not in derived_forms(word)  # the twins' rule before b5ce13f made these


LETTERS = "abcdefghijklmnopqrstuvwxyz"
STEMS = st.text(alphabet=LETTERS, min_size=3, max_size=8).filter(lambda s: any(v in s for v in "aeiouy"))


@given(STEMS, st.sampled_from([("our", "or"), ("ise", "ize"), ("isation", "ization"), ("tre", "ter")]),
       st.sampled_from(["", "s", "ed", "er", "ful", "ing"]))
def test_a_british_ending_meets_its_american_twin(stem: str, pair: tuple[str, str], ending: str) -> None:
    british, american = pair
    assert stem + american + ending in spelling_twins(stem + british + ending)
    if "z" in american:  # both ways where the American spelling cannot be a plain English ending
        assert stem + british + ending in spelling_twins(stem + american + ending)


@given(st.text(alphabet=LETTERS, max_size=16))
def test_spelling_twins_keep_the_start_of_a_word(word: str) -> None:
    # A twin rewrites an ending: the word's first TWIN_STEM letters are never touched, and a
    # twin is never the word itself.
    for twin in spelling_twins(word):
        assert twin[:3] == word[:3] and twin != word


@given(st.text(alphabet=LETTERS, max_size=8), st.sampled_from("aeiouy"), st.text(alphabet=LETTERS, max_size=8),
       st.sampled_from(["rr", "rrr", "rh", "rrh"]))
def test_a_spoken_r_reads_as_one_however_written(before: str, vowel: str, after: str, written: str) -> None:
    # Arrhenius, Ferrari, Rhodes: an r written double or with an h, before a vowel, is said as one r.
    assert soft_spelling(before + written + vowel + after) == soft_spelling(before + "r" + vowel + after)


def test_negated_headwords_are_left_out_of_the_lexicon() -> None:
    tokenizer = Tokenizer()
    heads = ("いけない", "行かん", "つまらない", "少ない", "関する", "仕方ない")
    assert [negated(tokenizer, h) for h in heads] == [True, True, True, False, False, False]
    with gzip.open(LEXICON_PATH, "rt", encoding="utf-8") as f:
        shipped = {line.split("\t")[1] for line in f if not line.startswith("#")}
    assert "いけない" not in shipped and "つまらない" not in shipped  # "wrong" and "boring" would reach 行く, 詰まる
    assert {"大統領", "少ない", "関する"} <= shipped


CORPUS = [
    "ペゼシュキアン氏がイランの大統領に就任し、アラグチ氏が外相になった。",
    "首相は国際連合の安全保障理事会で演説した。",
    "所沢市でゲームの大会が開かれた。",
    "NPTの再検討会議は2026年に開かれる。",
]
# A lexicon of a few EDICT-like lines, in the shipped file's format.
ENTRIES = [
    ("大統領", "大統領", "だいとうりょう", "P", "president (of a nation)|big man/boss"),
    ("社長", "社長", "しゃちょう", "P", "company president/manager/director"),
    ("頭取", "頭取", "とうどり", "", "bank president"),
    ("外相", "外相", "がいしょう", "P", "Foreign Minister"),
    ("首相", "首相", "しゅしょう", "P", "Prime Minister/Premier"),
    ("首", "首", "くび", "P", "neck"),
    ("国際 連合", "国際連合", "こくさいれんごう", "P", "United Nations"),
    ("安全 保障 理事 会", "安全保障理事会", "あんぜんほしょうりじかい", "", "Security Council"),
    ("就任", "就任", "しゅうにん", "P", "inauguration/assumption of office"),
    ("大会", "大会", "たいかい", "P", "convention/tournament"),
    ("演説", "演説", "えんぜつ", "P", "speech/address"),
    ("天皇", "天皇", "てんのう", "P", "Emperor of Japan"),  # not in the corpus: left out
]


def write_lexicon(path: Path, entries: list[tuple[str, ...]], tokenizer: Tokenizer) -> Path:
    """A lexicon of these EDICT-like lines at ``path``, in the shipped file's format."""
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(lexicon_header(tokenizer) + "\n")
        f.writelines("\t".join(e) + "\n" for e in entries)
    return path


def bridge_and_vocabulary(folder: Path, corpus: list[str],
                          entries: list[tuple[str, ...]]) -> tuple[Bridge, set[str]]:
    """The bridge a corpus builds from a lexicon of ``entries``, and the corpus's tokens."""
    tokenizer = Tokenizer()
    path = write_lexicon(folder / "lexicon.tsv.gz", entries, tokenizer)
    return build_bridge(corpus, tokenizer, path), {t for text in corpus for t in tokenizer(text)}


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Bridge:
    return bridge_and_vocabulary(tmp_path_factory.mktemp("lexicon"), CORPUS, ENTRIES)[0]


@pytest.fixture(scope="module")
def vocabulary() -> set[str]:
    tokenizer = Tokenizer()
    return {t for text in CORPUS for t in tokenizer(text)}


BRIDGED = [  # question, the Japanese each content term must reach (in question order)
    ("Who became Iran's president?", [["イラン"], ["大統領"]]),
    ("Who is the prime minister?", [["首相"]]),  # the phrase, not 首 for "minister"
    ("Who was named foreign minister?", [["外相"]]),
    ("Where did the United Nations Security Council meet?", [["国際", "連合"], ["安全", "保障", "理事", "会"]]),
    # a name by its sound; "office", no gloss alone, as a word of 就任's "assumption of office"
    ("When did Pezeshkian take office?", [["ペゼシュキアン"], ["就任"]]),
    ("What happened in Tokorozawa?", [["所沢"]]),
    ("Where did Araghchi go?", [["あら", "グチ"]]),  # MeCab split the name (lemma あら); heard together
    ("When is the next NPT review?", [["npt"]]),  # Latin text of the corpus itself
    ("Who is the Emperor?", []),  # the dictionary knows 天皇, the corpus does not
]


NAMES_CORPUS = ["神戸と阿蘇を訪れた。", "スヴァンテ・アレニウスが温室効果を説いた。", "麻生氏が伊藤氏と会った。"]


@pytest.fixture(scope="module")
def names_bridge(tmp_path_factory: pytest.TempPathFactory) -> Bridge:
    return bridge_and_vocabulary(tmp_path_factory.mktemp("names"), NAMES_CORPUS, [])[0]


@pytest.mark.parametrize(("word", "tokens"), [
    ("kobe", ("神戸",)), ("aso", ("阿蘇",)), ("aso", ("麻生",)), ("ito", ("伊藤",)),  # short names, spelled alike
    ("arrhenius", ("スヴァンテ・アレニウス",)),  # a part of a name written with ・, its rr said as one r
])
def test_names_are_heard_short_whole_or_by_a_part(names_bridge: Bridge, word: str, tokens: tuple[str, ...]) -> None:
    term = name_term(word, names_bridge)
    assert term is not None and tokens in [alt for alt, _ in term.alternatives]


@pytest.mark.parametrize("word", ["kube", "asa", "ita", "abe", "io"])
def test_short_names_are_heard_only_when_spelled_alike(names_bridge: Bridge, word: str) -> None:
    assert name_term(word, names_bridge) is None


# A corpus that writes the UN both ways and says "start" and "number" in plain words.
FORMS_CORPUS = ["日本はUNの平和維持活動に要員を送った。国連は1945年に創設された。", "交渉を始めた。番号と数を数えた。"]
FORMS_ENTRIES = [
    ("国連", "国連", "こくれん", "P", "United Nations/UN"),
    ("始める", "始める", "はじめる", "P", "to start/to begin"),
    ("数", "数", "すう", "P", "several|quantity/amount|counting/figures/numbers"),
    ("番号", "番号", "ばんごう", "P", "number"),
]


@pytest.fixture(scope="module")
def forms_bridge(tmp_path_factory: pytest.TempPathFactory) -> tuple[Bridge, set[str]]:
    return bridge_and_vocabulary(tmp_path_factory.mktemp("forms"), FORMS_CORPUS, FORMS_ENTRIES)


@pytest.mark.parametrize(("gloss", "key"), [("UN", "=un"), ("NATO (org.)", "=nato"), ("G7", "=g7"),
                                            ("start", None), ("United Nations", None), ("A", None)])
def test_capitals_keys(gloss: str, key: str | None) -> None:
    assert capitals_key(gloss) == key


def test_an_acronym_the_corpus_writes_also_reaches_its_glosses_in_capitals(
        forms_bridge: tuple[Bridge, set[str]]) -> None:
    bridge, vocabulary = forms_bridge
    (un,) = bridge_question("When was the UN founded?", bridge, vocabulary)[:1]
    assert {("un",), ("国連",)} <= {alt for alt, _ in un.alternatives}
    assert "=un" not in bridge.key_words and "un" in bridge.key_words  # the prefixed key is no question word


def test_a_word_and_its_base_are_both_looked_up(forms_bridge: tuple[Bridge, set[str]]) -> None:
    # "numbers" is a key of its own (数's fourth sense, weak), but "number" names 番号 at full weight.
    bridge, vocabulary = forms_bridge
    (numbers,) = bridge_question("numbers", bridge, vocabulary)
    found = dict(numbers.alternatives)
    assert found[("番号",)] == 1.0 and found[("数",)] < 1.0


@pytest.mark.parametrize(("question", "expected"), BRIDGED)
def test_bridge_question(bridge: Bridge, vocabulary: set[str], question: str, expected: list[list[str]]) -> None:
    terms = bridge_question(question, bridge, vocabulary)
    reached = [[list(alt) for alt, _ in t.alternatives] for t in terms if t.source != "unbridged"]
    assert len(reached) == len(expected), reached
    for alternatives, want in zip(reached, expected, strict=True):
        assert [t.lower() for t in want] in [[t.lower() for t in a] for a in alternatives]


@pytest.fixture(scope="module")
def derived_bridge(tmp_path_factory: pytest.TempPathFactory) -> tuple[Bridge, set[str]]:
    corpus = ["市は2024年度に新しい制度を導入した。", "除雪の体制を自治体間で見直す。"]
    entries = [("導入", "導入", "どうにゅう", "P", "introduction/bringing in"),
               ("年度", "年度", "ねんど", "P", "fiscal year/financial year|academic year"),
               ("除雪", "除雪", "じょせつ", "P", "snow removal"),
               ("制度", "制度", "せいど", "P", "system/institution|tax system")]
    return bridge_and_vocabulary(tmp_path_factory.mktemp("lexicon"), corpus, entries)


@pytest.mark.parametrize(("question", "english", "japanese", "weight"), [
    ("When was the system introduced?", "introduced", ("導入",), DERIVED_WEIGHT),  # as "introduction"
    ("What changed in fiscal 2024?", "fiscal", ("年度",), PART_WEIGHT),  # a word of "fiscal year"
    ("Who clears the snow?", "snow", ("除雪",), PART_WEIGHT),  # a word of "snow removal"
    ("What is the system?", "system", ("制度",), 1.0),  # a gloss of its own: full weight
])
def test_words_no_gloss_holds_reach_their_japanese_weaker(derived_bridge: tuple[Bridge, set[str]], question: str,
                                                           english: str, japanese: tuple[str, ...],
                                                           weight: float) -> None:
    bridge, vocabulary = derived_bridge
    term = next(t for t in bridge_question(question, bridge, vocabulary) if t.english == english)
    assert dict(term.alternatives)[japanese] == pytest.approx(weight)


def test_a_word_with_a_gloss_of_its_own_is_a_part_of_phrases_too(tmp_path: Path) -> None:
    # "capital" is 資本's gloss, and a word of 首都's "capital city": the question may mean either.
    entries = [("首都", "首都", "しゅと", "P", "capital city/metropolis"),
               ("資本", "資本", "しほん", "P", "capital/funds")]
    bridge, vocabulary = bridge_and_vocabulary(tmp_path, ["首都の企業が資本を集めた。"], entries)
    (capital,) = bridge_question("What is the capital?", bridge, vocabulary)
    assert dict(capital.alternatives) == {("資本",): 1.0, ("首都",): pytest.approx(PART_WEIGHT)}


def test_a_phrase_holding_the_words_own_japanese_adds_nothing(tmp_path: Path) -> None:
    # "plan" is 計画; 戦争計画 ("war plan") would only add 戦争 to a question that never said "war".
    entries = [("計画", "計画", "けいかく", "P", "plan/project"),
               ("戦争 計画", "戦争計画", "せんそうけいかく", "", "war plan")]
    bridge, vocabulary = bridge_and_vocabulary(tmp_path, ["戦争計画と計画を立てた。"], entries)
    assert bridge.entries(PART + "plan")  # the part is in the bridge ...
    (plan,) = bridge_question("What is the plan?", bridge, vocabulary)
    assert [alt for alt, _ in plan.alternatives] == [("計画",)]  # ... but not taken for "plan"


# 関する is glossed "to concern" (a verb), 懸念 "concern" (a noun); 形 "form" takes no する, 結成 does.
USE_CORPUS = ["懸念に関する報告。", "内閣は形を変え、党を結成した。", "国が方針を述べる。"]
USE_ENTRIES = [("関する", "関する", "かんする", "P", "to concern/to be related"),
               ("懸念", "懸念", "けねん", "P", "worry/fear/anxiety/concern"),
               ("形", "形", "かたち", "P", "form/shape"),
               ("結成", "結成", "けっせい", "P", "formation/organization"),
               ("述べる", "述べる", "のべる", "P", "to state/to express"),
               ("国", "国", "くに", "P", "country/state")]


@pytest.fixture(scope="module")
def use_bridge(tmp_path_factory: pytest.TempPathFactory) -> tuple[Bridge, set[str]]:
    return bridge_and_vocabulary(tmp_path_factory.mktemp("use"), USE_CORPUS, USE_ENTRIES)


@pytest.mark.parametrize(("question", "english", "reaches", "not_reached"), [
    ("Why is the growth a concern?", "concern", [("懸念",)], ("関する",)),  # a noun: no verb's gloss
    ("What does the report concern?", "concern", [("関する",), ("懸念",)], None),  # no telling: both
    ("When was the party formed?", "formed", [("結成",)], ("形",)),  # a verb: "formation", not the noun 形
    ("What form does it take?", "form", [("形",)], None),
    ("What do the states say?", "states", [("国",)], ("述べる",)),
])
def test_a_word_reaches_what_its_use_can_mean(use_bridge: tuple[Bridge, set[str]], question: str, english: str,
                                              reaches: list[tuple[str, ...]],
                                              not_reached: tuple[str, ...] | None) -> None:
    terms = {t.english: [alt for alt, _ in t.alternatives] for t in bridge_question(question, *use_bridge)}
    assert all(tokens in terms[english] for tokens in reaches) and not_reached not in terms[english]


def test_entries_carry_their_use_marks(use_bridge: tuple[Bridge, set[str]]) -> None:
    bridge, _ = use_bridge
    assert ("関する",) in dict(bridge.entries("concern")) and ("懸念",) in dict(bridge.entries("concern"))
    assert dict(bridge.entries("concern", VERB_GLOSS)) == {("懸念",): pytest.approx(0.8)}
    assert dict(bridge.entries("form", NOT_A_PREDICATE)) == {}  # 形 takes no する
    assert ("結成",) in dict(bridge.entries("formation", NOT_A_PREDICATE))


@pytest.mark.parametrize(("question", "i", "use"), [
    ("why is the concern", 3, VERB_GLOSS), ("when was it formed", 3, NOT_A_PREDICATE),
    ("they will form", 2, NOT_A_PREDICATE), ("what do they form", 3, ""), ("formed", 0, NOT_A_PREDICATE),
    ("concern", 0, ""),
])
def test_word_use(question: str, i: int, use: str) -> None:
    assert word_use([(w, False) for w in question.split()], i) == use


def test_phrase_parts_are_keys_of_their_own(derived_bridge: tuple[Bridge, set[str]]) -> None:
    bridge, _ = derived_bridge
    assert bridge.entries("fiscal") == ()  # never a gloss alone: a part is looked up last, by its prefix
    assert [t for t, _ in bridge.entries(PART + "fiscal")] == [("年度",)]
    assert bridge.entries(PART + "year")
    assert [t for t, _ in bridge.entries(PART + "removal")] == [("除雪",)]  # each content word of the phrase
    assert not bridge.entries(PART + "tax")  # a word this short is more often a prefix (mid, sub, non)


def test_key_keeps_its_best_entries(bridge: Bridge) -> None:
    # 大統領 and 社長 are common words whose first gloss is "president"; 頭取's gloss is
    # "bank president", another key; "boss" (a later sense of 大統領) is weaker.
    assert [t for t, _ in bridge.entries("president")] == [("大統領",)]
    assert bridge.entries("boss")[0][1] < bridge.entries("president")[0][1]


def test_key_words_are_the_words_of_the_bridges_keys(bridge: Bridge) -> None:
    # "council" is held by no key of its own, only inside "security council" (安全保障理事会);
    # "emperor" is the dictionary's (天皇) but not the corpus's, so no key of this bridge.
    assert {"president", "security", "council", "nations"} <= bridge.key_words
    assert "emperor" not in bridge.key_words
    # the phrase parts (~council) are keys of the bridge, but their words are the phrases' own
    assert bridge.entries(PART + "council") and not any(w.startswith(PART) for w in bridge.key_words)


def test_key_words_of_a_lexicon(tmp_path: Path) -> None:
    words = key_words(write_lexicon(tmp_path / "lexicon.tsv.gz", ENTRIES, Tokenizer()))
    # every word of every key, of every sense and gloss: "boss" is 大統領's second sense
    assert {"president", "big", "man", "boss", "emperor", "japan", "security", "council"} <= words
    assert "nation" not in words  # "(of a nation)" qualifies the sense: no part of the key
    assert "of" in words  # a stop word inside a key ("emperor of japan") is still one of its words


def test_shipped_word_list_is_the_shipped_lexicons() -> None:
    # The list a query reads (dictionary_words) must be made from the lexicon that ships with
    # it: python benchmarks/build_lexicon.py --words-only rewrites it after a new lexicon.
    shipped = dictionary_words(WORDS_PATH)
    assert shipped == key_words(LEXICON_PATH)
    assert {"budapest", "pacific", "nordic"} <= shipped and "arrhenius" not in shipped


def test_loanword_origin_from_unidic(bridge: Bridge) -> None:
    assert bridge.entries("game") == ((("ゲーム",), 1.0),)  # ゲーム-game, no lexicon line needed


def test_weights_and_coverage(bridge: Bridge, vocabulary: set[str]) -> None:
    terms = bridge_question("Who became Iran's president?", bridge, vocabulary)
    weights = token_weights(terms)
    assert weights["大統領"] == pytest.approx(1.0)
    idf = {t: 1.0 for t in weights}
    assert term_coverage(terms, set(Tokenizer()(CORPUS[0])), idf) == 1.0
    assert term_coverage(terms, set(Tokenizer()(CORPUS[2])), idf) == 0.0
    assert term_coverage((), set(), idf) == 1.0


def held_share(terms: list[BridgedTerm], tokens: set[str], idf: dict[str, float]) -> float:
    """term_coverage as its docstring says it, a term and an alternative at a time."""
    weights = [max((min(idf.get(t, 0.0) for t in alt) for alt, _ in term.alternatives), default=0.0)
               for term in terms]
    bridged = [w for w, term in zip(weights, terms, strict=True) if term.alternatives]
    unbridged = sum(bridged) / len(bridged) if bridged else 1.0
    total = sum(w if term.alternatives else unbridged for w, term in zip(weights, terms, strict=True))
    held = sum(w for w, term in zip(weights, terms, strict=True)
               if any(all(t in tokens for t in alt) for alt, _ in term.alternatives))
    return held / total if total > 0 else 1.0


TOKENS = ["安全", "保障", "理事", "会", "大統領", "イラン", "梅雨"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.builds(BridgedTerm, st.sampled_from(["a", "b"]),
                          st.lists(st.tuples(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=4).map(tuple),
                                             st.just(1.0)), max_size=3).map(tuple),
                          st.just("dictionary")), max_size=5),
       st.lists(st.sets(st.sampled_from(TOKENS)), max_size=6),
       st.dictionaries(st.sampled_from(TOKENS), st.sampled_from([0.0, 0.5, 1.0, 2.5])))
def test_term_coverages_hold_a_term_by_any_whole_alternative(terms: list[BridgedTerm], sentences: list[set[str]],
                                                              idf: dict[str, float]) -> None:
    # term_coverages tests a term's one-token alternatives as one set and its longer ones as
    # subsets, for many sentences at once: each sentence's share must be the plain definition's.
    got = term_coverages(terms, sentences, idf)
    assert got == pytest.approx([held_share(terms, s, idf) for s in sentences], abs=1e-12)


def test_unbridged_words_count_as_missing(bridge: Bridge, vocabulary: set[str]) -> None:
    # "emperor" is in the dictionary but not in the corpus: the question is half covered at best.
    terms = bridge_question("Is the Emperor the president?", bridge, vocabulary)
    assert [t.source for t in terms] == ["unbridged", "dictionary"]
    idf = {"大統領": 2.0}
    assert term_coverage(terms, set(Tokenizer()(CORPUS[0])), idf) == pytest.approx(0.5)
    nothing = bridge_question("What is the capital of France?", bridge, vocabulary)
    assert nothing and all(t.source == "unbridged" for t in nothing)
    assert term_coverage(nothing, set(Tokenizer()(CORPUS[0])), idf) == 0.0


def test_bridge_round_trip(bridge: Bridge, tmp_path: Path) -> None:
    bridge.write(tmp_path / "bridge.json")
    assert Bridge.read(tmp_path / "bridge.json") == bridge
    assert Bridge.read(tmp_path / "missing.json") == Bridge()  # an index from before bridges


def test_damaged_bridge(tmp_path: Path) -> None:
    (tmp_path / "bridge.json").write_text('{"format": 1, "terms": [', encoding="utf-8")
    with pytest.raises(IndexFileError, match="rebuild the index"):
        Bridge.read(tmp_path / "bridge.json")


def test_term_scores_rank_the_bridged_passage(tmp_path: Path, bridge: Bridge, vocabulary: set[str]) -> None:
    from ingest import lexical

    tokenizer = Tokenizer()
    lexical.build([tokenizer(t) for t in CORPUS], tmp_path / "lex")
    index = lexical.LexicalIndex(tmp_path / "lex")
    terms = bridge_question("Who became Iran's president?", bridge, vocabulary)
    scores = term_scores(index, terms)
    assert int(np.argmax(scores)) == 0 and scores[1] == 0



LEXICON = ["安全", "保障", "理事", "会", "核", "日本", "米国"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from(LEXICON), max_size=8), min_size=1, max_size=12),
       st.lists(st.lists(st.sampled_from([*LEXICON, "未知語"]), max_size=5).map(tuple), max_size=12))
def test_alternative_rows_are_each_alternative_scored_alone(rows: list[list[str]],
                                                             alternatives: list[tuple[str, ...]]) -> None:
    # english.alternative_rows gathers every alternative's tokens a place at a time, all at once:
    # each row must be, to the bit, its tokens' BM25 columns added in their order (安全 + 保障 +
    # 理事 + 会), a token said twice counted twice and one the index lacks counted as nothing.
    import tempfile

    from ingest import lexical
    from retriever.english import alternative_rows

    with tempfile.TemporaryDirectory() as tmp:
        lexical.build(rows, Path(tmp))
        index = lexical.LexicalIndex(Path(tmp))
    got = alternative_rows(index, alternatives)
    assert got.shape == (len(alternatives), index.size) and got.dtype == np.float32
    for row, tokens in zip(got, alternatives, strict=True):
        alone = np.zeros(index.size, dtype=np.float32)
        for token in tokens:
            t = index.vocab.get(token)
            if t is not None:
                lo, hi = index.indptr[t], index.indptr[t + 1]
                alone[index.indices[lo:hi]] += index.data[lo:hi]
        assert np.array_equal(row, alone), tokens


@pytest.fixture(scope="module")
def corpus_lexical(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    tokenizer = Tokenizer()
    folder = tmp_path_factory.mktemp("lex")
    build_lexical([tokenizer(t) for t in CORPUS], folder)
    return LexicalIndex(folder)


_TOKENS = st.sampled_from(["大統領", "イラン", "首相", "安全", "保障", "理事", "会", "所沢", "大会", "NPT", "不在"])
_TERMS = st.lists(st.lists(st.tuples(st.lists(_TOKENS, min_size=1, max_size=4).map(tuple),
                                     st.sampled_from([1.0, 0.9, 0.8, 0.6, 0.48, 0.5, 0.32])), max_size=5), max_size=6)


@given(_TERMS)
def test_term_scores_are_each_terms_best_alternative_added_up(corpus_lexical: LexicalIndex,
                                                              alternatives: list[list]) -> None:
    # What term_scores computes, alternative by alternative in float32: its tokens' BM25 added
    # in order, weighed, the best per term, the terms added in order; bit for bit the same.
    terms = [BridgedTerm(f"w{i}", tuple(alts), "dictionary") for i, alts in enumerate(alternatives)]
    expected = np.zeros(corpus_lexical.size, dtype=np.float32)
    for term in terms:
        rows = []
        for tokens, w in term.alternatives:
            alt = np.zeros(corpus_lexical.size, dtype=np.float32)
            for token in tokens:
                alt += corpus_lexical.scores([token])
            rows.append(alt * np.float32(w))
        if rows:
            expected += np.max(rows, axis=0)
    found = term_scores(corpus_lexical, terms)
    assert found.dtype == np.float32 and np.array_equal(found, expected)


@given(st.text("aeiknorstuy", max_size=12), st.text("aeiknorstuy", max_size=12), st.floats(0.0, 1.0))
def test_alike_is_the_ratio_against_the_need(a: str, b: str, need: float) -> None:
    # the cheap bounds only spare the ratio, never change the answer
    assert alike(SequenceMatcher(None, a, b), need) == (SequenceMatcher(None, a, b).ratio() >= need)


# An index of a few sentences without vectors: an English question has only the bridge to go on.
ENGLISH_ASKS = [  # question, a word of the sentence that must answer it
    ("Who became Iran's president?", "ペゼシュキアン"),
    ("Where was the game tournament held?", "所沢"),
    ("What did the prime minister say in the Security Council?", "首相"),
    ("When will the NPT review conference be held?", "NPT"),
]


@pytest.fixture(scope="module")
def lexical_retriever(tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    from ingest import build_index

    folder = tmp_path_factory.mktemp("lexical")
    # The NPT sentence first: with no evidence an answer would be the first sentence.
    (folder / "news.txt").write_text("\n\n".join(reversed(CORPUS)) + "\n", encoding="utf-8")
    build_index([folder / "news.txt"], folder / "index", embedder="none")
    return Retriever.load(folder / "index")


def test_words_framing_a_view_are_not_bridged(bridge: Bridge, vocabulary: set[str]) -> None:
    # "author", "think": 筆者, 考える are in the view sentences of every report, whatever they are about
    terms = bridge_question("What does the author think of Iran's president?", bridge, vocabulary)
    assert [t.english for t in terms] == ["iran", "president"]


# Countries as English names them and as Japanese reports join them (米中, 米露).
COUNTRY_CORPUS = ["米中の対話は進まない。", "米国と中国は協議した。", "米露の条約は失効する。", "欧州の制度は異なる。",
                  "新START条約の後継をめぐる交渉を始める。"]
COUNTRY_ENTRIES = [("米国", "米国", "べいこく", "P", "America/USA"), ("中国", "中国", "ちゅうごく", "P", "China"),
                   ("ロシア", "ロシア", "ろしあ", "P", "Russia"), ("欧州", "欧州", "おうしゅう", "P", "Europe"),
                   ("始める", "始める", "はじめる", "P", "to start/to begin")]


@pytest.fixture(scope="module")
def country_bridge(tmp_path_factory: pytest.TempPathFactory) -> tuple[Bridge, set[str]]:
    return bridge_and_vocabulary(tmp_path_factory.mktemp("countries"), COUNTRY_CORPUS, COUNTRY_ENTRIES)


@pytest.mark.parametrize(("question", "english", "reaches"), [
    ("Why did US–China talks stall?", "america", ("米", "中")),  # MeCab splits 米中
    ("Why did US–China talks stall?", "china", ("米", "中")),
    ("What will happen to the US–Russia treaty?", "america", ("米露",)),  # one token
    ("Did the United States talk to China?", "america", ("米国",)),  # not "united" + "states"
    ("How does the European system differ?", "european", ("欧州",)),  # a demonym is its country too
    ("How will Beijing respond?", "beijing", ("中国",)),  # a capital is its government: the corpus has no 北京
    ("Why did Washington–Beijing talks stall?", "washington", ("米", "中")),  # and pairs as its country does
    ("When do the talks start?", "start", ("始める",)),  # a word is still glossed
])
def test_countries_reach_their_japanese(country_bridge: tuple[Bridge, set[str]], question: str, english: str,
                                        reaches: tuple[str, ...]) -> None:
    terms = {t.english: [alt for alt, _ in t.alternatives] for t in bridge_question(question, *country_bridge)}
    assert reaches in terms[english]


def test_an_acronym_the_corpus_writes_is_its_name_not_a_word(country_bridge: tuple[Bridge, set[str]]) -> None:
    # 新START条約: START is the treaty's name, not "start" (始める), when the corpus spells it so
    terms = {t.english: t for t in bridge_question("What will replace New START?", *country_bridge)}
    assert [alt for alt, _ in terms["start"].alternatives] == [("start",)] and terms["start"].source == "latin"
    # an acronym the corpus does not write in Latin letters keeps the dictionary's glosses
    terms = {t.english: t for t in bridge_question("When do the talks START?", country_bridge[0], {"始める"})}
    assert ("始める",) in [alt for alt, _ in terms["start"].alternatives]


def test_us_is_a_country_only_in_capitals(country_bridge: tuple[Bridge, set[str]]) -> None:
    assert [t.english for t in bridge_question("Tell us about China.", *country_bridge)] == ["tell", "china"]


def one_document(tmp_path: Path, text: str) -> Retriever:
    """A lexical index (no embedder) of one document holding ``text``, loaded."""
    from ingest import build_index

    (tmp_path / "doc.txt").write_text(text, encoding="utf-8")
    build_index([tmp_path / "doc.txt"], tmp_path / "index", embedder="none")
    return Retriever.load(tmp_path / "index")


def test_why_is_answered_by_the_reason_after_its_restatement(tmp_path: Path) -> None:
    r = one_document(
        tmp_path, "■ 日本の関与\n\n日本は島嶼国への援助を続けてきた。筆者は、日本が中国に対抗するための援助を打ち出す"
        "べきではないと考える。島嶼国は大国の競争の駒として扱われることを嫌うからである。援助の決定には時間がかかる。\n")
    question = "Why shouldn't Japan present its aid as countering China?"
    assert r.ask(question).answer.text.endswith("嫌うからである。")  # type: ignore[union-attr]
    # Without the sentence after the best match, the restatement (it shares more words) wins.
    plain = r.with_settings(sentence_weights={**HAND_SET, "follows_match": 0.0, "follows_match_stated": 0.0})
    assert plain.ask(question).answer.text.startswith("筆者は")  # type: ignore[union-attr]


# A decision, the sentence that says why, and what follows from it.
STOCKPILE = ("■ 備蓄\n\n市の備蓄は3日分を基本としてきた。しかし、道路の寸断で物資が届くまでに時間がかかる。"
             "このため、備蓄を7日分へ引き上げる。\n")


def sentence_feature(r: Retriever, question: str, name: str) -> dict[str, float]:
    """Feature ``name`` of each candidate sentence (by its first four characters) as
    Retriever.rank_sentences fills it for ``question``, its best three passages searched."""
    from retriever.retriever import SENTENCE_FEATURES

    column = SENTENCE_FEATURES.index(name)
    q = r.analyse(question)
    fused, _ = r.fuse(q, None, None)
    top = [int(p) for p in np.argsort(-fused)[:3]]
    ranking = r.rank_sentences(q, r.candidates(q, top), fused, None)
    return {r.index.units.text[u][:4]: float(ranking.x[i, column]) for i, u in enumerate(ranking.cand)}


def test_prev_match_is_how_well_the_sentence_before_matches(tmp_path: Path) -> None:
    r = one_document(tmp_path, STOCKPILE)
    why = sentence_feature(r, "Why is the city's stockpile being raised from three days?", "prev_match")
    # the sentence after the best match (市の備蓄は…, stockpile, city, days) gets 1, the first none
    assert why["しかし、"] == 1.0 and why["市の備蓄"] == 0.0 and 0.0 <= why["このため"] < 1.0
    # asked for a fact, not a reason, it is not computed
    assert set(sentence_feature(r, "How many days of stockpile did the city keep?", "prev_match").values()) == {0.0}


def test_bridged_coverage_is_read_for_a_fact_asked_only(tmp_path: Path) -> None:
    r = one_document(tmp_path, STOCKPILE)
    fact = sentence_feature(r, "Which city keeps a stockpile?", "bridged_coverage")
    # the sentence that says both 市 and 備蓄 holds more of the question than the one saying 備蓄 alone
    assert fact["市の備蓄"] > fact["このため"] > fact["しかし、"] == 0.0
    # a reason asked, or a description (how…), is often stated in a sentence of other words: not read
    for question in ("Why is the city raising its stockpile?", "How does the city keep its stockpile?"):
        assert set(sentence_feature(r, question, "bridged_coverage").values()) == {0.0}


def test_a_view_is_answered_by_the_sentence_taking_up_its_topic(tmp_path: Path) -> None:
    r = one_document(
        tmp_path, "■ 見通し\n\n米中の交渉は来月に再開される。しかし、交渉で合意に至るまでには長い時間がかかる。"
        "両国の貿易額は増えている。\n")
    question = "What does the author expect from the US–China negotiations?"
    assert r.ask(question).answer.text.startswith("しかし")  # type: ignore[union-attr]
    plain = r.with_settings(sentence_weights={**HAND_SET, "follows_match_linked": 0.0})
    assert plain.ask(question).answer.text.startswith("米中の交渉")  # type: ignore[union-attr]


@pytest.mark.parametrize(("question", "word"), ENGLISH_ASKS)
def test_english_question_finds_its_sentence(lexical_retriever: Retriever, question: str, word: str) -> None:
    answer = lexical_retriever.ask(question)
    assert answer.language == "en" and answer.answer is not None
    assert word in answer.answer.text


# The bundled report, asked in English (issue 14's cases).
REPORT_SHORT = [  # question, the short answer it must get
    ("Who became Iran's president?", "ペゼシュキアン"),  # 大統領 in the sentence, not アラグチ (外相)
    ("Who became Iran's foreign minister?", "アラグチ"),
]


@pytest.mark.parametrize(("question", "short"), REPORT_SHORT)
def test_report_english_short_answer(report_retriever: Retriever, question: str, short: str) -> None:
    answer = report_retriever.ask(question)
    assert answer.short is not None and answer.short.text == short


@pytest.mark.parametrize("question", ["What is the capital of France?"])
def test_report_english_off_topic_abstains(report_retriever: Retriever, question: str) -> None:
    answer = report_retriever.ask(question)
    assert answer.abstained and answer.why


def test_report_english_glosses(report_retriever: Retriever) -> None:
    from ingest.clean import clean

    answer = report_retriever.ask("Who became Iran's president?")
    notes = {g.text: g for g in answer.gloss}
    assert notes["大統領"].gloss.startswith("president") and notes["大統領"].source == "EDICT"
    assert notes["ペゼシュキアン"].romaji == "pezeshukian" and notes["ペゼシュキアン"].source == "reading"
    raw = next(s.text for s in report_retriever.index.sources if s.doc == answer.answer.doc)
    for g in answer.gloss:  # offsets reproduce the source, like a citation's
        assert clean(raw[g.start:g.end]) == g.text
    assert answer.as_dict()["answer"]["gloss"][0].keys() == {"text", "start", "end", "gloss", "romaji", "source"}
    japanese = report_retriever.ask("イランの大統領に就任したのは誰か")
    assert japanese.gloss == () and "gloss" not in japanese.as_dict()["answer"]


def test_index_from_before_bridges_answers_english(report_retriever: Retriever) -> None:
    # No bridge.json: English is answered as before bridges (by the dense score), not refused
    # for having no word the (empty) bridge knows.
    r = report_retriever.with_settings()
    r.index = _WithoutBridge(r.index)  # type: ignore[assignment]
    answer = r.ask("Who became Iran's president?")
    assert not answer.abstained and answer.answer is not None and "大統領" in answer.answer.text
    assert answer.gloss == ()


class _WithoutBridge:
    def __init__(self, index: object) -> None:
        self._index, self.bridge = index, Bridge()

    def __getattr__(self, name: str) -> object:
        return getattr(self._index, name)


def test_damaged_bridge_in_an_index_is_reported_when_used(tmp_path: Path) -> None:
    from ingest import build_index
    from retriever.store import IndexReader

    (tmp_path / "news.txt").write_text(CORPUS[0] + "\n", encoding="utf-8")
    build_index([tmp_path / "news.txt"], tmp_path / "index", embedder="none")
    reader = IndexReader(tmp_path / "index")
    (reader.generation / "bridge.json").write_text("{", encoding="utf-8")
    reader = IndexReader(tmp_path / "index")  # loading reads the file; parsing waits for English
    with pytest.raises(IndexFileError, match="English bridge is damaged"):
        reader.bridge  # noqa: B018 - the property parses it


def test_english_terms_are_worked_out_once_per_answer(report_retriever: Retriever,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # The absent-names rule and the abstain model's evidence read the same terms: once, not twice.
    calls = []
    terms = Retriever.terms
    monkeypatch.setattr(Retriever, "terms", lambda self, q, best: calls.append(best) or terms(self, q, best))
    answer = report_retriever.ask("Who became Iran's president?")
    assert not answer.abstained and len(calls) == 1
