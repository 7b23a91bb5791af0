"""Run every benchmark (``make bench``) and write a summary table.

Each benchmark is a script in bench/ that writes ``bench/results/<name>.json``; this runner
calls them one after another (they compete for the same two cores otherwise), then
collects every result file into ``bench/results/SUMMARY.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
ROOT = BENCH.parent

# (name, script, extra arguments); a script that does not exist yet is skipped.
BENCHMARKS: list[tuple[str, str, list[str]]] = [
    ("language", "language_bench.py", []),
    ("nlu", "nlu_bench.py", []),
    ("load", "load_bench.py", []),
    ("report", "report_bench.py", []),
    ("safety", "safety_bench.py", []),
    ("conversations", "conversation_bench.py", ["--conversations", "2000"]),
]


def run(names: list[str] | None) -> int:
    """Run the selected benchmarks; return the number that failed."""
    failed = 0
    for name, script, args in BENCHMARKS:
        if names and name not in names:
            continue
        path = BENCH / script
        if not path.is_file():
            print(f"-- {name}: {script} not present, skipped")
            continue
        print(f"== {name}: {script}", flush=True)
        start = time.monotonic()
        code = subprocess.call([sys.executable, str(path), *args], cwd=ROOT)
        print(f"== {name}: exit {code} after {time.monotonic() - start:.0f} s", flush=True)
        failed += code != 0
    return failed


def _pipelines_table(data: dict) -> str | None:
    """A table for results shaped like nlu.json (pipelines x languages), else None."""
    pipelines = data.get("pipelines")
    if not isinstance(pipelines, dict) or not pipelines:
        return None
    languages = sorted({lang for p in pipelines.values() for lang in p.get("languages", {})})
    head = ["pipeline", "macro-F1", *languages, "OOS recall", "in-scope acc", "train s"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, result in pipelines.items():
        overall = result.get("overall", {})
        cells = [name, overall.get("macro_f1")]
        cells += [result.get("languages", {}).get(lang, {}).get("macro_f1") for lang in languages]
        cells += [
            overall.get("out_of_scope_recall"),
            overall.get("in_scope_accuracy"),
            result.get("train_seconds"),
        ]
        rows.append("| " + " | ".join("" if c is None else str(c) for c in cells) + " |")
    met = data.get("targets_met")
    if isinstance(met, dict):
        verdicts = ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in met.items())
        rows += ["", f"Targets met: {verdicts}"]
    return "\n".join(rows)


def summary() -> str:
    """A markdown digest of every bench/results/*.json file."""
    lines = ["# Benchmark results", ""]
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        lines.append(f"## {path.stem}")
        lines.append("")
        table = data.get("summary_table") or _pipelines_table(data)
        if isinstance(table, str):
            lines.append(table.strip())
        else:
            lines.append("```json")
            lines.append(json.dumps(data.get("summary", data), indent=2)[:4000])
            lines.append("```")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument(
        "--summary-only", action="store_true", help="rewrite SUMMARY.md from the results"
    )
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    failed = 0 if args.summary_only else run(args.names)
    text = summary()
    (RESULTS / "SUMMARY.md").write_text(text, encoding="utf-8")
    print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
