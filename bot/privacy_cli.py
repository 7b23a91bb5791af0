"""``python -m bot privacy purge|delete``: retention and erasure from the command line.

Schedule ``purge`` daily (cron or a systemd timer, see docs/privacy.md); ``delete`` answers
a request made outside the chat (by e-mail, at a desk) for a known pseudonym.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from bot import privacy
from bot.db import make_engine, migrate
from bot.settings import load_settings


def _duration(raw: str) -> timedelta:
    try:
        return privacy.parse_duration(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``privacy purge`` and ``privacy delete``."""
    parser = subparsers.add_parser("privacy", help="retention purge and erasure of personal data")
    commands = parser.add_subparsers(dest="privacy_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: (parser.print_help(sys.stderr), 2)[1])

    purge = commands.add_parser(
        "purge", help="remove conversation contents past retention (counts stay)"
    )
    purge.add_argument(
        "--older-than",
        type=_duration,
        default=None,
        metavar="DURATION",
        help="e.g. 90d, 12h, 2w (default: RETENTION_DAYS days)",
    )
    purge.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    purge.add_argument("--database-url", default=None, help="our database (default: settings)")
    purge.set_defaults(func=run_purge)

    delete = commands.add_parser("delete", help="erase one person everywhere")
    delete.add_argument("--person", required=True, metavar="PSEUDONYM", help="e.g. wa-3f9c…")
    delete.add_argument("--database-url", default=None, help="our database (default: settings)")
    delete.set_defaults(func=run_delete)


def _engines(args: argparse.Namespace):  # noqa: ANN202
    settings = load_settings()
    engine = make_engine(args.database_url or settings.effective_database_url)
    migrate(engine)
    tracker = make_engine(privacy.tracker_store_url(settings))
    return settings, engine, tracker


def run_purge(args: argparse.Namespace) -> int:
    """Apply retention now; print what was (or would be) removed."""
    settings, engine, tracker = _engines(args)
    older_than = args.older_than or timedelta(days=settings.retention_days)
    outcome = privacy.purge(engine, tracker, older_than, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    print(f"privacy purge (older than {older_than}): {verb}")
    for name, count in sorted(outcome.rows.items()):
        print(f"  {name}: {count}")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    """Erase one pseudonym everywhere and print the rows removed."""
    person = args.person.strip()
    if not person or any(ch.isspace() for ch in person) or len(person) > 64:
        print(f"error: {args.person!r} is not a pseudonym (e.g. wa-3f9c…)", file=sys.stderr)
        return 2
    settings, engine, tracker = _engines(args)
    key = privacy.analytics_key(settings)
    outcome = privacy.erase_person(engine, tracker, person, key, reason="cli")
    privacy.complete_erasures(engine, tracker, final=True)
    print(f"erased {person}:")
    for name, count in sorted(outcome.rows.items()):
        print(f"  {name}: {count}")
    return 0
