"""Command-line interface: ``python -m bot <command> ...``.

Each capability registers its own sub-commands through a small ``add_parser(subparsers)``
function so this module stays a router and knows nothing of their internals.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# Modules that expose ``add_parser(subparsers) -> None``; each sets ``func`` on its parser.
# A module that is not there yet (a capability still to come) is skipped.
COMMAND_MODULES: tuple[str, ...] = (
    "bot.directory.cli",
    "bot.handoff.cli",
    "bot.privacy_cli",
    "bot.report",
    "bot.safety.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available sub-command."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Phone numbers never reach a log line (docs/privacy.md).
    from bot.privacy import install_log_masking

    install_log_masking()
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)
