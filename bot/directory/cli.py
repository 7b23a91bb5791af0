"""``python -m bot directory validate|search|coverage``: check, preview answers, show gaps."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.directory.coverage import CAPITALS, build_coverage, to_csv, to_table
from bot.directory.loader import load_directory, validate_paths
from bot.directory.model import AUDIENCES, CATEGORIES, LANGS, DirectoryError, UnknownPlaceError
from bot.directory.paths import default_directory_path
from bot.directory.render import CHANNEL_LIMITS, render


def _validate(args: argparse.Namespace) -> int:
    """Print every problem as file:line: entry-id: field: problem; exit 1 on any error."""
    root = Path(args.path) if args.path else default_directory_path()
    targets = [Path(f) for f in args.files] or [root]
    places = Path(args.places) if args.places else None
    problems = validate_paths(targets, places_path=places)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    for problem in sorted(problems, key=lambda p: (p.file, p.line)):
        print(problem)
    print(f"{len(errors)} error(s), {len(warnings)} warning(s)")
    return 1 if errors else 0


def _search(args: argparse.Namespace) -> int:
    """Print what the bot would answer for a category and a place."""
    root = Path(args.path) if args.path else default_directory_path()
    if (args.lat is None) != (args.lon is None):
        print("error: give both --lat and --lon", file=sys.stderr)
        return 2
    try:
        directory = load_directory(root, args.places)
    except DirectoryError as exc:
        print(exc, file=sys.stderr)
        return 1
    near = (args.lat, args.lon) if args.lat is not None else None
    try:
        result = directory.search(
            args.category,
            city=args.city,
            near=near,
            audience=args.audience,
            limit=args.limit,
            offset=args.offset,
        )
    except UnknownPlaceError as exc:
        known = ", ".join(sorted(directory.places.cities))
        print(f"error: {exc}; known cities: {known}", file=sys.stderr)
        return 2
    print(render(result, args.lang, CHANNEL_LIMITS[args.channel]))
    return 0


def _coverage(args: argparse.Namespace) -> int:
    """Print the town × topic coverage table, CSV or one summary line; exit 0 unless unreadable."""
    root = Path(args.path) if args.path else default_directory_path()
    try:
        directory = load_directory(root, args.places)
    except DirectoryError as exc:
        print(exc, file=sys.stderr)
        return 1
    towns = list(CAPITALS.values())
    if args.all_towns:
        towns += sorted(c for c in directory.places.cities if c not in towns)
    for town in args.town or []:
        if directory.places.get(town) is None:
            known = ", ".join(sorted(directory.places.cities))
            print(f"error: unknown city {town!r}; known cities: {known}", file=sys.stderr)
            return 2
        if town not in towns:
            towns.append(town)
    coverage = build_coverage(directory, tuple(towns))
    if args.csv:
        Path(args.csv).write_text(to_csv(coverage), encoding="utf-8")
    if args.summary:
        print(coverage.summary())
    elif args.format == "csv":
        print(to_csv(coverage), end="")
    else:
        print(to_table(coverage))
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``directory`` command and its ``validate`` and ``search`` sub-commands."""
    parser = subparsers.add_parser("directory", help="check and query the service directory")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
    commands = parser.add_subparsers(dest="directory_command", metavar="SUBCOMMAND")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--path", help="directory folder (default: $DIRECTORY_PATH or directory/)")
        sub.add_argument("--places", help="gazetteer file (default: places.yml in the folder)")

    validate = commands.add_parser("validate", help="check entry files; exit 1 on errors")
    validate.add_argument("files", nargs="*", help="files or folders (default: the whole folder)")
    common(validate)
    validate.set_defaults(func=_validate)

    search = commands.add_parser("search", help="print what the bot would answer")
    search.add_argument("--category", required=True, choices=CATEGORIES)
    search.add_argument("--city", help="canonical city id, e.g. nador")
    search.add_argument("--lat", type=float, help="latitude of a shared location")
    search.add_argument("--lon", type=float, help="longitude of a shared location")
    search.add_argument("--lang", default="fr", choices=LANGS)
    search.add_argument("--audience", choices=AUDIENCES)
    search.add_argument("--channel", default="whatsapp", choices=sorted(CHANNEL_LIMITS))
    search.add_argument("--limit", type=int, default=3)
    search.add_argument("--offset", type=int, default=0)
    common(search)
    search.set_defaults(func=_search)

    coverage = commands.add_parser(
        "coverage", help="table of provincial capitals × topics: best scope reached, entry count"
    )
    coverage.add_argument(
        "--town",
        action="append",
        metavar="CITY",
        help="also show this places.yml town (repeatable)",
    )
    coverage.add_argument("--all-towns", action="store_true", help="every town of places.yml")
    coverage.add_argument("--format", choices=("table", "csv"), default="table")
    coverage.add_argument("--csv", metavar="FILE", help="also write the table as CSV to FILE")
    coverage.add_argument("--summary", action="store_true", help="print one summary line only")
    common(coverage)
    coverage.set_defaults(func=_coverage)
