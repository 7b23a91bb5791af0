"""What every action needs: the reply language and the shared directory store."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from bot.app import services
from bot.directory import DirectoryStore
from bot.language import SUPPORTED_REPLY_LANGUAGES
from bot.messaging import DEFAULT_LANGUAGE


def directory_store() -> DirectoryStore:
    """The process's hot-reloading directory (bot.app.Services), built on first use."""
    return services().directory()


def reply_language(tracker: Tracker) -> str:
    """The conversation's reply language (French until one is known)."""
    lang = tracker.get_slot("language")
    return lang if lang in SUPPORTED_REPLY_LANGUAGES else DEFAULT_LANGUAGE


def user_intents(tracker: Tracker) -> list[str | None]:
    """Intent of every user message of the current session, oldest first."""
    return [
        (event.get("parse_data") or {}).get("intent", {}).get("name")
        for event in tracker.events
        if event.get("event") == "user"
    ]


def channel_of(tracker: Tracker) -> str | None:
    """Name of the input channel the person wrote through."""
    return tracker.get_latest_input_channel()


def end_question() -> list[dict[str, Any]]:
    """Events that end the form's "where?" (a no-op when it is not active): the person
    moved on, and asking again after this answer would repeat the question."""
    from rasa_sdk.events import ActiveLoop, SlotSet

    return [ActiveLoop(None), SlotSet("requested_slot", None)]


def as_int(value: Any, default: int = 0) -> int:
    """A slot number as int (float slots come back as 1.0)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def database():  # noqa: ANN201 (sqlalchemy Engine)
    """Our own database (consents, analytics, tickets), migrated once per process."""
    return services().engine


def tracker_database():  # noqa: ANN201
    """Rasa's tracker store, for erasure only (the SQLite file in dev, PostgreSQL in prod)."""
    return services().tracker_engine()


def privacy_key() -> str:
    """Key of the keyed hashes (PSEUDONYM_KEY, or the dev key under var/)."""
    return services().privacy_key()
