"""``python -m bot mediators validate|list`` and ``python -m bot handoff tick|tickets``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime, timezone
from pathlib import Path

from bot.handoff.mediators import MediatorsError, load_registry
from bot.settings import load_settings


def _path(args: argparse.Namespace) -> Path:
    return Path(args.file) if args.file else load_settings().mediators_file


def _validate(args: argparse.Namespace) -> int:
    path = _path(args)
    if not path.is_file():
        print(f"{path}: no such file (copy docs/mediators.example.yml)", file=sys.stderr)
        return 1
    try:
        registry = load_registry(path)
    except MediatorsError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in {path}", file=sys.stderr)
        return 1
    print(f"{path}: {len(registry.mediators)} mediator(s), valid")
    return 0


def _list(args: argparse.Namespace) -> int:
    path = _path(args)
    try:
        registry = load_registry(path)
    except MediatorsError as exc:
        print(exc, file=sys.stderr)
        return 1
    now = datetime.now(timezone.utc)
    for m in registry.mediators:
        duty = "on duty" if m.on_duty(now) else "off duty"
        print(
            f"{m.id}\t{m.name}\t{m.channel}\t{','.join(m.regions)}\t{','.join(m.languages)}\t{duty}"
        )
    if not registry.mediators:
        print(f"no mediator registered in {path}", file=sys.stderr)
    return 0


def _runtime():  # noqa: ANN202
    from bot.app import build_runtime
    from bot.db import make_engine, migrate

    settings = load_settings()
    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    return build_runtime(settings, engine)


def _tick(_args: argparse.Namespace) -> int:
    runtime = _runtime()
    counts = runtime.handoff.tick()
    sent = asyncio.run(runtime.flush())
    print(", ".join(f"{k}: {v}" for k, v in counts.items()) + f", sent: {sent}")
    return 0


def _tickets(_args: argparse.Namespace) -> int:
    from bot.handoff import records
    from bot.handoff import tickets as store

    runtime = _runtime()
    with runtime.handoff.engine.connect() as conn:
        counts = records.counts(conn)
        waiting = store.queued(conn)
    print(", ".join(f"{state}: {n}" for state, n in sorted(counts.items())) or "no ticket")
    for ticket in waiting:
        print(
            f"#{ticket.id}\t{ticket.reason}\t{ticket.language or '?'}\t"
            f"{ticket.city or ticket.region or '?'}\t{ticket.created_at:%Y-%m-%d %H:%M}Z"
        )
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``mediators`` and ``handoff`` commands."""
    mediators = subparsers.add_parser("mediators", help="check the mediators' registry")
    mediators.set_defaults(func=lambda args: (mediators.print_help(), 2)[1])
    sub = mediators.add_subparsers(dest="action", metavar="ACTION")
    for name, func, text in (
        ("validate", _validate, "check MEDIATORS_FILE (file:line errors)"),
        ("list", _list, "list registered mediators and who is on duty"),
    ):
        parser = sub.add_parser(name, help=text)
        parser.add_argument("--file", help="registry file (default: MEDIATORS_FILE)")
        parser.set_defaults(func=func)
    handoff = subparsers.add_parser("handoff", help="hand-off scheduler and tickets")
    handoff.set_defaults(func=lambda args: (handoff.print_help(), 2)[1])
    hsub = handoff.add_subparsers(dest="action", metavar="ACTION")
    hsub.add_parser("tick", help="offer, widen, expire and send once (for cron)").set_defaults(
        func=_tick
    )
    hsub.add_parser("tickets", help="ticket counts and the waiting queue").set_defaults(
        func=_tickets
    )
