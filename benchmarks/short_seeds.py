"""How much the shown-short figures of train_confidence.py owe to its trees' random seed.

Needs: the project installed with the bench extra, ../shared/eval/jsquad-valid-v1.3.json.
Run: python benchmarks/short_seeds.py [--seeds 3] [--index DIR] [--inputs FILE]

The short calibrator's trees sample rows and features (SHORT_FOREST: bagging and feature
fractions of 0.8), so the held-out share of questions shown at the default threshold moves by
about ±0.008 from one seed to the next; train_confidence.py ships seed 0 alone. This script
runs train_confidence's Japanese steps (JSQuAD validation, 5 folds by article, the same code)
once per seed and writes, per seed and as the mean, short EM and the shown short answers'
threshold, precision and share on all folds, on folds 0-2 and on folds 3-4
(benchmarks/results/short_seeds.json). Nothing is shipped: retriever/confidence.json is
written by train_confidence.py only.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import train_confidence
from common import write_result
from train_short_ranker import training_inputs

from retriever import Retriever

KEPT = ("threshold", "precision_at_threshold", "coverage_at_threshold")


def one_seed(rows: list[dict], r: Retriever, folds: int, seed: int) -> dict:
    """train_confidence's held-out short figures with the short trees drawn from ``seed``."""
    held_out, _, _ = train_confidence.japanese(rows, r, folds, {**train_confidence.SHORT_FOREST, "seed": seed})
    return {"seed": seed, "short_em_all_questions": held_out["short_em_all_questions"],
            **{part: {k: held_out[part][k] for k in KEPT}
               for part in ("short", "short_dev_folds", "short_held_out_folds")}}


def main() -> None:
    t0 = time.perf_counter()
    seeds = argparse.ArgumentParser(add_help=False)
    seeds.add_argument("--seeds", type=int, default=3)
    known, rest = seeds.parse_known_args()
    if known.seeds < 1:
        raise SystemExit(f"--seeds {known.seeds}: give 1 or more")
    sys.argv = [sys.argv[0], *rest]  # the rest is train_confidence's own command line
    args, _, index, rows = training_inputs(__doc__, "the collected inputs of an earlier train_confidence.py run",
                                           train_confidence.collect)
    r = Retriever.load(index, calibration=train_confidence.COLLECTING)
    runs = []
    for seed in range(known.seeds):
        runs.append(one_seed(rows, r, args.folds, seed))
        f = runs[-1]
        print(f"seed {seed}: EM {f['short_em_all_questions']:.4f} · " + " · ".join(
            f"{part} {f[part]['coverage_at_threshold']:.4f} at {f[part]['precision_at_threshold']:.4f}"
            for part in ("short", "short_dev_folds", "short_held_out_folds")), flush=True)
    mean = {"short_em_all_questions": round(float(np.mean([f["short_em_all_questions"] for f in runs])), 4),
            **{part: {k: round(float(np.mean([f[part][k] for f in runs])), 4) for k in KEPT[1:]}
               for part in ("short", "short_dev_folds", "short_held_out_folds")}}
    print(f"mean of {known.seeds} seeds: {mean}")
    write_result("short_seeds", {"data": train_confidence.DATA, "folds": args.folds, "by": "article",
                                 "seeds": runs, "mean": mean, "seconds": round(time.perf_counter() - t0, 1)})


if __name__ == "__main__":
    main()
