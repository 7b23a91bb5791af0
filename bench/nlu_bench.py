"""Benchmark the project's NLU pipeline (config.yml) against Rasa's default pipeline.

Both pipelines are trained NLU-only on nlu_data/nlu, then every held-out example in
bench/data/nlu_heldout/<language>.yml (never trained on) is parsed by the trained model.

Reported per pipeline, per language (file name) and overall:
  - intent accuracy and macro-F1 (sklearn). A `nlu_fallback` prediction counts as
    `out_of_scope`: the bot answers both with the same honest "I can't help with that"
    menu, so for the user they are the same outcome;
  - out-of-scope recall: held-out `out_of_scope` predicted as out_of_scope or nlu_fallback;
  - in-scope accuracy: every other held-out example, fallback counted as an error;
  - city entity recall and precision (canonical ids, after synonym mapping);
  - training wall time (cold: Rasa's training cache is disabled) and mean parse latency.

Usage (from the repository root):
    .venv/bin/python bench/nlu_bench.py            # full training, as in production
    .venv/bin/python bench/nlu_bench.py --quick    # few epochs: a smoke test of the script
    .venv/bin/python bench/nlu_bench.py --only project --config bench/configs/x.yml
                                                   # try a pipeline variant (var/bench/nlu_x.json)
Writes bench/results/nlu.json (var/bench/nlu_quick.json with --quick) and prints a markdown
table (pipeline x language).

Each pipeline trains and is evaluated in its own subprocess, so TensorFlow state, memory
and threads of one run do not leak into the other's timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NLU_DATA = ROOT / "nlu_data" / "nlu"
HELDOUT_DIR = ROOT / "bench" / "data" / "nlu_heldout"
DOMAIN = ROOT / "domain.yml"
PROJECT_CONFIG = ROOT / "config.yml"
DEFAULT_CONFIG = ROOT / "bench" / "configs" / "rasa_default.yml"
RESULTS_FILE = ROOT / "bench" / "results" / "nlu.json"
WORK_DIR = ROOT / "var" / "bench"
QUICK_RESULTS_FILE = WORK_DIR / "nlu_quick.json"

OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"
QUICK_EPOCHS = 5

TARGETS = {
    "macro_f1_overall_min": 0.93,
    "macro_f1_per_language_min": 0.90,
    "out_of_scope_recall_min": 0.70,
    "in_scope_accuracy_above": 0.90,
    "train_seconds_max": 300,
}


# --------------------------------------------------------------------------- data


def load_heldout(directory: Path = HELDOUT_DIR) -> dict[str, list[dict[str, Any]]]:
    """Held-out examples per language (file stem): text, intent and city entity values."""
    from rasa.shared.nlu.training_data.loading import load_data

    heldout: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(directory.glob("*.yml")):
        data = load_data(str(path))
        heldout[path.stem] = [
            {
                "text": ex.get("text"),
                "intent": ex.get("intent"),
                "cities": sorted(
                    {e["value"] for e in ex.get("entities") or [] if e["entity"] == "city"}
                ),
            }
            for ex in data.intent_examples
        ]
    return heldout


def quick_config(source: Path, target: Path, epochs: int = QUICK_EPOCHS) -> Path:
    """Copy a Rasa config with every `epochs` option capped, for a fast smoke test."""
    import yaml

    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    for component in config.get("pipeline") or []:
        if "epochs" in component:
            component["epochs"] = min(int(component["epochs"]), epochs)
    target.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return target


# --------------------------------------------------------------------------- metrics


def effective_intent(predicted: str) -> str:
    """The intent the dialogue acts on: fallback and out_of_scope get the same answer."""
    return OUT_OF_SCOPE if predicted == FALLBACK else predicted


def score(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Intent and city metrics for parsed rows (true intent, predicted intent, cities)."""
    from sklearn.metrics import accuracy_score, f1_score

    if not rows:
        return {"n": 0}
    y_true = [r["intent"] for r in rows]
    y_pred = [effective_intent(r["predicted"]) for r in rows]
    labels = sorted(set(y_true))
    oos = [r for r in rows if r["intent"] == OUT_OF_SCOPE]
    in_scope = [r for r in rows if r["intent"] != OUT_OF_SCOPE]
    expected_cities = sum(len(r["cities"]) for r in rows)
    predicted_cities = sum(len(r["predicted_cities"]) for r in rows)
    found_cities = sum(len(set(r["cities"]) & set(r["predicted_cities"])) for r in rows)
    return {
        "n": len(rows),
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(
            float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)), 4
        ),
        "out_of_scope_recall": (
            round(sum(effective_intent(r["predicted"]) == OUT_OF_SCOPE for r in oos) / len(oos), 4)
            if oos
            else None
        ),
        "in_scope_accuracy": (
            round(sum(r["predicted"] == r["intent"] for r in in_scope) / len(in_scope), 4)
            if in_scope
            else None
        ),
        "fallback_rate": round(sum(r["predicted"] == FALLBACK for r in rows) / len(rows), 4),
        "city_recall": round(found_cities / expected_cities, 4) if expected_cities else None,
        "city_precision": round(found_cities / predicted_cities, 4) if predicted_cities else None,
    }


def per_intent_f1(rows: list[dict[str, Any]]) -> dict[str, float]:
    """F1 of every intent over all languages, to see where a pipeline loses."""
    from sklearn.metrics import f1_score

    y_true = [r["intent"] for r in rows]
    y_pred = [effective_intent(r["predicted"]) for r in rows]
    labels = sorted(set(y_true))
    scores = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    return {label: round(float(s), 4) for label, s in zip(labels, scores, strict=True)}


# --------------------------------------------------------------------------- worker


def run_worker(name: str, config: Path, output: Path, workdir: Path) -> None:
    """Train one pipeline, parse the held-out set, write raw rows and timings as JSON."""
    import asyncio
    import logging

    # Cold training for an honest wall time: no reuse of another run's components.
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)

    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)

    heldout = load_heldout()
    started = time.perf_counter()
    model_path = train_nlu(
        config=str(config),
        nlu_data=os.environ.get("NLU_BENCH_DATA") or str(NLU_DATA),
        output=str(workdir),
        fixed_model_name=name,
        domain=str(DOMAIN),
    )
    train_seconds = time.perf_counter() - started
    if not model_path:
        raise SystemExit(f"training {name} with {config} produced no model")

    agent = Agent.load(model_path)

    async def parse_all() -> tuple[list[dict[str, Any]], float]:
        rows: list[dict[str, Any]] = []
        parse_started = time.perf_counter()
        for language, examples in heldout.items():
            for ex in examples:
                result = await agent.parse_message(ex["text"])
                rows.append(
                    {
                        **ex,
                        "language": language,
                        "predicted": result["intent"]["name"],
                        "confidence": round(float(result["intent"]["confidence"]), 4),
                        # The classifiers' ranking (fallback excluded) and the unknown-words
                        # flag let fallback thresholds be tried offline on the same model.
                        "ranking": [
                            [item["name"], round(float(item["confidence"]), 4)]
                            for item in result.get("intent_ranking") or []
                            if item.get("name") != FALLBACK
                        ][:3],
                        "unknown_words": bool(result.get("unknown_words")),
                        "predicted_cities": sorted(
                            {
                                str(e.get("value"))
                                for e in result.get("entities") or []
                                if e.get("entity") == "city"
                            }
                        ),
                    }
                )
        return rows, time.perf_counter() - parse_started

    rows, parse_seconds = asyncio.run(parse_all())
    output.write_text(
        json.dumps(
            {
                "name": name,
                "config": _rel(config),
                "train_seconds": round(train_seconds, 1),
                "parse_ms_mean": round(1000 * parse_seconds / max(len(rows), 1), 2),
                "rows": rows,
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )


# --------------------------------------------------------------------------- report


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    """Metrics per language and overall for one pipeline's raw rows."""
    rows = raw["rows"]
    languages = sorted({r["language"] for r in rows})
    errors = [
        {k: r[k] for k in ("language", "text", "intent", "predicted", "confidence")}
        for r in rows
        if effective_intent(r["predicted"]) != r["intent"]
    ]
    return {
        "config": raw["config"],
        "train_seconds": raw["train_seconds"],
        "parse_ms_mean": raw["parse_ms_mean"],
        "overall": score(rows),
        "languages": {
            lang: score([r for r in rows if r["language"] == lang]) for lang in languages
        },
        "per_intent_f1": per_intent_f1(rows),
        "errors": errors,
    }


def check_targets(project: dict[str, Any], baseline: dict[str, Any] | None) -> dict[str, Any]:
    """Which of the targets the project pipeline meets."""
    overall = project["overall"]
    checks: dict[str, bool] = {
        "macro_f1_overall": overall["macro_f1"] >= TARGETS["macro_f1_overall_min"],
        "macro_f1_every_language": all(
            s["macro_f1"] >= TARGETS["macro_f1_per_language_min"]
            for s in project["languages"].values()
        ),
        "out_of_scope_recall": (overall["out_of_scope_recall"] or 0)
        >= TARGETS["out_of_scope_recall_min"],
        "in_scope_accuracy": (overall["in_scope_accuracy"] or 0)
        > TARGETS["in_scope_accuracy_above"],
        "train_time": project["train_seconds"] < TARGETS["train_seconds_max"],
    }
    if baseline is not None:
        checks["ahead_of_rasa_default"] = overall["macro_f1"] > baseline["overall"]["macro_f1"]
    return {k: bool(v) for k, v in checks.items()}


def _rel(path: Path) -> str:
    """Path relative to the repository root when inside it, for readable output."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _load() -> list[float] | None:
    """1, 5 and 15 minute load averages, None where unsupported."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown_table(pipelines: dict[str, dict[str, Any]]) -> str:
    """Pipeline x language table of macro-F1 / accuracy, plus the overall figures."""
    languages = sorted({lang for p in pipelines.values() for lang in p["languages"]})
    header = [
        "pipeline",
        *languages,
        "overall F1",
        "acc",
        "OOS recall",
        "in-scope acc",
        "city recall",
        "train s",
        "parse ms",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, p in pipelines.items():
        o = p["overall"]
        cells = [name]
        cells += [
            f"{_fmt(p['languages'][lang]['macro_f1'])} / {_fmt(p['languages'][lang]['accuracy'])}"
            if lang in p["languages"]
            else "-"
            for lang in languages
        ]
        cells += [
            _fmt(o["macro_f1"]),
            _fmt(o["accuracy"]),
            _fmt(o["out_of_scope_recall"]),
            _fmt(o["in_scope_accuracy"]),
            _fmt(o["city_recall"]),
            _fmt(p["train_seconds"]),
            _fmt(p["parse_ms_mean"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Language cells: macro-F1 / accuracy on bench/data/nlu_heldout/<language>.yml.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"cap epochs at {QUICK_EPOCHS}")
    parser.add_argument("--only", choices=("project", "rasa_default"), help="run one pipeline")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="project pipeline config to try instead of config.yml (e.g. bench/configs/*.yml); "
        "results then go to var/bench/ unless --output is given",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=NLU_DATA,
        help="training data directory (default nlu_data/nlu; a snapshot lets you edit meanwhile)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="results JSON (default bench/results/nlu.json; var/bench/ with --quick)",
    )
    parser.add_argument(
        "--worker", nargs=4, metavar=("NAME", "CONFIG", "OUT", "DIR"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)

    if args.worker:
        name, config, out, workdir = args.worker
        run_worker(name, Path(config), Path(out), Path(workdir))
        return 0

    if args.output is None:
        # A smoke test or an experiment must not overwrite the committed benchmark figures.
        if args.config is not None:
            args.output = WORK_DIR / f"nlu_{args.config.stem}.json"
        else:
            args.output = QUICK_RESULTS_FILE if args.quick else RESULTS_FILE
    project_config = args.config.resolve() if args.config is not None else PROJECT_CONFIG
    notes: list[str] = []
    if not project_config.exists():
        project_config = DEFAULT_CONFIG
        notes.append("config.yml missing: the project pipeline is Rasa's default here")
    configs = {"project": project_config, "rasa_default": DEFAULT_CONFIG}
    if args.only:
        configs = {args.only: configs[args.only]}

    load_start = _load()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    pipelines: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(dir=WORK_DIR, prefix="nlu-") as tmp:
        tmpdir = Path(tmp)
        for name, config in configs.items():
            if args.quick:
                config = quick_config(config, tmpdir / f"{name}-quick.yml")
            out = tmpdir / f"{name}.json"
            print(f"[nlu_bench] training and evaluating {name} ({config.name}) ...", flush=True)
            env = {
                **os.environ,
                "NLU_BENCH_DATA": str(args.data.resolve()),
                "PYTHONPATH": os.pathsep.join(
                    [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
                ),
            }
            subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--worker",
                    name,
                    str(config),
                    str(out),
                    str(tmpdir),
                ],
                cwd=ROOT,
                env=env,
                check=True,
            )
            raw = json.loads(out.read_text(encoding="utf-8"))
            # Every parsed row (ranking included), to study errors or thresholds offline.
            (WORK_DIR / f"{args.output.stem}_{name}_rows.json").write_text(
                json.dumps(raw["rows"], ensure_ascii=False), encoding="utf-8"
            )
            raw["config"] = _rel(configs[name])
            pipelines[name] = summarise(raw)

    project = pipelines.get("project")
    result = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": args.quick,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            # Other jobs on the machine slow training down: read times with these.
            "load_average_start": load_start,
            "load_average_end": _load(),
        },
        "training_data": _rel(args.data),
        "heldout": {p.stem: str(p.relative_to(ROOT)) for p in sorted(HELDOUT_DIR.glob("*.yml"))},
        "notes": notes
        + [
            "nlu_fallback counts as out_of_scope for accuracy and macro-F1 (same answer to the "
            "user); in-scope accuracy counts a fallback as an error.",
        ],
        "targets": TARGETS,
        "targets_met": check_targets(project, pipelines.get("rasa_default")) if project else None,
        "pipelines": pipelines,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )

    print()
    print(markdown_table(pipelines))
    if result["targets_met"]:
        print()
        print(
            "Targets (project pipeline): "
            + ", ".join(f"{k} {'OK' if v else 'MISSED'}" for k, v in result["targets_met"].items())
        )
    if args.quick:
        print("\n--quick: epochs capped, figures are a smoke test, not the benchmark.")
    print(f"\nWrote {_rel(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
