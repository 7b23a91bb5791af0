"""Where the directory lives by default."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PLACES_FILE = "places.yml"


def default_directory_path() -> Path:
    """Return ``$DIRECTORY_PATH`` if set, else ``directory/`` at the repository root."""
    # TODO(settings): move to bot/settings.py once it exists; kept in this one helper until then.
    value = os.environ.get("DIRECTORY_PATH")
    return Path(value) if value else REPO_ROOT / "directory"


def default_places_path(directory: Path | None = None) -> Path:
    """Return the gazetteer that goes with a directory (its ``places.yml``)."""
    base = directory if directory is not None else default_directory_path()
    if base.is_file():
        base = base.parent
    # Next to the files, then one level up (a region folder such as directory/oriental),
    # then the default directory's gazetteer (a file checked from elsewhere).
    for candidate in (base / PLACES_FILE, base.parent / PLACES_FILE):
        if candidate.exists():
            return candidate
    if directory is None:
        return base / PLACES_FILE
    return default_directory_path() / PLACES_FILE
