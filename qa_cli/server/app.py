"""The HTTP API and the page of `kotae serve`, as one FastAPI application.

    from qa_cli.server.app import create_app
    from qa_cli.server.live import LiveIndex
    app = create_app(LiveIndex("my-index"))      # any ASGI server runs it

Every answer is exactly the object of `kotae ask --json`; every error is
``{"error": "one line"}`` with a 4xx/5xx status. The page and its script and style
are files of this package: nothing is loaded from another host.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata, resources
from typing import Annotated, Any

from fastapi import Body, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest.errors import KotaeError
from retriever.retriever import MAX_QUESTION

from .live import LiveIndex, Loaded

# A question longer than this is refused (422) rather than cut: the retriever reads its
# first MAX_QUESTION characters after collapsing whitespace, and four times that leaves
# room for a pasted question with its line breaks while refusing a pasted page.
MAX_API_QUESTION = 4 * MAX_QUESTION
MAX_BATCH = 64  # questions in one POST: a batch is answered in one go and holds the queue
MAX_K = 50
MAX_PATTERNS, MAX_PATTERN = 32, 1000  # --doc patterns in one request, and characters in one
# Characters of document text in one response. A report is a few thousand; a 50 MB text
# file is 50 million, more than a browser tab should take at once: the page asks for the
# window around a citation instead.
MAX_SPAN = 2_000_000
MAX_BODY = 1 << 20  # bytes: a full batch of the longest questions in UTF-8 is under half of it

# Only this origin: the page works with no network at all, and a stray external
# reference would fail loudly in the browser instead of leaking a request.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

# A KotaeError's exit code (qa_cli) as an HTTP status: bad input, no index, a failed check.
STATUS_OF_EXIT = {2: 400, 3: 503, 70: 500}


class AskRequest(BaseModel):
    """One question, as `kotae ask QUESTION -k K [--doc PATTERN ...]` takes it."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=MAX_API_QUESTION, examples=["安保理決議2231はいつ終了するか"])
    k: int = Field(3, ge=1, le=MAX_K, description="citations to return")
    docs: list[Annotated[str, Field(max_length=MAX_PATTERN)]] | None = Field(
        None, max_length=MAX_PATTERNS, examples=[["*nuclear*"]],
        description="search only these documents, as `kotae ask --doc`: ids, paths, or globs on the id, "
                    "path, file name or title; an unknown pattern is a 400 naming near matches")


class AnswerObject(BaseModel):
    """The object of `kotae ask --json` (documented here; returned as the retriever gives it)."""

    model_config = ConfigDict(extra="allow")
    question: str
    language: str
    abstained: bool
    why: str | None = Field(None, description="why it abstained, in one sentence")
    answer: dict[str, Any] | None = Field(description=(
        "the answer sentence as a citation, with `confidence` (calibrated probability that it holds the answer), "
        "`confident` (at or above the threshold), `short` (text, offsets, type, `confidence`, `shown`: under "
        "the threshold the page shows no short answer) and `short_candidates` (the best three, with confidences)"))
    citations: list[dict[str, Any]]
    timings_ms: dict[str, float]


class ErrorObject(BaseModel):
    error: str = Field(description="one line: what went wrong, the value, and the fix")


ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorObject} for code in (400, 404, 413, 422, 503)}


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": " ".join(message.split())}, status_code=status)


def create_app(live: LiveIndex, max_span: int = MAX_SPAN) -> FastAPI:
    """The application answering from ``live``; questions are answered one at a time, and
    at most ``max_span`` characters of a document are sent at once."""
    try:
        version = metadata.version("kotae")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        version = "0"
    # Swagger UI and ReDoc load their scripts from a CDN, so only the schema is served.
    app = FastAPI(title="kotae", version=version, docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                  description="Answers questions about Japanese reports with verified source spans.")
    # One thread answers: the query embedder and MeCab are CPU-bound and not made for
    # parallel calls, and with one thread an answer does not depend on what else is asked.
    asker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kotae-ask")
    add_error_handlers(app)
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(SecurityHeaders)
    add_api(app, live, asker, max_span)
    add_page(app)
    return app


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error(404, f"no such page: {request.url.path}")
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(KotaeError)
    async def kotae_error(request: Request, exc: KotaeError) -> JSONResponse:
        return error(STATUS_OF_EXIT.get(exc.exit_code, 500), str(exc))


def validation_error(exc: RequestValidationError) -> JSONResponse:
    """The first thing wrong with a request, in one line.

    The body is a question or a list of them, so pydantic reports each error once per
    shape it tried; the one that counts is for the shape that was sent
    (``[...]`` -> ``list[AskRequest]``), and the shape's name is left out of the place.
    """
    errors = list(exc.errors())
    if errors and errors[0].get("type") == "json_invalid":
        return error(400, f"the body is not valid JSON ({errors[0].get('msg', '')}); "
                          'send e.g. {"question": "安保理決議2231はいつ終了するか"}')
    sent_list = isinstance(getattr(exc, "body", None), list)
    matching = [e for e in errors if any(isinstance(p, str) and p.startswith("list[") for p in e["loc"]) == sent_list]
    first = (matching or errors or [{"loc": (), "msg": "invalid request"}])[0]
    where = ".".join(str(p) for p in first["loc"] if p != "body" and "AskRequest" not in str(p))
    if not where and first["loc"][:1] == ("body",):
        where = "body (a question object or a list of them)"
    return error(422, f"{where or 'request'}: {first['msg']}")


class SecurityHeaders:
    """Add SECURITY_HEADERS to every response (a plain ASGI wrapper: it leaves the request
    body stream alone, so BodyLimit's 413 reaches the error handlers as it is)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


class BodyLimit:
    """Refuse a request body over ``limit`` bytes with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"the request body is over {self.limit} bytes; send fewer or shorter questions"
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.limit:
            await error(413, too_large)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            # A chunked body declares no length: count it as it arrives. The route's
            # error handlers turn the HTTPException into the usual one-line JSON.
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, too_large)
            return message

        await self.app(scope, counted, send)


def add_api(app: FastAPI, live: LiveIndex, asker: ThreadPoolExecutor, max_span: int) -> None:
    @app.post("/api/ask", response_model=None, responses={200: {"model": AnswerObject}, **ERRORS},
              summary="Answer one question, or a list of them (a list of answers)")
    async def ask(body: Annotated[AskRequest | Annotated[list[AskRequest], Field(max_length=MAX_BATCH)],
                                  Body()]) -> JSONResponse:
        loaded = live.get()
        requests = body if isinstance(body, list) else [body]
        answers = await asyncio.get_running_loop().run_in_executor(asker, answer_all, loaded, requests)
        return JSONResponse(answers if isinstance(body, list) else answers[0])

    @app.get("/api/documents", summary="The indexed documents: the object of `kotae docs --json`")
    def documents() -> dict[str, Any]:
        return {"documents": [d.as_dict() for d in live.get().documents]}

    @app.get("/api/documents/{doc_id:path}/text", responses=ERRORS,
             summary="The raw text of a document, or of its span [start:end] (Python str offsets)")
    def text(doc_id: str, start: Annotated[int | None, Query()] = None,
             end: Annotated[int | None, Query()] = None) -> dict[str, Any]:
        return span_text(live.get(), doc_id, start, end, max_span)

    @app.get("/api/health", summary="The generation answering, its embedder and counts")
    def health() -> dict[str, Any]:
        loaded = live.get()
        manifest = loaded.retriever.index.manifest
        return {"status": "ok", "generation": loaded.generation, "loaded_at": loaded.loaded_at,
                "published": live.published() or loaded.generation, "reloads": live.reloads,
                "reload_error": live.reload_error,
                "embedder": {"spec": manifest.embedder_spec, "dim": manifest.embedder_dim},
                "format": manifest.format, "counts": dict(manifest.counts)}


def answer_all(loaded: Loaded, requests: list[AskRequest]) -> list[dict[str, Any]]:
    """Each question asked alone, as `kotae ask` does, so the answers are the same objects."""
    return [loaded.retriever.ask(r.question, k=r.k, docs=r.docs).as_dict() for r in requests]


def span_text(loaded: Loaded, doc_id: str, start: int | None, end: int | None, max_span: int) -> dict[str, Any]:
    text = loaded.source_text(doc_id)
    if text is None:
        raise HTTPException(404, f"no document {doc_id!r} in this index; GET /api/documents lists them")
    a = 0 if start is None else start
    b = len(text) if end is None else end
    if not 0 <= a <= b <= len(text):
        raise HTTPException(400, f"span [{a}:{b}] is outside {doc_id!r}, which has {len(text)} characters; "
                                 f"give 0 <= start <= end <= {len(text)}")
    if b - a > max_span:
        raise HTTPException(413, f"span [{a}:{b}] of {doc_id!r} is {b - a} characters, over the {max_span} "
                                 "sent at once; ask for a part with start= and end=")
    return {"doc": doc_id, "start": a, "end": b, "characters": len(text), "max_span": max_span, "text": text[a:b]}


def add_page(app: FastAPI) -> None:
    static = resources.files("qa_cli.server") / "static"

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        # `/?q=...` is read by the page's script: the URL carries the question.
        return FileResponse(str(static / "index.html"), media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=str(static)), name="static")
