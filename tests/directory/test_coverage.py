"""``python -m bot directory coverage``: best scope per capital and topic, stale and unreachable."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from bot.cli import main
from bot.directory import load_directory
from bot.directory.coverage import CAPITALS, TOPICS, build_coverage, cell_for, to_csv
from tests.directory.conftest import REAL_DIRECTORY, entry


def test_every_capital_is_a_known_town_of_its_province():
    directory = load_directory(REAL_DIRECTORY)
    for province, town in CAPITALS.items():
        assert directory.places.province_of(town) == province


def test_scopes_town_province_nearby_region_none(small_directory: Path):
    (small_directory / "oriental.yml").write_text(
        entry(id="t-zaio", category="civil_status", city="zaio")
        + "\n"
        + entry(id="t-oujda", category="civil_status", city="oujda"),
        encoding="utf-8",
    )
    directory = load_directory(small_directory)
    assert str(cell_for(directory, "oujda", "civil_status")) == "town 1"
    # Zaïo is in Nador province: a province answer for Nador.
    assert str(cell_for(directory, "nador", "civil_status")) == "province 1"
    # Jerada is 60 km from Oujda at most, in another province.
    assert cell_for(directory, "jerada", "civil_status").scope == "nearby"
    assert cell_for(directory, "tata", "civil_status").scope == "none"
    assert cell_for(directory, "bouarfa", "civil_status").scope == "region"


def test_stale_and_unreachable_entries_are_listed(directory_copy: Path):
    (directory_copy / "oriental" / "zz_test.yml").write_text(
        entry(id="t-old", verified="2024-01-01")
        + "\n"
        + entry(id="t-silent").replace('  phones: ["+212537545400"]\n', ""),
        encoding="utf-8",
    )
    coverage = build_coverage(load_directory(directory_copy), today=dt.date(2026, 12, 1))
    assert "t-old" in {e.id for e in coverage.stale}
    assert "t-silent" in {e.id for e in coverage.unreachable}
    assert "t-old" not in {e.id for e in coverage.unreachable}


def test_csv_has_a_row_per_capital_and_two_columns_per_topic():
    coverage = build_coverage(load_directory(REAL_DIRECTORY))
    rows = list(csv.reader(io.StringIO(to_csv(coverage))))
    assert len(rows) == 1 + len(CAPITALS)
    assert len(rows[0]) == 2 + 2 * len(TOPICS)
    assert {r[0] for r in rows[1:]} == set(CAPITALS.values())


def test_cli_table_summary_and_extra_town(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out_csv = tmp_path / "cov.csv"
    assert main(["directory", "coverage", "--town", "zaio", "--csv", str(out_csv)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["town", "health", "civil"]
    assert any(line.startswith("zaio ") for line in out.splitlines())
    assert "capital × topic pairs answered in the town or province" in out
    assert "zaio," in out_csv.read_text(encoding="utf-8")
    assert main(["directory", "coverage", "--summary"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1


def test_cli_unknown_town_exits_2(capsys: pytest.CaptureFixture[str]):
    assert main(["directory", "coverage", "--town", "atlantis"]) == 2
    assert "unknown city 'atlantis'" in capsys.readouterr().err


def test_cli_all_towns_as_csv(capsys: pytest.CaptureFixture[str]):
    assert main(["directory", "coverage", "--all-towns", "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    towns = [r[0] for r in rows[1:]]
    assert towns[: len(CAPITALS)] == list(CAPITALS.values())
    assert {"zaio", "belfaa", "ain-beni-mathar"} <= set(towns)


def test_every_capital_is_answered_locally_for_the_five_core_topics():
    coverage = build_coverage(load_directory(REAL_DIRECTORY))
    for town in CAPITALS.values():
        for topic in ("health", "civil_status", "schooling", "work", "residence"):
            assert coverage.cells[(town, topic)].scope in ("town", "province"), (town, topic)
    assert coverage.local_pairs() >= 100
