"""``python -m bot directory validate|search`` through the project's command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.directory.conftest import REPO_ROOT, entry


def test_validate_real_directory_exits_0(capsys: pytest.CaptureFixture[str]):
    assert main(["directory", "validate"]) == 0
    assert "0 error(s)" in capsys.readouterr().out


def test_validate_bad_file_exits_1_with_file_line_id_field(
    small_directory: Path, capsys: pytest.CaptureFixture[str]
):
    bad = small_directory / "bad.yml"
    bad.write_text(entry(id="bad-one").replace("phones:", "phone:"), encoding="utf-8")
    assert (
        main(["directory", "validate", str(bad), "--places", str(small_directory / "places.yml")])
        == 1
    )
    out = capsys.readouterr().out
    assert f"{bad}:11: bad-one: phone: unknown key (did you mean 'phones'?)" in out
    assert "1 error(s)" in out


def test_validate_uses_directory_path_env(
    small_directory: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    (small_directory / "empty.yml").write_text("", encoding="utf-8")
    monkeypatch.setenv("DIRECTORY_PATH", str(small_directory))
    assert main(["directory", "validate"]) == 1
    assert "empty.yml:1: -: -: file is empty" in capsys.readouterr().out


def test_search_prints_the_answer(capsys: pytest.CaptureFixture[str]):
    code = main(["directory", "search", "--category", "health", "--city", "nador", "--lang", "ar"])
    assert code == 0
    out = capsys.readouterr().out
    assert "المستشفى الإقليمي الحسني" in out
    assert len(out.rstrip("\n")) <= 1600


def test_search_by_location_on_telegram(capsys: pytest.CaptureFixture[str]):
    code = main(
        [
            "directory",
            "search",
            "--category",
            "social",
            "--lat",
            "34.67",
            "--lon",
            "-1.87",
            "--lang",
            "en",
            "--channel",
            "telegram",
        ]
    )
    assert code == 0
    assert "km)" in capsys.readouterr().out


def test_search_unknown_city_exits_2(capsys: pytest.CaptureFixture[str]):
    assert main(["directory", "search", "--category", "health", "--city", "atlantis"]) == 2
    assert "unknown city 'atlantis'" in capsys.readouterr().err


def test_search_needs_both_coordinates(capsys: pytest.CaptureFixture[str]):
    assert main(["directory", "search", "--category", "health", "--lat", "34.6"]) == 2


def test_python_dash_m_bot_works():
    done = subprocess.run(
        [sys.executable, "-m", "bot", "directory", "validate"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_validate_a_file_outside_the_tree_uses_the_default_gazetteer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    copy = tmp_path / "health.yml"
    copy.write_text((REPO_ROOT / "directory" / "oriental" / "health.yml").read_text("utf-8"))
    assert main(["directory", "validate", str(copy)]) == 0
    assert "0 error(s)" in capsys.readouterr().out
