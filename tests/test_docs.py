"""`kotae docs` and ingest.catalog: what an index holds, on a small corpus of a user's own files."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from helpers import error_line

from ingest import build_index
from ingest.catalog import DocName, DocumentInfo, document_title, documents, select_documents
from ingest.errors import InputError
from ingest.load import documents_from_texts
from ingest.records import Document
from qa_cli.docs import openable, outline, render_document
from qa_cli.main import main

NOTICE = """汐見市　総合防災訓練のお知らせ

1. 総合防災訓練の実施について
汐見市では、9月1日に市内全域で総合防災訓練を実施します。
（1）実施日時
2025年9月1日の午前9時から正午までです。
2. 参加の方法
各地区の指定避難所に集合してください。
（脱稿日2025 年 8 月1日　大森早苗／防災推進課長）
"""
ABSTRACT = "◆◆要旨\n\n本研究は三峰県の介護人材の需給を2040年まで推計した。\n"


def by_id(found: list[DocumentInfo]) -> dict[str, DocumentInfo]:
    return {d.id: d for d in found}


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "reports"
    root.mkdir()
    (root / "notice.txt").write_text(NOTICE, encoding="utf-8")
    (root / "abstract.txt").write_bytes(ABSTRACT.encode("cp932"))
    return root


def test_documents_lists_what_each_file_holds(corpus: Path, tmp_path: Path) -> None:
    build_index([corpus], tmp_path / "index", "none")
    found = by_id(documents(tmp_path / "index"))
    assert set(found) == {"reports/notice.txt", "reports/abstract.txt"}
    notice = found["reports/notice.txt"]
    assert notice.path == str((corpus / "notice.txt").resolve())
    assert notice.title == "汐見市\u3000総合防災訓練のお知らせ"
    assert (notice.meta.author, notice.meta.date, notice.meta.affiliation) == ("大森早苗", "2025-08-01", "防災推進課長")
    assert [(s.text, s.level, s.line) for s in notice.sections] == [
        ("汐見市\u3000総合防災訓練のお知らせ", None, 1), ("1.総合防災訓練の実施について", 1, 3),
        ("（1）実施日時", None, 5), ("2.参加の方法", 1, 7)]
    assert notice.chars == len(NOTICE) and notice.pages is None
    assert notice.sha256 == hashlib.sha256(NOTICE.encode("utf-8")).hexdigest()
    assert datetime.fromisoformat(notice.ingested or "").tzinfo is not None
    abstract = found["reports/abstract.txt"]
    assert abstract.title is None  # it opens with its first section, ◆◆要旨
    assert [s.text for s in abstract.sections] == ["要旨"]
    assert abstract.sha256 == hashlib.sha256(ABSTRACT.encode("cp932")).hexdigest()  # of the file's bytes
    assert not abstract.meta.as_dict()


def test_ingest_time_and_path_survive_an_update(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index([corpus], index, "none")
    first = by_id(documents(index))
    # the abstract changes, the notice does not; the directory is ingested again
    (corpus / "abstract.txt").write_text(ABSTRACT + "結果は表1に示す。\n", encoding="utf-8")
    build_index([corpus], index, "none")
    second = by_id(documents(index))
    assert second["reports/notice.txt"] == first["reports/notice.txt"]  # reused: same time, same path
    assert second["reports/abstract.txt"].sha256 != first["reports/abstract.txt"].sha256
    assert (second["reports/abstract.txt"].ingested or "") >= (first["reports/abstract.txt"].ingested or "")
    # another folder ingested into the same index: the first folder's documents are kept as they were
    other = tmp_path / "other"
    other.mkdir()
    (other / "memo.txt").write_text("◆◆覚書\n本文である。\n", encoding="utf-8")
    build_index([other], index, "none")
    third = by_id(documents(index))
    assert third["reports/notice.txt"] == first["reports/notice.txt"]
    assert third["other/memo.txt"].path == str((other / "memo.txt").resolve())


def test_text_given_through_the_api_has_no_path(tmp_path: Path) -> None:
    build_index(None, tmp_path / "index", "none",
                documents=documents_from_texts([("memo", "◆◆概要\n本文である。\n")]))
    (memo,) = documents(tmp_path / "index")
    assert (memo.id, memo.path, memo.title) == ("memo", None, None)


def test_pages_of_a_pdf(tmp_path: Path) -> None:
    pages = ["新START条約は2026年2月に期限を迎える。\n\f", "運用検討会議は2026年に開かれる。\n"]
    text = "".join(pages)
    pdf = Document(doc="two.pdf", text=text, sha256=hashlib.sha256(text.encode()).hexdigest(), encoding="pdf",
                   page_starts=(0, len(pages[0])))
    build_index(None, tmp_path / "index", "none", documents=[pdf])
    (info,) = documents(tmp_path / "index")
    assert (info.pages, info.chars) == (2, len(text))
    assert render_document(info).splitlines()[2] == f"  size      {len(text)} characters · 2 pages · 0 sections"


def test_kotae_docs_json_and_terminal(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "index"
    build_index([corpus], index, "none")
    capsys.readouterr()
    assert main(["docs", "--index", str(index), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["documents"]
    assert [d["id"] for d in listed] == ["reports/abstract.txt", "reports/notice.txt"]
    keys = {"id", "path", "title", "author", "date", "affiliation", "sections", "pages", "chars", "sha256",
            "ingested"}
    assert all(set(d) == keys for d in listed)  # one shape: no author line is null, not absent
    abstract, notice = listed
    assert (abstract["author"], notice["author"]) == (None, "大森早苗")
    assert notice["sections"][1] == {"text": "1.総合防災訓練の実施について", "level": 1, "line": 3}
    monkeypatch.chdir(tmp_path)
    assert main(["docs", "--index", str(index)]) == 0
    out = capsys.readouterr().out
    assert "  path      reports/notice.txt\n" in out  # opens from the current directory
    assert "  by        大森早苗 · 2025-08-01 · 防災推進課長\n" in out
    assert "            1.総合防災訓練の実施について  (line 3)\n" in out
    assert "              （1）実施日時  (line 5)\n" in out  # under 1., one level deeper


def test_kotae_docs_shows_what_a_pattern_picks(corpus: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    index = tmp_path / "index"
    build_index([corpus], index, "none")
    capsys.readouterr()
    assert main(["docs", "--index", str(index), "--json", "--doc", "*防災*"]) == 0
    assert [d["id"] for d in json.loads(capsys.readouterr().out)["documents"]] == ["reports/notice.txt"]
    assert main(["docs", "--index", str(index), "--doc", "notise.txt"]) == 2
    assert "near: reports/notice.txt" in error_line(capsys.readouterr().err)


def test_kotae_docs_without_an_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", "--index", str(tmp_path / "nothing")]) == 3
    assert "no index at" in error_line(capsys.readouterr().err)


def test_openable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    report = tmp_path / "a" / "x.txt"
    report.write_text("核。", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert openable("corpus/x.txt", str(report)) == os.path.join("a", "x.txt")  # under here: relative
    monkeypatch.chdir(tmp_path / "b")
    assert openable("corpus/x.txt", str(report)) == str(report)  # elsewhere: absolute
    assert openable("corpus/x.txt", str(tmp_path / "gone.txt")) == "corpus/x.txt"  # gone: the id
    assert openable("memo", None) == "memo"


@pytest.mark.parametrize(("text", "title"), [
    ("汐見市　地域防災計画の見直しについて\n\n2025年4月1日\n", "汐見市\u3000地域防災計画の見直しについて"),
    ("\ufeffエネルギー転換年次報告2025\n\n第2部\n", "エネルギー転換年次報告2025"),
    # a subtitle under it belongs to it; a date or an imprint line does not
    ("ミナトフーズ株式会社\n統合報告書2025（抜粋）\n発行日：2025年8月29日\n",
     "ミナトフーズ株式会社 統合報告書2025（抜粋）"),
    ("地方圏における高齢化と労働力の需給\n―三峰県の2040年までの推計―\n",
     "地方圏における高齢化と労働力の需給 ―三峰県の2040年までの推計―"),
    ("地域防災計画の見直しについて\n2025年4月1日\n", "地域防災計画の見直しについて"),
    ("地域防災計画の見直しについて\n発行：防災推進課\n", "地域防災計画の見直しについて"),
    ("地域防災計画の見直し\n本計画は市の防災体制を定める。\n", "地域防災計画の見直し"),
    ("◆◆概観\n\n核を取り巻く…\n", None),  # a section marker
    ("核を取り巻く国際環境は厳しさを増している。\n", None),  # a sentence
    ("（脱稿日2024 年 12 月11日　秋山信将）\n", None),  # a byline
    ("\n\n", None),
    ("\n \n汐見市のお知らせ\n\n", "汐見市のお知らせ"),  # blank lines before it
])
def test_document_title(text: str, title: str | None) -> None:
    assert document_title(text) == title


def test_outline_depths() -> None:
    from ingest.catalog import Section

    sections = [Section("第1節現状", 2, 1), Section("（1）送電網", None, 2), Section("第2節課題", 2, 3),
                Section("はじめに", None, 4)]
    assert outline(sections) == [0, 1, 0, 1]
    assert outline([Section("概観", None, 1)]) == [0]


# -- --doc patterns ------------------------------------------------------------------

NAMES = [
    DocName("reports/notice.txt", "/home/u/reports/notice.txt", "汐見市\u3000総合防災訓練のお知らせ"),
    DocName("reports/annual-report.pdf", "/home/u/reports/annual-report.pdf", "ミナトフーズ株式会社"),
    DocName("corpus/nuclear-outlook-2025.txt", "/opt/kotae/corpus/nuclear-outlook-2025.txt", None),
    DocName("memo", None, None),  # text given through the API
]

SELECT_CASES = [
    (["reports/notice.txt"], [0]),  # an id
    (["/home/u/reports/annual-report.pdf"], [1]),  # an absolute path
    (["*.pdf"], [1]),  # a glob on the path or the file name
    (["notice*"], [0]),
    (["reports/*"], [0, 1]),  # a glob on the id
    (["*防災*"], [0]),  # a glob on the title
    (["ミナトフーズ株式会社"], [1]),  # a title as it is
    (["memo", "nuclear-outlook-2025.txt"], [2, 3]),  # repeatable; the file name alone
    (["*.txt", "reports/notice.txt"], [0, 2]),  # overlapping patterns pick each document once
]


@pytest.mark.parametrize(("patterns", "expected"), SELECT_CASES)
def test_select_documents(patterns: list[str], expected: list[int]) -> None:
    assert select_documents(patterns, NAMES) == expected


def test_select_a_relative_path_from_the_current_directory(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    names = [DocName("reports/notice.txt", str(tmp_path / "u" / "reports" / "notice.txt"), None)]
    assert select_documents(["u/reports/notice.txt"], names) == [0]
    assert select_documents(["./u/reports/notice.txt"], names) == [0]


@pytest.mark.parametrize(("pattern", "near"), [
    ("reports/notise.txt", "near: reports/notice.txt"),  # a typo
    ("anual-report*", "near: reports/annual-report.pdf"),
    ("防災訓練", "near: reports/notice.txt"),  # part of a title, without the glob stars
    ("annual.pdf", "near: reports/annual-report.pdf"),  # the file name's stem, inside the id
    ("*.docx", "4 documents, e.g. reports/notice.txt, reports/annual-report.pdf, corpus/"),
])
def test_unknown_pattern_is_one_line_naming_near_matches(pattern: str, near: str) -> None:
    with pytest.raises(InputError) as e:
        select_documents(["reports/notice.txt", pattern], NAMES)
    message = str(e.value)
    assert "\n" not in message and f"--doc {pattern!r} matches no document" in message
    assert near in message and message.endswith("list them with kotae docs")
