"""Asking within some documents (`--doc`, `ask(..., docs=[...])`): the restriction is applied
inside the search, so a small document is not crowded out by a large corpus (issue 16).

The corpus: the bundled report beside the four documents of benchmarks/data/natural, the
mix a researcher builds; lexical-only, so the index takes a second. The dense path gets a
two-document e5 index of its own.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import error_line

from ingest import build_index
from ingest.errors import InputError
from qa_cli.main import main
from retriever import Retriever

ROOT = Path(__file__).resolve().parent.parent
NATURAL = ROOT / "benchmarks" / "data" / "natural" / "docs"
# The four documents the test was written for (the folder has gained others since).
FOUR = ("shiomi-city-disaster-plan.txt", "energy-transition-white-paper.txt", "minato-foods-integrated-report.txt",
        "mitsumine-ageing-labour-study.txt")
SHIOMI = "reports/shiomi-city-disaster-plan.txt"
ENERGY = "reports/energy-transition-white-paper.txt"
REPORT = "reports/nuclear-outlook-2025.txt"


@pytest.fixture(scope="module")
def mixed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mixed")
    reports = root / "reports"
    reports.mkdir()
    for f in [*(NATURAL / name for name in FOUR), ROOT / "corpus" / "nuclear-outlook-2025.txt"]:
        shutil.copy(f, reports / f.name)
    build_index([reports], root / "index", "none")
    return root / "index"


@pytest.fixture(scope="module")
def mixed(mixed_index: Path) -> Retriever:
    return Retriever.load(mixed_index)


def test_the_documents_a_pattern_picks(mixed: Retriever) -> None:
    assert len(mixed.documents()) == 5
    assert mixed.documents(["*shiomi*"]) == [SHIOMI]
    assert mixed.documents(["*防災計画*", REPORT]) == [REPORT, SHIOMI]  # a title glob and an id; index order
    with pytest.raises(InputError, match=r"--doc 'reports/shiomi-city.txt' matches no document \(near: " + SHIOMI):
        mixed.ask("備蓄は何日分か", docs=["reports/shiomi-city.txt"])  # a misremembered id


def test_scope_is_worked_out_once_per_pattern_set(mixed: Retriever) -> None:
    # `kotae ask -` and eval ask every question with the same --doc: the masks are reused
    scope = mixed.scope(["*shiomi*", REPORT])
    assert scope is mixed.scope(["*shiomi*", REPORT]) and mixed.scope(None) is None
    assert scope is not None
    assert int(scope.passages.sum()) == sum(1 for d in mixed.index.passages.doc
                                            if mixed.index.sources[d].doc in (SHIOMI, REPORT))


def test_answer_comes_from_the_chosen_document(mixed: Retriever) -> None:
    q = "2027年度までに備蓄を何日分に引き上げるか"
    a = mixed.ask(q, k=3, docs=["*shiomi*"])
    assert a.answer is not None and a.answer.doc == SHIOMI
    assert "7日分" in a.answer.text
    assert [c.doc for c in a.citations] == [SHIOMI] * 3


def test_a_small_document_is_not_crowded_out(mixed: Retriever) -> None:
    # A question the report answers, asked of the energy paper alone. Ranked over the whole
    # corpus, other documents fill the top three; filtering that top three afterwards would
    # leave nothing. Restricted inside the search, the energy paper's own passages are
    # ranked among themselves and fill all three citations.
    q = "安保理決議2231はいつ終了するか"
    everywhere = mixed.ask(q, k=3)
    assert REPORT in {c.doc for c in everywhere.citations}
    assert ENERGY not in {c.doc for c in everywhere.citations}
    within = mixed.ask(q, k=3, docs=[ENERGY])
    assert [c.doc for c in within.citations] == [ENERGY] * 3
    assert within.answer is None or within.answer.doc == ENERGY


def test_questions_about_the_document_itself_stay_inside(mixed: Retriever) -> None:
    # 筆者は誰か brings in bylines wherever they rank: only the chosen documents' bylines
    a = mixed.ask("この報告書の筆者は誰か", docs=[ENERGY])
    assert all(c.doc == ENERGY for c in a.citations)
    assert a.answer is None or a.answer.doc == ENERGY
    b = mixed.ask("この報告書の筆者は誰か", docs=[REPORT])
    assert b.answer is not None and "秋山信将" in b.answer.text


def test_ask_many_with_docs_matches_ask(mixed: Retriever) -> None:
    qs = ["備蓄は何日分に引き上げるか", "洋上風力のコストはなぜ上がったか"]
    many = mixed.ask_many(qs, k=2, docs=["*shiomi*", "*energy*"])
    one = [mixed.ask(q, k=2, docs=["*shiomi*", "*energy*"]) for q in qs]
    assert [a.citations for a in many] == [a.citations for a in one]
    assert {c.doc for a in many for c in a.citations} <= {SHIOMI, ENERGY}


def test_cli_ask_and_eval_with_doc(mixed_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "備蓄は何日分に引き上げるか", "--index", str(mixed_index), "--doc", "*shiomi*",
                 "--doc", "*nuclear*", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {c["doc"] for c in d["citations"]} <= {SHIOMI, REPORT}
    assert d["answer"]["doc"] == SHIOMI
    qs = tmp_path / "q.jsonl"
    qs.write_text(json.dumps({"id": "s1", "question": "備蓄は何日分に引き上げるか", "answers": ["7日分"]},
                             ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "rows.jsonl"
    assert main(["eval", str(qs), "--index", str(mixed_index), "--doc", ENERGY, "--out", str(out), "--json"]) == 0
    (row,) = map(json.loads, out.read_text(encoding="utf-8").splitlines())
    assert {c["doc"] for c in row["citations"]} == {ENERGY}  # the answer is elsewhere: not found, honestly
    assert row["verdicts"]["hit@k"] is False
    capsys.readouterr()
    assert main(["ask", "備蓄は", "--index", str(mixed_index), "--doc", "shiomi.txt"]) == 2
    line = error_line(capsys.readouterr().err)
    assert "--doc 'shiomi.txt' matches no document (near: " in line and SHIOMI in line


def test_dense_search_is_restricted_too(tmp_path: Path) -> None:
    corpus = tmp_path / "two"
    corpus.mkdir()
    (corpus / "bousai.txt").write_text("◆◆防災\n市は9月1日に総合防災訓練を行う。\n避難所は小学校の体育館である。\n",
                                       encoding="utf-8")
    (corpus / "uriage.txt").write_text("◆◆業績\n当期の売上高は1,234億円となった。\n営業利益は前期比5％増えた。\n",
                                       encoding="utf-8")
    build_index([corpus], tmp_path / "index")  # e5-small-q4: dense and lexical fused
    r = Retriever.load(tmp_path / "index")
    everywhere = r.ask("当期の売上高はいくらか", k=2)
    assert everywhere.answer is not None and everywhere.answer.doc == "two/uriage.txt"
    within = r.ask("当期の売上高はいくらか", k=2, docs=["two/bousai.txt"])
    assert within.citations and all(c.doc == "two/bousai.txt" for c in within.citations)
    assert within.answer is None or within.answer.doc == "two/bousai.txt"


def test_langchain_retriever_keeps_to_its_documents(mixed: Retriever) -> None:
    pytest.importorskip("langchain_core")
    from retriever.langchain import KotaeRetriever

    found = KotaeRetriever(retriever=mixed, k=2, docs=["*shiomi*"]).invoke("備蓄は何日分に引き上げるか")
    assert [d.metadata["doc"] for d in found] == [SHIOMI, SHIOMI]
    assert "7日分" in found[0].metadata["answer"]["text"]
