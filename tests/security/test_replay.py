"""Low: Twilio dedupe ids were pruned after 7 days, so a captured signed request could be
replayed later and processed again (Twilio signs no time)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.channels import pipeline as module
from bot.channels.base import IncomingMessage, OutgoingMessage, utcnow
from bot.channels.pipeline import DUPLICATE, QUEUED, Pipeline
from bot.channels.store import ChannelStore
from bot.db import make_engine, migrate


class Silent:
    async def deliver(self, message: OutgoingMessage) -> bool:
        return True


@pytest.fixture
def store(tmp_path) -> ChannelStore:  # noqa: ANN001
    engine = make_engine(f"sqlite:///{tmp_path / 'replay.db'}")
    migrate(engine)
    return ChannelStore(engine)


async def test_a_seen_message_sid_is_never_processed_again_however_old(
    store: ChannelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "PRUNE_EVERY", 2)  # housekeeping at every second message
    processed: list[str] = []

    async def dispatch(message: IncomingMessage) -> None:
        processed.append(message.external_id)

    def message(sid: str, at_days_ago: int = 0) -> IncomingMessage:
        return IncomingMessage(
            "whatsapp",
            "+212600000001",
            "p1",
            text="take 3",
            external_id=sid,
            received_at=utcnow() - timedelta(days=at_days_ago),
        )

    pipeline = Pipeline("whatsapp", store, Silent(), dispatch)
    assert await pipeline.accept(message("SMcaptured", at_days_ago=30)) == QUEUED
    for n in range(4):  # later traffic: pruning would run twice
        await pipeline.accept(message(f"SMlater{n}"))
    # The attacker replays the captured, validly signed request a month later.
    assert await pipeline.accept(message("SMcaptured")) == DUPLICATE
    await pipeline.drain(5)
    assert processed.count("SMcaptured") == 1
