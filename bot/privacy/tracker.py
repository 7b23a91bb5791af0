"""Rasa's tracker store, seen from here: where it is, and deleting events from it.

Rasa's SQLTrackerStore table ``events`` (keyed by the pseudonym) is described, not owned, so
that no rasa import is needed: SQLite under var/ in the dev profile, the PostgreSQL
database of ``DATABASE_URL`` in production.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from sqlalchemy import column as sa_column
from sqlalchemy import delete, func, select
from sqlalchemy import table as sa_table
from sqlalchemy.engine import Engine

from bot.privacy.erasers import _has_table


def tracker_store_url(settings) -> str:  # noqa: ANN001 (bot.settings.Settings)
    """Where Rasa keeps conversations: PostgreSQL (prod) or the SQLite file (dev)."""
    if settings.profile == "prod":
        return settings.effective_database_url
    return f"sqlite:///{settings.rasa_env()['TRACKER_DB_PATH']}"


# Rasa's SQLTrackerStore table, described (not owned) so that no rasa import is needed.
_EVENTS = sa_table("events", sa_column("sender_id"), sa_column("timestamp"), sa_column("type_name"))


def erase_tracker(
    tracker: Engine,
    *,
    pseudonym: str | None = None,
    before: datetime | None = None,
    not_after: datetime | None = None,
    senders: Iterable[str] = (),
    kept_from_message_after: datetime | None = None,
) -> int:
    """Delete Rasa events: one person's, or older than ``before``, or of ``senders`` before it.

    ``not_after`` limits a person's erasure to what existed when they asked (a new
    conversation started afterwards is theirs to keep). ``kept_from_message_after`` keeps
    everything from the person's first message after that moment: decided inside the
    DELETE itself, so a turn Rasa writes meanwhile is either seen and kept, or not yet
    there (a lookup before the DELETE erased a turn written in between: the simulator
    found replies in French after "zid", the slot that said Darija gone).
    """
    clauses = []
    if pseudonym is not None:
        clauses.append(_EVENTS.c.sender_id == pseudonym)
    if not_after is not None:
        clauses.append(_EVENTS.c.timestamp <= _epoch(not_after))
    if pseudonym is not None and kept_from_message_after is not None:
        later = _EVENTS.alias("later")
        first_message = (
            select(func.min(later.c.timestamp))
            .where(
                later.c.sender_id == pseudonym,
                later.c.type_name == "user",
                later.c.timestamp > _epoch(kept_from_message_after),
            )
            .scalar_subquery()
        )
        clauses.append(_EVENTS.c.timestamp < func.coalesce(first_message, _NEVER))
    if before is not None:
        clauses.append(_EVENTS.c.timestamp < _epoch(before))
    sender_list = list(senders)
    if not clauses and not sender_list:
        raise ValueError("erase_tracker needs a person, a cut-off date or senders")
    with tracker.begin() as connection:
        if not _has_table(connection, "events"):
            return 0
        if not sender_list:
            return int(connection.execute(delete(_EVENTS).where(*clauses)).rowcount or 0)
        total = 0
        for start in range(0, len(sender_list), 500):
            chunk = sender_list[start : start + 500]
            statement = delete(_EVENTS).where(*clauses, _EVENTS.c.sender_id.in_(chunk))
            total += int(connection.execute(statement).rowcount or 0)
        return total


# Later than any event's timestamp (seconds since 1970).
_NEVER = 1e18


def _next_message_at(tracker: Engine, pseudonym: str, after: datetime) -> datetime:
    """Just before the person's first message after ``after`` (what they said after asking
    to be forgotten, or after declining, is theirs: kept like any conversation), or the
    far future when there is none yet."""
    with tracker.connect() as connection:
        if not _has_table(connection, "events"):
            return datetime.max
        first = connection.execute(
            select(func.min(_EVENTS.c.timestamp)).where(
                _EVENTS.c.sender_id == pseudonym,
                _EVENTS.c.type_name == "user",
                _EVENTS.c.timestamp > _epoch(after),
            )
        ).scalar()
    if first is None:
        return datetime.max
    moment = datetime.fromtimestamp(float(first), tz=timezone.utc).replace(tzinfo=None)
    return moment - timedelta(microseconds=1)


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
