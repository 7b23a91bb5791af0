"""Fixtures of the privacy tests: a migrated database and a real Rasa tracker-store table."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.db import make_engine, migrate

KEY = "test-key-" + "x" * 24


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """Our database (SQLite), migrated to head."""
    eng = make_engine(f"sqlite:///{tmp_path / 'assistant.db'}")
    migrate(eng)
    yield eng
    eng.dispose()


def save_conversation(url_or_path: str, sender: str, texts: list[str], at: float) -> None:
    """Save a real tracker through Rasa's SQLTrackerStore (so its table layout is the real one)."""
    pytest.importorskip("rasa")
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.empty()
    if url_or_path.startswith("postgresql"):
        from sqlalchemy.engine.url import make_url

        url = make_url(url_or_path)
        options = dict(url.query)
        store = SQLTrackerStore(
            domain,
            dialect="postgresql",
            host=url.host,
            port=url.port,
            db=url.database,
            username=url.username,
            password=url.password,
            query={"options": options["options"]} if "options" in options else None,
        )
    else:
        store = SQLTrackerStore(domain, dialect="sqlite", db=url_or_path)
    events = [
        ActionExecuted("action_session_start", timestamp=at),
        SessionStarted(timestamp=at),
        ActionExecuted("action_listen", timestamp=at),
    ]
    for i, text in enumerate(texts):
        events.append(UserUttered(text, {"name": "greet", "confidence": 1.0}, timestamp=at + i))
        events.append(BotUttered(f"reply to {text}", timestamp=at + i + 0.5))
    tracker = DialogueStateTracker.from_events(sender, events)
    asyncio.run(store.save(tracker))
    store.engine.dispose()


def now() -> float:
    """Unix time now."""
    return time.time()
