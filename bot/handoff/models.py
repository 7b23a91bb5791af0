"""Hand-off tables on the shared metadata (revision 0003_handoff writes the same schema).

Times are naive UTC, like the other tables of our database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from bot.db import metadata

QUEUED = "queued"
ASSIGNED = "assigned"
CLOSED = "closed"
EXPIRED = "expired"
STATES = (QUEUED, ASSIGNED, CLOSED, EXPIRED)
OPEN_STATES = (QUEUED, ASSIGNED)

REASONS = ("request_mediator", "emergency", "misunderstood", "voice_note")
# Lower sorts first: emergencies jump the queue.
PRIORITY = {"emergency": 0, "request_mediator": 1, "voice_note": 1, "misunderstood": 1}


def _row_id() -> Column:
    """A table's own row number."""
    return Column("id", Integer, primary_key=True, autoincrement=True)


def _ticket_table(name: str, *columns: Any, index: bool = True) -> Table:
    """A table of what belongs to a ticket: its own row number, the ticket (``index``ed or
    not), erased with it (ON DELETE CASCADE), then ``columns``."""
    fk = ForeignKey("handoff_tickets.id", ondelete="CASCADE")
    ticket_id = Column("ticket_id", Integer, fk, nullable=False, index=index)
    return Table(name, metadata, _row_id(), ticket_id, *columns)


tickets = Table(
    "handoff_tickets",
    metadata,
    _row_id(),
    Column("pseudonym", String(64), nullable=False, index=True),
    Column("channel", String(32), nullable=True),
    Column("reason", String(32), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("language", String(16), nullable=True),
    Column("intent", String(64), nullable=True),
    Column("city", String(64), nullable=True),
    Column("region", String(64), nullable=True),
    Column("profile", String(16), nullable=True),
    Column("first_name", String(128), nullable=True),
    # JSON list of {"who": "person"|"bot", "text": ...}: the last messages before the hand-off.
    Column("context", Text, nullable=True),
    Column("state", String(16), nullable=False, index=True),
    Column("mediator_id", String(64), nullable=True, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("assigned_at", DateTime, nullable=True),
    Column("widened_at", DateTime, nullable=True),
    Column("closed_at", DateTime, nullable=True),
    Column("expired_at", DateTime, nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("rating", Integer, nullable=True),
    Column("rating_asked_at", DateTime, nullable=True),
    Column("rated_at", DateTime, nullable=True),
    # The kind of danger that made the ticket urgent (bot/safety), else NULL.
    Column("danger", String(32), nullable=True),
)

# Everything said during a hand-off, in order (person, mediator, system).
ticket_messages = _ticket_table(
    "handoff_messages",
    Column("direction", String(16), nullable=False),
    Column("mediator_id", String(64), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("text", Text, nullable=True),
    Column("media_url", Text, nullable=True),
    Column("media_type", String(100), nullable=True),
    Column("created_at", DateTime, nullable=False),
    # Person messages wait (NULL) until a mediator takes the ticket.
    Column("relayed_at", DateTime, nullable=True),
)

ticket_notes = _ticket_table(
    "handoff_notes",
    Column("mediator_id", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# Which mediator was offered which ticket (so each is notified once, and told when taken).
ticket_offers = _ticket_table(
    "handoff_offers",
    Column("mediator_id", String(64), nullable=False),
    Column("offered_at", DateTime, nullable=False),
    UniqueConstraint("ticket_id", "mediator_id", name="uq_handoff_offers_ticket_mediator"),
    index=False,
)

# The ticket each mediator is currently answering (a plain message goes there).
mediator_state = Table(
    "handoff_mediator_state",
    metadata,
    Column("mediator_id", String(64), primary_key=True),
    Column("current_ticket_id", Integer, nullable=True),
    Column("updated_at", DateTime, nullable=False),
)

# Outgoing messages, written in the same transaction as the change that causes them and
# sent afterwards by whichever process flushes first: nothing is lost in a restart.
outbox = Table(
    "handoff_outbox",
    metadata,
    _row_id(),
    # "person" (target = pseudonym) or "mediator" (target = mediator id).
    Column("target_kind", String(16), nullable=False),
    Column("target", String(64), nullable=False, index=True),
    Column("ticket_id", Integer, nullable=True),
    Column("text", Text, nullable=False),
    # JSON list of [title, payload].
    Column("buttons", Text, nullable=True),
    Column("media_url", Text, nullable=True),
    Column("media_type", String(100), nullable=True),
    Column("media_channel", String(32), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("claimed_at", DateTime, nullable=True),
    Column("sent_at", DateTime, nullable=True, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("failed_at", DateTime, nullable=True),
)

HANDOFF_TABLES = (tickets, ticket_messages, ticket_notes, ticket_offers, mediator_state, outbox)


def ensure_schema(engine) -> None:  # noqa: ANN001 (sqlalchemy Engine)
    """Create the hand-off tables if missing.

    Databases migrated while revision 0003_handoff was still an empty placeholder are
    already past it, so Alembic will not run it again there; the tables are then created
    here, with the same definitions (idempotent: existing tables are left alone).
    """
    metadata.create_all(engine, tables=list(HANDOFF_TABLES), checkfirst=True)
