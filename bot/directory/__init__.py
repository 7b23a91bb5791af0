"""Curated directory of public services for migrants and MRE: load, validate, search, render."""

from bot.directory.loader import load_directory, validate_paths
from bot.directory.model import (
    AUDIENCES,
    CATEGORIES,
    LANGS,
    REGIONS,
    DirectoryError,
    Entry,
    Geo,
    OpeningPeriod,
    Problem,
    UnknownPlaceError,
)
from bot.directory.places import City, Places, haversine_km, load_places
from bot.directory.render import render, render_with_count
from bot.directory.search import Directory, SearchResult
from bot.directory.store import DirectoryStore

# Rasa intents that ask for a kind of service, and the directory category that answers them.
INTENT_CATEGORY: dict[str, str] = {
    "ask_health": "health",
    "ask_civil_status": "civil_status",
    "ask_schooling": "schooling",
    "ask_work": "work",
    "ask_residence": "residence",
    "ask_emergency": "emergency",
}

__all__ = [
    "AUDIENCES",
    "CATEGORIES",
    "INTENT_CATEGORY",
    "LANGS",
    "REGIONS",
    "City",
    "Directory",
    "DirectoryError",
    "DirectoryStore",
    "Entry",
    "Geo",
    "OpeningPeriod",
    "Places",
    "Problem",
    "SearchResult",
    "UnknownPlaceError",
    "haversine_km",
    "load_directory",
    "load_places",
    "render",
    "render_with_count",
    "validate_paths",
]
