"""The production tracker store survives a database blip (bot/rasa/tracker_store.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

pytest.importorskip("rasa")

from rasa.core.tracker_store import SQLTrackerStore  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import UserUttered  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from bot.rasa import tracker_store  # noqa: E402
from bot.rasa.tracker_store import ResilientSQLTrackerStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path: Path) -> ResilientSQLTrackerStore:
    return ResilientSQLTrackerStore(
        domain=Domain.empty(), dialect="sqlite", db=str(tmp_path / "t.db"), retry_seconds=3
    )


def _blip(monkeypatch: pytest.MonkeyPatch, method: str, failures: int) -> list[int]:
    """Make the parent class's method fail with a lost connection `failures` times."""
    calls = [0]
    real = getattr(SQLTrackerStore, method)

    async def flaky(self, *args):  # type: ignore[no-untyped-def]
        calls[0] += 1
        if calls[0] <= failures:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return await real(self, *args)

    monkeypatch.setattr(SQLTrackerStore, method, flaky)
    monkeypatch.setattr(tracker_store, "FIRST_PAUSE", 0.01)
    return calls


def test_pooled_connections_are_checked_before_use(store: ResilientSQLTrackerStore) -> None:
    assert store.engine.pool._pre_ping  # noqa: SLF001 (no public accessor)


def test_a_read_and_a_write_survive_a_blip(
    store: ResilientSQLTrackerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker = DialogueStateTracker.from_events("p1", [UserUttered("bonjour")])
    saves = _blip(monkeypatch, "save", failures=2)
    asyncio.run(store.save(tracker))
    assert saves[0] == 3
    reads = _blip(monkeypatch, "retrieve", failures=2)
    again = asyncio.run(store.retrieve("p1"))
    assert reads[0] == 3
    assert again is not None and again.latest_message.text == "bonjour"
    # Saving again after a failed attempt does not duplicate events.
    asyncio.run(store.save(tracker))
    full = asyncio.run(store.retrieve_full_tracker("p1"))
    assert full is not None
    assert [e.text for e in full.events if isinstance(e, UserUttered)] == ["bonjour"]


def test_a_long_outage_is_reported_not_hidden(
    store: ResilientSQLTrackerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.retry_seconds = 0.1
    _blip(monkeypatch, "retrieve", failures=10_000)
    with pytest.raises(OperationalError):
        asyncio.run(store.retrieve("p1"))


def test_other_errors_are_not_retried(
    store: ResilientSQLTrackerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = [0]

    async def broken(self, *args):  # type: ignore[no-untyped-def]
        calls[0] += 1
        raise ValueError("a bug, not a blip")

    monkeypatch.setattr(SQLTrackerStore, "retrieve", broken)
    with pytest.raises(ValueError):
        asyncio.run(store.retrieve("p1"))
    assert calls[0] == 1


def test_the_production_profile_uses_it() -> None:
    endpoints = yaml.safe_load((ROOT / "endpoints.prod.yml").read_text(encoding="utf-8"))
    assert endpoints["tracker_store"]["type"] == "bot.rasa.tracker_store.ResilientSQLTrackerStore"


def test_database_work_runs_off_the_event_loop(
    store: ResilientSQLTrackerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    threads: list[str] = []
    real_session_scope = SQLTrackerStore.session_scope

    def recording_session_scope(self):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return real_session_scope(self)

    monkeypatch.setattr(SQLTrackerStore, "session_scope", recording_session_scope)

    async def turn() -> DialogueStateTracker | None:
        await store.save(DialogueStateTracker.from_events("p2", [UserUttered("salam")]))
        return await store.retrieve("p2")

    loop_thread = threading.current_thread().name
    again = asyncio.run(turn())
    assert again is not None and again.latest_message.text == "salam"
    assert threads and loop_thread not in threads
