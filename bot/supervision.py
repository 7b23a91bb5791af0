"""Supervision of the running servers: a crashed one is started again, retention runs daily.

Both watch from a background thread of the runner (:mod:`bot.runner`), say what they do on
standard error, and are stopped before the servers are stopped on purpose.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence

from bot.servers import STOP_TIMEOUT_S, Assistant
from bot.settings import Settings

# Supervision: a crashed server is started again after 1, 2, 4... s (at most 10 s); more
# than CRASH_LIMIT crashes within CRASH_WINDOW_S stops everything.
RESTART_BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 10.0)
CRASH_LIMIT = 5
CRASH_WINDOW_S = 300.0
NAMES = {"actions": "action server", "rasa": "Rasa server"}
# Retention is applied once the servers are up, then once a day.
RETENTION_INTERVAL_S = 24 * 3600.0


def _say_on_stderr(text: str) -> None:
    """What the runner says goes to standard error, at once."""
    print(text, file=sys.stderr, flush=True)


class _Watcher:
    """A loop in a daemon thread, stopped (and joined, bounded) by :meth:`stop`."""

    _stop: threading.Event
    _thread: threading.Thread | None = None

    def _start_thread(self, name: str, loop: Callable[[], None]) -> None:
        self._thread = threading.Thread(target=loop, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (before the servers are stopped on purpose)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT_S)


class Supervisor(_Watcher):
    """Starts a crashed server again with backoff, logging each restart; gives up (and
    says why) after more than ``crash_limit`` crashes within ``window_s``.

    While the action server is down, Rasa still answers and our channels send the apology
    (bot/channels/action_errors.py); while the Rasa server is down, webhooks are refused
    and the platforms retry (docs/deployment.md).
    """

    def __init__(
        self,
        assistant: Assistant,
        backoff: Sequence[float] = RESTART_BACKOFF_S,
        crash_limit: int = CRASH_LIMIT,
        window_s: float = CRASH_WINDOW_S,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.assistant = assistant
        self.backoff = tuple(backoff)
        self.crash_limit = crash_limit
        self.window_s = window_s
        self.say = say or _say_on_stderr
        self.crashes: dict[str, list[float]] = {"actions": [], "rasa": []}
        self.restarts = 0
        self.gave_up: str | None = None
        self._stop = threading.Event()

    def check_once(self) -> None:
        """Restart every server that exited (blocking through the backoff)."""
        for name, proc in list(self.assistant.processes.items()):
            if self._stop.is_set() or self.gave_up or proc.poll() is None:
                continue
            now = time.monotonic()
            recent = [t for t in self.crashes[name] if now - t < self.window_s] + [now]
            self.crashes[name] = recent
            what = NAMES.get(name, name)
            if len(recent) > self.crash_limit:
                self.gave_up = (
                    f"The {what} crashed {len(recent)} times within "
                    f"{self.window_s:.0f} s (last exit status {proc.returncode}); "
                    f"stopping. See {self.assistant.settings.var_dir / 'rasa.log'} and the "
                    "server output, fix the cause, then `make run` again."
                )
                self.say(self.gave_up)
                return
            delay = self.backoff[min(len(recent) - 1, len(self.backoff) - 1)]
            self.say(
                f"The {what} stopped unexpectedly (exit status {proc.returncode}); "
                f"restarting it in {delay:.0f} s (crash {len(recent)} of at most "
                f"{self.crash_limit} in {self.window_s:.0f} s)."
            )
            if self._stop.wait(delay):
                return
            self.assistant.spawn(name)
            self.restarts += 1
            self.say(f"The {what} was started again (pid {self.assistant.processes[name].pid}).")

    def start(self, interval: float = 0.5) -> Supervisor:
        """Watch the servers in a background thread."""

        def loop() -> None:
            while not self._stop.wait(interval) and not self.gave_up:
                self.check_once()

        self._start_thread("supervisor", loop)
        return self

    def failed(self) -> str | None:
        """The sentence said when giving up, if it did."""
        return self.gave_up


class Retention(_Watcher):
    """Applies retention (what ``python -m bot privacy purge`` does) once the servers are
    up, then every ``interval_s``: a one-desk deployment has no cron or systemd timer, and
    personal data must not outlive RETENTION_DAYS because nobody scheduled the purge.
    Running it beside a timer does no harm (the purge is idempotent)."""

    def __init__(
        self,
        settings: Settings,
        interval_s: float = RETENTION_INTERVAL_S,
        purge: Callable[[Settings], dict[str, int]] | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.interval_s = interval_s
        self.purge = purge or _purge
        self.say = say or _say_on_stderr
        self.runs = 0
        self._stop = threading.Event()

    def run_once(self) -> None:
        """One purge; a failure is said (with what to run by hand), never raised."""
        try:
            removed = self.purge(self.settings)
        except Exception as exc:  # noqa: BLE001 - the assistant keeps serving
            self.say(
                f"Retention purge failed ({type(exc).__name__}: {exc}); it will be tried "
                "again in a day, or run `python -m bot privacy purge` by hand."
            )
            return
        self.runs += 1
        total = sum(removed.values())
        if total:
            days = self.settings.retention_days
            self.say(f"Retention: removed {total} rows older than {days} days.")

    def start(self) -> Retention:
        def loop() -> None:
            self.run_once()
            while not self._stop.wait(self.interval_s):
                self.run_once()

        self._start_thread("retention", loop)
        return self


def _purge(settings: Settings) -> dict[str, int]:
    """Retention with the deployment's own databases (as the privacy CLI does)."""
    from datetime import timedelta

    from bot import privacy
    from bot.db import make_engine, migrate

    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    tracker = make_engine(privacy.tracker_store_url(settings))
    try:
        older_than = timedelta(days=settings.retention_days)
        return dict(privacy.purge(engine, tracker, older_than).rows)
    finally:
        engine.dispose()
        tracker.dispose()
