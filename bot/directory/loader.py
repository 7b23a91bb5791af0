"""Load directory YAML files into entries and check them, reporting ``file:line`` problems.

The checks of one entry (keys, languages, places, phones, hours...) are in
:mod:`bot.directory.schema`; this module reads the files, checks the gazetteer and finds
duplicate ids.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.directory.model import DirectoryError, Entry, Problem
from bot.directory.paths import PLACES_FILE, default_places_path
from bot.directory.places import Places, check_places
from bot.directory.schema import EntryChecker
from bot.directory.search import Directory
from bot.directory.yamlio import line_of, read_yaml_items


def entry_files(path: Path) -> list[Path]:
    """Return the entry files under a directory (or the file itself), skipping places.yml."""
    if path.is_file():
        return [path]
    files = [*path.rglob("*.yml"), *path.rglob("*.yaml")]
    return sorted(f for f in files if f.name != PLACES_FILE and not f.name.startswith("."))


def check_file(
    path: Path, places: Places, today: dt.date | None = None
) -> tuple[list[Entry], list[Problem]]:
    """Read one entry file; return the valid entries and every problem found."""
    today = today or dt.date.today()
    where = str(path)
    data, problems, item_lines = read_yaml_items(path)
    if data is None:
        if not problems:
            problems.append(
                Problem(where, 1, None, None, "file is empty: expected a list of entries")
            )
        return [], problems
    if not isinstance(data, list):
        problems.append(
            Problem(
                where,
                line_of(data),
                None,
                None,
                "expected a list of entries, each starting with '- id:'",
            )
        )
        return [], problems
    entries: list[Entry] = []
    for index, raw in enumerate(data, start=1):
        if not isinstance(raw, dict):
            line = item_lines[index - 1] if index <= len(item_lines) else 1
            problems.append(
                Problem(
                    where,
                    line,
                    None,
                    None,
                    f"item {index} is {type(raw).__name__} {raw!r}, expected an entry mapping",
                )
            )
            continue
        checker = EntryChecker(raw, where, places, today)
        entry = checker.check()
        problems.extend(checker.problems)
        if entry is not None:
            entries.append(entry)
    return entries, problems


def _duplicates(entries: list[Entry]) -> list[Problem]:
    seen: dict[str, Entry] = {}
    problems = []
    for entry in entries:
        first = seen.setdefault(entry.id, entry)
        if first is not entry:
            problems.append(
                Problem(
                    entry.file,
                    entry.line,
                    entry.id,
                    "id",
                    f"duplicate id (first used at {first.file}:{first.line})",
                )
            )
    return problems


def _places_for(paths: list[Path], places_path: Path | None) -> tuple[Places, list[Problem]]:
    path = places_path or default_places_path(paths[0] if paths else None)
    return check_places(path)


def validate_paths(
    paths: list[str | Path],
    places_path: str | Path | None = None,
    today: dt.date | None = None,
) -> list[Problem]:
    """Check entry files and folders (and their gazetteer); return errors and warnings."""
    resolved = [Path(p) for p in paths]
    places, problems = _places_for(resolved, Path(places_path) if places_path else None)
    entries: list[Entry] = []
    for path in resolved:
        if not path.exists():
            problems.append(Problem(str(path), 1, None, None, "no such file or folder"))
            continue
        if path.is_file() and path.name == PLACES_FILE:
            continue  # already checked as the gazetteer
        for file in entry_files(path):
            found, more = check_file(file, places, today)
            entries.extend(found)
            problems.extend(more)
    problems.extend(_duplicates(entries))
    return problems


def load_directory(
    path: str | Path, places_path: str | Path | None = None, today: dt.date | None = None
) -> Directory:
    """Load and validate a directory folder; raise DirectoryError listing every error."""
    root = Path(path)
    places, problems = _places_for([root], Path(places_path) if places_path else None)
    entries: list[Entry] = []
    if not root.exists():
        problems.append(Problem(str(root), 1, None, None, "no such file or folder"))
    else:
        files = entry_files(root)
        if not files:
            problems.append(Problem(str(root), 1, None, None, "no .yml entry files found"))
        for file in files:
            found, more = check_file(file, places, today)
            entries.extend(found)
            problems.extend(more)
    problems.extend(_duplicates(entries))
    if any(p.severity == "error" for p in problems):
        raise DirectoryError(problems)
    return Directory(entries, places, warnings=[p for p in problems if p.severity == "warning"])
