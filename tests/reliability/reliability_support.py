"""What the reliability tests share: running kotae in a subprocess, checking its one
error line, writing small corpora, and the two versions of a 40-report corpus that the
kill -9, disk-full, reader and incremental tests switch an index between.

Exit codes are those of qa_cli/main.py: 0 success (an abstention is an answer),
2 bad input, 3 missing or incompatible index. Lexical-only indexes (``--embedder
none``) unless vectors are the point: the default embedder embeds ~1,000 chars/s.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from ingest.clean import clean
from ingest.generations import generation
from ingest.manifest import read_manifest
from retriever import Retriever

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
REPORT = REPO_ROOT / "corpus" / "nuclear-outlook-2025.txt"


def kotae_cmd(*args: object) -> list[str]:
    return [sys.executable, "-m", "qa_cli", *map(str, args)]


# `kotae` with the ingest's checkpoint (ingest.generations.checkpoint) replaced: at the
# named stage it says so on stderr and sleeps, so that a test can kill -9 it there or
# fill its disk. argv: stage, seconds, then kotae's own arguments.
_PAUSED = """
import sys, time
import ingest.generations
from qa_cli.main import main

stage, seconds = sys.argv[1], float(sys.argv[2])

def pause(at):
    if at == stage:
        print(f"kotae: test pause at {at}", file=sys.stderr, flush=True)
        time.sleep(seconds)

ingest.generations.checkpoint = pause
sys.exit(main(sys.argv[3:]))
"""


def paused_kotae_cmd(stage: str, seconds: float, *args: object) -> list[str]:
    """A kotae command line that pauses for ``seconds`` at checkpoint ``stage``."""
    return [sys.executable, "-c", _PAUSED, stage, str(seconds), *map(str, args)]


def run_kotae(env: dict[str, str], *args: object, stdin: str | None = None,
              timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(kotae_cmd(*args), input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=env)


def one_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """The run failed with ``code`` and said why in exactly one line, without a traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("kotae: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def comparable(answer: dict) -> dict:
    """An ``ask --json`` object without its timings, as JSON gives it back (lists, not tuples)."""
    d = json.loads(json.dumps(answer, ensure_ascii=False))
    d.pop("timings_ms", None)
    return d


def answers(index: Path, questions: Sequence[str]) -> list[dict]:
    r = Retriever.load(index)
    return [comparable(a.as_dict()) for a in r.ask_many(list(questions))]


def assert_cites_source(answer: dict, sources: dict[str, str]) -> None:
    """Every cited span of an ``ask --json`` object is its source file's decoded text:
    clean(raw[start:end]) with the span's ``gaps`` (skipped captions) left out is its text."""
    spans = list(answer["citations"]) + ([answer["answer"]] if answer["answer"] else [])
    for c in spans:
        raw = sources[c["doc"]]
        assert 0 <= c["start"] < c["end"] <= len(raw)
        relative = [(a - c["start"], b - c["start"]) for a, b in c["gaps"]]
        assert clean(raw[c["start"]:c["end"]], relative) == c["text"], c


GOOD = "日本は核兵器不拡散条約の運用検討会議を重視する。米国は2026年に交渉を始める。\n"


PLACES = ["札幌", "函館", "旭川", "釧路", "青森", "盛岡", "仙台", "秋田", "山形", "福島",
          "水戸", "宇都宮", "前橋", "浦和", "千葉", "横浜", "甲府", "長野", "新潟", "富山",
          "金沢", "福井", "岐阜", "静岡", "名古屋", "津", "大津", "京都", "大阪", "神戸",
          "奈良", "和歌山", "鳥取", "松江", "岡山", "広島", "山口", "徳島", "高松", "松山"]
CHANGED = [3, 11, 19, 27, 35]  # the files v2 rewrites; the questions ask about them
QUESTIONS = [f"{PLACES[i]}の会議はいつ開かれたか" for i in CHANGED]


def corpus(root: Path, version: int) -> Path:
    """40 small reports (v1), or the same with five rewritten and five added (v2), in root/corpus."""
    files = {}
    for i, place in enumerate(PLACES):
        year = 2000 + i
        if version == 2 and i in CHANGED:
            year = 2100 + i
        files[f"r{i:02d}.txt"] = (f"{place}の会議は{year}年{i % 12 + 1}月に開かれた。\n"
                                  f"{place}では核軍縮と不拡散が議論された。\n参加国は{i + 3}か国であった。\n")
    if version == 2:
        for k in range(5):
            files[f"new{k}.txt"] = f"追加の報告{k}である。第{k}回の会議では軍備管理が議論された。\n"
    return write_files(root / "corpus", files)


def live_version(index: Path, versions: dict) -> int:
    gen = generation(index)
    assert gen.parent.resolve() == index.resolve() and gen.name.startswith("gen-"), gen  # never a .tmp-*
    sha = read_manifest(gen).documents_sha256
    found = [v for v in (1, 2) if versions[v]["sha"] == sha]
    assert found, "the live index is neither the old corpus nor the new one"
    return found[0]


FIFTY_MB_TEST = "test_fifty_megabyte_file_ingests_in_bounded_memory"


def _fifty_mb_text(path: Path, size: int = 50_000_000) -> int:
    """Japanese sentences ending in 。, wrapped at 40 characters, no blank line (one block)."""
    import random

    rng = random.Random(0)
    words = ["日本は", "核兵器", "不拡散条約", "の", "運用検討会議", "において", "米国と", "中国が", "軍備管理",
             "について", "協議を", "行い", "2024年", "11月に", "ロシアの", "戦略核", "演習を", "実施し",
             "国際社会", "は", "懸念を", "表明した", "「抑止」", "（NPT）"]
    text = "".join("".join(rng.choice(words) for _ in range(rng.randint(4, 12))) + "。" for _ in range(20_000))
    data = ("\n".join(text[i:i + 40] for i in range(0, len(text), 40)) + "\n").encode("utf-8")
    written = 0
    with open(path, "wb") as f:
        while written < size:
            f.write(data)
            written += len(data)
    return written


class BigIngest:
    """``kotae ingest`` of a 50 MB file in a subprocess, its peak RSS polled from /proc.

    VmHWM of /proc/PID/status, not ru_maxrss: a child's ru_maxrss starts from the RSS
    of the (large) pytest process it was forked from, so it measured pytest, not kotae.
    """

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env
        self.peak = 0
        self.proc: subprocess.Popen | None = None

    def start(self) -> BigIngest:
        docs = self.root / "big"
        docs.mkdir()
        self.size = _fifty_mb_text(docs / "big.txt")
        self.t0 = time.perf_counter()
        self.out = open(self.root / "out", "w")  # noqa: SIM115 - closed in wait()
        self.proc = subprocess.Popen(kotae_cmd("ingest", docs, "--index", self.root / "index", "--embedder",
                                               "none", "-q"), stdout=self.out, stderr=subprocess.STDOUT,
                                     env=self.env)
        self.poller = threading.Thread(target=self._poll, daemon=True)
        self.poller.start()
        return self

    def _poll(self) -> None:
        status = Path(f"/proc/{self.proc.pid}/status")
        while self.proc.poll() is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak = max(self.peak, int(line.split()[1]) * 1024)
            except OSError:
                pass
            time.sleep(0.02)

    def wait(self, timeout: float) -> tuple[int, float, str]:
        rc = self.proc.wait(timeout=timeout)
        seconds = time.perf_counter() - self.t0
        self.poller.join()
        self.out.close()
        return rc, seconds, (self.root / "out").read_text()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.wait(60)
