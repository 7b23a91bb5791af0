"""The erasers of our own tables, and the list of which table holds what about a person.

Each eraser is ``fn(connection, pseudonym | None, before: datetime | None) -> rows``: one
person's rows, or (with ``before``) what retention removes. :data:`ERASERS` lists them all
explicitly; :data:`PERSONAL_TABLES` says who erases each table (docs/architecture.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    String,
    Table,
    bindparam,
    delete,
    inspect,
    text,
)
from sqlalchemy.engine import Connection

from bot.db import metadata
from bot.privacy.consent import consents

# The records keep the name they had before the package was split.
log = logging.getLogger("bot.privacy")

erasure_requests = Table(
    "erasure_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pseudonym", String(64), nullable=False, index=True),
    Column("requested_at", DateTime, nullable=False),
    Column("reason", String(16), nullable=False),
)

# --- erasers ---------------------------------------------------------------------------------
Eraser = Callable[[Connection, "str | None", "datetime | None"], int]


def _has_table(connection: Connection, name: str) -> bool:
    return inspect(connection).has_table(name)


def _erase_consents(connection: Connection, pseudonym: str | None, before: datetime | None) -> int:
    # The decision is what lets us respect it: kept until the person asks to be forgotten.
    if pseudonym is None:
        return 0
    return int(
        connection.execute(delete(consents).where(consents.c.pseudonym == pseudonym)).rowcount or 0
    )


def _erase_contacts(connection: Connection, pseudonym: str | None, before: datetime | None) -> int:
    # The channels' table (revision 0002_channels): pseudonym -> phone number / chat id.
    # Retention: people who have not written since ``before`` (a later message re-creates it).
    if not _has_table(connection, "contacts"):
        return 0
    columns = {c["name"] for c in inspect(connection).get_columns("contacts")}
    if "pseudonym" not in columns:
        log.warning("contacts table has no pseudonym column: cannot erase it")
        return 0
    if pseudonym is not None:
        return int(
            connection.execute(
                text("DELETE FROM contacts WHERE pseudonym = :p"), {"p": pseudonym}
            ).rowcount
            or 0
        )
    if before is None or "last_inbound_at" not in columns:
        return 0
    cut = before.replace(tzinfo=timezone.utc) if before.tzinfo is None else before
    rows = connection.execute(
        text("SELECT pseudonym, last_inbound_at, created_at FROM contacts")
    ).all()
    stale = [row[0] for row in rows if _aware(row[1] or row[2]) < cut]
    for start in range(0, len(stale), 500):
        connection.execute(
            text("DELETE FROM contacts WHERE pseudonym IN :ps").bindparams(
                bindparam("ps", expanding=True)
            ),
            {"ps": stale[start : start + 500]},
        )
    return len(stale)


def _erase_contact_if_quiet(connection: Connection, pseudonym: str, since: datetime) -> int:
    """The deferred part of an erasure from the chat: the address, once the confirmation
    went out, unless the person has written again since (that new contact is theirs)."""
    if not _has_table(connection, "contacts"):
        return 0
    row = connection.execute(
        text("SELECT last_inbound_at, created_at FROM contacts WHERE pseudonym = :p"),
        {"p": pseudonym},
    ).first()
    if row is None:
        return 0
    last = _aware(row[0] or row[1])
    if last is not None and last > _aware(since):
        return 0
    return _erase_contacts(connection, pseudonym, None)


def _aware(moment: datetime | str | None) -> datetime | None:
    if isinstance(moment, str):  # SQLite through text() gives strings
        moment = datetime.fromisoformat(moment)
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def _erase_handoff(connection: Connection, pseudonym: str | None, before: datetime | None) -> int:
    # Tickets, relayed messages, notes, offers, outbox rows (and first names in the
    # mediators' queue listings); with ``before``, finished tickets and old media links.
    from bot.handoff.tickets import erase

    if not _has_table(connection, "handoff_tickets"):
        return 0
    return erase(connection, pseudonym, before)


# Every eraser, listed here and not registered at import (a registry filled by imports ran
# without the hand-off's in `python -m bot privacy`, which never imports bot.handoff).
ERASERS: tuple[tuple[str, Eraser], ...] = (
    ("consents", _erase_consents),
    ("contacts", _erase_contacts),
    ("handoff", _erase_handoff),
)

# Every table of our database, by what holds personal data and who erases it; a test fails
# when a table is added without being listed here (tests/privacy/test_erasure_coverage.py).
PERSONAL_TABLES: dict[str, str] = {
    "consents": "consents",
    "contacts": "contacts",
    "handoff_tickets": "handoff",
    "handoff_messages": "handoff",
    "handoff_notes": "handoff",
    "handoff_offers": "handoff",
    "handoff_outbox": "handoff",
    "analytics_events": "analytics links",
    "erasure_requests": "requests closed",
}
# Tables without anything about a person: webhook ids (kept, against replays), which ticket
# a mediator answers, Alembic's revision.
NOT_PERSONAL_TABLES = ("processed_updates", "handoff_mediator_state", "alembic_version")


def erasers() -> dict[str, Eraser]:
    """Every eraser, by name."""
    return dict(ERASERS)
