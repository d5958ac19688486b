"""Abstention levers of issue 14's fourth session, out of fold on dev sets at equal false abstentions.

Needs: the project installed with the bench extra, ../shared/eval/jsquad-valid-v1.3.json
(KOTAE_SHARED), benchmarks/data/ and corpus/.
Run: python benchmarks/abstain_english.py [--refresh] [--draws 4]
(writes benchmarks/results/abstain_english.json; about 10 minutes the first time, to record the
evidence, then seconds)

Only dev sets are read: the English a1 renderings, the natural dev set (report and documents),
the report's own English questions, all Japanese JSQuAD questions and the dev off-topic sets
(first, dev2, dev3). Held out and never read: a2, the held-out off-topic sets, natural_heldout.

Each question's evidence is recorded with its terms, each read against the best sentence, its
window (the sentences either side in its document), its passage and its whole document, and
against the corpus (which passages hold it), so that evidence the shipped models lack can be
tried without asking again. English is judged on the index a user would have (all of JSQuAD; the
report with the natural documents): a1, the natural set and the report's answerable questions
are answerable (444), the dev off-topic questions are not; Japanese as abstain_levers.py judges
it (all 4,442 JSQuAD questions answerable on the whole index, fitted on the even-article index).
Folds: JSQuAD questions by article, natural and report questions by document, off-topic ones by
file, so a model never judges a file it saw. Draw 0 folds articles as train_abstain.py does; the
other draws shuffle which articles share a fold (seeded), to show how much of a difference
between two levers is the draw's.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import train_abstain
from cached_index import cached_index
from common import CACHE, ROOT, SHARED, write_result
from train_abstain import (
    DATA,
    FEATURES,
    FOLDS,
    OFFTOPIC,
    OFFTOPIC_FILES,
    OFFTOPIC_WEIGHT,
    OVERRULE,
    Recorder,
    fit_logistic,
    hash_fold,
    ruled,
)

from ingest.lexical import LexicalIndex
from ingest.load import load
from retriever import ShortAnswer
from retriever.abstain import EVIDENCE, Evidence
from retriever.evaluate import read_questions
from retriever.question import Question, anchor_runs

NATURAL = 100_000  # the pseudo-articles of natural / report questions: one per document
AT = {"en": (3, 6, 9, 13), "ja": (21, 26, 29, 32, 40)}  # answerable dev questions abstained on (3% of 444: 13)
Fold = Callable[[int], int]  # an article's fold
articles = functools.cache(train_abstain.articles)  # (even documents, article of each, questions asked)


class TermRecorder(Recorder):
    """train_abstain's Recorder that also keeps each question's terms, read against the best
    sentence's window and document (:meth:`wide_terms`) and against the corpus (:meth:`corpus_terms`)."""

    documents: dict[int, frozenset[str]]

    def abstain(self, q: Question, best: int, best_dense: float, short: ShortAnswer | None,
                lex_p: np.ndarray | None, du: np.ndarray | None = None) -> str | None:
        why = super().abstain(q, best, best_dense, short, lex_p, du)
        if du is not None:
            self.records[-1]["terms"] = self.wide_terms(q, best)
            self.records[-1]["corpus"] = self.corpus_terms(q)
        return why

    def wide_terms(self, q: Question, best: int) -> list[dict]:
        """Retriever.terms, each also with whether the best sentence's window and document hold it."""
        ix = self.index
        doc = int(ix.units.doc[best])
        window = frozenset().union(*(ix.units.tokens[u] for u in (best - 1, best, best + 1)
                                     if 0 <= u < len(ix.units.text) and ix.units.doc[u] == doc))
        if doc not in self.documents:
            self.documents[doc] = frozenset().union(*(ix.units.tokens[u] for u in range(len(ix.units.text))
                                                      if ix.units.doc[u] == doc))
        document = self.documents[doc]
        out = []
        for t, alts in zip(self.terms(q, best), spellings(q), strict=True):
            out.append({**asdict(t), "in_window": any(all(x in window for x in alt) for alt in alts),
                        "in_document": t.in_passage or any(all(x in document for x in alt) for alt in alts)})
        return out

    def corpus_terms(self, q: Question) -> dict[str, float]:
        """How the question's terms stand in the whole corpus, whatever passage was picked: the
        most of them (rarity-weighted) one passage holds; whether a passage holds all its names the
        corpus knows, and with them its rarest other word (the role noun: "capital" of "the capital
        of Australia"), and in how many passages."""
        lex = self.index.passage_lexical
        terms = [(rarity(lex, alts), anchor, held_passages(lex, alts)) for alts, anchor in
                 zip(spellings(q), anchors_of(q), strict=True)]
        total = sum(r for r, _, _ in terms)
        if not terms or total == 0:
            return {}
        cover = sum(r * held for r, _, held in terms) / total
        known = [held for _, anchor, held in terms if anchor and held.any()]
        words = sorted(((r, held) for r, anchor, held in terms if not anchor and held.any()), key=lambda t: -t[0])
        joint = np.logical_and.reduce([*known, *(held for _, held in words[:1])], initial=True)
        names = np.logical_and.reduce(known, initial=True)
        return {"max_cov": float(cover.max()), "joint_any": float(joint.any()), "anchors_any": float(names.any()),
                "joint_n": float(np.log1p(joint.sum()))}


def spellings(q: Question) -> list[list[tuple[str, ...]]]:
    """Each of Retriever.terms's terms as the token sequences that say it, in the same order."""
    if q.bridged is not None:
        return [[alt for alt, _ in t.alternatives] for t in q.bridged]
    if q.language != "ja":
        return []
    return [[(t,)] for t in sorted(q.content - q.anchors)] + [[run] for run in anchor_runs(q)]


def anchors_of(q: Question) -> list[bool]:
    if q.bridged is not None:
        return [any(w in q.anchors for w in t.english.split()) for t in q.bridged]
    return [False] * len(q.content - q.anchors) + [True] * len(anchor_runs(q)) if q.language == "ja" else []


def rarity(lex: LexicalIndex, alts: Sequence[tuple[str, ...]]) -> float:
    """As Retriever.terms has it: the rarity of the commonest way of saying the term."""
    return min((max(lex.rarity(x) for x in alt) for alt in alts if alt), default=1.0)


def held_passages(lex: LexicalIndex, alts: Sequence[tuple[str, ...]]) -> np.ndarray:
    """Which passages hold one of ``alts`` whole (every token of it)."""
    out = np.zeros(lex.size, bool)
    for alt in alts:
        held = np.ones(lex.size, bool)
        for token in alt:
            t = lex.vocab.get(token)
            if t is None:
                held[:] = False
                break
            mask = np.zeros(lex.size, bool)
            mask[lex.indices[lex.indptr[t]:lex.indptr[t + 1]]] = True
            held &= mask
        out |= held
    return out


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def record(index: Path, asked: Sequence[tuple[str, int, bool, str]], lang: str) -> list[dict]:
    """Rows for (question, article or pseudo-article, answerable, set) asked of ``index``."""
    r = TermRecorder.load(index)
    r.documents = {}
    rows = []
    for start in range(0, len(asked), 200):
        chunk = asked[start:start + 200]
        r.records = []
        r.ask_many([q for q, _, _, _ in chunk])
        for (q, article, ok, name), rec in zip(chunk, r.records, strict=True):
            rows.append({"lang": lang, "question": q, "article": article, "answerable": ok,
                         "offtopic": name.startswith("offtopic"), "set": name, **rec})
        print(lang, name, len(rows), "of", len(asked), flush=True)
    return rows


def even_asked(lang: str) -> list[tuple[str, int, bool, str]]:
    """train_abstain.py's questions of one language on the even-article index; an off-topic
    question's pseudo-article is OFFTOPIC + its file's position."""
    files = {row["question"]: i for i, name in enumerate(OFFTOPIC_FILES[lang]) for row in jsonl(DATA / name)}
    return [(q, OFFTOPIC + files[q] if a >= OFFTOPIC else a, a % 2 == 0 and a < OFFTOPIC,
             "offtopic-even" if a >= OFFTOPIC else "even") for lg, q, a in articles()[2] if lg == lang]


def english_whole() -> list[tuple[Path, list[tuple[str, int, bool, str]]]]:
    """English dev questions and the index each is asked of: a1 and the dev off-topic sets on all
    of JSQuAD, the natural set on the report and the natural documents, the report's English
    questions on the report alone."""
    qset = read_questions(SHARED / "eval" / "jsquad-valid-v1.3.json")
    article = {q: a for q, a, _, name in even_asked("en") if name == "even"}
    a1 = [(row["question"], article[row["question"]], True, "a1") for row in jsonl(DATA / "jsquad_en.a1.jsonl")]
    off = [(q, a, False, "offtopic") for q, a, _, name in even_asked("en") if name != "even"]
    natural = jsonl(DATA / "natural" / "questions_en.jsonl")
    docs = sorted({row["doc"] for row in natural})
    report = ROOT / "corpus" / "nuclear-outlook-2025.txt"
    home = NATURAL + docs.index(report.name)
    return [(cached_index(qset.documents or [], "jsquad"), a1 + off),
            (cached_index(load([str(report), str(DATA / "natural" / "docs")]).documents, "natural"),
             [(row["question"], NATURAL + docs.index(row["doc"]), True, "natural") for row in natural]),
            (cached_index(load([ROOT / "corpus"]).documents, "abstain-report"),
             [(q.question, home, bool(q.answers), "report")
              for q in read_questions(ROOT / "corpus" / "questions" / "report.jsonl").questions if q.lang == "en"])]


def collect(refresh: bool) -> dict[str, list[dict]]:
    """Rows by kind: en-even / ja-even (fitted on), en-whole / ja-whole (judged), cached in CACHE."""
    path = CACHE / "abstain-english.json"
    if path.exists() and not refresh:
        return json.loads(path.read_text(encoding="utf-8"))
    qset = read_questions(SHARED / "eval" / "jsquad-valid-v1.3.json")
    even_docs = [d for d in qset.documents or [] if articles()[1][d.doc] % 2 == 0]
    even = cached_index(even_docs, "jsquad-even")
    out = {f"{lang}-even": record(even, even_asked(lang), lang) for lang in ("en", "ja")}
    out["en-whole"] = [row for index, asked in english_whole() for row in record(index, asked, "en")]
    out["ja-whole"] = record(cached_index(qset.documents or [], "jsquad"),
                             [(q, a, a < OFFTOPIC, "jsquad" if a < OFFTOPIC else "offtopic")
                              for q, a, _, _ in even_asked("ja")], "ja")
    path.write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    return out


def derived(row: dict) -> dict[str, float]:
    """Evidence read off a row's terms, beyond the shipped fields (Evidence)."""
    terms = row.get("terms") or []
    anchors = [t for t in terms if t["anchor"]]
    known = [t for t in anchors if t["in_corpus"] and t["named"]]
    words = sorted((t for t in terms if not t["anchor"] and t["in_corpus"]), key=lambda t: -t["rarity"])
    role = words[0] if words else None
    weight = sum(t["rarity"] for t in anchors)
    corpus = {"max_cov": 1.0, "joint_any": 1.0, "anchors_any": 1.0, "joint_n": 0.0, **(row.get("corpus") or {})}
    return {
        # a name the corpus holds that the best passage (its document) does not
        "known_missing": float(any(not t["in_passage"] for t in known)),
        "known_missing_share": sum(not t["in_passage"] for t in known) / len(known) if known else 0.0,
        "known_missing_doc": float(any(not t["in_document"] for t in known)),
        "known_missing_rare": max((t["rarity"] for t in known if not t["in_passage"]), default=0.0),
        "known_all_missing_doc": float(bool(known) and all(not t["in_document"] for t in known)),
        # the rarest of the question's other words (its role noun) at the answer
        "role_window": float(role["in_window"]) if role else 1.0,
        "role_sentence": float(role["in_sentence"]) if role else 1.0,
        "joint_window": float(all(t["in_window"] for t in known) and (role is None or role["in_window"])),
        "anchors_window": sum(t["rarity"] for t in anchors if t["in_window"]) / weight if weight else 1.0,
        **corpus,
        "cov_lead": corpus["max_cov"] - row["passage_coverage"],
    }


# Rules tried before the model: a row they hold is abstained on whatever its probability.
RULES: dict[str, Callable[[dict[str, float]], bool]] = {
    # every name of the question the corpus holds is missing from the answer's document, and no
    # passage holds them with the role noun ("the capital of Australia": オーストラリア elsewhere)
    "names missing from the document, never with the role noun":
        lambda d: d["known_all_missing_doc"] == 1 and d["joint_any"] == 0,
}


def features_of(rows: list[dict], names: Sequence[str]) -> np.ndarray:
    out = []
    for r in rows:
        d = derived(r)
        ev = Evidence(**{n: r[n] for n in EVIDENCE})
        out.append([d[n] if n in d else float(getattr(ev, n)) for n in names])
    return np.nan_to_num(np.array(out, float))  # the second vector unmeasured (NaN) weighs as 0


def fold_of(row: dict, folds: Fold) -> int:
    """Off-topic questions by file (0-2), natural and report by document, JSQuAD by article."""
    a = row["article"]
    if a >= NATURAL:
        return (a - NATURAL) % FOLDS
    return a - OFFTOPIC if a >= OFFTOPIC else folds(a)


def draw(seed: int) -> Fold:
    """Fold of an article: train_abstain.py's for seed 0, else pairs of articles dealt at random."""
    if seed == 0:
        return hash_fold
    order = list(range(200))
    random.Random(seed).shuffle(order)
    return lambda a: order[a // 2] % FOLDS


def out_of_fold(train: list[dict], judged: list[dict], names: Sequence[str], folds: Fold,
                offtopic_weight: float = 1.0) -> np.ndarray:
    """Each judged row's P(answerable) by the logistic model (as train_abstain.py fits it) of the
    training rows of the other folds."""
    tf = np.array([fold_of(r, folds) for r in train])
    jf = np.array([fold_of(r, folds) for r in judged])
    x, y = features_of(train, names), np.array([r["answerable"] for r in train], float)
    xj = features_of(judged, names)
    w = np.array([offtopic_weight if r["offtopic"] else 1.0 for r in train])
    p = np.zeros(len(judged))
    for f in range(FOLDS):
        keep = tf != f
        mean, scale = x[keep].mean(0), x[keep].std(0) + 1e-9
        coef, b = fit_logistic((x[keep] - mean) / scale, y[keep], w[keep])
        p[jf == f] = 1 / (1 + np.exp(-((xj[jf == f] - mean) / scale @ coef + b)))
    return p


def at_budgets(lang: str, judged: list[dict], p: np.ndarray, rule: str | None = None) -> list[dict]:
    """Off-topic questions abstained (per dev file) at each count of answerable ones abstained
    on (AT), rules and model together; Japanese with the coverage rule overruled as shipped."""
    rules = ruled(judged, p, OVERRULE.get(lang, 1.0))
    if rule is not None:
        rules = rules | np.array([RULES[rule](derived(r)) for r in judged])
    free = np.array([r["byline"] for r in judged])
    pos = np.array([r["answerable"] for r in judged])
    off = np.array([r["offtopic"] for r in judged])
    file = np.array([r["article"] - OFFTOPIC if r["offtopic"] else -1 for r in judged])
    sets = np.array([r["set"] for r in judged])
    out = []
    for count in AT[lang]:
        best = max((float(t) for t in np.unique(p) if (rules | ((p < t) & ~free))[pos].sum() <= count), default=0.0)
        abst = rules | ((p < best) & ~free)
        out.append({"false": int(abst[pos].sum()), "threshold": round(best, 5), "offtopic": int(abst[off].sum()),
                    "of": int(off.sum()), "by_file": [int(abst[file == i].sum()) for i in range(3)],
                    "false_by_set": {s: int(abst[pos & (sets == s)].sum()) for s in sorted(set(sets[pos]))}})
    return out


EN = FEATURES["en"]
JA = FEATURES["ja"]
# (language, lever, training rows: "even" (train_abstain.py's) or "all" (and the English dev
# questions asked of whole indexes, out of fold), evidence, rule before the model)
LEVERS: tuple[tuple[str, str, str, tuple[str, ...], str | None], ...] = (
    ("en", "shipped recipe (even index only)", "even", EN, None),
    ("en", "more answerable rows: whole-index a1, natural, report", "all", EN, None),
    ("en", "all rows + a known name missing from the passage", "all", (*EN, "known_missing"), None),
    ("en", "all rows + share of known names missing", "all", (*EN, "known_missing_share"), None),
    ("en", "all rows + a known name missing from the document", "all", (*EN, "known_missing_doc"), None),
    ("en", "all rows + rarest known name missing", "all", (*EN, "known_missing_rare"), None),
    ("en", "all rows + role noun in the window", "all", (*EN, "role_window"), None),
    ("en", "all rows + names and role noun in the window", "all", (*EN, "joint_window"), None),
    ("en", "all rows + names' share in the window", "all", (*EN, "anchors_window"), None),
    ("en", "all rows + best coverage of any passage", "all", (*EN, "max_cov"), None),
    ("en", "all rows + a passage holds names and role noun", "all", (*EN, "joint_any"), None),
    ("en", "all rows + passages holding names and role noun", "all", (*EN, "joint_n"), None),
    ("en", "all rows + another passage's coverage lead", "all", (*EN, "cov_lead"), None),
    ("en", "all rows + the corpus standings (dense_z, top_z, lead)", "all", (*EN, "dense_z", "top_z", "lead"), None),
    ("en", "all rows + rule: names missing, never with the role noun", "all", EN,
     "names missing from the document, never with the role noun"),
    ("en", "shipped recipe + rule: names missing, never with the role noun", "even", EN,
     "names missing from the document, never with the role noun"),
    ("ja", "shipped recipe", "even", JA, None),
    ("ja", "+ a known name missing from the passage", "even", (*JA, "known_missing"), None),
    ("ja", "+ a known name missing from the document", "even", (*JA, "known_missing_doc"), None),
    ("ja", "+ role noun in the window", "even", (*JA, "role_window"), None),
    ("ja", "+ names and role noun in the window", "even", (*JA, "joint_window"), None),
    ("ja", "+ names' share in the window", "even", (*JA, "anchors_window"), None),
    ("ja", "+ best coverage of any passage", "even", (*JA, "max_cov"), None),
    ("ja", "+ a passage holds names and role noun", "even", (*JA, "joint_any"), None),
    ("ja", "+ names' share in the window, a passage holds names and role noun", "even",
     (*JA, "anchors_window", "joint_any"), None),
    ("ja", "+ rule: names missing, never with the role noun", "even", JA,
     "names missing from the document, never with the role noun"),
)


def training(lang: str, kind: str, rows: dict[str, list[dict]]) -> list[dict]:
    """The rows a lever fits on: the even index's, and for "all" the answerable English dev
    questions and the off-topic ones asked of whole indexes too."""
    even = rows[f"{lang}-even"]
    return even + rows[f"{lang}-whole"] if kind == "all" else even


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--refresh", action="store_true", help="record the evidence again")
    ap.add_argument("--draws", type=int, default=4,
                    help="how many ways of dealing articles into folds, at least 1 (the first is train_abstain's)")
    args = ap.parse_args()
    if args.draws < 1:
        ap.error(f"--draws must be at least 1, got {args.draws}")
    rows = collect(args.refresh)
    results = []
    for lang, name, kind, names, rule in LEVERS:
        judged = [r for r in rows[f"{lang}-whole"] if r["answerable"] or r["offtopic"]]
        train = training(lang, kind, rows)
        draws = []
        for seed in range(args.draws):
            p = out_of_fold(train, judged, names, draw(seed), OFFTOPIC_WEIGHT[lang])
            draws.append(at_budgets(lang, judged, p, rule))
        cells = [f"{draws[0][i]['false']}: " + "/".join(str(d[i]["offtopic"]) for d in draws)
                 for i in range(len(AT[lang]))]
        print(lang, f"{name:66}", " · ".join(cells), flush=True)
        results.append({"lang": lang, "lever": name, "rows": kind, "features": list(names), "rule": rule,
                        "draws": draws})
    write_result("abstain_english", {"at": AT, "draws": args.draws, "levers": results})


if __name__ == "__main__":
    main()
