"""The LangChain adapters: kotae's citations as Documents, and a chat model's [n] markers mapped back.

No model is downloaded: the chat model is langchain-core's FakeListChatModel.
"""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from retriever import Retriever
from retriever.langchain import GroundedAnswer, KotaeRetriever, answer_with_llm

META_KEYS = {"doc", "start", "end", "section", "lines", "pages", "score", "gaps"}

# (question, the short answer the Document holding the answer carries)
CASES = [
    ("Who became Iran's foreign minister?", "アラグチ"),  # en-15, l.93
    ("安保理決議2231はいつ終了するか", "2025年10月18日"),  # ja-20, l.95-96
]


@pytest.mark.parametrize(("question", "short"), CASES)
def test_retriever_returns_documents_with_citation_metadata(report_retriever: Retriever, report_text: str,
                                                            question: str, short: str) -> None:
    docs = KotaeRetriever(retriever=report_retriever, k=2).invoke(question)
    assert len(docs) == 2
    assert all(isinstance(d, Document) for d in docs)
    for d in docs:
        assert set(d.metadata) >= META_KEYS
        assert d.metadata["doc"] == "corpus/nuclear-outlook-2025.txt"
        assert 0 <= d.metadata["start"] < d.metadata["end"] <= len(report_text)
        assert isinstance(d.metadata["lines"], list) and d.metadata["pages"] is None
        assert d.page_content  # the cited passage, cleaned of layout
    holding = [d for d in docs if "answer" in d.metadata]
    assert holding and holding[0] is docs[0]  # the first citation holds the answer sentence
    meta = docs[0].metadata
    assert meta["answer"]["text"] in docs[0].page_content
    assert meta["start"] <= meta["answer"]["start"] < meta["answer"]["end"] <= meta["end"]
    # under its confidence threshold a short answer is left out, as the terminal leaves out its →
    shown = report_retriever.ask(question, k=2)
    assert (meta["short"] and meta["short"]["text"]) == (short if shown.shown_short else None)
    assert meta["confidence"] == shown.confidence
    for d in docs:
        if "answer" not in d.metadata:
            assert "short" not in d.metadata


def test_retriever_on_an_abstention(report_retriever: Retriever) -> None:
    # ja-u1: the report gives no number of British warheads; the passages come, the answer does not
    docs = KotaeRetriever(retriever=report_retriever, k=3).invoke("英国が保有する核弾頭数は何発か")
    assert len(docs) == 3
    assert all("answer" not in d.metadata for d in docs)


def test_answer_with_llm_maps_markers_to_citations(report_retriever: Retriever) -> None:
    llm = FakeListChatModel(responses=["アラグチ氏が外相となった [1]。交渉を担ってきた [2][1]。存在しない出典 [9]。"])
    g = answer_with_llm(llm, report_retriever, "Who became Iran's foreign minister?")
    assert isinstance(g, GroundedAnswer)
    assert g.text.startswith("アラグチ氏が外相となった [1]")
    assert len(g.citations) == 3  # k defaults to 3: what the model was shown
    assert g.cited == g.citations[:2]  # [1] then [2], each once, in order of first use
    assert g.unknown_markers == (9,)
    assert g.retrieval.citations == g.citations
    assert g.retrieval.answer is not None and "アラグチ" in g.retrieval.answer.text


def test_answer_with_llm_without_markers(report_retriever: Retriever) -> None:
    llm = FakeListChatModel(responses=["The sources do not say."])
    g = answer_with_llm(llm, report_retriever, "英国が保有する核弾頭数は何発か", k=2)
    assert (g.cited, g.unknown_markers, len(g.citations)) == ((), (), 2)
