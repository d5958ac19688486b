"""LangChain adapters: a BaseRetriever over kotae, and grounded answering with any chat model.

    from retriever import Retriever
    from retriever.langchain import KotaeRetriever, answer_with_llm

    lc = KotaeRetriever(retriever=Retriever.load("my-index"), k=3)
    docs = lc.invoke("Who became Iran's foreign minister?")   # Documents with citation metadata
    grounded = answer_with_llm(chat_model, lc.retriever, "…")  # [n] markers mapped back to spans

Importing this module needs langchain-core; kotae's own paths never import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

try:
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import HumanMessage, SystemMessage
    from langchain_core.retrievers import BaseRetriever
    from pydantic import ConfigDict
except ImportError as e:  # langchain-core is the optional extra kotae[langchain]
    from ingest.errors import KotaeError

    raise KotaeError("the LangChain adapter needs langchain-core, which is not installed: "
                     "pip install 'kotae[langchain]'") from e

from .records import Answer, Citation
from .retriever import Retriever


def citation_metadata(c: Citation, answer: Answer | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"doc": c.doc, "path": c.path, "start": c.start, "end": c.end, "section": c.section,
                            "lines": list(c.lines), "pages": list(c.pages) if c.pages else None,
                            "score": c.score, "kind": c.kind, "gaps": [[a, b] for a, b in c.gaps]}
    if answer is not None and answer.answer is not None and c.start <= answer.answer.start \
            and answer.answer.end <= c.end and c.doc == answer.answer.doc:
        meta["answer"] = answer.answer.as_dict()
        meta["confidence"], meta["confident"] = answer.confidence, answer.confident
        # Under the threshold a short answer is left out, as the terminal leaves out its →.
        meta["short"] = answer.shown_short.as_dict() if answer.shown_short else None
    return meta


class KotaeRetriever(BaseRetriever):
    """A LangChain retriever whose Documents are kotae's verified citations."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever
    k: int = 3
    docs: list[str] | None = None  # search only these documents (patterns, as Retriever.ask takes them)

    def _get_relevant_documents(self, query: str, *,
                                run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        answer = self.retriever.ask(query, k=self.k, docs=self.docs)
        return [Document(page_content=c.text, metadata=citation_metadata(c, answer))
                for c in answer.citations]


@dataclass(frozen=True)
class GroundedAnswer:
    """A chat model's answer, with its [n] markers resolved to kotae citations."""

    text: str
    citations: tuple[Citation, ...]  # what the model was shown, numbered from 1
    cited: tuple[Citation, ...]  # what its [n] markers point at, in order of first use
    unknown_markers: tuple[int, ...]  # [n] markers that point at nothing (model errors)
    retrieval: Answer


_MARKER = re.compile(r"\[(\d{1,3})\]")

PROMPT = """Answer the question using only the numbered sources below, which are quoted from \
a Japanese report. Answer in the language of the question. After each statement, cite the \
sources it rests on with their numbers in square brackets, like [1] or [2][3]. If the \
sources do not answer the question, say so.

{sources}"""


def answer_with_llm(llm: BaseChatModel, retriever: Retriever, question: str, k: int = 3,
                    docs: list[str] | None = None) -> GroundedAnswer:
    """Ask ``llm`` to answer from kotae's citations (of ``docs`` only, if given) and map its
    [n] markers back to spans."""
    retrieval = retriever.ask(question, k=k, docs=docs)
    sources = "\n\n".join(f"[{i}] ({c.doc}, {c.section or ''}, lines {c.lines[0]}-{c.lines[1]})\n{c.text}"
                          for i, c in enumerate(retrieval.citations, 1))
    reply = llm.invoke([SystemMessage(content=PROMPT.format(sources=sources)),
                        HumanMessage(content=question)])
    text = reply.content if isinstance(reply.content, str) else str(reply.content)
    cited: list[Citation] = []
    unknown: list[int] = []
    for m in _MARKER.finditer(text):
        n = int(m[1])
        if 1 <= n <= len(retrieval.citations):
            c = retrieval.citations[n - 1]
            if c not in cited:
                cited.append(c)
        elif n not in unknown:
            unknown.append(n)
    return GroundedAnswer(text=text, citations=retrieval.citations, cited=tuple(cited),
                          unknown_markers=tuple(unknown), retrieval=retrieval)
