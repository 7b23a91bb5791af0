"""`make bench` writes bench/results/SUMMARY.md from every result file (bench/run_all.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("run_all", ROOT / "bench" / "run_all.py")
assert spec and spec.loader
run_all = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_all)


def test_pipelines_results_become_a_table() -> None:
    table = run_all._pipelines_table(
        {
            "pipelines": {
                "project": {
                    "overall": {"macro_f1": 0.94, "out_of_scope_recall": 0.9},
                    "languages": {"fr": {"macro_f1": 0.93}, "ar": {"macro_f1": 0.95}},
                    "train_seconds": 240,
                }
            },
            "targets_met": {"macro_f1_overall": True, "train_time": False},
        }
    )
    assert table is not None
    assert "| pipeline | macro-F1 | ar | fr | OOS recall |" in table
    assert "| project | 0.94 | 0.95 | 0.93 | 0.9 |" in table
    assert "train_time NO" in table
    assert run_all._pipelines_table({"summary": 1}) is None


def test_every_stored_result_is_summarised() -> None:
    text = run_all.summary()
    for path in (ROOT / "bench" / "results").glob("*.json"):
        assert f"## {path.stem}" in text
    assert "| pipeline | macro-F1 |" in text  # nlu.json as a table, not raw JSON
