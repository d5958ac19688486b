"""Fit retriever/abstain.json: when the corpus does not answer a question, by evidence.

Needs: the project installed with the bench extra and ../shared/eval/jsquad-valid-v1.3.json
(KOTAE_SHARED); benchmarks/data/jsquad_en.a1.jsonl and the dev off-topic sets of OFFTOPIC_FILES.
Run: python benchmarks/train_abstain.py [--refresh] [--scan] [--languages en] [--english-whole]

Unanswerable questions are made, not written: only the JSQuAD articles of even index are
indexed, so the questions of the odd articles (Japanese originals, and the English renderings
of those in the a1 set) cannot be answered from it, while those of the even articles can; the
dev off-topic sets (not the held-out ones) join them as unanswerable questions of another kind
(about things no article holds, where the odd articles' questions are near misses), each
weighing OFFTOPIC_WEIGHT[language] questions in the fit; --scan prints the out-of-fold figures of other
weights and thresholds, the figures the constants below were chosen by.
For each question the abstain step's Evidence is recorded (cached in CACHE), then per
language a logistic model over EVIDENCE is fitted with 5-fold cross-validation by article; the
threshold is the highest whose out-of-fold false abstentions on answerable questions (the
rules' and the model's; the coverage rule's only where the model is under OVERRULE, as
AbstainModel.overrule has it at run time) stay within the language's budget, and no higher
than THRESHOLD_CAP. Held out, never read here: the
English a2 set and the held-out off-topic sets (bench_abstain.py reports them).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
from cached_index import cached_index
from common import CACHE, ROOT, SHARED, write_result

from ingest.load import load
from retriever import Retriever, ShortAnswer
from retriever.abstain import EVIDENCE, WEIGHTS, Evidence
from retriever.evaluate import read_questions
from retriever.question import Question

DATA = ROOT / "benchmarks" / "data"
FOLDS = 5
# Share of answerable questions abstained on by the rules and the model together (out of
# fold). English: issue 14's target is 3%, kept with a margin (at a 3% budget, threshold
# 0.075, the model abstained on 9.7% of the natural English set and 3.8% of a1 over the whole
# index: English evidence through the bridge is too weak yet, so the margin stays and the
# English model adds almost nothing);
# Japanese: the rules alone abstain on 1.49% of the same data, so the model may add little.
# (The model alone, replacing the rules, did better here but let the report's unanswerable
# questions through: one document of one topic is not a corpus it was fitted on.)
BUDGET = {"en": 0.025, "ja": 0.018}
# The English threshold is at most this. Out of fold it is read off 118 answerable questions,
# one of which is 0.85 points, and in the second session on issue 14 it fell on a cliff: on the
# whole JSQuAD index the English dev questions (a1, 287) and the dev off-topic ones (first,
# dev2, dev3: 116) were abstained on as follows (rules and model; benchmarks/abstain_thresholds.py):
#   threshold 0.0100 · 0.0125 · 0.0150 · 0.0175 · 0.0200 · 0.0250   (out of fold: 0.0197)
#   a1        3      · 3      · 3      · 4      · 7      · 8      of 287
#   off-topic 29     · 36     · 40     · 42     · 42     · 46     of 116
# and refitted after others' landings moved the evidence, a1 3 · 3 · 3 · 3 · 6 · 7 and
# off-topic 30 · 36 · 40 · 42 · 42 · 46: 0.015 stays below the cliff on both, nearly all of the
# off-topic questions caught for 3-4 fewer false abstentions.
# Japanese: refitted after others' landings moved the evidence (main 8a820cf), the out-of-fold
# threshold no longer carried over to the whole index; there (rules and model, dev sets only:
# all 4,442 JSQuAD questions, off-topic first 24 / dev2 44 / dev3 44) the fit of
# OFFTOPIC_WEIGHT 10 abstained on
#   threshold  0.0265 · 0.029 · 0.032 · 0.0345 · 0.037 · 0.0685 (out of fold)
#   JSQuAD     30     · 31    · 32    · 34     · 36    · 55      false abstentions
#   off-topic  20/35/29 · 21/36/30 · 21/36/30 · 21/36/31 · 21/36/32 · 23/40/33
# so 0.032 sits mid-way in the span that keeps the off-topic figures of the model before
# (21/36/30) for fewer false abstentions than it made (37).
# English, refitted when absent came to count only names the dictionary knows (unplaced the
# rest): out of fold the 2.5% budget gives 0.0168; on the whole index
#   threshold 0.0100 · 0.0125 · 0.0150 · 0.0175 · 0.0200 · 0.0225 · 0.0250
#   a1        2      · 2      · 2      · 3      · 3      · 3      · 5      of 287
#   off-topic 39     · 44     · 48     · 49     · 52     · 53     · 53     of 116
# and the natural English set (report and documents, 129 answerable) lost 2 questions at 0.015
# that it kept before (probabilities 0.0140 and 0.0142, no names in either: the refit's other
# weights moved), none at 0.0125, which still catches 44 off-topic questions where 0.015 caught
# 40 before the refit. With the rule for absent names before the model (Settings.abstain_absent_names;
# same weights) the off-topic row reads 44 · 47 · 51 · 51 · 53 · 54 · 54, a1's is unchanged.
# Japanese, with the coverage rule overruled by the model above OVERRULE (issue 14, third session;
# refitted on main 651d420, whose re-ranked answer sentences moved the evidence;
# benchmarks/abstain_thresholds.py, whole index, dev sets only, rules and model):
#   threshold          0.030 · 0.035 · 0.0375 · 0.040 · 0.0425
#   rule standing      32    · 33    · 34     · 37    · 39    of 4,442 false abstentions
#   overruled > 0.1    27    · 28    · 29     · 32    · 34
#   off-topic (both)   85    · 87    · 88     · 89    · 91    of 112
# so 0.0375 stays under the 31 false abstentions of the model before (threshold 0.032, rule
# standing: 87 off-topic) and catches 88.
THRESHOLD_CAP = {"en": 0.0125, "ja": 0.0375}
# Above this probability the model overrules the coverage rule (AbstainModel.overrule). Out of
# fold (benchmarks/abstain_levers.py: each dev off-topic file left out in turn; main d6ffcc1),
# at 32 false abstentions among the 4,442 JSQuAD questions the Japanese model caught 78 of the
# 112 dev off-topic questions with the rule standing, 86 overruling it above 0.1 (85 above 0.05,
# 84 at 0.2-0.3, 83 at 0.5), 88 with no rules at all; no rules at all let the report's unanswerable
# 中国が現在保有している核弾頭は何発か through (the fact rule's, p 0.86), which the overrule keeps.
# English has no coverage rule of this kind (its bridged coverage rule is off).
OVERRULE = {"ja": 0.1}
L2 = 1.0
# Whether the English model also learns from English dev questions asked of whole indexes
# (english_rows): a1 on all of JSQuAD, the natural dev set on its documents, the report's English
# questions and the dev off-topic questions on all of JSQuAD, so that 559 answerable questions
# rather than the even index's 118 set its weights and threshold. Off: tried in issue 14's fourth
# session and not shipped. Out of fold (benchmarks/abstain_english.py, main 626ccb3) it caught
# from 2 fewer to 6 more of the 116 dev off-topic questions than the even-index fit at equal false
# abstentions among the 444 answerable dev ones (at 6: 49/54/53/55 against 50/52/50/49 in four
# ways of drawing the folds). Fitted so (--english-whole, with BUDGET["en"] edited to 0.015 and
# THRESHOLD_CAP["en"] removed: threshold 0.114), on the whole index it
# abstained on 3 of a1's 287, 0 of the natural 129 and 54 of the 116 dev off-topic questions (43
# shipped), but held out on 6 of a2's 95 (2 shipped; the target is 3%) for 11 of the 22 held-out
# off-topic ones (9 shipped): the higher threshold does not carry over to other articles.
ENGLISH_WHOLE = False
# The evidence each language's model reads. English leaves out the corpus-relative standings
# (dense_z, top_z, lead): they are measured in sd of the corpus's sentences, which a 21-passage
# report and 1,145 Wikipedia paragraphs spread differently, and through the bridge they did
# not carry over: fitted here with them, the model abstained on 5 of the natural English set's
# 70 answerable questions (from 2), for 6 of the 26 off-topic ones; without them 3 and 8.
# Japanese leaves out the second vector's similarities (only English questions are given one)
# and unplaced (a Japanese word is in the corpus or not: there is no dictionary between them).
FEATURES = {"ja": tuple(n for n in EVIDENCE if not n.startswith("second") and n != "unplaced"),
            "en": tuple(n for n in EVIDENCE if n not in ("dense_z", "top_z", "lead"))}
OFFTOPIC = 10_000  # the pseudo-articles of off-topic questions start here
NATURAL = 20_000  # and those of the natural and report documents (english_rows) here
REPORT = ROOT / "corpus" / "nuclear-outlook-2025.txt"
# The dev off-topic sets each language's model is fitted with. (Japanese left out dev3 until
# main 8a820cf: at weight 1, with it, one more of dev3's 44 was abstained on for one more false
# abstention among the 4,442 JSQuAD questions; at weight 10 and the capped threshold it is in.)
OFFTOPIC_FILES = {"ja": ("offtopic_ja.jsonl", "offtopic_ja.dev2.jsonl", "offtopic_ja.dev3.jsonl"),
                  "en": ("offtopic_en.jsonl", "offtopic_en.dev2.jsonl", "offtopic_en.dev3.jsonl")}
# An off-topic question weighs this many questions in the fit: 70 of them against ~4,400
# JSQuAD questions would otherwise hardly move the model, whose other unanswerable questions
# (the odd articles') are near misses of another kind.
# Japanese, refitted at main 8a820cf: at weight 1 (with or without dev3) or 3 no threshold kept
# the off-topic figures with at most 34 false abstentions on the whole index; at 10 one did.
OFFTOPIC_WEIGHT = {"ja": 10.0, "en": 1.0}


class Recorder(Retriever):
    """A Retriever that records each question's Evidence and its rules' verdict."""

    records: list[dict]

    def abstain(self, q: Question, best: int, best_dense: float, short: ShortAnswer | None,
                lex_p: np.ndarray | None, du: np.ndarray | None = None) -> str | None:
        why = self.abstain_rules(q, best, best_dense, short, lex_p)
        firm = self.abstain_rules(q, best, best_dense, short, lex_p, coverage=False) if why is not None else None
        byline = bool(q.intents) and self.index.units.kind[best] in q.intents
        if du is not None:
            # coverage_rule: the rules abstain by the coverage rule alone (AbstainModel.overrule may answer)
            self.records.append({"rules": why is not None, "coverage_rule": why is not None and firm is None,
                                 "why": why or "", "byline": byline,
                                 **asdict(self.evidence(q, best, du, short))})
        return why


def articles() -> tuple[list, dict[str, int], list[tuple[str, str, int]]]:
    """(documents of even articles, article of each document id, (language, question, article))."""
    data = json.loads((SHARED / "eval" / "jsquad-valid-v1.3.json").read_text(encoding="utf-8"))
    article_of_context = {p["context"]: ai for ai, a in enumerate(data["data"]) for p in a["paragraphs"]}
    qset = read_questions(SHARED / "eval" / "jsquad-valid-v1.3.json")
    article = {d.doc: article_of_context[d.text] for d in qset.documents or []}
    even = [d for d in qset.documents or [] if article[d.doc] % 2 == 0]
    asked = [("ja", q.question, article[qset.context_of[q.id]]) for q in qset.questions]
    # English: a1 only, the dev split; a2 is held out (bench_abstain.py reports it).
    for line in (DATA / "jsquad_en.a1.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            asked.append(("en", row["question"], article[qset.context_of[row["id"]]]))
    # The first off-topic sets (not the held-out ones): questions no article answers, with
    # an odd "article" of their own each, so that they are unanswerable and spread over folds.
    for lang in ("ja", "en"):
        for i, question in enumerate(offtopic_questions(lang)):
            asked.append((lang, question, OFFTOPIC + 2 * i + 1))
    return even, article, asked


def english_asked() -> dict[str, list[tuple[str, int, bool]]]:
    """English dev questions asked of the index a user would have, by index: (question, article,
    answerable). JSQuAD: the a1 renderings on the whole index (all answerable, each with its
    article) and the dev off-topic questions (the pseudo-articles of :func:`articles`); natural:
    the natural dev set on its documents, report: the report's own English questions, each
    document a pseudo-article of its own (NATURAL + 2 i) so that its questions share a fold."""
    _, article, asked = articles()
    qset = read_questions(SHARED / "eval" / "jsquad-valid-v1.3.json")
    a1 = [json.loads(line) for line in (DATA / "jsquad_en.a1.jsonl").read_text(encoding="utf-8").splitlines()
          if line.strip()]
    jsquad = [(row["question"], article[qset.context_of[row["id"]]], True) for row in a1]
    jsquad += [(q, a, False) for lang, q, a in asked if lang == "en" and a >= OFFTOPIC]
    natural = [json.loads(line) for line in (DATA / "natural" / "questions_en.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    docs = sorted({row["doc"] for row in natural})
    report = read_questions(ROOT / "corpus" / "questions" / "report.jsonl").questions
    home = NATURAL + 2 * docs.index(REPORT.name)
    return {"jsquad": jsquad,
            "natural": [(row["question"], NATURAL + 2 * docs.index(row["doc"]), True) for row in natural],
            "report": [(q.question, home, bool(q.answers)) for q in report if q.lang == "en"]}


def english_rows(refresh: bool) -> list[dict]:
    """The Evidence of :func:`english_asked`'s questions (cached in CACHE): the English model
    learns from them too (ENGLISH_WHOLE), beside the even-index rows of :func:`collect`."""
    path = CACHE / "abstain-evidence-en-whole.json"
    if path.exists() and not refresh:
        return json.loads(path.read_text(encoding="utf-8"))
    qset = read_questions(SHARED / "eval" / "jsquad-valid-v1.3.json")
    natural = load([str(REPORT), str(DATA / "natural" / "docs")]).documents
    indexes = {"jsquad": cached_index(qset.documents or [], "jsquad"), "natural": cached_index(natural, "natural"),
               "report": cached_index(load([REPORT.parent]).documents, "abstain-report")}
    rows = []
    for name, asked in english_asked().items():
        r = Recorder.load(indexes[name])
        r.records = []
        r.ask_many([q for q, _, _ in asked])
        assert len(r.records) == len(asked), "a question was answered without the abstain step"
        rows += [{"lang": "en", "question": q, "article": a, "answerable": ok, "index": name,
                  "offtopic": OFFTOPIC <= a < NATURAL, **rec} for (q, a, ok), rec in zip(asked, r.records, strict=True)]
        print(name, len(asked), flush=True)
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return rows


def offtopic_questions(lang: str) -> list[str]:
    """The dev off-topic questions of one language's fit (OFFTOPIC_FILES), in file order."""
    return [json.loads(line)["question"] for name in OFFTOPIC_FILES[lang]
            for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def collect(refresh: bool) -> list[dict]:
    path = CACHE / "abstain-evidence.json"
    if path.exists() and not refresh:
        return json.loads(path.read_text(encoding="utf-8"))
    even, _, asked = articles()
    r = Recorder.load(cached_index(even, "jsquad-even"))
    r.records = []
    rows = []
    for lang in ("ja", "en"):
        mine = [a for a in asked if a[0] == lang]
        for start in range(0, len(mine), 200):
            chunk = mine[start:start + 200]
            r.records = []
            answers = r.ask_many([q for _, q, _ in chunk])
            assert len(r.records) == len(answers), "a question was answered without the abstain step"
            for (lg, q, ai), rec in zip(chunk, r.records, strict=True):
                rows.append({"lang": lg, "question": q, "article": ai, "answerable": ai % 2 == 0,
                             "offtopic": ai >= OFFTOPIC, **rec})
            print(lang, start + len(chunk), "of", len(mine), flush=True)
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return rows


def fit_logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method (a few features, a few thousand
    rows), each row counting ``weight`` times (1 without)."""
    a = np.hstack([x, np.ones((len(x), 1))])
    c = np.ones(len(x)) if weight is None else weight
    w = np.zeros(a.shape[1])
    reg = np.full(a.shape[1], L2)
    reg[-1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(a @ w, -50, 50)))
        grad = a.T @ (c * (p - y)) + reg * w
        hess = (a * (c * p * (1 - p))[:, None]).T @ a + np.diag(reg) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def matrix(rows: list[dict], features: tuple[str, ...]) -> np.ndarray:
    return np.array([Evidence(**{n: r[n] for n in EVIDENCE}).vector(features) for r in rows])


def row_weights(rows: list[dict], offtopic_weight: float) -> np.ndarray:
    return np.array([offtopic_weight if r["offtopic"] else 1.0 for r in rows])


def out_of_fold(rows: list[dict], features: tuple[str, ...], offtopic_weight: float = 1.0) -> np.ndarray:
    """P(answerable) of each row from a model fitted without its article's fold."""
    x, y = matrix(rows, features), np.array([r["answerable"] for r in rows], float)
    fold = np.array([hash_fold(r["article"]) for r in rows])
    weight = row_weights(rows, offtopic_weight)
    p = np.zeros(len(rows))
    for f in range(FOLDS):
        train = fold != f
        mean, scale = x[train].mean(0), x[train].std(0) + 1e-9
        coef, b = fit_logistic((x[train] - mean) / scale, y[train], weight[train])
        p[~train] = 1 / (1 + np.exp(-((x[~train] - mean) / scale @ coef + b)))
    return p


def hash_fold(article: int) -> int:
    # Articles alternate between indexed and not, so folds take every 5th pair of them.
    return (article // 2) % FOLDS


def ruled(rows: list[dict], p: np.ndarray, overrule: float = 1.0) -> np.ndarray:
    """Whether the rules abstain on each row, the coverage rule only where the model's
    probability ``p`` is under ``overrule`` (AbstainModel.overrule)."""
    firm = np.array([r["rules"] and not r["coverage_rule"] for r in rows])
    return firm | (np.array([r["coverage_rule"] for r in rows]) & (p < overrule))


def threshold(rows: list[dict], p: np.ndarray, budget: float, overrule: float = 1.0) -> float:
    """The highest threshold whose out-of-fold false abstentions stay within ``budget``."""
    pos = np.array([r["answerable"] for r in rows])
    rules = ruled(rows, p, overrule)
    free = np.array([r["byline"] for r in rows])
    best = 0.0
    # Candidates: midway between neighbouring probabilities, so that a model whose answerable
    # questions all score under 0.005 (a heavily weighted fit) still gets a threshold between them.
    ps = np.unique(np.round(p, 6))
    for t in np.round(np.concatenate([(ps[:-1] + ps[1:]) / 2, np.arange(0.005, 0.9, 0.005)]), 6):
        false = (rules | ((p < t) & ~free))[pos].mean()
        if false <= budget and t > best:
            best = float(t)
    return best


def report(lang: str, rows: list[dict], p: np.ndarray, t: float, overrule: float = 1.0) -> dict:
    pos = np.array([r["answerable"] for r in rows])
    rules = ruled(rows, p, overrule)
    model = (p < t) & ~np.array([r["byline"] for r in rows])
    out = {"answerable": int(pos.sum()), "unanswerable": int((~pos).sum()), "threshold": t,
           "false_abstentions_rules": round(float(rules[pos].mean()), 4),
           "false_abstentions_with_model": round(float((rules | model)[pos].mean()), 4),
           "unanswerable_abstained_rules": round(float(rules[~pos].mean()), 4),
           "unanswerable_abstained_with_model": round(float((rules | model)[~pos].mean()), 4)}
    where = np.array([r.get("index", "even") for r in rows])
    if len(set(where)) > 1:  # English: answerable questions abstained on, per index they were asked of
        held = (rules | model) & pos
        out["false_abstentions_by_index"] = {str(name): f"{int((held & (where == name)).sum())} of "
                                                        f"{int((pos & (where == name)).sum())}" for name in set(where)}
    off = np.array([r["offtopic"] for r in rows])
    out["offtopic"] = int(off.sum())
    out["offtopic_abstained_with_model"] = round(float((rules | model)[off].mean()), 4) if off.any() else None
    print(lang, out, flush=True)
    return out


def fit(lang: str, rows: list[dict]) -> tuple[dict, dict]:
    """The model for one language on all its rows, with out-of-fold figures and threshold."""
    features = FEATURES[lang]
    p = out_of_fold(rows, features, OFFTOPIC_WEIGHT[lang])
    overrule = OVERRULE.get(lang, 1.0)
    t = min(threshold(rows, p, BUDGET[lang], overrule), THRESHOLD_CAP.get(lang, 1.0))
    x, y = matrix(rows, features), np.array([r["answerable"] for r in rows], float)
    mean, scale = x.mean(0), x.std(0) + 1e-9
    coef, b = fit_logistic((x - mean) / scale, y, row_weights(rows, OFFTOPIC_WEIGHT[lang]))
    model = {"features": list(features), "mean": mean.round(5).tolist(), "scale": scale.round(5).tolist(),
             "coef": coef.round(4).tolist(), "intercept": round(b, 4), "threshold": t}
    if lang in OVERRULE:
        model["overrule"] = OVERRULE[lang]
    return model, report(lang, rows, p, t, overrule)


def fitted_rows(lang: str, rows: list[dict], refresh: bool = False, whole: bool = ENGLISH_WHOLE) -> list[dict]:
    """The rows one language's model is fitted on: the even-index rows, and for English with
    ``whole`` those of :func:`english_rows` too."""
    mine = [r for r in rows if r["lang"] == lang]
    return mine + english_rows(refresh) if lang == "en" and whole else mine


def scan(rows: list[dict], whole: bool = ENGLISH_WHOLE) -> None:
    """Out-of-fold figures per language for other off-topic weights and budgets, written to
    benchmarks/results/abstain_scan.json (the model is not written)."""
    out = []
    for lang in ("ja", "en"):
        mine = fitted_rows(lang, rows, whole=whole)
        for weight in (1.0, 3.0, 10.0, 30.0):
            p = out_of_fold(mine, FEATURES[lang], weight)
            for budget in sorted({BUDGET[lang], 0.01, 0.02, 0.03}):
                print(f"weight {weight:>4} budget {budget:.3f}", end=" ")
                out.append({"lang": lang, "offtopic_weight": weight, "budget": budget,
                            **report(lang, mine, p, threshold(mine, p, budget))})
    write_result("abstain_scan", {"rows": out})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--refresh", action="store_true", help="recollect the evidence (after a change to it)")
    ap.add_argument("--scan", action="store_true", help="print figures of other weights and budgets, write nothing")
    ap.add_argument("--languages", nargs="+", choices=("ja", "en"), default=["ja", "en"],
                    help="fit only these; the other language's model and figures stay as abstain.json has them")
    ap.add_argument("--english-whole", action="store_true",
                    help="fit English on dev questions asked of whole indexes too (ENGLISH_WHOLE: tried, not shipped)")
    args = ap.parse_args()
    rows = collect(args.refresh)
    whole = ENGLISH_WHOLE or args.english_whole
    if args.scan:
        scan(rows, whole)
        return
    shipped = json.loads(WEIGHTS.read_text(encoding="utf-8")) if WEIGHTS.exists() else {}
    models, figures = dict(shipped.get("models", {})), dict(shipped.get("cross_validation", {}))
    for lang in args.languages:
        models[lang], figures[lang] = fit(lang, fitted_rows(lang, rows, args.refresh, whole))
    WEIGHTS.write_text(json.dumps({
        "about": "abstain models by question language, written by benchmarks/train_abstain.py: JSQuAD "
                 "validation, even articles indexed, odd articles' questions unanswerable; figures are "
                 "out of fold (5 folds by article)",
        "models": models, "cross_validation": figures}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {Path(WEIGHTS).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
