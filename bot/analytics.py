"""Anonymous events for the programme's statistics (no rasa import).

An event never holds a phone number, a Telegram id or even the Rasa pseudonym: at most a
``person_key``, a second keyed hash of the pseudonym, so that distinct people can be counted
and one person's link erased (set to NULL) while the counts stay. Times are rounded down to
the hour so that an event cannot be matched to a message by its exact time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Column, DateTime, Integer, String, Table, select, update
from sqlalchemy.engine import Connection, Engine

from bot.db import metadata

# The optional, always skippable question; nothing else is ever stored about sex.
SEX_VALUES = ("female", "male", "other", "prefer_not_to_say")

# Fields every kind may carry (all optional) and the extra ones some kinds carry.
COMMON_FIELDS = ("intent", "topic", "language", "region", "city", "profile", "sex", "channel")
KINDS: Mapping[str, tuple[str, ...]] = {
    "conversation_started": (),
    "consent": ("outcome",),  # accepted / declined
    "question": (),
    "unmet_need": ("unmet_category",),
    "handoff_opened": (),
    "handoff_closed": ("wait_seconds", "outcome"),
    "rating": ("rating",),
    # A message showed a danger (bot/safety): topic = its kind, outcome = its severity.
    "danger_detected": ("outcome",),
}
_TEXT_LIMIT = 64

analytics_events = Table(
    "analytics_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("occurred_at", DateTime, nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("person_key", String(64), nullable=True, index=True),
    Column("intent", String(64)),
    Column("topic", String(64)),
    Column("language", String(16)),
    Column("region", String(64)),
    Column("city", String(64)),
    Column("profile", String(16)),
    Column("sex", String(24)),
    Column("channel", String(16)),
    Column("wait_seconds", Integer),
    Column("outcome", String(32)),
    Column("rating", Integer),
    Column("unmet_category", String(64)),
)


@dataclass(frozen=True)
class Event:
    """One validated event, ready to insert."""

    kind: str
    occurred_at: datetime
    person_key: str | None
    fields: dict[str, Any]


def person_key(pseudonym: str, key: str) -> str:
    """The analytics link of a pseudonym: a second keyed hash, never the pseudonym itself."""
    if not key:
        raise ValueError("the analytics key is empty: set PSEUDONYM_KEY")
    mac = hmac.new(key.encode(), f"analytics:{pseudonym}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def hour_of(moment: datetime | None) -> datetime:
    """``moment`` (default now) in UTC, naive, rounded down to the hour."""
    moment = moment or datetime.now(timezone.utc)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.replace(minute=0, second=0, microsecond=0)


def validate(  # noqa: C901 (docs/architecture.md)
    kind: str,
    *,
    person: str | None = None,
    at: datetime | None = None,
    **fields: Any,
) -> Event:
    """Check ``kind`` and ``fields``; raise ValueError naming what is wrong (never drop it)."""
    if kind not in KINDS:
        raise ValueError(f"unknown analytics event kind {kind!r}; known: {', '.join(KINDS)}")
    allowed = set(COMMON_FIELDS) | set(KINDS[kind])
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ValueError(f"{kind}: unknown field(s) {unknown}; allowed: {sorted(allowed)}")
    clean: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            continue
        if name in ("wait_seconds", "rating"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{kind}: {name} must be a number, got {value!r}")
            value = int(round(value))
            if name == "wait_seconds" and value < 0:
                raise ValueError(f"{kind}: wait_seconds must not be negative")
            if name == "rating" and not 1 <= value <= 5:
                raise ValueError(f"{kind}: rating must be between 1 and 5, got {value}")
        else:
            if not isinstance(value, str):
                raise ValueError(f"{kind}: {name} must be text, got {type(value).__name__}")
            if len(value) > _TEXT_LIMIT:
                raise ValueError(f"{kind}: {name} longer than {_TEXT_LIMIT} characters")
            if name == "sex" and value not in SEX_VALUES:
                raise ValueError(f"{kind}: sex must be one of {SEX_VALUES}, got {value!r}")
        clean[name] = value
    if person is not None and not (isinstance(person, str) and 8 <= len(person) <= 64):
        raise ValueError("person must be a person_key (a keyed hash), not a raw identifier")
    return Event(kind=kind, occurred_at=hour_of(at), person_key=person, fields=clean)


def record(
    engine: Engine | Connection,
    kind: str,
    *,
    person: str | None = None,
    at: datetime | None = None,
    **fields: Any,
) -> Event:
    """Validate and store one event; a person who answered the sex question keeps it."""
    event = validate(kind, person=person, at=at, **fields)
    values = {
        "kind": event.kind,
        "occurred_at": event.occurred_at,
        "person_key": event.person_key,
        **event.fields,
    }
    if isinstance(engine, Connection):
        _insert(engine, values)
    else:
        with engine.begin() as connection:
            _insert(connection, values)
    return event


def _insert(connection: Connection, values: dict[str, Any]) -> None:
    if values.get("person_key") and "sex" not in values:
        known = connection.execute(
            select(analytics_events.c.sex)
            .where(analytics_events.c.person_key == values["person_key"])
            .where(analytics_events.c.sex.is_not(None))
            .limit(1)
        ).scalar()
        if known:
            values["sex"] = known
    connection.execute(analytics_events.insert().values(**values))


def set_sex(engine: Engine, person: str, sex: str) -> int:
    """Apply the person's optional answer to all their events; returns rows updated."""
    if sex not in SEX_VALUES:
        raise ValueError(f"sex must be one of {SEX_VALUES}, got {sex!r}")
    with engine.begin() as connection:
        result = connection.execute(
            update(analytics_events).where(analytics_events.c.person_key == person).values(sex=sex)
        )
    return int(result.rowcount or 0)


def unlink(
    connection: Connection, person: str | None = None, before: datetime | None = None
) -> int:
    """Erase the link to a person (or every link older than ``before``); counts stay."""
    if person is None and before is None:
        raise ValueError("unlink needs a person or a cut-off date")
    statement = update(analytics_events).where(analytics_events.c.person_key.is_not(None))
    if person is not None:
        statement = statement.where(analytics_events.c.person_key == person)
    if before is not None:
        statement = statement.where(analytics_events.c.occurred_at < hour_of(before))
    return int(connection.execute(statement.values(person_key=None)).rowcount or 0)


def load(engine: Engine, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Every event with ``start <= occurred_at < end`` as plain dicts."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(analytics_events)
            .where(analytics_events.c.occurred_at >= hour_of(start))
            .where(analytics_events.c.occurred_at < end.replace(tzinfo=None))
            .order_by(analytics_events.c.id)
        ).mappings()
        return [dict(row) for row in rows]
