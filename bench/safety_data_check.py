"""Checks the safety data: the benchmark splits and the classifier's training messages.

* every file: five tab-separated columns, valid language, kind, severity and style codes;
* no message twice within or across files;
* no training message is a near copy of a dev, dev-2, dev-3, dev-4 or held-out message
  (character-similarity ratio 0.8 or more, same language): the classifier never learns
  the test items.

Only counts are printed for held-out messages: their text is never shown.

    .venv/bin/python bench/safety_data_check.py [--drop]

``--drop`` removes the training messages that are near copies (it prints how many).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from difflib import SequenceMatcher
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data" / "safety"
TRAINING = ROOT / "bot" / "safety" / "training"
HEADER = ["lang", "kind", "severity", "style", "text"]
LANGS = {"fr", "en", "es", "ar", "ary-Latn"}
KINDS = {
    "violence",
    "suicide",
    "medical",
    "child",
    "trafficking",
    "threat",
    "detention",
    "fire_accident",
    "none",
}
SEVERITIES = {"imminent", "urgent"}
STYLES = {"direct", "indirect", "embedded"}
# dev-2 to dev-9: earlier held-out sets, retired once reported (README.md): tuning data.
# The one list of splits: bench/safety_bench.py and bench/safety_tune.py read it here.
SPLITS = ("dev", "dev-2", "dev-3", "dev-4", "dev-5", "dev-6", "dev-7", "dev-8", "dev-9", "heldout")
NEAR = 0.8
GRAM = 4


def read(path: Path) -> tuple[list[list[str]], list[str]]:
    """The rows of a file, and what is wrong with it."""
    problems: list[str] = []
    if not path.is_file():
        return [], [] if path.stem == "heldout" else [f"{path.name} is missing"]
    with path.open(encoding="utf-8", newline="") as handle:
        lines = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not lines or lines[0] != HEADER:
        return [], [f"{path.name}: the first line must be {' '.join(HEADER)}"]
    rows = []
    for number, row in enumerate(lines[1:], start=2):
        where = f"{path.name} line {number}"
        if len(row) != 5:
            problems.append(f"{where}: {len(row)} columns instead of 5")
            continue
        lang, kind, severity, style, text = row
        if lang not in LANGS or kind not in KINDS or not text.strip():
            problems.append(f"{where}: unknown language or kind, or an empty text")
        elif kind == "none" and (severity, style) != ("-", "-"):
            problems.append(f"{where}: a 'none' message has '-' as severity and style")
        elif kind != "none" and (severity not in SEVERITIES or style not in STYLES):
            problems.append(f"{where}: severity or style missing")
        rows.append(row)
    return rows, problems


def _grams(text: str) -> set[str]:
    text = " ".join(text.casefold().split())
    return {text[i : i + GRAM] for i in range(max(1, len(text) - GRAM + 1))}


def near_copies(training: list[list[str]], tests: list[list[str]]) -> list[int]:
    """Indexes of training rows that are near copies of a test row of the same language."""
    index: dict[tuple[str, str], list[int]] = defaultdict(list)
    test_grams = [_grams(row[4]) for row in tests]
    for number, (row, grams) in enumerate(zip(tests, test_grams, strict=True)):
        for gram in grams:
            index[(row[0], gram)].append(number)
    found = []
    for position, row in enumerate(training):
        grams = _grams(row[4])
        shared: dict[int, int] = defaultdict(int)
        for gram in grams:
            for number in index.get((row[0], gram), ()):
                shared[number] += 1
        for number, count in shared.items():
            # A ratio of 0.8 needs most pieces in common: check those pairs only.
            if count < 0.5 * min(len(grams), len(test_grams[number])):
                continue
            if (
                SequenceMatcher(None, row[4].casefold(), tests[number][4].casefold()).ratio()
                >= NEAR
            ):
                found.append(position)
                break
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drop", action="store_true", help="remove near copies from training")
    args = parser.parse_args(argv)
    problems: list[str] = []
    splits: dict[str, list[list[str]]] = {}
    for name in SPLITS:
        splits[name], wrong = read(DATA / f"{name}.tsv")
        problems += wrong
    if not splits["heldout"]:
        problems.append("heldout.tsv is missing: the detector has no held-out set")
    tests = [row for name in SPLITS for row in splits[name]]
    seen = {row[4] for row in tests}
    if len(seen) != len(tests):
        problems.append(f"{len(tests) - len(seen)} messages appear twice in the test splits")
    for name in SPLITS[1:]:
        earlier = [row for other in SPLITS[: SPLITS.index(name)] for row in splits[other]]
        if near_copies(splits[name], earlier):
            problems.append(f"{name}.tsv: {len(near_copies(splits[name], earlier))} near copies")
    for path in sorted(TRAINING.glob("*.tsv")):
        rows, wrong = read(path)
        problems += wrong
        texts = [row[4] for row in rows]
        twice = len(texts) - len(set(texts))
        copies = sorted(
            set(near_copies(rows, tests)) | {i for i, t in enumerate(texts) if t in seen}
        )
        print(f"{path.name}: {len(rows)} messages, {twice} repeated, {len(copies)} near copies")
        if args.drop and (copies or twice):
            keep, kept = [], set()
            for i, row in enumerate(rows):
                if i not in copies and row[4] not in kept:
                    kept.add(row[4])
                    keep.append(row)
            # Written whole, then swapped in: a failure never leaves half a file.
            temporary = path.with_suffix(".tmp")
            text = "".join("\t".join(row) + "\n" for row in [HEADER, *keep])
            temporary.write_text(text, encoding="utf-8")
            temporary.replace(path)
            print(f"  dropped {len(rows) - len(keep)}")
        elif copies or twice:
            problems.append(f"{path.name}: {twice} repeated and {len(copies)} near copies (--drop)")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
