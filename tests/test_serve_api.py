"""`kotae serve`'s API through FastAPI's test client: every route, bad input, reloading.

The report index is the session's (read-only); reload tests build small lexical-only
indexes of their own, which take well under a second.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest import build_index
from ingest.index import CURRENT, generation
from qa_cli.main import main
from qa_cli.server.app import MAX_API_QUESTION, MAX_BATCH, MAX_BODY, create_app
from qa_cli.server.live import LiveIndex, Loaded, load_generation
from retriever import Retriever

DOC = "corpus/nuclear-outlook-2025.txt"
JA = "安保理決議2231はいつ終了するか"
EN = "When does UN Security Council resolution 2231 expire?"


@pytest.fixture(scope="module")
def live(report_index: Path) -> LiveIndex:
    return LiveIndex(report_index)


@pytest.fixture(scope="module")
def client(live: LiveIndex) -> TestClient:
    return TestClient(create_app(live))


def without_timings(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "timings_ms"}


def assert_one_line_error(r: Any, status: int, says: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"] and "\n" not in body["error"], body
    assert says in body["error"], body


# -- answers ----------------------------------------------------------------------------


@pytest.mark.parametrize("question", [JA, EN])
def test_ask_gives_exactly_the_object_of_ask_json(client: TestClient, report_index: Path,
                                                  capsys: pytest.CaptureFixture[str], question: str) -> None:
    assert main(["ask", question, "--index", str(report_index), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    r = client.post("/api/ask", json={"question": question})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    api = r.json()
    assert set(api["timings_ms"]) == set(cli["timings_ms"])
    assert without_timings(api) == without_timings(cli)
    assert api["answer"]["short"]["text"] == "2025年10月18日"


def test_a_served_answer_does_not_change_once_the_engine_has_loaded(client: TestClient, live: LiveIndex,
                                                                  report_index: Path) -> None:
    # The server loads ONNX Runtime in the background; a question asked alone must still get
    # the answer of a new `kotae ask` process, which never loads it (on ONNX Runtime this one
    # cited other passages with k=5). In-process, main() would share the server's embedder.
    warmed = getattr(live.get().retriever.embedder, "warmed", None)
    assert callable(warmed)
    warmed(300)
    out = subprocess.run([sys.executable, "-m", "qa_cli", "ask", EN, "--index", str(report_index), "--json",
                          "-k", "5"], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    cli = json.loads(out.stdout)
    api = client.post("/api/ask", json={"question": EN, "k": 5}).json()
    assert without_timings(api) == without_timings(cli)


def test_ask_a_list_gives_a_list_in_order(client: TestClient, report_retriever: Retriever) -> None:
    questions = [EN, JA, "英国が保有する核弾頭数は何発か"]  # the last abstains (ja-u1)
    r = client.post("/api/ask", json=[{"question": q, "k": 2} for q in questions])
    assert r.status_code == 200
    got = r.json()
    assert [without_timings(a) for a in got] == [without_timings(report_retriever.ask(q, k=2).as_dict())
                                                 for q in questions]
    assert [a["abstained"] for a in got] == [False, False, True]
    assert all(len(a["citations"]) == 2 for a in got)  # an abstention still cites the nearest passages
    assert client.post("/api/ask", json=[]).json() == []


def test_ask_within_documents_as_ask_doc(client: TestClient, report_index: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", JA, "--index", str(report_index), "--json", "--doc", "*nuclear*"]) == 0
    cli = json.loads(capsys.readouterr().out)
    api = client.post("/api/ask", json={"question": JA, "docs": ["*nuclear*"]}).json()
    assert without_timings(api) == without_timings(cli) and api["answer"]["doc"] == DOC
    r = client.post("/api/ask", json={"question": JA, "docs": ["corpus/nuclear-outlook.txt"]})
    assert_one_line_error(r, 400, f"--doc 'corpus/nuclear-outlook.txt' matches no document (near: {DOC})")


# (body as sent, status, what the error says)
BAD_REQUESTS = [
    pytest.param(b'{"question": "x"', 400, "not valid JSON", id="truncated-json"),
    pytest.param(b"\xff\xfe", 400, "not valid JSON", id="not-utf8"),
    pytest.param({"question": ""}, 400, "the question is empty", id="empty"),
    pytest.param({"question": " \n\t\u3000"}, 400, "the question is empty", id="blank"),
    pytest.param({"question": "あ" * (MAX_API_QUESTION + 1)}, 422, "question", id="over-the-cap"),
    pytest.param({}, 422, "question: Field required", id="no-question"),
    pytest.param({"question": 5}, 422, "question", id="question-not-text"),
    pytest.param({"question": "x", "k": 0}, 422, "k", id="k-zero"),
    pytest.param({"question": "x", "k": "many"}, 422, "k", id="k-not-int"),
    pytest.param({"question": "x", "top": 3}, 422, "top", id="unknown-field"),
    pytest.param({"question": "x", "docs": "*.txt"}, 422, "docs", id="docs-not-a-list"),
    pytest.param(None, 422, "body", id="null"),
    pytest.param([{"question": "x"}] * (MAX_BATCH + 1), 422, "at most", id="batch-over-the-cap"),
    pytest.param([{"question": JA}, {"question": ""}], 400, "empty", id="batch-with-an-empty-one"),
]


@pytest.mark.parametrize(("body", "status", "says"), BAD_REQUESTS)
def test_bad_questions_are_one_line_4xx(client: TestClient, body: Any, status: int, says: str) -> None:
    if isinstance(body, bytes):
        r = client.post("/api/ask", content=body, headers={"content-type": "application/json"})
    else:
        r = client.post("/api/ask", content=json.dumps(body), headers={"content-type": "application/json"})
    assert_one_line_error(r, status, says)


def test_a_body_over_the_cap_is_413_declared_or_streamed(client: TestClient) -> None:
    big = json.dumps({"question": "x" * (MAX_BODY + 10)}).encode()
    r = client.post("/api/ask", content=big, headers={"content-type": "application/json"})
    assert_one_line_error(r, 413, "over")

    def chunks() -> Any:  # no content-length: the body arrives in pieces
        for i in range(0, len(big), 65536):
            yield big[i:i + 65536]

    r = client.post("/api/ask", content=chunks(), headers={"content-type": "application/json"})
    assert_one_line_error(r, 413, "over")


# -- documents and their text -------------------------------------------------------------


def test_documents_lists_the_report_as_kotae_docs_does(client: TestClient, report_path: Path, report_text: str,
                                                       report_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = client.get("/api/documents")
    assert r.status_code == 200
    (d,) = r.json()["documents"]
    assert (d["id"], d["pages"]) == (DOC, None)
    assert d["chars"] == len(report_text)
    assert d["sha256"] == hashlib.sha256(report_path.read_bytes()).hexdigest()
    assert "不透明感が増す北朝鮮・イラン問題" in [s["text"] for s in d["sections"]]
    assert main(["docs", "--index", str(report_index), "--json"]) == 0
    assert r.json() == json.loads(capsys.readouterr().out)


def test_text_of_a_citation_is_the_source_span(client: TestClient, report_text: str) -> None:
    whole = client.get(f"/api/documents/{DOC}/text").json()
    assert (whole["text"], whole["start"], whole["end"]) == (report_text, 0, len(report_text))
    answer = client.post("/api/ask", json={"question": JA, "k": 5}).json()
    spans = [answer["answer"], *answer["citations"]]
    for c in spans:
        r = client.get(f"/api/documents/{c['doc']}/text", params={"start": c["start"], "end": c["end"]})
        assert r.status_code == 200
        raw = r.json()["text"]
        assert raw == report_text[c["start"]:c["end"]]
        # the README's check, done by a client with nothing but the API
        kept, pos = [], c["start"]
        for a, b in c["gaps"]:
            kept.append(report_text[pos:a])
            pos = b
        kept.append(report_text[pos:c["end"]])
        assert "".join("".join(kept).split()) == "".join(c["text"].split())


@pytest.mark.parametrize(("params", "status"), [
    ({"start": -1}, 400), ({"end": 10**9}, 400), ({"start": 20, "end": 10}, 400),
    ({"start": "ten"}, 422), ({"end": "1.5"}, 422),
])
def test_spans_out_of_range_are_refused(client: TestClient, params: dict[str, Any], status: int) -> None:
    r = client.get(f"/api/documents/{DOC}/text", params=params)
    assert_one_line_error(r, status, "start" if status == 422 and "start" in params else "")


def test_a_span_longer_than_is_sent_at_once_is_413(report_index: Path, report_text: str) -> None:
    small = TestClient(create_app(LiveIndex(report_index), max_span=1000))
    assert_one_line_error(small.get(f"/api/documents/{DOC}/text"), 413, "ask for a part")
    r = small.get(f"/api/documents/{DOC}/text", params={"start": 100, "end": 1100})
    assert r.status_code == 200 and r.json()["text"] == report_text[100:1100] and r.json()["max_span"] == 1000


# ids that name files: none may be read, whether they exist or not
PATH_LIKE_IDS = ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "corpus/../../../etc/passwd",
                 "corpus%2F..%2F..%2Fstore.sqlite", "nuclear-outlook-2025.txt", "corpus", "current/manifest.json"]


@pytest.mark.parametrize("doc_id", PATH_LIKE_IDS)
def test_unknown_or_path_like_ids_read_nothing(client: TestClient, monkeypatch: pytest.MonkeyPatch,
                                               doc_id: str) -> None:
    opened: list[str] = []
    real_open = builtins.open

    def watching_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", watching_open)
    r = client.get(f"/api/documents/{doc_id}/text")
    assert r.status_code == 404, r.text
    assert "root:" not in r.text and "SQLite" not in r.text
    # the client resolves a literal ../ itself (no such page); encoded ones reach the route (no document)
    assert set(r.json()) == {"error"} and ("no document" in r.json()["error"] or "no such page" in r.json()["error"])
    assert opened == []


# -- health, schema, the page ---------------------------------------------------------------


def test_health_names_the_generation_and_embedder(client: TestClient, report_index: Path) -> None:
    h = client.get("/api/health").json()
    assert h["status"] == "ok"
    assert h["generation"] == h["published"] == os.readlink(report_index / CURRENT)
    assert h["embedder"]["spec"] == "e5-small-q4" and h["embedder"]["dim"] > 0
    assert h["counts"]["documents"] == 1 and h["counts"]["passages"] > 10
    assert h["reload_error"] is None


def test_openapi_schema_documents_every_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/api/ask", "/api/documents", "/api/documents/{doc_id}/text", "/api/health"} <= set(schema["paths"])
    ask = schema["paths"]["/api/ask"]["post"]
    assert {"200", "400", "413", "422"} <= set(ask["responses"])
    assert "AskRequest" in schema["components"]["schemas"]
    # Swagger UI would load its scripts from a CDN: not served
    assert client.get("/docs").status_code == 404


def test_unknown_routes_and_methods_are_one_line(client: TestClient) -> None:
    assert_one_line_error(client.get("/api/nothing"), 404, "/api/nothing")
    assert_one_line_error(client.get("/api/ask"), 405, "Method Not Allowed")


def test_the_page_and_its_assets_come_from_kotae_alone(client: TestClient) -> None:
    r = client.get("/", params={"q": JA})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    page = r.text
    assert '<html lang="' in page and 'name="viewport"' in page
    assets = ["/static/app.js", "/static/app.css"]
    for asset in assets:
        assert f'"{asset}"' in page
        a = client.get(asset)
        assert a.status_code == 200 and a.text
        assert "http://" not in a.text and "https://" not in a.text and "//cdn" not in a.text
    assert "http://" not in page and "https://" not in page


# -- new generations ---------------------------------------------------------------------------

PLACES = ["札幌", "仙台", "金沢", "松江", "高知"]


def small_corpus(root: Path, n: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"r{i}.txt").write_text(f"{PLACES[i]}の会議は{2000 + i}年に開かれた。\n", encoding="utf-8")
    return root


def test_a_new_generation_is_picked_up_without_a_restart(tmp_path: Path) -> None:
    docs, index = small_corpus(tmp_path / "docs", 2), tmp_path / "index"
    build_index([docs], index, "none")
    live = LiveIndex(index)
    client = TestClient(create_app(live))
    assert client.post("/api/ask", json={"question": "金沢の会議はいつ開かれたか"}).json()["abstained"]
    small_corpus(docs, 3)
    build_index([docs], index, "none")
    assert live.wait(os.readlink(index / CURRENT), timeout=30)
    a = client.post("/api/ask", json={"question": "金沢の会議はいつ開かれたか"}).json()
    assert not a["abstained"] and a["answer"]["doc"] == "docs/r2.txt"
    h = client.get("/api/health").json()
    assert (h["reloads"], h["counts"]["documents"], h["generation"]) == (1, 3, os.readlink(index / CURRENT))


def test_requests_in_flight_finish_on_their_generation(tmp_path: Path) -> None:
    docs, index = small_corpus(tmp_path / "docs", 2), tmp_path / "index"
    build_index([docs], index, "none")
    release = threading.Event()

    def slow_loader(path: Path) -> Loaded:
        if live_ready.is_set():
            release.wait(30)  # a load that takes as long as the test wants
        return load_generation(path)

    live_ready = threading.Event()
    live = LiveIndex(index, loader=slow_loader)
    live_ready.set()
    client = TestClient(create_app(live))
    old = live.get()
    for _ in range(3):  # three more generations: ingest removes the one `old` was loaded from
        build_index([docs], index, "none")
    assert not old.retriever.index.generation.exists()
    for _ in range(5):  # while the new one loads, every request is answered from the old one
        r = client.post("/api/ask", json={"question": "札幌の会議はいつ開かれたか"})
        assert r.status_code == 200 and r.json()["answer"]["doc"] == "docs/r0.txt"
        assert client.get("/api/documents/docs/r0.txt/text").status_code == 200
        assert client.get("/api/health").json()["generation"] == old.generation
    release.set()
    assert live.wait(os.readlink(index / CURRENT), timeout=30)


def eventually(holds: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Whether ``holds()`` comes true within ``timeout`` seconds, asked every 50 ms. A reload
    runs in a background thread and takes what the machine's load makes it take: a fixed
    number of tries (100 × 50 ms) failed the tests on a busy machine where it passed on a quiet one."""
    deadline = time.monotonic() + timeout
    while not holds():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_damaged_generation_keeps_the_old_one_answering(tmp_path: Path) -> None:
    docs, index = small_corpus(tmp_path / "docs", 2), tmp_path / "index"
    build_index([docs], index, "none")
    live = LiveIndex(index)
    client = TestClient(create_app(live))
    good = generation(index)
    bad = index / "gen-99999999T999999999999-1"
    shutil.copytree(good, bad)
    (bad / "store.sqlite").write_bytes(b"not a database")
    link = index / ".current.test"
    os.symlink(bad.name, link)
    os.replace(link, index / CURRENT)
    assert eventually(lambda: client.get("/api/health").json()["reload_error"] is not None)
    h = client.get("/api/health").json()
    assert h["generation"] == good.name and bad.name in h["reload_error"] and "\n" not in h["reload_error"]
    assert client.post("/api/ask", json={"question": "札幌の会議はいつ開かれたか"}).status_code == 200


def test_a_bug_while_reloading_is_logged_and_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    docs, index = small_corpus(tmp_path / "docs", 2), tmp_path / "index"
    build_index([docs], index, "none")
    calls = []

    def buggy_loader(path: Path) -> Loaded:
        calls.append(path)
        if len(calls) > 1:
            raise TypeError("a bug in the loader")
        return load_generation(path)

    live = LiveIndex(index, loader=buggy_loader)
    build_index([docs], index, "none")
    new = os.readlink(index / CURRENT)
    def failed() -> bool:
        live.get()  # a request: what starts the reload
        return live.reload_error is not None

    assert eventually(failed)
    assert live.reload_error == f"{new}: TypeError (a bug: please report it)"
    assert "a bug in the loader" in caplog.text  # the traceback is logged, not lost
    for _ in range(5):
        live.get()
    assert len(calls) == 2  # not retried on every request
    r = TestClient(create_app(live)).post("/api/ask", json={"question": "札幌の会議はいつ開かれたか"})
    assert r.status_code == 200


# -- the command -----------------------------------------------------------------------------


def test_serve_without_the_extra_names_it(report_index: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn now raises ImportError
    assert main(["serve", "--index", str(report_index)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["kotae: error: kotae serve needs the serve extra (uvicorn is missing): pip install 'kotae[serve]'"]


def test_serve_on_a_taken_port_is_one_line(report_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["serve", "--index", str(report_index), "--port", str(port)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"kotae: error: cannot listen on 127.0.0.1:{port}") and "--port" in line


def test_a_serve_stopped_by_a_signal_exits_130_even_when_uvicorn_returns(
        report_index: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # uvicorn re-raises a caught Ctrl-C through asyncio, which can let run() return instead;
    # this fakes that return so the exit code does not depend on the race
    import uvicorn

    def returns_after_a_signal(self: uvicorn.Server, sockets: Any = None) -> None:
        self.should_exit = True

    monkeypatch.setattr(uvicorn.Server, "run", returns_after_a_signal)
    assert main(["serve", "--index", str(report_index), "--port", "0"]) == 130
    assert capsys.readouterr().err.splitlines()[-1] == "kotae: interrupted"


def test_kotae_serve_says_where_and_answers(report_index: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "qa_cli", "serve", "--index", str(report_index), "--port", "0"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    try:
        assert proc.stderr is not None
        # kotae: serving … at http://127.0.0.1:PORT/ — …, after any warning a library prints first
        line = next((x for x in iter(proc.stderr.readline, "") if x.startswith("kotae: serving")), "")
        assert "http://127.0.0.1:" in line, line
        url = line.split(" at ")[1].split()[0]
        with urllib.request.urlopen(url + "api/health", timeout=60) as r:
            assert json.load(r)["generation"] == os.readlink(report_index / CURRENT)
        request = urllib.request.Request(url + "api/ask", data=json.dumps({"question": EN}).encode(),
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as r:
            assert json.load(r)["answer"]["short"]["text"] == "2025年10月18日"
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: uvicorn shuts down, then kotae says so
        assert proc.wait(timeout=30) == 130
        assert proc.stderr is not None and "Traceback" not in proc.stderr.read()


def test_ask_does_not_import_the_server() -> None:
    code = ("import sys, qa_cli.main, retriever, retriever.retriever; "
            "print(sorted(m for m in ('fastapi', 'starlette', 'uvicorn', 'qa_cli.server.app') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
