"""Hot reload: edits are picked up without a restart; a bad edit keeps the last good directory."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bot.directory import DirectoryError, DirectoryStore


def bump_mtime(path: Path) -> None:
    """Move the file's mtime forward so the change is seen even on coarse-clock filesystems."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    bump_mtime(path)


def test_good_edit_is_picked_up(directory_copy: Path):
    store = DirectoryStore(directory_copy, check_interval=0)
    before = store.current()
    assert before.get("ma-police-19").phones == ("19",)
    edit(directory_copy / "national" / "emergency.yml", 'phones: ["19"]', 'phones: ["190"]')
    after = store.current()
    assert after is not before
    assert after.get("ma-police-19").phones == ("190",)


def test_new_file_is_picked_up(directory_copy: Path):
    store = DirectoryStore(directory_copy, check_interval=0)
    count = len(store.current())
    source = (directory_copy / "national" / "women.yml").read_text(encoding="utf-8")
    (directory_copy / "national" / "extra.yml").write_text(
        source.replace("ma-kolonamaak-8350", "ma-kolonamaak-copy"), encoding="utf-8"
    )
    assert len(store.current()) == count + 1


def test_bad_edit_is_refused_and_logged(directory_copy: Path, caplog: pytest.LogCaptureFixture):
    store = DirectoryStore(directory_copy, check_interval=0)
    good = store.current()
    edit(directory_copy / "national" / "emergency.yml", 'phones: ["19"]', 'phone: ["19"]')
    with caplog.at_level(logging.ERROR, logger="bot.directory.store"):
        served = store.current()
    assert served is good
    assert served.get("ma-police-19").phones == ("19",)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "emergency.yml" in errors[0].getMessage()
    assert "ma-police-19: phone: unknown key" in errors[0].getMessage()
    assert store.last_problems and store.last_problems[0].field == "phone"
    # The same bad files are not re-parsed (nor re-logged) on every message.
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="bot.directory.store"):
        assert store.current() is good
    assert not caplog.records
    # Fixing the file brings the edit in.
    edit(directory_copy / "national" / "emergency.yml", 'phone: ["19"]', 'phones: ["19"]')
    assert store.current() is not good


def test_broken_yaml_keeps_serving(directory_copy: Path):
    store = DirectoryStore(directory_copy, check_interval=0)
    good = store.current()
    path = directory_copy / "oriental" / "health.yml"
    path.write_text("- id: [unclosed\n", encoding="utf-8")
    bump_mtime(path)
    assert store.current() is good


def test_check_interval_limits_file_checks(directory_copy: Path):
    now = [100.0]
    store = DirectoryStore(directory_copy, check_interval=2.0, clock=lambda: now[0])
    first = store.current()
    edit(directory_copy / "national" / "emergency.yml", 'phones: ["19"]', 'phones: ["190"]')
    now[0] += 1.0
    assert store.current() is first  # within the interval: files are not even looked at
    now[0] += 1.5
    assert store.current().get("ma-police-19").phones == ("190",)


def test_first_load_of_a_bad_directory_raises(directory_copy: Path):
    (directory_copy / "national" / "bad.yml").write_text("- 1\n", encoding="utf-8")
    with pytest.raises(DirectoryError):
        DirectoryStore(directory_copy, check_interval=0).current()


def test_places_edit_is_picked_up(directory_copy: Path):
    store = DirectoryStore(directory_copy, check_interval=0)
    assert store.current().places.get("massa").geo is None
    edit(
        directory_copy / "places.yml",
        "  massa:\n    name: {fr: Massa, ar: ماسة}\n",
        "  massa:\n    name: {fr: Massa, ar: ماسة}\n"
        "    geo: {lat: 30.0, lon: -9.6}\n    source: test\n",
    )
    assert store.current().places.get("massa").geo is not None
