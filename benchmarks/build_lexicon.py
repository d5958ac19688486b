"""Derive kotae's compact English-Japanese lexicon from EDICT (run once; the result ships).

Needs: Debian's ``edict`` package (``apt-get install edict``: /usr/share/edict/edict, EUC-JP,
© Electronic Dictionary Research and Development Group, CC BY-SA 4.0) and kotae installed.
Writes ingest/data/edict.tsv.gz and ingest/data/edict_words.txt.gz (every English word of
its gloss keys, ``ingest.lexicon.key_words``: what the dictionary can name).
Run: python benchmarks/build_lexicon.py [--edict PATH] [--words-only]

Each kept entry becomes one line ``tokens<TAB>headword<TAB>reading<TAB>flags<TAB>senses``:

* ``tokens`` — the headword as kotae's lexical index tokenises it (MeCab lemmas, space
  separated), so that an ingest finds the entries its corpus holds with set look-ups
  instead of tokenising 200k headwords each time;
* ``flags`` — ``P`` for EDICT's priority (common) words;
* ``senses`` — the first three senses' glosses, ``/`` between glosses, ``|`` between
  senses, with the part-of-speech and field tags removed ("president (of a nation)").

Senses marked archaic, obsolete, obscure, vulgar, rare or X are dropped, and so are
entries with no content token (助詞 and the like), more than six tokens (proverbs) or a
negating auxiliary (:func:`ingest.lexicon.negated`). Later senses were tried (all of them, weighted 0.3 or
0.15 in the bridge): the same answers on the natural and JSQuAD English sets, so three stay.
The tokens record the tokenizer that made them (first line), and ingest checks it.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.lexicon import LEXICON_PATH, WORDS_PATH, key_words, lexicon_header, negated  # noqa: E402
from ingest.tokens import Tokenizer  # noqa: E402

MAX_SENSES = 3
MAX_TOKENS = 6
DROP_TAGS = frozenset({"arch", "obs", "obsc", "vulg", "rare", "X", "derog"})
_TAG = re.compile(r"^\s*[({]([^(){}]*)[)}]\s*")
_SENSE_NUMBER = re.compile(r"^\d+$")


def split_tags(field: str) -> tuple[list[str], str]:
    """Leading tags of one EDICT field and the gloss after them.

    # "(n) (1) president (of a nation)" -> (["n", "1"], "president (of a nation)")
    # "(adj-na,n) {comp} (2) global"      -> (["adj-na", "n", "comp", "2"], "global")
    """
    tags: list[str] = []
    while m := _TAG.match(field):
        inner = m[1]
        # A parenthesis that is part of the gloss, e.g. "(of a nation)", has spaces.
        if " " in inner.strip():
            break
        tags.extend(t for t in inner.split(",") if t)
        field = field[m.end():]
    return tags, field.strip()


def parse_line(line: str) -> tuple[str, str, bool, list[list[str]], bool] | None:
    """(headword, reading, priority, senses, usually kana) of one EDICT line."""
    head, sep, rest = line.partition(" /")
    if not sep:
        return None
    word, _, reading = head.partition(" [")
    reading = reading.rstrip("]") or word
    senses: list[list[str]] = []
    skip = False
    priority = False
    kana = False
    for field in rest.rstrip("/\n").split("/"):
        if field == "(P)":
            priority = True
            continue
        if not field or field.startswith("EntL"):
            continue
        tags, gloss = split_tags(field)
        if any(_SENSE_NUMBER.match(t) for t in tags) or not senses:
            skip = bool(DROP_TAGS & set(tags))
            senses.append([])
            kana = kana or (len(senses) == 1 and "uk" in tags)
        if not skip and gloss:
            senses[-1].append(gloss.replace("|", " ").replace("\t", " "))
    senses = [s for s in senses if s][:MAX_SENSES]
    return (word.strip(), reading.strip(), priority, senses, kana) if senses else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edict", default="/usr/share/edict/edict")
    ap.add_argument("--out", default=str(LEXICON_PATH))
    ap.add_argument("--words-only", action="store_true", help="only rewrite the key words of the lexicon at --out")
    args = ap.parse_args()
    if args.words_only:
        write_words(Path(args.out), Path(args.out).with_name(WORDS_PATH.name))
        return
    tokenizer = Tokenizer()
    text = Path(args.edict).read_bytes().decode("euc_jp", errors="replace")
    kept = 0
    seen: set[tuple[str, str]] = set()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=9) as f:
        f.write(lexicon_header(tokenizer) + "\n")
        for line in text.splitlines()[1:]:
            parsed = parse_line(line)
            if parsed is None:
                continue
            word, reading, priority, senses, kana = parsed
            # Usually written in kana: the corpus spells it as the reading (がいし, not がい子).
            for head in (word, reading) if kana and reading != word else (word,):
                tokens = tokenizer(head)
                if not tokens or len(tokens) > MAX_TOKENS or (head, reading) in seen or negated(tokenizer, head):
                    continue
                seen.add((head, reading))
                glosses = "|".join("/".join(s) for s in senses)
                f.write(f"{' '.join(tokens)}\t{head}\t{reading}\t{'P' if priority else ''}\t{glosses}\n")
                kept += 1
    print(f"kept {kept} entries -> {out} ({out.stat().st_size / 1e6:.1f} MB)")
    write_words(out, out.with_name(WORDS_PATH.name))


def write_words(lexicon: Path, out: Path) -> None:
    """The lexicon's key words, sorted, one a line (``mtime=0``: the same lexicon, the same bytes)."""
    words = sorted(key_words(lexicon))
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
        f.write(("\n".join(words) + "\n").encode("utf-8"))
    print(f"{len(words)} key words -> {out} ({out.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
