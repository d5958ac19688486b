"""How ``kotae eval`` shows its figures: a terminal table, and a Markdown report of failures.

The figures themselves are computed in :mod:`retriever.evaluate`; this is rendering only.
"""

from __future__ import annotations

from collections.abc import Sequence

from retriever.evaluate import FAILURE_KINDS, Outcome, Summary, verdicts

_HEADER = ("", "n", "hit@1", "hit@5", "MRR", "answer acc", "short EM", "short F1", "abstained", "false abst.")


def _row(name: str, s: Summary) -> tuple[str, ...]:
    ab = s.abstention
    return (name, str(s.n), f"{s.hit_at_1:.3f}", f"{s.hit_at_5:.3f}", f"{s.mrr:.3f}", f"{s.answer_accuracy:.3f}",
            f"{s.short_exact_match:.3f}", f"{s.short_char_f1:.3f}", f"{ab.abstained}/{ab.unanswerable}",
            str(ab.false_abstentions))


def summary_table(summary: Summary) -> str:
    """The figures as a right-aligned table: all questions, then each language."""
    rows = [_HEADER, _row("all", summary)]
    rows += [_row(lang, s) for lang, s in (summary.by_lang or {}).items()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADER))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lat = summary.latency_ms
    lines.append(f"latency p50 {lat.p50:.1f} ms, p95 {lat.p95:.1f} ms · "
                 f"{summary.seconds or 0:.1f} s ({summary.questions_per_s} questions/s)")
    return "\n".join(lines)


def confidence_lines(summary: Summary) -> list[str]:
    """The short answers' risk-coverage curve (threshold: share of questions shown, precision)
    and what was marked at the thresholds in use."""
    sc, ac = summary.short_confidence, summary.answer_confidence
    points = sc["risk_coverage"]
    return ["short answers by confidence (share of questions shown, share of those right):",
            "confidence ≥ " + " ".join(f"{p['threshold']:>5.1f}" for p in points),
            "shown        " + " ".join(f"{p['coverage']:>5.2f}" for p in points),
            "right        " + " ".join(f"{p['precision']:>5.2f}" for p in points),
            f"area under the curve {sc['area']:.3f} · ECE {sc['ece']:.3f} · shown at the threshold in use "
            f"{sc['shown']} ({sc['shown_right']} right) · answer sentences marked confident {ac['confident']} "
            f"({ac['confident_right']} right), ECE {ac['ece']:.3f}"]


def failures_markdown(outcomes: Sequence[Outcome], summary: Summary, source: str) -> str:
    """A Markdown report: the figures, then every failed question grouped by kind of failure,
    each with the question, the gold and what kotae said. A question is listed exactly when one
    of its verdicts (:func:`verdicts`) is false."""
    ab = summary.abstention
    lines = [f"# kotae eval: {source}", "",
             f"n={summary.n} · hit@1 {summary.hit_at_1} · hit@5 {summary.hit_at_5} · "
             f"MRR {summary.mrr} · answer accuracy {summary.answer_accuracy} · "
             f"abstained {ab.abstained}/{ab.unanswerable} unanswerable, "
             f"{ab.false_abstentions} false abstentions", ""]
    by_kind: dict[str, list[Outcome]] = {kind: [] for kind in FAILURE_KINDS}
    for o in outcomes:
        kind = verdicts(o).failure(o.answerable)
        if kind is not None:
            by_kind[kind].append(o)
    total = sum(map(len, by_kind.values()))
    counts = " · ".join(f"{kind} {len(group)}" for kind, group in by_kind.items() if group)
    lines.append(f"Failures: {total} of {len(outcomes)} questions" + (f" ({counts})" if counts else ""))
    for kind, failed in by_kind.items():
        if failed:
            lines += ["", f"## {kind} ({len(failed)})"]
            for o in failed:
                lines += ["", *_failure_lines(o)]
    return "\n".join(lines) + "\n"


def _failure_lines(o: Outcome) -> list[str]:
    a, v = o.answer, verdicts(o)
    false = ", ".join(k for k, x in v.as_dict().items() if x is False)
    lines = [f"### {o.question.id} ({o.question.lang})", "", f"- question: {o.question.question}",
             f"- gold: {' | '.join(o.question.answers) or '(none: kotae should abstain)'}",
             f"- false verdicts: {false}"]
    if a.abstained or a.answer is None:
        lines.append("- kotae: abstained")
    else:
        lines.append(f"- kotae: {a.answer.text} ({a.answer.doc} lines {a.answer.lines[0]}-{a.answer.lines[1]}, "
                     f"[{a.answer.start}:{a.answer.end}])")
        short = "(none given)" if a.short is None else a.short.text
        if v.short_f1 is not None and v.short_exact is False:
            # A gold copied with its context (最短28分で沿岸部に到達) holds a right short answer
            # (最短28分) that is not exact; the character F1 lets a reader tell it from a miss.
            short += f" (character F1 {v.short_f1:.2f} against the best gold)"
        lines.append(f"- short answer: {short}")
    for i, c in enumerate(a.citations[:3], 1):
        lines.append(f"- cited [{i}]: {c.text[:200]} ({c.doc} lines {c.lines[0]}-{c.lines[1]})")
    return lines
