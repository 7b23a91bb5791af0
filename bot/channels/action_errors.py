"""Notice when a custom action failed during a turn, so the person gets an apology.

Rasa 3.6 logs "Encountered an exception while running action ..." (action server down,
timeout, crash) and carries on silently: the person would get no answer at all. The
channels run each turn inside :func:`watch_turn`; a logging handler on Rasa's processor
marks the turn that logged the failure (a context variable, so concurrent turns of other
people are not confused), and the turn then raises :class:`ActionFailed`, which the
per-person queue answers with the ``technical_problem`` message in the person's language.
No Rasa import: only the logger's name.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

PROCESSOR_LOGGER = "rasa.core.processor"
FAILURE_MARK = "Encountered an exception while running action"


class ActionFailed(RuntimeError):
    """A custom action of this turn failed; the person must be told."""


@dataclass
class _Turn:
    failed_action: str | None = None


_current: contextvars.ContextVar[_Turn | None] = contextvars.ContextVar(
    "prim_channel_turn", default=None
)


class _FailureHandler(logging.Handler):
    """Marks the current turn when Rasa's processor reports a failed action."""

    def emit(self, record: logging.LogRecord) -> None:
        turn = _current.get()
        if turn is None:
            return
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 (a logging handler must never raise)
            return
        if FAILURE_MARK in message:
            turn.failed_action = message.split("'")[1] if "'" in message else "?"


_handler = _FailureHandler(level=logging.ERROR)


def install() -> None:
    """Attach the handler to Rasa's processor logger (once per process)."""
    logger = logging.getLogger(PROCESSOR_LOGGER)
    if _handler not in logger.handlers:
        logger.addHandler(_handler)


@contextmanager
def watch_turn() -> Iterator[None]:
    """Run one turn; raise :class:`ActionFailed` afterwards if one of its actions failed."""
    install()
    turn = _Turn()
    token = _current.set(turn)
    try:
        yield
    finally:
        _current.reset(token)
    if turn.failed_action is not None:
        raise ActionFailed(f"custom action {turn.failed_action} failed")
