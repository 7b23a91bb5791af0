"""Serve the directory while admins edit it: reload on change, keep the last good version."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bot.directory.loader import entry_files, load_directory
from bot.directory.model import DirectoryError
from bot.directory.paths import default_places_path
from bot.directory.search import Directory

log = logging.getLogger(__name__)
Signature = tuple[tuple[str, int, int], ...]


class DirectoryStore:
    """Hold the current Directory; ``current()`` reloads it when its files change."""

    def __init__(
        self,
        path: str | Path,
        places_path: str | Path | None = None,
        check_interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.path = Path(path)
        self.places_path = Path(places_path) if places_path else default_places_path(self.path)
        self.check_interval = check_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._directory: Directory | None = None
        self._signature: Signature | None = None
        self._checked_at: float | None = None
        self.last_problems: list = []

    def _current_signature(self) -> Signature:
        # mtime and size of every file are enough to notice an edit without reading the data.
        files = (
            [*entry_files(self.path), self.places_path]
            if self.path.exists()
            else [self.places_path]
        )
        signature = []
        for file in files:
            try:
                stat = file.stat()
            except OSError:
                signature.append((str(file), -1, -1))
                continue
            signature.append((str(file), stat.st_mtime_ns, stat.st_size))
        return tuple(sorted(signature))

    def current(self) -> Directory:
        """Return the directory, reloading first if files changed since the last check."""
        now = self._clock()
        if (
            self._directory is not None
            and self._checked_at is not None
            and now - self._checked_at < self.check_interval
        ):
            return self._directory
        with self._lock:
            self._checked_at = now
            signature = self._current_signature()
            if self._directory is not None and signature == self._signature:
                return self._directory
            try:
                directory = load_directory(self.path, self.places_path)
            except DirectoryError as exc:
                self.last_problems = exc.problems
                self._signature = signature  # do not re-parse the same bad files every call
                if self._directory is None:
                    raise
                log.error(
                    "directory edit refused, still serving the version loaded at %s:\n%s",
                    self._directory.loaded_at.isoformat(timespec="seconds"),
                    "\n".join(str(p) for p in exc.problems if p.severity == "error"),
                )
                return self._directory
            for warning in directory.warnings:
                log.warning("%s", warning)
            if self._directory is not None:
                log.info("directory reloaded: %d entries", len(directory))
            self._directory = directory
            self._signature = signature
            self.last_problems = list(directory.warnings)
            return directory
