"""The report from a generated month of events: values, small-cell suppression, charts, CLI."""

from __future__ import annotations

import csv
import io
import random
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bot import analytics, report
from bot.cli import main
from bot.db import make_engine, migrate
from tests.privacy.conftest import KEY

START = date(2026, 10, 1)
END = date(2026, 10, 31)

# People per (topic, region, language): every cell of the topic table is known exactly.
PLAN = {
    # topic: (people, questions each)
    "health": (40, 2),
    "residence": (25, 1),
    "work": (12, 3),
    "schooling": (7, 1),
    "civil_status": (3, 1),  # under 5 people: suppressed, and so one more cell
}
REGIONS = ["souss-massa", "oriental"]
LANGS = ["fr", "en", "ar", "ary-Latn", "es"]


def generate_month(engine, seed: int = 7) -> dict:
    """A month of events with known totals; returns what the report must show."""
    rng = random.Random(seed)
    rows = []
    expected = {"topic": {}, "sex_people": {}, "ratings": {}, "waits": []}
    person_no = 0

    def at() -> datetime:
        return datetime(2026, 10, 1) + timedelta(minutes=rng.randrange(31 * 24 * 60))

    for topic, (people, each) in PLAN.items():
        expected["topic"][topic] = (people * each, people)
        for _ in range(people):
            person_no += 1
            key = analytics.person_key(f"wa-person-{person_no}", KEY)
            sex = ["female", "male", None][person_no % 3]
            common = {
                "person": key,
                "language": LANGS[person_no % 5],
                "region": REGIONS[person_no % 2],
                "channel": "whatsapp",
            }
            rows.append(("conversation_started", {"person": key, "channel": "whatsapp"}))
            for _ in range(each):
                rows.append(
                    (
                        "question",
                        {
                            **common,
                            "topic": topic,
                            "intent": f"ask_{topic}",
                            "city": "oujda" if person_no % 2 else "agadir",
                        },
                    )
                )
            if sex:
                rows.append(("sex", {"person": key, "sex": sex}))
    # Unmet needs: 9 people without a health service in Figuig, 2 without work in Tata.
    for i in range(9):
        rows.append(
            (
                "unmet_need",
                {
                    "person": analytics.person_key(f"u{i}", KEY),
                    "topic": "health",
                    "unmet_category": "health",
                    "city": "figuig",
                    "region": "oriental",
                },
            )
        )
    for i in range(2):
        rows.append(
            (
                "unmet_need",
                {
                    "person": analytics.person_key(f"v{i}", KEY),
                    "topic": "work",
                    "unmet_category": "work",
                    "city": "tata",
                },
            )
        )
    # Hand-offs: 20 people, waiting 1..20 minutes.
    for i in range(20):
        key = analytics.person_key(f"h{i}", KEY)
        rows.append(("handoff_opened", {"person": key}))
        rows.append(
            (
                "handoff_closed",
                {
                    "person": key,
                    "wait_seconds": 60 * (i + 1),
                    "outcome": "resolved" if i < 17 else "no_answer",
                },
            )
        )
        expected["waits"].append(60 * (i + 1))
    # Ratings: 10 fives, 6 fours, 2 ones.
    for value, count in ((5, 10), (4, 6), (1, 2)):
        for i in range(count):
            rows.append(
                ("rating", {"person": analytics.person_key(f"r{value}{i}", KEY), "rating": value})
            )
        expected["ratings"][str(value)] = count
    # Outside the period: must not count.
    rows.append(("question", {"topic": "health", "at": datetime(2026, 11, 1, 0, 30)}))
    rows.append(("question", {"topic": "health", "at": datetime(2026, 9, 30, 23, 59)}))

    with engine.begin() as conn:
        for kind, fields in rows:
            fields = dict(fields)
            when = fields.pop("at", None) or at()
            if kind == "sex":
                continue
            analytics.record(conn, kind, at=when, **fields)
    for kind, fields in rows:
        if kind == "sex":
            analytics.set_sex(engine, fields["person"], fields["sex"])
    return expected


@pytest.fixture
def month(engine):
    return engine, generate_month(engine)


def parse(text: str) -> dict[tuple[str, str], tuple[str, str]]:
    reader = csv.reader(io.StringIO(text))
    assert next(reader) == ["section", "label", "requests", "people"]
    return {(r[0], r[1]): (r[2], r[3]) for r in reader}


def test_csv_counts_requests_and_people_by_topic(month) -> None:
    engine, expected = month
    cells = parse(report.generate(engine, START, END, "csv"))
    for topic in ("health", "residence", "work"):  # schooling: secondary suppression
        requests, people = expected["topic"][topic]
        assert cells[("topic", topic)] == (str(requests), str(people)), topic
    total_requests = sum(r for r, _ in expected["topic"].values())
    assert cells[("topic", "total")] == (str(total_requests), str(87))
    assert cells[("period", "from")][0] == "2026-10-01"


def test_small_cells_are_suppressed_with_secondary_suppression(month) -> None:
    engine, _ = month
    cells = parse(report.generate(engine, START, END, "csv"))
    assert cells[("topic", "civil_status")] == ("<5", "<5")
    # Otherwise civil_status = total - the others: the smallest other cell is hidden too.
    assert cells[("topic", "schooling")] == ("<5", "<5")
    assert cells[("topic", "health")] != ("<5", "<5")
    # Unmet needs: Figuig (9 people) shown, Tata (2 people) hidden.
    assert cells[("unmet", "health / figuig")] == ("9", "9")
    assert cells[("unmet", "work / tata")] == ("<5", "<5")
    # Ratings: 1 star came from 2 people.
    assert cells[("rating", "5")] == ("10", "10") and cells[("rating", "1")] == ("<5", "<5")
    assert cells[("rating", "4")] == ("<5", "<5")  # secondary suppression next to the total
    # No shown cell counts fewer than 5 people.
    for (section, _label), (_requests, people) in cells.items():
        if section not in ("period", "figures") and people != "<5":
            assert int(people) >= 5


def test_sex_is_reported_only_as_people_chose_to_answer(month) -> None:
    engine, _ = month
    cells = parse(report.generate(engine, START, END, "csv"))
    assert {label for (section, label) in cells if section == "sex"} == {
        "female",
        "male",
        "not answered",
        "total",
    }
    shown = [int(cells[("sex", s)][1]) for s in ("female", "male", "not answered")]
    assert sum(shown) == 87


def test_waiting_time_median_and_90th_percentile(month) -> None:
    engine, expected = month
    cells = parse(report.generate(engine, START, END, "csv"))
    assert cells[("figures", "handoff_wait_median_minutes")][0] == "10.5"
    assert cells[("figures", "handoff_wait_p90_minutes")][0] == "18.0"
    # 3 without an answer are hidden, so the 17 resolved are too (total minus one cell).
    assert cells[("handoff_outcome", "no_answer")] == ("<5", "<5")
    assert cells[("handoff_outcome", "resolved")] == ("<5", "<5")
    assert cells[("handoff_outcome", "total")] == ("20", "20")


def test_html_is_self_contained_with_charts(month) -> None:
    engine, _ = month
    page = report.generate(engine, START, END, "html")
    assert page.startswith("<!doctype html>")
    assert page.count("src='data:image/png;base64,") >= 5
    assert "http://" not in page and "https://" not in page
    assert "&lt;5" in page or "<td><5</td>" not in page


def test_a_quiet_period_suppresses_everything(engine) -> None:
    analytics.record(engine, "question", topic="health", at=datetime(2026, 10, 5))
    cells = parse(report.generate(engine, START, END, "csv"))
    assert cells[("topic", "health")] == ("<5", "<5")
    assert cells[("figures", "handoff_wait_median_minutes")][0] == "<5"
    assert "<img" not in report.generate(engine, START, END, "html")


def test_month_report_timing(engine) -> None:
    """Not a speed test: records the figure for the hand-over (see bench for targets)."""
    generate_month(engine)
    started = time.perf_counter()
    report.generate(engine, START, END, "html")
    print(f"\nHTML report for a month ({START}..{END}): {time.perf_counter() - started:.2f}s")


# --- command line -----------------------------------------------------------------------------
def test_cli_writes_csv_and_html(month, tmp_path: Path, capsys) -> None:
    engine, _ = month
    url = str(engine.url)
    assert (
        main(["report", "--from", "2026-10-01", "--to", "2026-10-31", "--database-url", url]) == 0
    )
    assert parse(capsys.readouterr().out)[("topic", "health")] == ("80", "40")
    out = tmp_path / "r.html"
    assert (
        main(
            [
                "report",
                "--from",
                "2026-10-01",
                "--to",
                "2026-10-31",
                "--format",
                "html",
                "--database-url",
                url,
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert "data:image/png;base64," in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "2026-13-01", "--to", "2026-10-31"], "is not a date"),
        (["--from", "yesterday", "--to", "2026-10-31"], "is not a date"),
        (["--from", "2026-10-01"], "--to"),
        (["--from", "2026-10-01", "--to", "2026-10-31", "--format", "pdf"], "invalid choice"),
    ],
)
def test_cli_rejects_bad_arguments(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_rejects_a_reversed_period(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert (
        main(["report", "--from", "2026-10-31", "--to", "2026-10-01", "--database-url", url]) == 2
    )
    assert "is after --to" in capsys.readouterr().err
    with pytest.raises(ValueError, match="after"):
        report.generate(make_engine(url), date(2026, 10, 31), date(2026, 10, 1), "csv")


def test_privacy_cli_purge_and_delete(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setenv("PSEUDONYM_KEY", KEY)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("TRACKER_DB_PATH", raising=False)
    monkeypatch.delenv("PROFILE", raising=False)
    url = f"sqlite:///{tmp_path / 'assistant.db'}"
    engine = make_engine(url)
    migrate(engine)
    analytics.record(engine, "question", person=analytics.person_key("wa-z", KEY), topic="work")
    assert main(["privacy", "purge", "--older-than", "2w", "--dry-run"]) == 0
    assert "would remove" in capsys.readouterr().out
    assert main(["privacy", "purge"]) == 0
    assert "older than 90 days" in capsys.readouterr().out
    assert main(["privacy", "delete", "--person", "wa-z"]) == 0
    assert "analytics links: 1" in capsys.readouterr().out
    assert main(["privacy", "delete", "--person", "not a pseudonym"]) == 2


@pytest.mark.parametrize("bad", ["90", "ninety days", "0d", "-1d"])
def test_privacy_cli_rejects_bad_durations(bad, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["privacy", "purge", f"--older-than={bad}"])
    assert exit_info.value.code == 2
    assert "e.g. 90d, 12h, 2w" in capsys.readouterr().err
