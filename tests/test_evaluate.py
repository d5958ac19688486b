"""Question sets and their figures: reading JSONL and SQuAD, judging answers, summarising.

The figures are checked against numbers computed by hand from Answers made here,
so no index or model is needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.errors import InputError
from qa_cli.report import failures_markdown
from retriever import Answer, Citation, Retriever, ShortAnswer
from retriever.evaluate import (
    CITATION_NOT_FOUND,
    FALSE_ABSTENTION,
    MISSED_ABSTENTION,
    WRONG_SENTENCE,
    WRONG_SHORT,
    Question,
    Verdicts,
    corpus_index,
    found,
    judge,
    outcome_row,
    read_questions,
    summarize,
    verdicts,
)

# -- reading JSONL ------------------------------------------------------------

JSONL_LINES = [
    '{"id": "a", "question": "安保理決議2231はいつ終了するか", "answers": ["2025年10月18日"], "lang": "ja"}',
    "{not json",  # 2: malformed
    '{"id": "b", "answers": ["x"]}',  # 3: no question text
    '{"id": "a", "question": "同じidの質問", "answers": []}',  # 4: duplicate id
    '{"id": "c", "question": "Who wrote this report?", "answers": ["秋山信将"], "source": "ignored"}',
    "",  # 6: blank lines are skipped silently
    '["a", "list"]',  # 7: not an object
    '{"id": "d", "question": "   ", "answers": []}',  # 8: whitespace is no question
    '{"id": "e", "question": "英国が保有する核弾頭数は何発か", "answers": []}',  # unanswerable
    '{"question": "この章の脱稿日はいつか", "answers": "2024年12月11日"}',  # 10: no id, one answer as a string
    '{"id": "f", "question": "誰が外相になったか", "answers": [1, 2]}',  # 11: answers not strings
]


def test_read_jsonl_keeps_the_usable_questions(tmp_path: Path) -> None:
    path = tmp_path / "qs.jsonl"
    path.write_text("\n".join(JSONL_LINES) + "\n", encoding="utf-8")
    qs = read_questions(path)
    assert [q.id for q in qs.questions] == ["a", "c", "e", "line-10"]
    a, c, e, ten = qs.questions
    assert a == Question("a", "安保理決議2231はいつ終了するか", ("2025年10月18日",), "ja")
    assert c.answers == ("秋山信将",) and c.lang == "en"  # no "lang": detected; "source" ignored
    assert e.answers == () and e.lang == "ja"
    assert ten.answers == ("2024年12月11日",)
    assert qs.documents is None
    # every problem names its file and line
    lines = {int(p.split(":")[1]): p for p in qs.problems}
    assert sorted(lines) == [2, 3, 4, 7, 8, 11]
    assert "not JSON" in lines[2]
    assert "no question" in lines[3] and "no question" in lines[8]
    assert "duplicate id 'a'" in lines[4]
    assert "not a JSON object" in lines[7]
    assert "answers must be a list of strings" in lines[11]
    assert all(p.startswith(str(path)) and p.endswith("skipped") for p in qs.problems)


def test_read_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "qs.jsonl"
    path.write_bytes("\ufeff".encode() + (JSONL_LINES[0] + "\r\n" + JSONL_LINES[4] + "\r\n").encode())
    qs = read_questions(path)
    assert [q.id for q in qs.questions] == ["a", "c"] and qs.problems == []


@pytest.mark.parametrize(("content", "says"), [
    ("{not json\n[1]\n", "no usable questions"),
    ('{"id": "b", "answers": ["x"]}\n', "no question text"),
    ("\n\n", "no usable questions"),
    ("", "no usable questions"),
])
def test_nothing_usable_raises(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=says) as err:
        read_questions(path)
    assert str(path) in str(err.value) and err.value.exit_code == 2


def test_unreadable_files_raise(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such question file"):
        read_questions(tmp_path / "missing.jsonl")
    cp932 = tmp_path / "cp932.jsonl"
    cp932.write_bytes('{"question": "誰か"}'.encode("cp932"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_questions(cp932)


# -- reading SQuAD ------------------------------------------------------------

SQUAD = {"version": "v1.1", "data": [
    {"title": "核兵器不拡散条約", "paragraphs": [
        {"context": "核兵器不拡散条約 [SEP] 核兵器不拡散条約は1970年に発効した。5つの核兵器国を認めている。",
         "qas": [{"id": "q1", "question": "核兵器不拡散条約はいつ発効したか",
                  "answers": [{"text": "1970年", "answer_start": 23}, {"text": "1970年", "answer_start": 23}]},
                 {"id": "q2", "question": "When did the NPT enter into force?",
                  "answers": [{"text": "1970年", "answer_start": 23}]}]},
        {"context": "核兵器不拡散条約 [SEP] 運用検討会議は5年ごとに開かれる。",
         "qas": [{"id": "q3", "question": "運用検討会議は何年ごとに開かれるか",
                  "answers": [{"text": "5年", "answer_start": 18}]}]}]},
    {"title": "包括的共同作業計画", "paragraphs": [
        {"context": "包括的共同作業計画 [SEP] 米国は2018年に包括的共同作業計画から離脱した。",
         "qas": [{"id": "q4", "question": "イランの首都はどこか", "answers": [], "is_impossible": True}]}]},
]}


@pytest.fixture()
def squad_file(tmp_path: Path) -> Path:
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def test_read_squad(squad_file: Path) -> None:
    qs = read_questions(squad_file)
    assert [q.id for q in qs.questions] == ["q1", "q2", "q3", "q4"]
    assert [q.lang for q in qs.questions] == ["ja", "en", "ja", "ja"]
    assert qs.questions[0].answers == ("1970年",)  # duplicate gold answers folded
    assert qs.questions[3].answers == ()  # is_impossible: the right result is to abstain
    docs = qs.documents
    assert docs is not None
    assert [d.doc for d in docs] == ["核兵器不拡散条約/0", "核兵器不拡散条約/1", "包括的共同作業計画/0"]
    for d, para in zip(docs, [p for a in SQUAD["data"] for p in a["paragraphs"]], strict=True):
        assert d.text == para["context"]  # the context exactly, title and [SEP] included
        assert d.title is not None and d.text[d.title[0]:d.title[1]] == d.doc.split("/")[0]
        assert d.text[d.body_start:] == para["context"].split(" [SEP] ", 1)[1]
    assert qs.context_of == {"q1": "核兵器不拡散条約/0", "q2": "核兵器不拡散条約/0",
                             "q3": "核兵器不拡散条約/1", "q4": "包括的共同作業計画/0"}
    assert len(qs.digest) == 64
    assert qs.problems == []


def test_squad_contexts_become_a_corpus(squad_file: Path, tmp_path: Path) -> None:
    qs = read_questions(squad_file)
    index = corpus_index(qs, tmp_path / "cache", "none")
    assert index.parent == tmp_path / "cache"
    assert corpus_index(qs, tmp_path / "cache", "none") == index  # cached by content
    a = Retriever.load(index).ask(qs.questions[0].question)
    assert a.answer is not None and "1970年" in a.answer.text
    assert a.answer.doc == qs.context_of["q1"]
    assert "[SEP]" not in a.answer.text


def test_squad_without_questions_raises(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{"context": "t [SEP] 本文。", "qas": []}]}]}),
                    encoding="utf-8")
    with pytest.raises(InputError, match="no questions"):
        read_questions(path)


# -- found: gold answers after normalisation ------------------------------------

FOUND_CASES = [
    (["2024年11月"], "2024 年 11 月の現時点に至るまで", True),  # l.14: layout spaces around digits
    (["2024 年 11 月"], "2024年11月の現時点", True),
    (["ICBM"], "新型 icbm「サルマート」", True),  # case folded
    (["NPT"], "核兵器不拡散条約（ＮＰＴ）", True),  # full-width: NFKC
    (["two-peer"], "いわゆる「two-\npeer」問題", True),
    (["2025年10月18日"], "2025年10月", False),
    (["最小報復戦略", "minimum retaliation strategy"], "（minimum\nretaliation strategy）", True),
    ([""], "何でも", False),  # an empty gold answer matches nothing
    ([" "], "何でも", False),
    (["秋山信将"], None, False),
    (["秋山信将"], "", False),
    ([], "秋山信将", False),
]


@pytest.mark.parametrize(("gold", "text", "expected"), FOUND_CASES)
def test_found(gold: list[str], text: str | None, expected: bool) -> None:
    assert found(gold, text) is expected


# -- judge and summarize on hand-made answers -------------------------------------


def cite(text: str, start: int = 0) -> Citation:
    return Citation(text=text, doc="corpus/x.txt", start=start, end=start + len(text), section=None,
                    lines=(1, 1), pages=None, score=0.5)


def answer(question: str, sentence: str | None, passages: list[str], total_ms: float,
           abstained: bool = False) -> Answer:
    return Answer(question=question, language="ja", abstained=abstained,
                  answer=None if sentence is None else cite(sentence),
                  citations=tuple(cite(p, 100 * i) for i, p in enumerate(passages)),
                  timings_ms={"embed": 1.0, "search": 1.0, "answer": 1.0, "total": total_ms})


OTHER = "関係のない文である。"
# (question, answer, rank, answer_correct)
JUDGED = [
    # ja: the answer sentence holds the gold answer -> rank 1, correct
    (Question("j1", "安保理決議2231はいつ終了するか", ("2025年10月18日",), "ja"),
     answer("q", "安保理決議2231は、2025年10月18日に終了する。", ["…2025年10月18日に終了する。", OTHER], 10), 1, True),
    # en: found only in the second citation -> rank 2, answer wrong
    (Question("e1", "Who became Iran's foreign minister?", ("アラグチ",), "en"),
     answer("q", OTHER, [OTHER, "アラグチ氏が外相となった。"], 20), 2, False),
    # ja: found nowhere
    (Question("j2", "トランプ前政権がJCPOAから離脱したのは何年か", ("2018年",), "ja"),
     answer("q", OTHER, [OTHER, OTHER, OTHER], 30), None, False),
    # en: an abstention on an answerable question is a miss, even if a citation holds it
    (Question("e2", "When was the failed test of the Sarmat reported?", ("2024年9月",), "en"),
     answer("q", None, ["2024年9月には新型ICBM「サルマート」の試験の失敗が報じられ"], 40, abstained=True), None, False),
    # ja: unanswerable and abstained: right
    (Question("j3", "英国が保有する核弾頭数は何発か", (), "ja"), answer("q", None, [OTHER], 50, abstained=True),
     None, False),
    # en: unanswerable but answered: wrong, but no false abstention
    (Question("e3", "Where will the 2026 NPT Review Conference be held?", (), "en"),
     answer("q", OTHER, [OTHER], 60), None, False),
    # ja: gold "2024年11月" against the source's layout "2024 年 11 月" (l.14)
    (Question("j4", "ロシアの核のシグナルはいつまで続いているか", ("2024年11月",), "ja"),
     answer("q", "2024 年 11 月の現時点に至るまで", [OTHER], 70), 1, True),
    # en: found in the sixth citation: counts for MRR, not for hit@5
    (Question("e4", "Who wrote this report?", ("秋山信将",), "en"),
     answer("q", OTHER, [OTHER] * 5 + ["秋山信将／軍縮・科学技術センター所長"], 80), 6, False),
    # ja: the first citation holds it but the answer sentence does not: hit@1, answer wrong
    (Question("j5", "この章の脱稿日はいつか", ("2024年12月11日",), "ja"),
     answer("q", OTHER, ["（脱稿日2024年12月11日　秋山信将）", OTHER], 90), 1, False),
]


@pytest.mark.parametrize(("question", "given", "rank", "correct"), JUDGED, ids=[q.id for q, *_ in JUDGED])
def test_judge(question: Question, given: Answer, rank: int | None, correct: bool) -> None:
    o = judge(question, given)
    assert (o.rank, o.answer_correct) == (rank, correct)
    assert o.answerable is bool(question.answers)


# The verdicts of each JUDGED case, and the one kind of failure a false verdict files it under.
# (hit@1, hit@k, answer sentence, abstention right; failure) — no short answers given here.
VERDICTS = {
    "j1": (True, True, True, True, None),
    "e1": (False, True, False, True, WRONG_SENTENCE),
    "j2": (False, False, False, True, CITATION_NOT_FOUND),
    "e2": (False, False, False, False, FALSE_ABSTENTION),
    "j3": (None, None, None, True, None),
    "e3": (None, None, None, False, MISSED_ABSTENTION),
    "j4": (True, True, True, True, None),
    "e4": (False, True, False, True, WRONG_SENTENCE),
    # Issue 16: the first citation holds the gold but the answer sentence does not. The old
    # report, which listed rank != 1, missed this one.
    "j5": (True, True, False, True, WRONG_SENTENCE),
}


@pytest.mark.parametrize(("question", "given"), [(q, a) for q, a, _, _ in JUDGED], ids=[q.id for q, *_ in JUDGED])
def test_verdicts(question: Question, given: Answer) -> None:
    v = verdicts(judge(question, given))
    *expected, failure = VERDICTS[question.id]
    assert (v.hit_at_1, v.hit_at_k, v.answer_sentence, v.abstention) == tuple(expected)
    assert (v.short_exact, v.short_f1) == (None, None)  # no short answer was given
    assert v.failure(bool(question.answers)) == failure
    assert (failure is not None) == any(x is False for x in v.as_dict().values())


def with_short(a: Answer, text: str) -> Answer:
    return Answer(question=a.question, language=a.language, abstained=a.abstained, answer=a.answer,
                  citations=a.citations, timings_ms=a.timings_ms, short=ShortAnswer(text, 0, len(text), "date"))


@pytest.mark.parametrize(("short", "exact", "f1", "failure"), [
    ("2025年10月18日", True, 1.0, None),
    ("2025 年 10 月 18 日", True, 1.0, None),  # layout spaces do not count
    ("2025年10月", False, round(2 * 1 * (8 / 11) / (1 + 8 / 11), 4), WRONG_SHORT),  # en-06's kind of miss
])
def test_short_answer_verdicts(short: str, exact: bool, f1: float, failure: str | None) -> None:
    question, given, *_ = JUDGED[0]
    o = judge(question, with_short(given, short))
    row = outcome_row(o)
    assert row["verdicts"]["short_exact"] is exact and row["verdicts"]["short_f1"] == f1
    assert row["failure"] == failure
    assert row["gold"] == ["2025年10月18日"] and row["id"] == "j1"
    assert verdicts(o) == Verdicts(True, True, True, exact, verdicts(o).short_f1, True)
    md = failures_markdown([o], summarize([o]), "one.jsonl")
    assert (f"- short answer: {short} (character F1 {f1:.2f} against the best gold)" in md) is (not exact)


def test_report_lists_every_failure_under_its_kind() -> None:
    outcomes = [judge(q, a) for q, a, _, _ in JUDGED]
    md = failures_markdown(outcomes, summarize(outcomes), "hand.jsonl")
    listed: dict[str, str] = {}
    kind = ""
    for line in md.splitlines():
        if line.startswith("## "):
            kind = line[3:].rsplit(" (", 1)[0]
        elif line.startswith("### "):
            listed[line[4:].split(" ")[0]] = kind
    assert listed == {qid: v[-1] for qid, v in VERDICTS.items() if v[-1] is not None}
    assert "Failures: 6 of 9 questions" in md
    assert "- gold: (none: kotae should abstain)" in md  # e3
    assert "- kotae: abstained" in md  # e2


def test_summarize_by_hand() -> None:
    summary = summarize([judge(q, a) for q, a, _, _ in JUDGED], seconds=2.0)
    s = summary.as_dict()  # the object of `kotae eval --json`
    assert (summary.hit_at_1, summary.abstention.false_abstentions) == (s["hit@1"], 1)
    # 9 questions, 7 answerable (j1 e1 j2 e2 j4 e4 j5):
    # ranks 1, 2, -, -, 1, 6, 1 ; answer correct j1, j4
    assert s["n"] == 9 and s["answerable"] == 7
    assert s["hit@1"] == round(3 / 7, 4) == 0.4286
    assert s["hit@5"] == round(4 / 7, 4) == 0.5714
    assert s["mrr"] == round((1 + 1 / 2 + 1 + 1 / 6 + 1) / 7, 4) == 0.5238
    assert s["answer_accuracy"] == round(2 / 7, 4) == 0.2857
    assert s["abstention"] == {"unanswerable": 2, "abstained": 1, "false_abstentions": 1}
    # totals 10, 20, … 90 ms: median 50; p95 interpolates between 80 and 90
    assert s["latency_ms"] == {"p50": 50.0, "p95": 86.0}
    assert s["seconds"] == 2.0 and s["questions_per_s"] == 4.5
    assert set(s["by_lang"]) == {"ja", "en"}
    ja, en = s["by_lang"]["ja"], s["by_lang"]["en"]
    # ja: j1 j2 j3 j4 j5; answerable j1 j2 j4 j5 with ranks 1, -, 1, 1 and correct j1 j4
    assert (ja["n"], ja["answerable"], ja["hit@1"], ja["hit@5"], ja["mrr"], ja["answer_accuracy"]) == \
        (5, 4, 0.75, 0.75, 0.75, 0.5)
    assert ja["abstention"] == {"unanswerable": 1, "abstained": 1, "false_abstentions": 0}
    # en: e1 e2 e3 e4; answerable e1 e2 e4 with ranks 2, -, 6
    assert (en["n"], en["answerable"], en["hit@1"], en["hit@5"], en["mrr"], en["answer_accuracy"]) == \
        (4, 3, 0.0, 0.3333, round((1 / 2 + 1 / 6) / 3, 4), 0.0)
    assert en["abstention"] == {"unanswerable": 1, "abstained": 0, "false_abstentions": 1}
    assert "by_lang" not in ja
    json.dumps(s)  # what `kotae eval --json` prints


def test_summarize_nothing() -> None:
    s = summarize([]).as_dict()
    assert (s["n"], s["hit@1"], s["hit@5"], s["mrr"], s["answer_accuracy"]) == (0, 0.0, 0.0, 0.0, 0.0)
    assert s["latency_ms"] == {"p50": 0.0, "p95": 0.0} and s["by_lang"] == {}


# A SQuAD file that is not quite SQuAD must be an InputError naming the file, like a bad JSONL line.
BAD_SQUAD = [
    pytest.param({"data": [{"title": "t", "paragraphs": [{"qas": []}]}]}, id="paragraph-without-context"),
    pytest.param({"data": [{"title": "t", "paragraphs": [{"context": "t [SEP] 本文。",
                                                         "qas": [{"question": "何か", "answers": []}]}]}]},
                 id="question-without-id"),
    pytest.param({"data": [{"title": "t", "paragraphs": [{"context": "t [SEP] 本文。", "qas": [
        {"id": "1", "question": "何か", "answers": [{"answer_start": 0}]}]}]}]}, id="answer-without-text"),
    pytest.param({"data": "not a list"}, id="data-not-a-list"),
    pytest.param({"data": [1, 2]}, id="article-not-an-object"),
]


@pytest.mark.parametrize("data", BAD_SQUAD)
def test_malformed_squad_raises_input_error(tmp_path: Path, data: dict) -> None:
    path = tmp_path / "bad-squad.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InputError, match=r"bad-squad\.json"):
        read_questions(path)
