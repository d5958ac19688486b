"""The retriever on the report: answers, citations that reproduce their source, abstention, errors.

One index of the report with the default embedder (e5-small-q4) is built per session
(conftest.report_index); tests that damage an index copy it first. Line numbers in
comments refer to corpus/nuclear-outlook-2025.txt.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ingest import build_index
from ingest.clean import clean, normalize
from ingest.errors import IndexFileError, InputError, IntegrityError
from ingest.generations import generation
from ingest.manifest import MANIFEST
from retriever import Answer, Citation, Retriever
from retriever.language import detect_language
from retriever.question import takes_up
from retriever.retriever import HAND_SET, SENTENCE_FEATURES, SENTENCE_RANKER_FILE

QUESTIONS = Path(__file__).resolve().parent.parent / "corpus" / "questions" / "report.jsonl"

# (question, a substring of the answer sentence, the answer's unit kind or None for a sentence)
ANSWER_CASES = [
    # the byline, l.128: a question about the document itself, not its content
    ("この論考の筆者は誰か", "秋山信将", "byline"),
    ("Who wrote this report?", "秋山信将", "byline"),
    # the motivating example of DESIGN.md, l.95-96: 2025 年 10 月18日 in the source
    ("安保理決議2231はいつ終了するか", "2025年10月18日", "sentence"),
    ("When does UN Security Council resolution 2231 expire?", "2025年10月18日", "sentence"),
    # the photo caption, l.88-89, which PDF extraction dropped between two paragraphs
    ("掲載されている写真は、ロシアが何を実施した様子か", "戦略核演習", "caption"),
    ("Who provided the photo of Russia's strategic nuclear exercise?", "Russian Defense Ministry Press Service",
     "caption"),
    # l.92-93
    ("国際派と目され、イランの大統領に就任したのは誰か", "ペゼシュキアン", "sentence"),
    ("Who became Iran's foreign minister?", "アラグチ氏が外相となった", "sentence"),
    # l.38-42: the first sentence of a section, wrapped over five lines
    ("ロシアが新START条約の履行停止を宣言したのはいつか", "2023年2月", "sentence"),
    ("When was the failed test of Russia's Sarmat ICBM reported?", "2024年9月", "sentence"),  # l.17
    # l.67-75: the sentence wrapped in a narrow column beside the photo
    ("中国は原潜の動力炉の燃料として何の移転に係る保障措置を問題にしているか", "高濃縮ウラン", "sentence"),
    ("Which Iranian organisation did Soleimani command?", "イスラム革命防衛隊のソレイマニ司令官", "sentence"),
]


@pytest.mark.parametrize(("question", "expected", "kind"), ANSWER_CASES)
def test_answers(report_retriever: Retriever, question: str, expected: str, kind: str) -> None:
    a = report_retriever.ask(question)
    assert not a.abstained
    assert a.answer is not None
    assert normalize(expected) in normalize(a.answer.text), a.answer.text
    assert a.answer.kind == kind
    assert a.answer.doc == "corpus/nuclear-outlook-2025.txt"
    assert a.language == ("en" if question.isascii() else "ja")


DESIGN_KEYS = {"question", "language", "abstained", "why", "answer", "citations", "timings_ms"}
SPAN_KEYS = {"text", "doc", "path", "start", "end", "section", "lines", "pages", "score", "gaps"}


def test_as_dict_has_the_design_keys(report_retriever: Retriever, report_index: Path) -> None:
    a = report_retriever.ask("When does UN Security Council resolution 2231 expire?")
    d = a.as_dict()
    # the stable id, and the file's absolute path when it was ingested
    report = (report_index.parent / "corpus" / "nuclear-outlook-2025.txt").resolve()
    assert d["answer"]["doc"] == "corpus/nuclear-outlook-2025.txt"
    assert d["answer"]["path"] == str(report) and all(c["path"] == str(report) for c in d["citations"])
    assert set(d) == DESIGN_KEYS
    assert (d["question"], d["language"], d["abstained"]) == (a.question, "en", False)
    # an English question's answer also carries its dictionary glosses (DESIGN.md, issue 14)
    assert set(d["answer"]) >= SPAN_KEYS
    assert set(d["answer"]) - SPAN_KEYS <= {"kind", "short", "short_candidates", "confidence", "confident", "gloss"}
    assert all(g["source"] in ("EDICT", "reading") for g in d["answer"]["gloss"])
    assert d["answer"]["gaps"] == []  # l.95-96 skips no caption
    assert d["answer"]["short"]["text"] == "2025年10月18日"
    assert d["answer"]["lines"] == [95, 96] and d["answer"]["pages"] is None
    assert d["answer"]["section"] == "不透明感が増す北朝鮮・イラン問題"
    assert len(d["citations"]) == 3  # k defaults to 3
    for c in d["citations"]:
        assert set(c) >= SPAN_KEYS and set(c) - SPAN_KEYS <= {"kind"}
        assert isinstance(c["lines"], list) and len(c["lines"]) == 2 and c["lines"][0] <= c["lines"][1]
        assert isinstance(c["start"], int) and isinstance(c["end"], int)
    assert set(d["timings_ms"]) == {"embed", "search", "answer", "total"}
    assert all(isinstance(v, float) and v >= 0 for v in d["timings_ms"].values())
    assert d["timings_ms"]["total"] >= d["timings_ms"]["embed"]
    assert json.loads(json.dumps(d, ensure_ascii=False)) == d  # plain JSON types only
    # the answer sentence lies inside the first citation
    first = d["citations"][0]
    assert first["doc"] == d["answer"]["doc"]
    assert first["start"] <= d["answer"]["start"] < d["answer"]["end"] <= first["end"]
    assert d["answer"]["text"] in first["text"]


def test_answer_sentence_is_inside_the_first_citation(report_retriever: Retriever) -> None:
    for question, _, _ in ANSWER_CASES:
        a = report_retriever.ask(question, k=2)
        assert a.answer is not None and len(a.citations) == 2
        first = a.citations[0]
        assert (first.doc, first.start <= a.answer.start, a.answer.end <= first.end) == (a.answer.doc, True, True)


# -- every span reproduces its source ---------------------------------------------


@pytest.fixture(scope="module")
def all_answers(report_retriever: Retriever) -> list[Answer]:
    """Every question of the report's question set, with five citations each."""
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    return report_retriever.ask_many(questions, k=5)


def _gaps_of(report_index: Path) -> dict[tuple[str, int, int, str], tuple[tuple[int, int], ...]]:
    """(kind of row, start, end, text) -> the raw spans it skips, read from the index's SQLite store."""
    conn = sqlite3.connect(generation(report_index) / "store.sqlite")
    try:
        out = {}
        for table in ("units", "passages"):
            for start, end, gaps, text in conn.execute(f'SELECT start, "end", gaps, text FROM {table}'):
                out[(table, start, end, text)] = tuple(tuple(g) for g in json.loads(gaps))
        return out
    finally:
        conn.close()


def test_every_citation_reproduces_its_source(all_answers: list[Answer], report_index: Path,
                                              report_path: Path) -> None:
    raw = report_path.read_bytes().decode("utf-8")  # the document's decoded text, byte for byte
    gaps = _gaps_of(report_index)
    spans: list[tuple[str, Citation]] = [("passages", c) for a in all_answers for c in a.citations]
    spans += [("units", a.answer) for a in all_answers if a.answer is not None]
    assert len(spans) > 56 * 5
    with_gaps = 0
    for table, c in spans:
        g = gaps[(table, c.start, c.end, c.text)]
        assert c.gaps == g  # the citation carries the store's gaps, so JSON clients can check it
        with_gaps += bool(g)
        relative = [(s - c.start, e - c.start) for s, e in g]
        assert clean(raw[c.start:c.end], relative) == c.text
        assert c.doc == "corpus/nuclear-outlook-2025.txt"
    assert with_gaps  # the passages around the caption (l.88-89) skip it and are cited too


def without_gaps(raw: str, start: int, end: int, gaps: list[list[int]]) -> str:
    """raw[start:end] with the gaps deleted and all whitespace removed: the README's check."""
    kept, pos = [], start
    for a, b in sorted(gaps):
        kept.append(raw[pos:a])
        pos = max(pos, b)
    kept.append(raw[pos:end])
    return "".join("".join(kept).split())


def test_json_citations_check_without_kotae(all_answers: list[Answer], report_path: Path) -> None:
    # What a client without kotae can do with the JSON alone (README "What a citation means"):
    # cleaning only deletes or collapses whitespace, so the span minus its gaps, without
    # whitespace, is the text without whitespace.
    raw = report_path.read_bytes().decode("utf-8")
    spans = [c for a in all_answers for c in a.as_dict()["citations"]]
    spans += [a.as_dict()["answer"] for a in all_answers if a.answer is not None]
    for c in spans:
        assert without_gaps(raw, c["start"], c["end"], c["gaps"]) == "".join(c["text"].split()), c
        assert all(c["start"] <= a < b <= c["end"] for a, b in c["gaps"])
    with_gaps = [c for c in spans if c["gaps"]]
    assert with_gaps  # passages around the caption (l.88-89)
    # and ignoring the gaps would not match: the check has teeth
    assert all(without_gaps(raw, c["start"], c["end"], []) != "".join(c["text"].split()) for c in with_gaps)


def test_every_short_answer_reproduces_its_source(all_answers: list[Answer], report_path: Path) -> None:
    raw = report_path.read_bytes().decode("utf-8")
    shorts = [a for a in all_answers if a.short is not None]
    assert len(shorts) >= 15
    for a in shorts:
        assert a.answer is not None and a.answer.doc == "corpus/nuclear-outlook-2025.txt"
        assert 0 <= a.short.start < a.short.end <= len(raw)
        assert normalize(raw[a.short.start:a.short.end]) == normalize(a.short.text)


def test_every_short_answer_lies_inside_its_answer_sentence(all_answers: list[Answer]) -> None:
    # ShortAnswer: "the exact fact a question asks for, inside the answer sentence";
    # as_dict() nests it in "answer".
    outside = [(a.question, a.short.text) for a in all_answers
               if a.short is not None and a.answer is not None
               and not (a.answer.start <= a.short.start < a.short.end <= a.answer.end)]
    assert outside == []


# -- a wrong quote fails loudly -------------------------------------------------------

# (table, SQL that changes the text of the rows holding the answer)
TAMPER_CASES = [
    ("passages", "UPDATE passages SET text = replace(text, '2025年10月18日', '2025年10月19日') "
                 "WHERE text LIKE '%2025年10月18日%'"),
    ("units", "UPDATE units SET text = replace(text, '2025年10月18日', '2025年10月19日') "
              "WHERE text LIKE '%2025年10月18日%'"),
]


@pytest.mark.parametrize(("table", "sql"), TAMPER_CASES)
def test_tampered_store_raises(report_index: Path, tmp_path: Path, table: str, sql: str) -> None:
    copy = tmp_path / "index"
    shutil.copytree(report_index, copy, symlinks=True)
    conn = sqlite3.connect(generation(copy) / "store.sqlite")
    try:
        assert conn.execute(sql).rowcount >= 1
        conn.commit()
    finally:
        conn.close()
    tampered = Retriever.load(copy)
    with pytest.raises(IntegrityError, match="does not reproduce its source") as err:
        tampered.ask("安保理決議2231はいつ終了するか")
    assert err.value.exit_code == 70
    # questions whose citations are untouched still work
    assert "秋山信将" in tampered.ask("この論考の筆者は誰か").answer.text


# -- abstention ---------------------------------------------------------------------------


def test_unanswerable_questions_abstain(report_retriever: Retriever) -> None:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    unanswerable = [r["question"] for r in rows if r["answers"] == []]
    assert len(unanswerable) == 6
    answers = report_retriever.ask_many(unanswerable)
    abstained = [a for a in answers if a.abstained]
    assert len(abstained) >= 5, [(a.question, a.answer and a.answer.text) for a in answers if not a.abstained]
    for a in abstained:
        assert a.answer is None and a.short is None
        assert len(a.citations) == 3  # the closest passages are still shown
        d = a.as_dict()
        assert d["abstained"] is True and d["answer"] is None and len(d["citations"]) == 3
        assert a.why and d["why"] == a.why  # a user sees why kotae said nothing


# (question, words the reason must hold): each abstention rule, and the reason it gives
WHY_CASES = [
    ("英国が保有する核弾頭数は何発か", "no number of 発"),  # ja-u1: the count of 発 is missing
    ("日本の首相の好きな食べ物は何か", "content words"),  # shares almost nothing with any sentence
    ("How many ICBM silos has China built so far?", "asks for a number of 基"),  # en-u1
    ("？？？", "no letters or digits"),
]


@pytest.mark.parametrize(("question", "reason"), WHY_CASES)
def test_an_abstention_says_why(report_retriever: Retriever, question: str, reason: str) -> None:
    a = report_retriever.ask(question)
    assert a.abstained and a.why is not None and reason in a.why


def test_an_answer_has_no_why(report_retriever: Retriever) -> None:
    a = report_retriever.ask("安保理決議2231はいつ終了するか")
    assert not a.abstained and a.why is None and a.as_dict()["why"] is None


# -- language -----------------------------------------------------------------------------

LANGUAGE_CASES = [
    ("安保理決議2231はいつ終了するか", "ja"),
    ("この論考の筆者は誰か", "ja"),
    ("核兵器不拡散条約", "ja"),  # all kanji: the corpus is Japanese
    ("ＮＰＴで核兵器国はいくつあるか", "ja"),  # full-width Latin inside Japanese
    ("When does UN Security Council resolution 2231 expire?", "en"),
    ("Who wrote this report?", "en"),
    ("ICBM", "en"),
    # a letter or an acronym inside Japanese is a name, not "a", "at", "it" (JSQuAD: these were
    # mixed, and short answers went unranked as Japanese)
    ("ISO/TS 16949では附則Aとして何を規定しているか", "ja"),
    ("ATは何の転換行列か", "ja"),
    ("ITの発展は何をもたらしたか", "ja"),
    ("軌道長半径において、Tは年で表した公転周期とするとaは", "ja"),
    # English words around a Japanese term
    ("What is 戦略的敗北?", "mixed"),
    ("What is a 戦略的敗北?", "mixed"),
    ("Who is ペゼシュキアン?", "mixed"),
    ("핵무기는 몇 개인가?", "other"),  # Korean
    ("Кто написал этот доклад?", "other"),  # Russian
    ("", "other"),
    ("？？？", "other"),
    ("!?.,", "other"),
    ("2231", "other"),
]


@pytest.mark.parametrize(("text", "lang"), LANGUAGE_CASES)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


# -- a missing, damaged or mismatched index -----------------------------------------------


@pytest.fixture()
def index_copy(report_index: Path, tmp_path: Path) -> Path:
    """A copy of the live generation of the report index, to damage."""
    copy = tmp_path / "gen"
    shutil.copytree(generation(report_index), copy)
    return copy


def _edit_manifest(**changes: object) -> Callable[[Path], None]:
    def edit(gen: Path) -> None:
        m = json.loads((gen / MANIFEST).read_text(encoding="utf-8"))
        for key, value in changes.items():
            if value is None:
                del m[key]
            else:
                m[key] = value
        (gen / MANIFEST).write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    return edit


def _write(name: str, data: bytes | Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def edit(gen: Path) -> None:
        path = gen / name
        path.write_bytes(data(path.read_bytes()) if callable(data) else data)
    return edit


def _sql(statement: str) -> Callable[[Path], None]:
    def edit(gen: Path) -> None:
        conn = sqlite3.connect(gen / "store.sqlite")
        try:
            conn.execute(statement)
            conn.commit()
        finally:
            conn.close()
    return edit


# (what is done to a copy of the index, words of the error)
DAMAGE_CASES = [
    pytest.param(_edit_manifest(format=99), "format 99 is newer", id="format-99"),
    pytest.param(_edit_manifest(embedder={"spec": "e5-small-q4", "dim": 16}), "16", id="dim-mismatch"),
    pytest.param(_edit_manifest(embedder={"spec": "none", "dim": 384}), "0 dimensions", id="spec-mismatch"),
    pytest.param(lambda g: (g / MANIFEST).unlink(), "not a kotae index", id="no-manifest"),
    pytest.param(lambda g: (g / "units.faiss").unlink(), "units.faiss", id="units-faiss-deleted"),
    pytest.param(_write("units.faiss", lambda b: b[: len(b) // 2]), "units.faiss", id="units-faiss-truncated"),
    pytest.param(_write("units.faiss", b"IxFI" + bytes(range(256)) * 8), "units.faiss", id="units-faiss-garbage"),
    pytest.param(_write("passages.faiss", b""), "passages.faiss", id="passages-faiss-empty"),
    pytest.param(_write("store.sqlite", b"junk" * 1024), "store", id="store-junk"),
    pytest.param(_write("store.sqlite", lambda b: b[:100] + b"\xff" * (len(b) - 100)), "store",
                 id="store-junk-after-header"),
    pytest.param(lambda g: (g / "store.sqlite").unlink(), "store is missing", id="store-deleted"),
    pytest.param(_sql("DROP TABLE units"), "store", id="store-no-units-table"),
    pytest.param(lambda g: shutil.rmtree(g / "lexical"), "lexical", id="lexical-deleted"),
    pytest.param(_write("lexical/units/data.csc.index.npy", b"junk"), "lexical", id="lexical-junk"),
    pytest.param(_sql("DELETE FROM passages WHERE id > 3"), "lexical index does not match", id="store-rows-lost"),
    # a manifest must say which embedder built the index
    pytest.param(_edit_manifest(embedder=None), "manifest", id="manifest-without-embedder"),
    pytest.param(_edit_manifest(embedder={"spec": "e5-small-q4", "dim": "384d"}), "manifest",
                 id="manifest-dim-not-a-number"),
    # rows the store holds but cannot parse
    pytest.param(_sql("UPDATE passages SET gaps = 'not json' WHERE id = 1"), "store", id="store-bad-gaps"),
    pytest.param(_sql("DELETE FROM units WHERE id > 10"), "store", id="store-dangling-unit-ids"),
]


@pytest.mark.parametrize(("damage", "says"), DAMAGE_CASES)
def test_damaged_index_raises_index_file_error(index_copy: Path, damage: Callable[[Path], None],
                                                says: str) -> None:
    damage(index_copy)
    with pytest.raises(IndexFileError, match=says) as err:
        Retriever.load(index_copy).ask("安保理決議2231はいつ終了するか")
    assert err.value.exit_code == 3
    message = str(err.value)
    assert "\n" not in message
    assert "rebuild" in message or "kotae ingest" in message  # the fix


def test_wrong_embedder_raises(report_index: Path, tmp_path: Path) -> None:
    with pytest.raises(IndexFileError, match="built with embedder 'e5-small-q4', not 'none'"):
        Retriever.load(report_index, embedder="none")
    assert Retriever.load(report_index, embedder="e5-small-q4").index.dim == 384
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("安保理決議2231は2025年10月18日に終了する。\n", encoding="utf-8")
    lexical = tmp_path / "lexical"
    build_index([docs], lexical, "none")
    with pytest.raises(IndexFileError, match="built with embedder 'none', not 'e5-small-q4'"):
        Retriever.load(lexical, embedder="e5-small-q4")


@pytest.mark.parametrize("where", ["missing", "empty-dir", "a-file"])
def test_no_index_raises(tmp_path: Path, where: str) -> None:
    path = tmp_path / where
    if where == "empty-dir":
        path.mkdir()
    elif where == "a-file":
        path.write_text("not an index", encoding="utf-8")
    with pytest.raises(IndexFileError, match="kotae ingest"):
        Retriever.load(path)


# -- questions at the edges -------------------------------------------------------------------


@pytest.mark.parametrize("question", ["", " ", "\u3000\n\t ", "\x00\x01\x1b"])
def test_empty_question_raises(report_retriever: Retriever, question: str) -> None:
    with pytest.raises(InputError, match="empty") as err:
        report_retriever.ask(question)
    assert err.value.exit_code == 2


def test_bad_k_raises(report_retriever: Retriever) -> None:
    with pytest.raises(InputError, match="k must be at least 1"):
        report_retriever.ask("安保理決議2231はいつ終了するか", k=0)


EDGE_QUESTIONS = [
    "？？？",
    "!",
    "安保理決議2231はいつ終了するか" * 600,  # 10,000 characters
    "\x00安保理\x07決議\x1b2231は\u200bいつ\r終了するか\x7f",  # control characters
    "핵무기는 몇 개인가?",  # Korean
    "🙂🙂🙂",
    "ａｂｃ１２３",
    "<script>alert(1)</script>",
    "'; DROP TABLE passages; --",
]


@pytest.mark.parametrize("question", EDGE_QUESTIONS, ids=range(len(EDGE_QUESTIONS)))
def test_odd_questions_are_answered_without_raising(report_retriever: Retriever, question: str) -> None:
    a = report_retriever.ask(question)
    assert isinstance(a, Answer)
    assert len(a.citations) == 3
    assert a.abstained == (a.answer is None)
    assert len(a.question) <= 2000 and a.question.isprintable()
    json.dumps(a.as_dict(), ensure_ascii=False)


def test_control_characters_do_not_change_the_answer(report_retriever: Retriever) -> None:
    plain = report_retriever.ask("安保理決議2231はいつ終了するか")
    noisy = report_retriever.ask("\x00安保理決議2231は\x07いつ終了するか\x1b")
    assert noisy.answer is not None and plain.answer is not None
    assert (noisy.answer.start, noisy.answer.end) == (plain.answer.start, plain.answer.end)


def test_ask_many_equals_ask(report_retriever: Retriever) -> None:
    questions = ["安保理決議2231はいつ終了するか", "Who wrote this report?", "英国が保有する核弾頭数は何発か",
                 "Who became Iran's foreign minister?", "掲載されている写真は、ロシアが何を実施した様子か"]

    def spans(a: Answer) -> tuple:
        return (a.question, a.language, a.abstained, a.answer and (a.answer.start, a.answer.end),
                tuple((c.doc, c.start, c.end) for c in a.citations),
                a.short and (a.short.text, a.short.start, a.short.end, round(a.short.confidence or 0.0, 3)))

    batch = report_retriever.ask_many(questions)
    assert [spans(a) for a in batch] == [spans(report_retriever.ask(q)) for q in questions]
    assert report_retriever.ask_many([]) == []
    with pytest.raises(InputError):
        report_retriever.ask_many(["安保理決議2231はいつ終了するか", "  "])


def test_neighbour_features_read_the_sentences_around(report_retriever: Retriever) -> None:
    # l.95-96: 「…安保理決議 2231 は、2025 年 10 月18日に終了する。」 states the date asked for, so
    # the sentence before it has a date next and the sentence after it a date before
    r = report_retriever
    units = r.index.units
    at = next(u for u, text in enumerate(units.text) if "2025年10月18日に終了" in text)
    cand = [at - 1, at, at + 1]
    x = r.rank_sentences(r.analyse("安保理決議2231はいつ終了するか"), cand, np.ones(len(r.index.passages)), None).x
    column = SENTENCE_FEATURES.index
    assert x[:, column("next_type")].tolist() == [1.0, 0.0, float("date" in units.facts[at + 2])]
    assert x[:, column("prev_type")].tolist() == [float("date" in units.facts[at - 2]), 0.0, 1.0]
    assert x[:, column("takes_up")].tolist() == [float(takes_up(units.text[u])) for u in cand]
    assert r.next_candidates(cand) == [1, 2, -1] and r.next_candidates([at + 1, at]) == [-1, 0]
    # a question that asks for no kind of fact leaves them at 0
    x = r.rank_sentences(r.analyse("北朝鮮は何を進めているか"), cand, np.ones(len(r.index.passages)), None).x
    assert not x[:, [column("prev_type"), column("next_type")]].any()


def test_sentence_weights_name_the_features(report_retriever: Retriever) -> None:
    # the default weights, given again as a table, choose the same sentences: the learned
    # ranker for Japanese questions, the hand-set weights for English ones
    learned = json.loads(SENTENCE_RANKER_FILE.read_text(encoding="utf-8"))["weights"]
    for table, questions in ((learned, ["安保理決議2231はいつ終了するか", "この章の脱稿日はいつか"]),
                             (HAND_SET, ["Who became Iran's foreign minister?"])):
        given = report_retriever.with_settings(sentence_weights=table)
        assert [a.answer.text for a in report_retriever.ask_many(questions)] == \
            [a.answer.text for a in given.ask_many(questions)]
    questions = ["安保理決議2231はいつ終了するか"]
    # weighing only the sentence's length picks a longer sentence than the defaults: the weights decide
    default = report_retriever.ask(questions[0])
    longest = report_retriever.with_settings(sentence_weights={"log_length": 1.0}, abstain_coverage=0.0,
                                             abstain_fact_coverage=0.0).ask(questions[0])
    assert default.answer is not None and longest.answer is not None
    assert longest.answer.text != default.answer.text and len(longest.answer.text) > len(default.answer.text)
    with pytest.raises(InputError, match="no_such_feature"):
        report_retriever.with_settings(sentence_weights={"no_such_feature": 1.0})
