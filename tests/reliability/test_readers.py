"""Reliability 7: readers during ingests — every answer from the old or the new index,
never a mix.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from reliability_support import PLACES, QUESTIONS, comparable, run_kotae, write_files

from ingest import build_index
from ingest.generations import KEEP_GENERATIONS

READER_API = textwrap.dedent("""
    import json, os, sys
    from retriever import Retriever
    index, stop, questions = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    while not os.path.exists(stop):
        try:
            r = Retriever.load(index)  # resolves `current` afresh every time
            out = [a.as_dict() for a in r.ask_many(questions)]
            for o in out:
                o.pop("timings_ms")
            print(json.dumps({"answers": out}, ensure_ascii=False), flush=True)
        except BaseException as e:
            print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
""")

READER_CLI = textwrap.dedent("""
    import json, os, subprocess, sys
    index, stop, questions = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    while not os.path.exists(stop):
        p = subprocess.run([sys.executable, "-m", "qa_cli", "ask", "-", "--json", "--index", index],
                           input="\\n".join(questions) + "\\n", capture_output=True, text=True)
        if p.returncode or p.stderr:
            print(json.dumps({"error": f"exit {p.returncode}: {p.stderr}"}), flush=True)
            continue
        out = [json.loads(line) for line in p.stdout.splitlines()]
        for o in out:
            o.pop("timings_ms")
        print(json.dumps({"answers": out}, ensure_ascii=False), flush=True)
""")


def _records(path: Path) -> list[dict]:
    """The whole lines a reader has written so far.

    The last line may be cut: the test reads the file while the reader appends to it,
    and Linux copies a write into a file a page at a time, so a read can end inside an
    8.5 kB answer line: a JSONDecodeError here under load, never a fault of the index
    (a writer printing such lines gave 6 cut reads in 1,918). The cut can also fall inside
    a three-byte Japanese character (a UnicodeDecodeError in a fresh-clone CI run), so the
    bytes are split first and only lines that end in a newline are decoded and parsed;
    print writes the newline after the line.
    """
    whole = path.read_bytes().split(b"\n")[:-1]
    return [json.loads(line.decode("utf-8")) for line in whole if line.strip()]


@given(st.lists(st.dictionaries(st.text(max_size=4), st.text(max_size=12), max_size=3), max_size=5),
       st.data())
def test_a_read_cut_anywhere_gives_the_whole_lines_before_the_cut(records: list[dict],
                                                                    data: st.DataObject) -> None:
    written = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    cut = data.draw(st.integers(0, len(written)))
    with tempfile.TemporaryDirectory() as d:  # a function-scoped tmp_path would be shared by all examples
        path = Path(d) / "reader.jsonl"
        path.write_bytes(written[:cut])
        got = _records(path)
    assert got == records[:written[:cut].count(b"\n")]


def test_readers_see_the_old_or_the_new_index_never_a_mix(tmp_path: Path, versions: dict,
                                                          env: dict[str, str]) -> None:
    index = tmp_path / "index"
    build_index([versions[1]["corpus"]], index, "none")
    stop = tmp_path / "stop"
    outs = {name: tmp_path / f"{name}.jsonl" for name in ("api", "cli")}
    readers = []
    for name, script in (("api", READER_API), ("cli", READER_CLI)):
        with open(outs[name], "w", encoding="utf-8") as f:
            readers.append(subprocess.Popen([sys.executable, "-c", script, str(index), str(stop),
                                             json.dumps(QUESTIONS, ensure_ascii=False)],
                                            stdout=f, stderr=subprocess.STDOUT, env=env))
    try:
        for v in (2, 1, 2, 1):
            seen = len(_records(outs["api"]))
            proc = run_kotae(env, "ingest", versions[v]["corpus"], "--index", index, "--embedder", "none",
                             "--prune", "-q")
            assert proc.returncode == 0, proc.stderr
            deadline = time.monotonic() + 60  # let the API reader load this version at least once
            while len(_records(outs["api"])) < seen + 2 and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        stop.touch()
        for r in readers:
            try:
                r.wait(timeout=60)
            except subprocess.TimeoutExpired:
                r.kill()
    assert [r.returncode for r in readers] == [0, 0], "a reader crashed or hung (see its .jsonl)"
    by_version = {1: versions[1]["answers"], 2: versions[2]["answers"]}
    seen_versions: dict[str, set[int]] = {}
    for name, path in outs.items():
        records = _records(path)
        assert records, f"reader {name} produced nothing"
        errors = [r["error"] for r in records if "error" in r]
        assert not errors, errors[:3]
        for r in records:
            got = [comparable(a) for a in r["answers"]]
            match = [v for v, expected in by_version.items() if got == expected]
            assert match, f"reader {name} got answers from neither index (or from both): {got}"
            seen_versions.setdefault(name, set()).update(match)
    assert seen_versions["api"] == {1, 2}, seen_versions


SLOW_READER = textwrap.dedent("""
    import json, sys, time
    import ingest.lexical
    from retriever import Retriever
    real = ingest.lexical.LexicalIndex.__init__
    def slow(self, directory):
        if not getattr(slow, "done", False):  # half-way through loading: the store is read
            slow.done = True
            print("loading", flush=True)
            time.sleep(float(sys.argv[3]))
        real(self, directory)
    ingest.lexical.LexicalIndex.__init__ = slow
    r = Retriever.load(sys.argv[1])
    out = [a.as_dict() for a in r.ask_many(json.loads(sys.argv[2]))]
    for o in out:
        o.pop("timings_ms")
    print(json.dumps(out, ensure_ascii=False), flush=True)
""")


def test_a_slow_reader_keeps_its_generation(tmp_path: Path, versions: dict, env: dict[str, str]) -> None:
    # Before readers locked their generation, three quick ingests while one reader was
    # loading removed its generation under it (KEEP_GENERATIONS = 2): "the store is missing".
    index = tmp_path / "index"
    build_index([versions[1]["corpus"]], index, "none")
    reader = subprocess.Popen([sys.executable, "-c", SLOW_READER, str(index), json.dumps(QUESTIONS), "4"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert reader.stdout.readline().strip() == "loading"
    for v in (2, 1, 2):
        build_index([versions[v]["corpus"]], index, "none", prune=True)
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert "Traceback" not in err
    assert [comparable(a) for a in json.loads(out)] == versions[1]["answers"]  # the generation it started on
    build_index([versions[1]["corpus"]], index, "none", prune=True)  # no reader now: cleaned up
    assert len(list(index.glob("gen-*"))) <= KEEP_GENERATIONS


RELOADER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from ingest import build_index
    from retriever import Retriever
    index, docs = sys.argv[1], sys.argv[2]
    sizes = []
    for i in range(25):
        build_index([docs], index, "none")
        Retriever.load(index).ask("札幌の会議はいつ開かれたか")
        sizes.append(int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]))
    print(sizes[4], sizes[-1])
""")


def test_a_script_that_reingests_and_reloads_does_not_grow(tmp_path: Path, env: dict[str, str]) -> None:
    # Every Tokenizer (one per build_index, one per Retriever.load) made a MeCab tagger
    # whose memory fugashi never gave back: 10 MB more per round, 208 MB over these 20.
    docs = write_files(tmp_path / "docs", {f"r{i}.txt": f"{PLACES[i]}の会議は{2000 + i}年に開かれた。\n"
                                           for i in range(3)})
    proc = subprocess.run([sys.executable, "-c", RELOADER, str(tmp_path / "index"), str(docs)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    first, last = map(int, proc.stdout.split())
    assert last - first < 16_000, f"grew {last - first} kB over 20 rounds"
