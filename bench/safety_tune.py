"""Tuning aid for the danger detector: figures on the tuning data only, never the held-out set.

* ``dev``: bench/data/safety/dev.tsv, dev-2.tsv, dev-3.tsv and dev-4.tsv (earlier held-out
  sets, retired once each had been reported: see bench/data/safety/README.md);
* ``cv``: k-fold cross-validation over bot/safety/training/*.tsv: the classifier is trained
  on the other folds (and the NLU examples), the assistant (patterns, then that classifier)
  is scored on the fold. On this project it predicted held-out false alarms better than dev.

    .venv/bin/python bench/safety_tune.py [--c 4] [--threshold 0.5] [--folds 5]
        [--errors dev-2] [--patterns-only]

Prints recall and false alarms overall, per language and per kind (no file written).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bot.safety.assess  # noqa: E402, F401  (the package's name "assess" is the function)
from bench.safety_data_check import SPLITS  # noqa: E402
from bot.safety.classifier import (  # noqa: E402
    THRESHOLD,
    C,
    nlu_examples,
    read_rows,
    train,
    training_paths,  # noqa: E402
)

assess_module = sys.modules["bot.safety.assess"]
DATA = ROOT / "bench" / "data" / "safety"
TUNING_SPLITS = tuple(name for name in SPLITS if name != "heldout")


def split_rows(name: str) -> list[dict[str, str]]:
    if name == "heldout":
        raise SystemExit("heldout.tsv is never used for tuning")
    path = DATA / f"{name}.tsv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def score(rows: list[dict[str, str]], model: Any, threshold: float, learned: bool) -> dict:
    """Recall per language/kind, false alarms per language, and the misses and alarms."""
    hit: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    alarms: dict[str, int] = defaultdict(int)
    ordinary: dict[str, int] = defaultdict(int)
    missed, false = [], []
    with (
        mock.patch.object(assess_module, "classifier", lambda: model),
        mock.patch.object(assess_module, "THRESHOLD", threshold),
    ):
        for row in rows:
            found = assess_module.assess(row["text"], row["lang"], learned=learned)
            if row["kind"] == "none":
                for key in ("all", row["lang"]):
                    ordinary[key] += 1
                    alarms[key] += found is not None
                if found is not None:
                    false.append(f"{row['lang']}\t{found.rule}\t{row['text']}")
                continue
            for key in ("all", row["lang"], row["kind"]):
                total[key] += 1
                hit[key] += found is not None
            if found is None:
                missed.append(f"{row['lang']}\t{row['kind']}\t{row['text']}")
    return {
        "recall": {k: hit[k] / total[k] for k in total},
        "false_alarms": {k: alarms[k] / ordinary[k] for k in ordinary if ordinary[k]},
        "n": (total["all"], ordinary["all"]),
        "missed": missed,
        "false": false,
    }


def show(name: str, result: dict) -> None:
    recall, fa = result["recall"], result["false_alarms"]
    n_danger, n_none = result["n"]
    print(
        f"{name:6} recall {recall.get('all', 0):.3f} (n={n_danger})  "
        f"false alarms {fa.get('all', 0):.3f} (n={n_none})"
    )
    langs = ("fr", "en", "es", "ar", "ary-Latn")
    print("       recall " + " ".join(f"{k} {recall[k]:.2f}" for k in langs if k in recall))
    print("       fa     " + " ".join(f"{k} {fa[k]:.2f}" for k in langs if k in fa))
    kinds = sorted(k for k in recall if k not in langs and k != "all")
    print("       kinds  " + " ".join(f"{k} {recall[k]:.2f}" for k in kinds))


def cross_validation(c: float, threshold: float, folds: int, learned: bool) -> dict:
    rows = read_rows(training_paths())
    nlu = nlu_examples()
    order = list(range(len(rows)))
    random.Random(14).shuffle(order)
    merged: dict[str, Any] = {"missed": [], "false": []}
    every: list[dict[str, str]] = []
    for fold in range(folds):
        test_ids = set(order[fold::folds])
        train_rows = [r for i, r in enumerate(rows) if i not in test_ids] + nlu
        model = train(train_rows, c) if learned else None
        part = [rows[i] for i in sorted(test_ids)]
        result = score(part, model, threshold, learned)
        merged["missed"] += result["missed"]
        merged["false"] += result["false"]
        every += part
    # Recompute the rates over all folds from the lists.
    missed = {line.split("\t", 2)[2] for line in merged["missed"]}
    false = {line.split("\t", 2)[2] for line in merged["false"]}
    hit: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    alarms: dict[str, int] = defaultdict(int)
    ordinary: dict[str, int] = defaultdict(int)
    for row in every:
        if row["kind"] == "none":
            for key in ("all", row["lang"]):
                ordinary[key] += 1
                alarms[key] += row["text"] in false
            continue
        for key in ("all", row["lang"], row["kind"]):
            total[key] += 1
            hit[key] += row["text"] not in missed
    return {
        "recall": {k: hit[k] / total[k] for k in total},
        "false_alarms": {k: alarms[k] / ordinary[k] for k in ordinary if ordinary[k]},
        "n": (total["all"], ordinary["all"]),
        **merged,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--c", type=float, default=C)
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--folds", type=int, default=5, help="0: no cross-validation")
    parser.add_argument("--errors", choices=(*TUNING_SPLITS, "cv"), action="append", default=[])
    parser.add_argument("--patterns-only", action="store_true")
    args = parser.parse_args(argv)
    learned = not args.patterns_only
    model = train(read_rows(training_paths()) + nlu_examples(), args.c) if learned else None
    results = {}
    for name in TUNING_SPLITS:
        rows = split_rows(name)
        if rows:
            results[name] = score(rows, model, args.threshold, learned)
            show(name, results[name])
    if args.folds:
        results["cv"] = cross_validation(args.c, args.threshold, args.folds, learned)
        show("cv", results["cv"])
    for name in args.errors:
        print(f"\n--- {name}: false alarms")
        print("\n".join(results[name]["false"]))
        print(f"\n--- {name}: missed")
        print("\n".join(results[name]["missed"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
