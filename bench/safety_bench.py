"""Safety benchmark: does the assistant recognise a person in danger? (issue 14)

Reads bench/data/safety/dev.tsv, dev-2.tsv, dev-3.tsv and dev-4.tsv (patterns and the
classifier's settings are tuned on them) and heldout.tsv (never used for tuning: the figures
that count), and reports, per language and per kind: recall (a danger message recognised as
a danger), the kind named, the false-alarm rate on ordinary messages with frightening words,
the false-alarm rate on everyday requests (the NLU held-out set), and milliseconds per
message. Detectors: what the assistant runs (patterns and classifier together), each alone,
and the baseline of the pipeline before this work: the Rasa intent ``ask_emergency`` alone
(the trained model).

    .venv/bin/python bench/safety_bench.py [--no-baseline]

Writes bench/results/safety.json (with a markdown summary table).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.safety_data_check import SPLITS  # noqa: E402
from bot.safety import assess  # noqa: E402
from bot.safety.assess import KINDS, compiled, views  # noqa: E402
from bot.safety.classifier import (  # noqa: E402
    THRESHOLD,
    classifier,
    features,
    nlu_examples,
    training_rows,
)

DATA = ROOT / "bench" / "data" / "safety"
OUT = ROOT / "bench" / "results" / "safety.json"
MODEL = ROOT / "models" / "current.tar.gz"
LANGS = ("fr", "en", "es", "ar", "ary-Latn")
TARGETS = {"recall": 0.98, "recall_each": 0.95, "false_alarms": 0.03, "ms_per_message": 1.0}


def rows(split: str) -> list[dict[str, str]]:
    with (DATA / f"{split}.tsv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def score(data: list[dict[str, str]], detect: Callable[[str, str], str | None]) -> dict[str, Any]:
    """Recall, kind accuracy and false alarms of ``detect`` (text, lang) -> kind or None."""
    hit: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    kind_right = 0
    alarms: dict[str, int] = defaultdict(int)
    ordinary: dict[str, int] = defaultdict(int)
    missed: list[str] = []
    false_alarms: list[str] = []
    for row in data:
        found = detect(row["text"], row["lang"])
        if row["kind"] == "none":
            ordinary[row["lang"]] += 1
            if found:
                alarms[row["lang"]] += 1
                false_alarms.append(f"{row['lang']}: {row['text']}")
            continue
        for key in ("all", row["lang"], row["kind"]):
            total[key] += 1
            hit[key] += bool(found)
        kind_right += found == row["kind"]
        if not found:
            missed.append(f"{row['lang']} {row['kind']}: {row['text']}")
    return {
        "danger_messages": total["all"],
        "ordinary_messages": sum(ordinary.values()),
        "recall": _ratio(hit["all"], total["all"]),
        "recall_by_language": {k: _ratio(hit[k], total[k]) for k in LANGS},
        "recall_by_kind": {k: _ratio(hit[k], total[k]) for k in KINDS},
        "kind_accuracy": _ratio(kind_right, total["all"]),
        "false_alarm_rate": _ratio(sum(alarms.values()), sum(ordinary.values())),
        "false_alarms_by_language": {k: _ratio(alarms[k], ordinary[k]) for k in LANGS},
        "missed": missed,
        "false_alarms": false_alarms,
    }


def ours(text: str, lang: str) -> str | None:
    """What the assistant does: patterns and the classifier together."""
    danger = assess(text, lang)
    return danger.kind if danger else None


def patterns_only(text: str, lang: str) -> str | None:
    danger = assess(text, lang, learned=False)
    return danger.kind if danger else None


def classifier_only(text: str, _lang: str) -> str | None:
    model = classifier()
    signs = features(*views(text))
    return model.kind(signs) if model.probability(signs) >= THRESHOLD else None


DETECTORS = {"assistant": ours, "patterns": patterns_only, "classifier": classifier_only}


def timing(texts: list[str], repeat: int = 5) -> dict[str, float]:
    """Milliseconds per message over every text, ``repeat`` times (patterns compiled and
    the classifier loaded first, as at start-up): wall-clock time, and the CPU time of this
    process (what one message costs, even while other work shares the cores)."""
    compiled()
    classifier()
    per: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        for text in texts:
            start, start_cpu = time.perf_counter(), time.process_time()
            assess(text)
            per.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
    per.sort()
    return {
        "mean_ms": round(statistics.fmean(per), 4),
        "p50_ms": round(per[len(per) // 2], 4),
        "p99_ms": round(per[int(len(per) * 0.99)], 4),
        "max_ms": round(per[-1], 4),
        "cpu_mean_ms": round(statistics.fmean(cpu), 4),
        "load_average": round(os.getloadavg()[0], 2),
        "cores": os.cpu_count() or 0,
    }


def baseline(data: list[dict[str, str]]) -> Callable[[str, str], str | None] | None:
    """The Rasa intent ``ask_emergency`` of the trained model, as a detector."""
    if not MODEL.is_file():
        print(f"no model at {MODEL}: baseline skipped (make train)")
        return None
    import logging

    import structlog
    from rasa.core.agent import Agent

    # Rasa's debug lines would print the messages: the standard logs and structlog's, which
    # printed every held-out text once (2026-12-06) before this line silenced them too.
    logging.disable(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    agent = Agent.load(str(MODEL))
    loop = asyncio.new_event_loop()
    intents: dict[str, str] = {}
    for row in data:
        parsed = loop.run_until_complete(agent.parse_message(row["text"]))
        intents[row["text"]] = (parsed.get("intent") or {}).get("name") or ""
    loop.close()
    return lambda text, _lang: "emergency" if intents.get(text) == "ask_emergency" else None


def table(result: dict[str, Any]) -> str:
    splits = result["splits"]
    head = ["split", "detector", "recall", *LANGS, "kind acc", "false alarms"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for split, by in splits.items():
        for name, r in by.items():
            cells = [split, name, r["recall"], *[r["recall_by_language"][k] for k in LANGS]]
            cells += [r["kind_accuracy"], r["false_alarm_rate"]]
            lines.append("| " + " | ".join("" if c is None else str(c) for c in cells) + " |")
    # Without a held-out set (bench/data/safety/README.md), the last split read stands in,
    # and the targets are not claimed.
    held = splits.get("heldout", splits[list(splits)[-1]])["assistant"]
    lines += [
        "",
        "Held-out recall by kind: "
        + ", ".join(f"{k} {v}" for k, v in held["recall_by_kind"].items()),
    ]
    plain = result["everyday_requests"]
    lines += [
        f"False alarms on {plain['messages']} everyday requests (NLU held-out set): "
        + ", ".join(f"{k} {v}" for k, v in plain["false_alarm_rate"].items())
    ]
    t = result["timing"]
    lines += [
        f"Time per message: mean {t['mean_ms']} ms, p99 {t['p99_ms']} ms; CPU {t['cpu_mean_ms']}"
        f" ms (load average {t['load_average']} on {t['cores']} cores)."
    ]
    met = ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in result["targets_met"].items())
    lines += ["", f"Targets met (held-out): {met}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-baseline", action="store_true", help="skip the Rasa baseline")
    args = parser.parse_args(argv)
    splits: dict[str, dict[str, Any]] = {}
    every: list[dict[str, str]] = []
    for split in [s for s in SPLITS if (DATA / f"{s}.tsv").is_file()]:
        data = rows(split)
        every += data
        splits[split] = {name: score(data, detect) for name, detect in DETECTORS.items()}
        for name in DETECTORS:
            if split == "heldout" or name != "assistant":
                # The held-out messages are never shown: nobody tunes on what they read.
                for key in ("missed", "false_alarms"):
                    splits[split][name][key] = len(splits[split][name][key])
    detector = None if args.no_baseline else baseline(every)
    if detector is not None:
        for split in splits:
            splits[split]["rasa_ask_emergency"] = base = score(rows(split), detector)
            base["missed"], base["false_alarms"] = len(base["missed"]), len(base["false_alarms"])
    # Everyday requests (the NLU held-out set, never trained on), not chosen to sound
    # frightening: how often a plain request gets crisis help.
    plain = nlu_examples(ROOT / "bench" / "data" / "nlu_heldout")
    everyday = {
        name: _ratio(sum(detect(r["text"], "") is not None for r in plain), len(plain))
        for name, detect in DETECTORS.items()
    }
    held = splits.get("heldout", splits[list(splits)[-1]])["assistant"]
    speed = timing([r["text"] for r in every])
    each = [*held["recall_by_language"].values(), *held["recall_by_kind"].values()]
    result: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "data": {s: len(rows(s)) for s in splits},
        "note": (
            "The classifier is trained on bot/safety/training/ and the NLU examples; patterns,"
            " threshold and regularisation are tuned on dev.tsv, dev-2.tsv, dev-3.tsv and dev-4.tsv"
            " (earlier held-out sets, retired once reported: README.md) and by cross-validation"
            " on the training data; heldout.tsv (written blind by other authors) is never read"
            " while tuning. 'assistant' is what runs: patterns and classifier together."
        ),
        "training_messages": len(training_rows()),
        "targets": TARGETS,
        "timing": speed,
        "splits": splits,
        "everyday_requests": {"messages": len(plain), "false_alarm_rate": everyday},
    }
    result["targets_met"] = {
        "recall >= 0.98": (held["recall"] or 0) >= TARGETS["recall"],
        "every kind and language >= 0.95": min(v or 0 for v in each) >= TARGETS["recall_each"],
        "false alarms <= 3%": (held["false_alarm_rate"] or 0) <= TARGETS["false_alarms"],
        "<= 1 ms per message (CPU time)": speed["cpu_mean_ms"] <= TARGETS["ms_per_message"],
    }
    if "heldout" not in splits:
        result["targets_met"] = {"no held-out set: targets not measured": False}
    result["summary_table"] = table(result)
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(result["summary_table"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
