"""``python -m bot safety ...``: prepare the danger classifier, and check a message.

* ``safety prepare`` trains the classifier when its inputs changed (``make train`` runs it,
  so no server trains at start-up);
* ``safety check "message"`` prints what the assistant would find in a message: the kind,
  the severity and what decided (a pattern's name or the classifier's confidence). For staff
  who want to see why a message was, or was not, taken for a danger.
"""

from __future__ import annotations

import argparse
import sys

from bot.safety import classifier


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``safety prepare`` and ``safety check``."""
    parser = subparsers.add_parser("safety", help="the danger check: prepare it, try a message")
    commands = parser.add_subparsers(dest="safety_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: (parser.print_help(sys.stderr), 2)[1])
    prepare = commands.add_parser("prepare", help="train the danger classifier if needed")
    prepare.set_defaults(func=run_prepare)
    check = commands.add_parser("check", help="what the danger check finds in a message")
    check.add_argument("text", help="the message, in quotes")
    check.set_defaults(func=run_check)


def run_prepare(args: argparse.Namespace) -> int:
    if classifier.is_cached():
        classifier.load()
        return 0
    print("==> training the danger classifier (seconds; bot/safety/training/)")
    model = classifier.load()
    print(f"==> danger classifier ready: {len(model.weights)} features")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from bot.safety import assess

    danger = assess(args.text)
    if danger is None:
        print("no danger found")
        return 0
    also = f" (also: {', '.join(danger.also)})" if danger.also else ""
    print(f"{danger.kind}, {danger.severity}{also}; decided by {danger.rule}")
    return 0
