"""Benchmark: the programme report for a busy month (``python bench/report_bench.py``).

Generates a month of anonymous events for ``--people`` people in a temporary SQLite
database, then times recording, the CSV report and the HTML report (with charts). Writes
``bench/results/report.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import analytics, report  # noqa: E402
from bot.db import make_engine, migrate  # noqa: E402

TOPICS = ["health", "residence", "work", "schooling", "civil_status", "emergency"]
CITIES = {
    "oujda": "oriental",
    "nador": "oriental",
    "berkane": "oriental",
    "figuig": "oriental",
    "agadir": "souss-massa",
    "inezgane": "souss-massa",
    "tiznit": "souss-massa",
}
LANGS = ["fr", "en", "ar", "ary-Latn", "es"]


def generate(engine, people: int, seed: int = 1) -> int:
    """Insert a month of events; return how many."""
    rng = random.Random(seed)
    start = datetime(2026, 10, 1)
    rows = 0
    with engine.begin() as conn:
        for n in range(people):
            key = analytics.person_key(f"wa-{n}", "bench-key")
            city = rng.choice(list(CITIES))
            common = {
                "person": key,
                "language": rng.choice(LANGS),
                "city": city,
                "region": CITIES[city],
                "channel": rng.choice(["whatsapp", "telegram"]),
            }
            when = start + timedelta(minutes=rng.randrange(31 * 24 * 60))
            analytics.record(conn, "conversation_started", person=key, at=when)
            for _ in range(rng.randint(1, 4)):
                topic = rng.choice(TOPICS)
                analytics.record(conn, "question", at=when, topic=topic, **common)
                rows += 1
                if rng.random() < 0.1:
                    analytics.record(
                        conn, "unmet_need", at=when, topic=topic, unmet_category=topic, **common
                    )
                    rows += 1
            if rng.random() < 0.15:
                analytics.record(conn, "handoff_opened", person=key, at=when)
                analytics.record(
                    conn,
                    "handoff_closed",
                    person=key,
                    at=when,
                    wait_seconds=rng.randint(30, 4 * 3600),
                    outcome="resolved",
                )
                analytics.record(conn, "rating", person=key, at=when, rating=rng.randint(1, 5))
                rows += 3
            rows += 1
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write bench/results/report.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate(engine)
        t0 = time.perf_counter()
        events = generate(engine, args.people)
        t1 = time.perf_counter()
        report.generate(engine, date(2026, 10, 1), date(2026, 10, 31), "csv")
        t2 = time.perf_counter()
        html = report.generate(engine, date(2026, 10, 1), date(2026, 10, 31), "html")
        t3 = time.perf_counter()
        engine.dispose()
    result = {
        "people": args.people,
        "events": events,
        "record_seconds": round(t1 - t0, 2),
        "csv_report_seconds": round(t2 - t1, 2),
        "html_report_seconds": round(t3 - t2, 2),
        "html_bytes": len(html),
        "machine": {"cpus": os.cpu_count(), "load_average_end": list(os.getloadavg())},
    }
    result["summary_table"] = "\n".join(
        [
            "| people | events | record (s) | ms per event | CSV report (s) | HTML report (s) |",
            "|---|---|---|---|---|---|",
            f"| {args.people} | {events} | {result['record_seconds']} | "
            f"{1000 * (t1 - t0) / max(events, 1):.2f} | {result['csv_report_seconds']} | "
            f"{result['html_report_seconds']} |",
        ]
    )
    out = ROOT / "bench" / "results" / "report.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
