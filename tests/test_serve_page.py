"""The page of `kotae serve` in a real browser: Debian's headless Chromium driven by Selenium.

A server runs in a thread on a free port of 127.0.0.1 over the session's report index.
Chromium and chromedriver come from apt (.ci/run installs them); without them the tests
are skipped on a developer's machine and fail in CI. Set KOTAE_SCREENSHOT_DIR to keep the
screenshots (README's benchmarks/results/serve.png is the laptop one).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import uvicorn
from fastapi import FastAPI
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from qa_cli.server.app import create_app
from qa_cli.server.live import LiveIndex
from qa_cli.server.run import bind, url_of

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
JA = "安保理決議2231はいつ終了するか"
EN = "When does UN Security Council resolution 2231 expire?"
UNANSWERABLE = "英国が保有する核弾頭数は何発か"  # ja-u1: the report gives no such number
QUESTIONS = Path(__file__).resolve().parent.parent / "corpus" / "questions" / "report.jsonl"
# Debian's chromium, quiet and offline (see the flags' reasons in the project notes)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=en-US"]


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free port of 127.0.0.1; yields its URL."""
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def server_url(report_index: Path) -> Iterator[str]:
    with running(create_app(LiveIndex(report_index))) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    if not (CHROMIUM and DRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are missing; .ci/run installs them with apt-get")
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser: webdriver.Chrome) -> Iterator[webdriver.Chrome]:
    """The browser, checked after each test for errors from the page's own JavaScript."""
    browser.set_window_size(1280, 900)
    browser.get_log("browser")  # drop what earlier tests left
    yield browser
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors


def wait_for(driver: webdriver.Chrome, css: str, timeout: float = 60) -> object:
    try:
        return WebDriverWait(driver, timeout).until(lambda d: d.find_element(By.CSS_SELECTOR, css))
    except TimeoutException:
        shown = driver.find_element(By.TAG_NAME, "body").text[:500]
        raise AssertionError(f"{css} never appeared; the page shows: {shown}") from None


def shot(driver: webdriver.Chrome, tmp_path: Path, name: str) -> Path:
    """Save a screenshot and check that it shows something: many colours, not one background."""
    path = tmp_path / f"{name}.png"
    assert driver.save_screenshot(str(path))
    keep = os.environ.get("KOTAE_SCREENSHOT_DIR")
    if keep:
        shutil.copy(path, Path(keep) / f"{name}.png")
    image = Image.open(path).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    background = max(colours)[0] if colours else image.width * image.height
    assert len(colours) > 50, f"{path} has {len(colours)} colours: blank?"
    assert background < 0.95 * image.width * image.height, f"{path} is almost all one colour"
    return path


def in_view(driver: webdriver.Chrome, css: str) -> bool:
    """Whether the first element matching ``css`` is scrolled into the document pane's view."""
    return driver.execute_script("""
        const e = document.querySelector(arguments[0]), pane = document.getElementById('doc-text');
        if (!e) return false;
        const r = e.getBoundingClientRect(), p = pane.getBoundingClientRect();
        return r.bottom > p.top && r.top < p.bottom && r.top >= 0 && r.top < window.innerHeight;""", css)


def test_japanese_deep_link_shows_the_answer_inside_its_source(page: webdriver.Chrome, server_url: str,
                                                                tmp_path: Path, report_text: str) -> None:
    page.get(f"{server_url}?q={quote(JA)}")
    wait_for(page, "#doc-text .answer")
    assert page.find_element(By.ID, "q").get_attribute("value") == JA
    assert page.find_element(By.CSS_SELECTOR, ".short-line").text == "→ 2025年10月18日"
    assert page.find_element(By.CSS_SELECTOR, ".answer-text mark.short").text == "2025年10月18日"
    # in the document: the cited passage, the answer sentence inside it, the short answer inside that
    answer = "".join(e.get_attribute("textContent") for e in page.find_elements(By.CSS_SELECTOR, "#doc-text .answer"))
    assert answer in report_text and "2025 年 10 月18日" in answer  # the source's own layout
    sentence = page.find_element(By.CSS_SELECTOR, ".answer-text").text
    assert "".join(answer.split()) == "".join(sentence.split())
    assert page.find_element(By.CSS_SELECTOR, "#doc-text .short").text.replace(" ", "") == "2025年10月18日"
    assert page.find_elements(By.CSS_SELECTOR, "#doc-text .cited")
    assert in_view(page, "#doc-text .answer")
    assert page.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert page.find_element(By.ID, "doc-text").get_attribute("lang") == "ja"
    assert "c=1" in page.current_url
    shot(page, tmp_path, "serve")

    # a click on another citation opens it, marks it and puts it in the URL
    buttons = page.find_elements(By.CSS_SELECTOR, "button.cite")
    assert len(buttons) == 5
    buttons[2].click()
    WebDriverWait(page, 30).until(lambda d: buttons[2].get_attribute("aria-pressed") == "true")
    WebDriverWait(page, 30).until(lambda d: "c=3" in d.current_url)
    title = page.find_element(By.ID, "doc-title").text
    assert "lines" in title or "line" in title
    cited = "".join(e.text for e in page.find_elements(By.CSS_SELECTOR, "#doc-text .cited"))
    assert cited.strip() and in_view(page, "#doc-text .cited")
    shot(page, tmp_path, "serve-citation-3")

    page.refresh()  # the URL reloads to the same view
    wait_for(page, "button.cite[aria-pressed='true']")
    pressed = page.find_elements(By.CSS_SELECTOR, "button.cite[aria-pressed='true']")
    assert [b.get_attribute("data-i") for b in pressed] == ["2"]


def ask_api(server_url: str, body: object) -> object:
    request = urllib.request.Request(f"{server_url}api/ask", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


def test_english_question(page: webdriver.Chrome, server_url: str, tmp_path: Path) -> None:
    page.get(f"{server_url}?q={quote(EN)}")
    wait_for(page, "#doc-text .answer")
    notes = ask_api(server_url, {"question": EN, "k": 5})["answer"].get("gloss") or []  # type: ignore[index]
    shown = [e.text for e in page.find_elements(By.CSS_SELECTOR, ".glosses li .gloss-word")]
    once = list(dict.fromkeys((g["text"], g["romaji"], g["gloss"]) for g in notes))  # repeated words once
    assert notes and shown == [text for text, _, _ in once]  # 安保理: UN Security Council (EDICT), ...
    assert "not a translation" in page.find_element(By.CSS_SELECTOR, ".glosses").text
    assert page.find_element(By.CSS_SELECTOR, ".question span").get_attribute("lang") == "en"
    assert page.find_element(By.CSS_SELECTOR, ".answer-text").get_attribute("lang") == "ja"
    assert "2025年10月18日" in page.find_element(By.CSS_SELECTOR, ".answer-text").text
    # English short answers are rarely sure enough to show (README "Confidence"): this one's
    # confidence is under the threshold, so the page, like the terminal, shows no → line
    assert not page.find_elements(By.CSS_SELECTOR, ".short-line")
    shot(page, tmp_path, "serve-en")


def test_an_abstention_says_so_and_shows_the_nearest_passages(page: webdriver.Chrome, server_url: str) -> None:
    page.get(f"{server_url}?q={quote(UNANSWERABLE)}")
    wait_for(page, ".abstain")
    assert "No answer" in page.find_element(By.CSS_SELECTOR, ".abstain").text
    assert page.find_element(By.CSS_SELECTOR, ".abstain .why").text.strip()  # the answer's "why", in a sentence
    assert len(page.find_elements(By.CSS_SELECTOR, "button.cite")) == 5
    assert not page.find_elements(By.CSS_SELECTOR, ".answer-box")
    assert not page.find_element(By.ID, "document").is_displayed()


def test_the_keyboard_alone_asks_and_opens_a_citation(page: webdriver.Chrome, server_url: str) -> None:
    page.get(server_url)
    wait_for(page, "#q")
    page.find_element(By.TAG_NAME, "body").send_keys("/")
    assert page.switch_to.active_element.get_attribute("id") == "q"
    page.switch_to.active_element.send_keys(EN, Keys.ENTER)
    wait_for(page, "#doc-text .answer")
    assert "q=When" in page.current_url
    page.find_element(By.ID, "q").send_keys(Keys.TAB)  # the Ask button
    page.switch_to.active_element.send_keys(Keys.TAB)  # the first citation
    assert page.switch_to.active_element.get_attribute("class") == "cite"
    page.switch_to.active_element.send_keys(Keys.TAB)
    page.switch_to.active_element.send_keys(Keys.ENTER)  # opens the second one
    WebDriverWait(page, 30).until(lambda d: d.switch_to.active_element.get_attribute("id") == "doc-title")
    assert "c=2" in page.current_url
    page.switch_to.active_element.send_keys(Keys.ESCAPE)  # back to the citation
    assert page.switch_to.active_element.get_attribute("data-i") == "1"


def test_phone_width_has_no_sideways_scrolling(page: webdriver.Chrome, server_url: str, tmp_path: Path) -> None:
    page.set_window_size(390, 844)
    page.get(f"{server_url}?q={quote(JA)}")
    wait_for(page, "#doc-text .answer")
    width = page.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
    shot(page, tmp_path, "serve-phone")


def first_question_citing_a_gap(server_url: str) -> tuple[str, int]:
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    answers = ask_api(server_url, [{"question": q, "k": 5} for q in questions])
    assert isinstance(answers, list)
    for a in answers:
        for i, c in enumerate(a["citations"]):
            if c["gaps"]:
                return a["question"], i
    raise AssertionError("no citation of the report's questions skips a caption")


def test_a_skipped_caption_is_shown_as_skipped(page: webdriver.Chrome, server_url: str, report_text: str,
                                               tmp_path: Path) -> None:
    question, i = first_question_citing_a_gap(server_url)
    page.get(f"{server_url}?q={quote(question)}&c={i + 1}")
    wait_for(page, "#doc-text .gap-start")
    button = page.find_elements(By.CSS_SELECTOR, "button.cite")[i]
    assert button.get_attribute("aria-pressed") == "true" and "skips 1 caption" in button.text
    gap = page.find_element(By.CSS_SELECTOR, "#doc-text .gap-start")
    assert "写真" in gap.text or gap.text.strip() in report_text
    label = page.execute_script("return getComputedStyle(arguments[0], '::before').content", gap)
    assert "skipped" in label
    shot(page, tmp_path, "serve-gap")


def test_a_long_document_is_shown_as_a_window_around_the_citation(page: webdriver.Chrome, report_index: Path,
                                                                    report_text: str) -> None:
    # The report is 4,369 characters; sent at most 1,500 at once, the page asks for the
    # window around the citation and says what lies outside it.
    with running(create_app(LiveIndex(report_index), max_span=1500)) as url:
        page.get(f"{url}?q={quote(JA)}")
        wait_for(page, "#doc-text .answer")
        assert page.find_element(By.CSS_SELECTOR, ".answer-text mark.short").text == "2025年10月18日"
        assert page.find_element(By.CSS_SELECTOR, "#doc-text .short").text.replace(" ", "") == "2025年10月18日"
        notes = [e.text for e in page.find_elements(By.CSS_SELECTOR, "#doc-text .outside")]
        assert notes and all("characters" in n for n in notes)
        shown = page.execute_script("""return Array.from(document.getElementById('doc-text').childNodes)
            .filter((n) => !(n.classList && n.classList.contains('outside'))).map((n) => n.textContent).join('')""")
        assert 1000 < len(shown) <= 1500 and shown in report_text  # a window of the source, byte for byte
        assert in_view(page, "#doc-text .answer")
