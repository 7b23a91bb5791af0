"""Fixtures of the hand-off tests: a migrated database, a controllable clock, mediators."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.channels.base import Button
from bot.db import make_engine, migrate
from bot.handoff.mediators import Mediator, Registry, parse_registry
from bot.handoff.outbox import Flusher, Media
from bot.handoff.relay import HandoffRuntime
from bot.handoff.routing import Policy
from bot.handoff.service import Handoff

# A Monday, 10:00 in Casablanca (UTC+1): everybody of MEDIATORS_YAML is on duty.
MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)

MEDIATORS_YAML = """\
mediators:
  - id: amina
    name: Amina
    channel: telegram
    address: "1001"
    regions: [souss-massa]
    languages: [fr, ar, ary-Latn]
    hours: {mon-fri: "09:00-17:00"}
  - id: youssef
    name: Youssef
    channel: whatsapp
    address: "+212611111111"
    regions: [oriental]
    languages: [fr, en, ar]
    hours: {mon-fri: "09:00-17:00", sat: "09:00-12:00"}
  - id: grace
    name: Grace
    channel: telegram
    address: "1003"
    regions: [all]
    languages: [en, fr, es]
    hours: {mon-sun: "00:00-24:00"}
"""


@dataclass
class FakeClock:
    """A clock the test moves by hand."""

    current: datetime = MONDAY_10

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@dataclass
class Recorder:
    """Records what would be sent to people and mediators."""

    people: list[tuple[str, str, list[Button]]] = field(default_factory=list)
    mediators: list[tuple[str, str, list[Button], Media | None]] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    resumed_in: list[str | None] = field(default_factory=list)
    fail_people: bool = False

    async def person(self, pseudonym: str, text: str, buttons: Sequence[Button]) -> bool:
        if self.fail_people:
            return False
        self.people.append((pseudonym, text, list(buttons)))
        return True

    async def resume(self, pseudonym: str, language: str | None = None) -> bool:
        self.resumed.append(pseudonym)
        self.resumed_in.append(language)
        return True

    def to(self, mediator_id: str) -> list[str]:
        return [text for mid, text, _b, _m in self.mediators if mid == mediator_id]

    def to_person(self, pseudonym: str) -> list[str]:
        return [text for p, text, _b in self.people if p == pseudonym]


@dataclass
class RecordingMediatorSender:
    recorder: Recorder

    async def send(self, mediator: Mediator, text: str, buttons, media) -> bool:  # noqa: ANN001
        self.recorder.mediators.append((mediator.id, text, list(buttons), media))
        return True


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A migrated SQLite database."""
    engine = make_engine(f"sqlite:///{tmp_path / 'handoff.db'}")
    migrate(engine)
    return engine


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def registry() -> Registry:
    return parse_registry(MEDIATORS_YAML, "mediators.yml")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def runtime(
    engine: Engine, clock: FakeClock, registry: Registry, recorder: Recorder
) -> HandoffRuntime:
    """A hand-off runtime on the test database with recording senders."""
    handoff = Handoff(
        engine=engine,
        registry=lambda: registry,
        clock=clock,
        policy=Policy(widen_after=timedelta(minutes=10), expire_after=timedelta(hours=72)),
        meanwhile=lambda ticket: "*Service* 0528000000" if ticket.intent == "ask_health" else None,
        analytics_key="test-analytics-key-0123456789",
    )
    return HandoffRuntime(handoff, recording_flusher(engine, registry, recorder, clock))


def recording_flusher(
    engine: Engine, registry: Registry, recorder: Recorder, clock: FakeClock
) -> Flusher:
    """The outbox flusher of a test runtime: every message lands in ``recorder``."""
    sender = RecordingMediatorSender(recorder)
    return Flusher(
        engine,
        lambda: registry,
        recorder.person,
        {"telegram": sender, "whatsapp": sender},
        clock=clock,
        resume=recorder.resume,
    )
