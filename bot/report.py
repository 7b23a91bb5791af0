"""``python -m bot report``: anonymous programme statistics as CSV or self-contained HTML.

Requests by topic, region, language and sex, hand-off waiting time (median, 90th
percentile) and outcomes, ratings, top unmet needs. Small cells are suppressed so nobody
can be singled out:

* a cell counting fewer than :data:`MIN_PEOPLE` distinct people shows ``<5``;
* secondary suppression: when a table shows a total and exactly one of its cells is
  suppressed, the next smallest cell is suppressed too, so the hidden one cannot be
  derived by subtraction; a total under the threshold is suppressed as well;
* people are counted by their analytics key; an event without a key (people who declined
  or were erased) counts as one more person, which can only over-count: such events are
  by construction not linkable to anyone.
"""

from __future__ import annotations

import argparse
import base64
import csv
import html
import io
import math
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot import analytics
from bot.db import make_engine, migrate
from bot.settings import load_settings

MIN_PEOPLE = 5
SUPPRESSED = "<5"
NOT_ANSWERED = "not answered"
UNKNOWN = "unknown"
TOP_UNMET = 10


@dataclass
class Cell:
    """One row of a table: requests (events) and distinct people, maybe suppressed."""

    label: str
    requests: int
    people: int
    suppressed: bool = False

    def shown(self, value: int) -> str:
        """The value, or ``<5`` when suppressed."""
        return SUPPRESSED if self.suppressed else str(value)


@dataclass
class Table:
    """A one-dimensional table with its total."""

    name: str
    title: str
    cells: list[Cell] = field(default_factory=list)
    total: Cell | None = None


@dataclass
class Report:
    """Everything the CSV and the HTML show."""

    start: date
    end: date
    tables: list[Table]
    figures: dict[str, str]  # name -> shown value (waiting times, counts)


def _people(events: Iterable[dict[str, Any]]) -> int:
    keys: set[str] = set()
    anonymous = 0
    for event in events:
        if event.get("person_key"):
            keys.add(event["person_key"])
        else:
            anonymous += 1
    return len(keys) + anonymous


def _table(
    name: str,
    title: str,
    events: list[dict[str, Any]],
    label: Callable[[dict[str, Any]], str],
    *,
    order: list[str] | None = None,
    limit: int | None = None,
) -> Table:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        groups[label(event)].append(event)
    cells = [Cell(key, len(items), _people(items)) for key, items in groups.items()]
    if order:
        rank = {value: i for i, value in enumerate(order)}
        cells.sort(key=lambda c: (rank.get(c.label, len(rank)), c.label))
    else:
        cells.sort(key=lambda c: (-c.requests, c.label))
    total = Cell("total", len(events), _people(events))
    if limit is not None:
        cells = cells[:limit]
        total = None  # a top-N list has no total to subtract from
    _suppress(cells, total)
    return Table(name, title, cells, total)


def _suppress(cells: list[Cell], total: Cell | None) -> None:
    for cell in cells:
        cell.suppressed = cell.people < MIN_PEOPLE
    if total is not None:
        total.suppressed = total.people < MIN_PEOPLE
        hidden = [c for c in cells if c.suppressed]
        visible = [c for c in cells if not c.suppressed]
        if len(hidden) == 1 and visible and not total.suppressed:
            min(visible, key=lambda c: (c.requests, c.label)).suppressed = True


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    """The median (mean of the two middle values for an even count)."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def build(events: list[dict[str, Any]], start: date, end: date) -> Report:
    """Aggregate the events of ``start``..``end`` (inclusive) into suppressed tables."""
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_kind[event["kind"]].append(event)
    questions = by_kind["question"]

    def field_of(name: str, missing: str = UNKNOWN) -> Callable[[dict[str, Any]], str]:
        return lambda e: str(e.get(name) or missing)

    tables = [
        _table("topic", "Requests by topic", questions, field_of("topic")),
        _table("region", "Requests by region", questions, field_of("region")),
        _table("language", "Requests by language", questions, field_of("language")),
        _table(
            "sex",
            "Requests by sex (optional question)",
            questions,
            field_of("sex", NOT_ANSWERED),
            order=[*analytics.SEX_VALUES, NOT_ANSWERED],
        ),
        _table("profile", "Requests by profile", questions, field_of("profile")),
        _table(
            "channel",
            "Conversations by channel",
            by_kind["conversation_started"],
            field_of("channel"),
        ),
        _table("consent", "Answers to the privacy notice", by_kind["consent"], field_of("outcome")),
        _table(
            "handoff_outcome",
            "Hand-offs closed, by outcome",
            by_kind["handoff_closed"],
            field_of("outcome"),
        ),
        _table(
            "rating",
            "Ratings (1 to 5)",
            by_kind["rating"],
            field_of("rating"),
            order=["1", "2", "3", "4", "5"],
        ),
        # A person in danger (bot/safety): kind, severity, language, region, sex where given.
        _table(
            "danger_kind",
            "Dangers recognised, by kind",
            by_kind["danger_detected"],
            field_of("topic"),
        ),
        _table(
            "danger_severity",
            "Dangers recognised, by severity",
            by_kind["danger_detected"],
            field_of("outcome"),
        ),
        _table(
            "danger_language",
            "Dangers recognised, by language",
            by_kind["danger_detected"],
            field_of("language"),
        ),
        _table(
            "danger_region",
            "Dangers recognised, by region",
            by_kind["danger_detected"],
            field_of("region"),
        ),
        _table(
            "danger_sex",
            "Dangers recognised, by sex (optional question)",
            by_kind["danger_detected"],
            field_of("sex", NOT_ANSWERED),
            order=[*analytics.SEX_VALUES, NOT_ANSWERED],
        ),
        _table(
            "unmet",
            f"Top {TOP_UNMET} unmet needs (no service found), by topic and town",
            by_kind["unmet_need"],
            lambda e: f"{e.get('unmet_category') or UNKNOWN} / {e.get('city') or UNKNOWN}",
            limit=TOP_UNMET,
        ),
    ]
    closed = [e for e in by_kind["handoff_closed"] if e.get("wait_seconds") is not None]
    waits = [float(e["wait_seconds"]) for e in closed]
    enough = _people(closed) >= MIN_PEOPLE
    figures = {
        "conversations_started": _count(by_kind["conversation_started"]),
        "handoffs_opened": _count(by_kind["handoff_opened"]),
        "handoffs_closed": _count(by_kind["handoff_closed"]),
        "handoff_wait_median_minutes": f"{median(waits) / 60:.1f}" if enough else SUPPRESSED,
        "handoff_wait_p90_minutes": f"{percentile(waits, 90) / 60:.1f}" if enough else SUPPRESSED,
        "ratings_mean": (
            f"{sum(e['rating'] for e in by_kind['rating']) / len(by_kind['rating']):.2f}"
            if _people(by_kind["rating"]) >= MIN_PEOPLE
            else SUPPRESSED
        ),
    }
    return Report(start, end, tables, figures)


def _count(events: list[dict[str, Any]]) -> str:
    return str(len(events)) if _people(events) >= MIN_PEOPLE else SUPPRESSED


# --- output ---------------------------------------------------------------------------------
def to_csv(report: Report) -> str:
    """Long format: section, label, requests, people (``<5`` where suppressed)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "label", "requests", "people"])
    writer.writerow(["period", "from", report.start.isoformat(), ""])
    writer.writerow(["period", "to", report.end.isoformat(), ""])
    for name, value in report.figures.items():
        writer.writerow(["figures", name, value, ""])
    for table in report.tables:
        rows = [*table.cells, *([table.total] if table.total else [])]
        for cell in rows:
            writer.writerow(
                [table.name, cell.label, cell.shown(cell.requests), cell.shown(cell.people)]
            )
    return out.getvalue()


def _chart(table: Table) -> str | None:
    """A bar chart of the table's unsuppressed cells as a base64 PNG (None if empty)."""
    cells = [c for c in table.cells if not c.suppressed]
    if not cells:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 0.4 * len(cells) + 1.2), dpi=90)
    ax.barh([c.label for c in cells][::-1], [c.requests for c in cells][::-1], color="#2a7ab0")
    ax.set_title(table.title, fontsize=10)
    ax.set_xlabel("requests")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


CHARTED = ("topic", "region", "language", "sex", "rating", "unmet")


def to_html(report: Report) -> str:
    """One self-contained page (styles inline, charts as data: PNG images)."""
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Programme report {report.start} to {report.end}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #bbb;"
        "padding:.2em .6em;text-align:right}td:first-child,th:first-child{text-align:left}"
        "tr.total{font-weight:bold}</style></head><body>",
        f"<h1>Programme report, {report.start} to {report.end}</h1>",
        f"<p>Anonymous counts. Cells with fewer than {MIN_PEOPLE} people show "
        f"&lt;{MIN_PEOPLE}; when one cell of a table is hidden, the next smallest is "
        "hidden too so it cannot be derived from the total.</p>",
        "<h2>Key figures</h2><table><tr><th>figure</th><th>value</th></tr>",
    ]
    for name, value in report.figures.items():
        parts.append(f"<tr><td>{e(name.replace('_', ' '))}</td><td>{e(value)}</td></tr>")
    parts.append("</table>")
    for table in report.tables:
        parts.append(f"<h2>{e(table.title)}</h2>")
        parts.append("<table><tr><th></th><th>requests</th><th>people</th></tr>")
        for cell in table.cells:
            parts.append(
                f"<tr><td>{e(cell.label)}</td><td>{e(cell.shown(cell.requests))}</td>"
                f"<td>{e(cell.shown(cell.people))}</td></tr>"
            )
        if table.total:
            t = table.total
            parts.append(
                f"<tr class='total'><td>total</td><td>{e(t.shown(t.requests))}</td>"
                f"<td>{e(t.shown(t.people))}</td></tr>"
            )
        parts.append("</table>")
        if table.name in CHARTED:
            png = _chart(table)
            if png:
                parts.append(f"<img alt='{e(table.title)}' src='data:image/png;base64,{png}'>")
    parts.append("</body></html>")
    return "\n".join(parts)


# --- command line ---------------------------------------------------------------------------
def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{raw!r} is not a date: write YYYY-MM-DD, e.g. 2026-11-01"
        ) from None


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``report``."""
    parser = subparsers.add_parser("report", help="anonymous statistics (CSV or HTML)")
    parser.add_argument("--from", dest="start", type=_date, required=True, metavar="DATE")
    parser.add_argument(
        "--to", dest="end", type=_date, required=True, metavar="DATE", help="last day included"
    )
    parser.add_argument("--format", choices=("csv", "html"), default="csv")
    parser.add_argument("--output", "-o", default="-", help="file (default: standard output)")
    parser.add_argument("--database-url", default=None, help="our database (default: settings)")
    parser.set_defaults(func=run)


def generate(engine, start: date, end: date, fmt: str) -> str:  # noqa: ANN001
    """The report for ``start``..``end`` (inclusive) in ``fmt`` (csv or html)."""
    if start > end:
        raise ValueError(f"--from {start} is after --to {end}")
    events = analytics.load(
        engine,
        datetime.combine(start, datetime.min.time()),
        datetime.combine(end + timedelta(days=1), datetime.min.time()),
    )
    report = build(events, start, end)
    return to_html(report) if fmt == "html" else to_csv(report)


def run(args: argparse.Namespace) -> int:
    """Write the report; exit 2 with a clear message on a bad period."""
    if args.start > args.end:
        print(f"error: --from {args.start} is after --to {args.end}", file=sys.stderr)
        return 2
    engine = make_engine(args.database_url or load_settings().effective_database_url)
    migrate(engine)
    text = generate(engine, args.start, args.end, args.format)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    return 0
