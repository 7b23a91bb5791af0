"""The package contract other engineers rely on: pure Python, no I/O at import, stable names."""

from __future__ import annotations

import subprocess
import sys

from tests.directory.conftest import REPO_ROOT


def test_import_loads_neither_rasa_nor_data():
    code = (
        "import sys, bot.directory as d\n"
        "assert not any(m == 'rasa' or m.startswith('rasa.') for m in sys.modules), 'rasa'\n"
        "assert d.render.__module__ == 'bot.directory.render'\n"
        "from bot.directory.render import load_labels\n"
        "assert load_labels.cache_info().currsize == 0, 'labels read at import'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_public_names_and_intent_map():
    import bot.directory as d

    for name in (
        "Entry",
        "Directory",
        "SearchResult",
        "DirectoryStore",
        "DirectoryError",
        "Problem",
        "load_directory",
        "validate_paths",
        "load_places",
        "render",
    ):
        assert hasattr(d, name), name
    asked = ("health", "civil_status", "schooling", "work", "residence", "emergency")
    assert d.INTENT_CATEGORY == {f"ask_{category}": category for category in asked}
    assert set(d.INTENT_CATEGORY.values()) <= set(d.CATEGORIES)
