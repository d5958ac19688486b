"""What kotae does with each hostile input of issue 17, run as a user would run it.

Needs: the project installed. Writes benchmarks/results/hostile.json; render_results.py
turns it into a table of RESULTS.md. Run: python benchmarks/hostile_inputs.py

Each case is set up in a scratch directory and run as `python -m qa_cli …` (through bash
when the case is a redirection), lexical-only (--embedder none: vectors are not the
point). Recorded: the exit code, the first line kotae wrote on stderr, the wall time,
and the case's own check of what must hold (nothing deleted, the index still there, the
right span). The tests in tests/reliability/ assert the same; this is the record.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOOD = "日本は核兵器不拡散条約の運用検討会議を重視する。米国は2026年に交渉を始める。\n"
KOTAE = [sys.executable, "-m", "qa_cli"]
QUESTIONS = HERE.parent / "corpus" / "questions" / "report.jsonl"
RTL = "日本は\u202e核兵器\u202cの運用検討会議を重視する。\n"  # U+202E turns the rest of a line around


@dataclass(frozen=True)
class Case:
    item: int
    name: str
    # (scratch dir) -> (shell command line, check run after it: True when what must hold holds)
    setup: Callable[[Path], tuple[str, Callable[[subprocess.CompletedProcess[str]], bool]]]
    checked: str = ""  # what the check looks at, when there is more to check than the exit and the line


def kotae(*args: object) -> str:
    return " ".join(shlex.quote(str(a)) for a in [*KOTAE, *args])


def docs(root: Path, files: dict[str, str] | None = None) -> Path:
    d = root / "docs"
    d.mkdir(exist_ok=True)
    for name, text in (files or {"a.txt": GOOD}).items():
        (d / name).write_text(text, encoding="utf-8")
    return d


def index(root: Path, files: dict[str, str] | None = None, embedder: str = "none") -> Path:
    subprocess.run(kotae("ingest", docs(root, files), "--index", root / "index", "--embedder", embedder, "-q"),
                   shell=True, check=True, capture_output=True)
    return root / "index"


def ok(_: subprocess.CompletedProcess[str]) -> bool:
    return True


def _foreign(root: Path) -> tuple[str, Callable]:
    x = root / "x"
    (x / "gen-2019-photos").mkdir(parents=True)
    (x / ".tmp-cache").mkdir()
    (x / "gen-2019-photos" / "a.jpg").write_text("x")
    return (kotae("ingest", docs(root), "--index", x, "--embedder", "none", "-q"),
            lambda p: (x / "gen-2019-photos" / "a.jpg").exists() and (x / ".tmp-cache").is_dir()
            and sorted(os.listdir(x)) == [".tmp-cache", "gen-2019-photos"])


def _megabyte_heading(root: Path) -> tuple[str, Callable]:
    return kotae("ingest", docs(root, {"h.txt": "◆◆" + "核" * 1_200_000 + "\n"}), "--index", root / "i",
                 "--embedder", "none", "-q"), ok


def _long_caption(root: Path) -> tuple[str, Callable]:
    line = "写真：" + "ロシアのプーチン大統領は2024年10月29日に核戦力の演習を指揮した" * 1000
    ix = index(root, {"c.txt": GOOD + line + "\n"})
    return kotae("ask", "プーチン大統領はいつ演習を指揮したか", "--index", ix, "--json"), \
        lambda p: json.loads(p.stdout)["answer"]["kind"] == "sentence"


def _source_paragraph(root: Path) -> tuple[str, Callable]:
    para = "外務省によれば、" + "日本は核兵器不拡散条約の運用検討会議を重視し" * 20 + "（出典：外務省）。"
    ix = index(root, {"p.txt": para + "\n"})
    return kotae("ask", "日本は何を重視するか", "--index", ix, "--json"), \
        lambda p: len(json.loads(p.stdout)["answer"]["text"]) < len(para)


def _fifo(root: Path) -> tuple[str, Callable]:
    d = docs(root)
    os.mkfifo(d / "x.txt")
    return kotae("ingest", d, "--index", root / "i", "--embedder", "none", "-q"), ok


def _device(root: Path) -> tuple[str, Callable]:
    d = docs(root)
    os.mknod(d / "z.txt", 0o20666, os.makedev(1, 5))  # a character device: /dev/zero
    return kotae("ingest", d, "--index", root / "i", "--embedder", "none", "-q"), ok


def _pdf(user_password: str) -> Callable[[Path], tuple[str, Callable]]:
    def setup(root: Path) -> tuple[str, Callable]:
        from fpdf import FPDF
        from pypdf import PdfReader, PdfWriter

        pdf = FPDF()
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.cell(text="The treaty expires in 2026.")
        w = PdfWriter(clone_from=PdfReader(__import__("io").BytesIO(bytes(pdf.output()))))
        w.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-256")
        d = docs(root)
        with open(d / "t.pdf", "wb") as f:
            w.write(f)
        return kotae("ingest", d, "--index", root / "i", "--embedder", "none", "-q"), ok
    return setup


def _manifest(edit: Callable[[str], str]) -> Callable[[Path], tuple[str, Callable]]:
    def setup(root: Path) -> tuple[str, Callable]:
        ix = index(root, {"a.txt": GOOD, "b.txt": "北朝鮮は核実験を行った。\n"})
        m = ix / "current" / "manifest.json"
        m.write_text(edit(m.read_text(encoding="utf-8")), encoding="utf-8")
        (root / "docs" / "b.txt").unlink()
        before = m.read_bytes()
        return kotae("ingest", root / "docs", "--index", ix, "--embedder", "none", "-q"), \
            lambda p: m.read_bytes() == before
    return setup


def _model_path(root: Path) -> str:
    ix = index(root, embedder="e5-small-q4")  # vectors: the recorded model is needed to ask
    m = ix / "current" / "manifest.json"
    m.write_text(m.read_text(encoding="utf-8").replace('"spec": "e5-small-q4"', '"spec": "/nowhere/model"'),
                 encoding="utf-8")
    return kotae("ask", "運用検討会議", "--index", ix)


def _deep(root: Path) -> str:
    d = docs(root)
    fd = os.open(d, os.O_RDONLY)
    for _ in range(24):  # 24 x 200 characters: past PATH_MAX
        os.mkdir("d" * 200, dir_fd=fd)
        fd, old = os.open("d" * 200, os.O_RDONLY, dir_fd=fd), fd
        os.close(old)
    with open(os.open("deep.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
        f.write(GOOD)
    os.close(fd)
    return kotae("ingest", d, "--index", root / "i", "--embedder", "none", "-q")


def simple(item: int, name: str, make: Callable[[Path], str]) -> Case:
    """A case whose set-up only builds its command: judged by its exit code, message and traceback alone."""
    return Case(item, name, lambda root: (make(root), ok))


def _cases() -> list[Case]:  # a table of small set-ups, in the order of the items
    return _cases_1_to_6() + _cases_7_8()


def _cases_1_to_6() -> list[Case]:
    """Items 1 to 6: foreign files beside the index, huge lines, FIFOs and devices, locked PDFs, bad manifests."""
    return [
        Case(1, "ingest into a directory holding gen-2019-photos/ and .tmp-cache/", _foreign,
             "both still there, nothing added"),
        simple(1, "ingest --index / (a container's root)",
               lambda r: kotae("ingest", docs(r), "--index", "/", "--embedder", "none", "-q")),
        Case(2, "a 1.2 M character ◆◆ heading", _megabyte_heading),
        Case(3, "ask over a 30,000 character 写真： line", _long_caption, "the answer is a sentence, not a caption"),
        Case(3, "a 497-character paragraph holding （出典：外務省）", _source_paragraph,
             "the answer is one of its sentences, not the paragraph"),
        Case(4, "a FIFO named x.txt in the directory", _fifo),
        simple(4, "a FIFO named x.txt on the command line",
               lambda r: (os.mkfifo(r / "x.txt"), kotae("ingest", r / "x.txt", "--index", r / "i", "-q"))[1]),
        Case(4, "a character device named z.txt", _device),
        Case(5, "an AES-256 PDF with a user password", _pdf("secret")),
        Case(5, "an AES-256 PDF with only an owner password", _pdf("")),
        Case(6, "ingest over a manifest of format 99", _manifest(lambda t: t.replace('"format": 2', '"format": 99')),
             "the manifest (and its documents) unchanged"),
        Case(6, "ingest over a manifest that is not JSON", _manifest(lambda t: t[: len(t) // 2]),
             "the manifest (and its documents) unchanged"),
    ]


def _cases_7_8() -> list[Case]:
    """Items 7 and 8: odd paths and links, near-empty corpora, bad options, full or closed outputs."""
    return [
        simple(7, "a file name that is not UTF-8", lambda r: (
            docs(r), open(os.path.join(os.fsencode(r / "docs"), b"\xff.txt"), "w").write(GOOD),
            kotae("ingest", r / "docs", "--index", r / "i", "--embedder", "none", "-q"))[2]),
        simple(7, "--index at a regular file", lambda r: (
            (r / "f").write_text("x"), kotae("ingest", docs(r), "--index", r / "f", "--embedder", "none"))[1]),
        simple(7, "--index under a regular file", lambda r: (
            (r / "f").write_text("x"), kotae("ingest", docs(r), "--index", r / "f" / "i", "--embedder", "none"))[1]),
        simple(7, "ingest into an index copied with cp -rL", lambda r: (
            shutil.copytree(index(r), r / "copy", symlinks=False),
            kotae("ingest", r / "docs", "--index", r / "copy", "--embedder", "none", "-q"))[1]),
        simple(7, "ask an index whose current is a regular file", lambda r: (
            index(r), (r / "index" / "current").unlink(), (r / "index" / "current").write_text("x"),
            kotae("ask", "運用検討会議", "--index", r / "index"))[3]),
        simple(7, "a corpus of only a heading", lambda r: kotae(
            "ingest", docs(r, {"h.txt": "◆◆概観\n"}), "--index", r / "i", "--embedder", "none", "-q")),
        simple(7, "a corpus of only punctuation", lambda r: kotae(
            "ingest", docs(r, {"p.txt": "。。。！？\n"}), "--index", r / "i", "--embedder", "none", "-q")),
        simple(7, "SQuAD: an integer answer, two articles of one title, an empty context", lambda r: (
            (r / "s.json").write_text(json.dumps({"data": [
                {"title": "t", "paragraphs": [{"context": "2026年に交渉を始める。", "qas": [
                    {"id": "1", "question": "いつ始めるか", "answers": [{"text": 2026}]}]}]},
                {"title": "t", "paragraphs": [{"context": GOOD, "qas": [
                    {"id": "2", "question": "何を重視するか", "answers": [{"text": "運用検討会議"}]}]},
                    {"context": "", "qas": [{"id": "3", "question": "何か", "answers": [{"text": "x"}]}]}]}]},
                ensure_ascii=False)),
            kotae("eval", r / "s.json", "--embedder", "none", "--json"))[1]),
        simple(7, "eval --report to an unwritable path", lambda r: kotae(
            "eval", QUESTIONS, "--index", index(r), "--report", r / "no" / "r.md")),
        simple(7, "eval --batch 0", lambda r: kotae(
            "eval", QUESTIONS, "--index", index(r), "--batch", "0")),
        simple(7, "ask > /dev/full", lambda r: kotae("ask", "運用検討会議", "--index", index(r)) + " > /dev/full"),
        simple(7, "ask with standard output closed",
               lambda r: kotae("ask", "運用検討会議", "--index", index(r)) + " >&-"),
        simple(7, "ingest > /dev/full (after writing its index)", lambda r: kotae(
            "ingest", docs(r), "--index", r / "i", "--embedder", "none", "-q") + " > /dev/full"),
        simple(8, "eval --batch -5", lambda r: kotae(
            "eval", QUESTIONS, "--index", index(r), "--batch", "-5")),
        simple(8, "ingest --index ''", lambda r: kotae("ingest", docs(r), "--index", "", "--embedder", "none")),
        simple(8, "a file link out of the ingested directory", lambda r: (
            (r / "secret.txt").write_text("私的なメモである。\n"), docs(r),
            (r / "docs" / "s.txt").symlink_to(r / "secret.txt"),
            kotae("ingest", r / "docs", "--index", r / "i", "--embedder", "none", "-q"))[3]),
        simple(8, "a manifest naming a missing model path", _model_path),
        simple(8, "a directory too deep to list", _deep),
        Case(8, "202\\ufeff5年10月18日: the short answer", lambda r: (
            kotae("ask", "安保理決議2231はいつ終了するか", "--index",
                  index(r, {"z.txt": "安保理決議2231は202\ufeff5年10月18日に終了する。\n"}), "--json"),
            lambda p: json.loads(p.stdout)["answer"]["short"]["text"].replace("\ufeff", "") == "2025年10月18日"),
             "the short answer is the whole date, 2025年10月18日 (with its U+FEFF)"),
        Case(8, "U+202E in a cited sentence, on the terminal", lambda r: (
            kotae("ask", "運用検討会議", "--index", index(r, {"r.txt": RTL})),
            lambda p: "\u202e" not in p.stdout and "\\u202e" in p.stdout), "printed as \\u202e, not raw"),
    ]


def run(case: Case) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = dict(os.environ, KOTAE_INDEX=str(root / "default-index"), XDG_CACHE_HOME=str(root / "cache"))
        try:
            command, check = case.setup(root)
        except PermissionError as e:  # mknod without root
            return {"item": case.item, "case": case.name, "skipped": str(e)}
        t0 = time.perf_counter()
        try:
            p = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=300, env=env)
        except subprocess.TimeoutExpired:
            return {"item": case.item, "case": case.name, "exit": None, "says": "timed out after 300 s"}
        seconds = time.perf_counter() - t0
        lines = [_tidy(x.strip().replace(str(root), "DIR")) for x in p.stderr.splitlines()
                 if x.strip().startswith(("kotae:", "Traceback"))]
        return {"item": case.item, "case": case.name, "exit": p.returncode, "seconds": round(seconds, 2),
                "says": lines[0] if lines else "", "traceback": "Traceback" in p.stderr,
                "holds": bool(check(p)) if p.returncode in (0, 2, 3, 74) else False, "checked": case.checked}


def _tidy(line: str) -> str:
    # gen-20261128T082143361313-31681 -> gen-…; the 24 directories of 200 d's -> d{200}/…
    line = re.sub(r"gen-\d{8}T\d+-\d+", "gen-…", line)
    return re.sub(r"(d{200}/)+d{200}", "d{200}/…/d{200}", line)


def main() -> None:
    os.chdir(HERE.parent)
    out = []
    for case in _cases():
        r = run(case)
        print(f"{r['item']} {r['case']}: exit {r.get('exit')} {r.get('says', '')[:100]}", flush=True)
        out.append(r)
    (HERE / "results" / "hostile.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n",
                                                   encoding="utf-8")
    print("wrote benchmarks/results/hostile.json")


if __name__ == "__main__":
    main()
