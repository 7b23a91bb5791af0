"""What the hand-off records around a ticket: the messages relayed both ways, mediators'
notes, offers, each mediator's current ticket, and the outbox rows waiting to be sent.

The ticket itself and its state machine are in tickets.py; erasure of all of it is
``tickets.erase``. Times are naive UTC. No Rasa import.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.handoff.models import (
    mediator_state,
    outbox,
    ticket_messages,
    ticket_notes,
    ticket_offers,
    tickets,
)
from bot.handoff.tickets import aware, naive


def add_message(
    conn: Connection,
    ticket_id: int,
    direction: str,
    now: datetime,
    *,
    kind: str = "text",
    text: str | None = None,
    mediator_id: str | None = None,
    media_url: str | None = None,
    media_type: str | None = None,
    relayed: bool = False,
) -> int:
    """Store one message of the hand-off; its id."""
    result = conn.execute(
        insert(ticket_messages).values(
            ticket_id=ticket_id,
            direction=direction,
            mediator_id=mediator_id,
            kind=kind,
            text=text,
            media_url=media_url,
            media_type=media_type,
            created_at=naive(now),
            relayed_at=naive(now) if relayed else None,
        )
    )
    return int(result.inserted_primary_key[0])


def waiting_person_messages(conn: Connection, ticket_id: int) -> list[Any]:
    """Person messages not yet relayed to a mediator, oldest first."""
    return conn.execute(
        select(ticket_messages)
        .where(
            ticket_messages.c.ticket_id == ticket_id,
            ticket_messages.c.direction == "person",
            ticket_messages.c.relayed_at.is_(None),
        )
        .order_by(ticket_messages.c.id)
    ).all()


def mark_relayed(conn: Connection, message_ids: Sequence[int], now: datetime) -> None:
    """Person messages handed to the outbox for the mediator."""
    if message_ids:
        conn.execute(
            update(ticket_messages)
            .where(ticket_messages.c.id.in_(list(message_ids)))
            .values(relayed_at=naive(now))
        )


def add_note(conn: Connection, ticket_id: int, mediator_id: str, text: str, now: datetime) -> None:
    """A private note of a mediator on a ticket."""
    conn.execute(
        insert(ticket_notes).values(
            ticket_id=ticket_id, mediator_id=mediator_id, text=text, created_at=naive(now)
        )
    )


def notes_of(conn: Connection, ticket_id: int) -> list[Any]:
    """Notes of a ticket, in order."""
    return conn.execute(
        select(ticket_notes)
        .where(ticket_notes.c.ticket_id == ticket_id)
        .order_by(ticket_notes.c.id)
    ).all()


def offer(conn: Connection, ticket_id: int, mediator_id: str, now: datetime) -> bool:
    """Remember that a mediator was offered a ticket; False when already offered."""
    try:
        with conn.begin_nested():
            conn.execute(
                insert(ticket_offers).values(
                    ticket_id=ticket_id, mediator_id=mediator_id, offered_at=naive(now)
                )
            )
    except IntegrityError:
        return False
    return True


def offered_to(conn: Connection, ticket_id: int) -> list[str]:
    """Mediators who were offered a ticket."""
    return list(
        conn.execute(
            select(ticket_offers.c.mediator_id)
            .where(ticket_offers.c.ticket_id == ticket_id)
            .order_by(ticket_offers.c.id)
        ).scalars()
    )


def first_offer_at(conn: Connection, ticket_id: int) -> datetime | None:
    """When the ticket was first offered to a mediator (None: not yet)."""
    first = conn.execute(
        select(func.min(ticket_offers.c.offered_at)).where(ticket_offers.c.ticket_id == ticket_id)
    ).scalar()
    return aware(first)


def current_of(conn: Connection, mediator_id: str) -> int | None:
    """The ticket a mediator's plain messages go to."""
    return conn.execute(
        select(mediator_state.c.current_ticket_id).where(
            mediator_state.c.mediator_id == mediator_id
        )
    ).scalar()


def set_current(conn: Connection, mediator_id: str, ticket_id: int | None, now: datetime) -> None:
    """Make ``ticket_id`` the mediator's current ticket (None: no current ticket)."""
    done = conn.execute(
        update(mediator_state)
        .where(mediator_state.c.mediator_id == mediator_id)
        .values(current_ticket_id=ticket_id, updated_at=naive(now))
    ).rowcount
    if not done:
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(mediator_state).values(
                        mediator_id=mediator_id,
                        current_ticket_id=ticket_id,
                        updated_at=naive(now),
                    )
                )
        except IntegrityError:
            conn.execute(
                update(mediator_state)
                .where(mediator_state.c.mediator_id == mediator_id)
                .values(current_ticket_id=ticket_id, updated_at=naive(now))
            )


def enqueue(
    conn: Connection,
    target_kind: str,
    target: str,
    text: str,
    now: datetime,
    *,
    ticket_id: int | None = None,
    buttons: Sequence[tuple[str, str]] = (),
    media_url: str | None = None,
    media_type: str | None = None,
    media_channel: str | None = None,
) -> None:
    """Queue a message for a person (pseudonym) or a mediator (id), sent by the flusher.

    ``resume`` (target = pseudonym) records ConversationResumed in Rasa's tracker.
    """
    if target_kind not in ("person", "mediator", "resume"):
        raise ValueError(f"unknown target kind {target_kind!r}")
    conn.execute(
        insert(outbox).values(
            target_kind=target_kind,
            target=target,
            ticket_id=ticket_id,
            text=text,
            buttons=json.dumps([list(b) for b in buttons], ensure_ascii=False) if buttons else None,
            media_url=media_url,
            media_type=media_type,
            media_channel=media_channel,
            created_at=naive(now),
            attempts=0,
        )
    )


def counts(conn: Connection) -> dict[str, int]:
    """Tickets per state (for status and the CLI)."""
    rows = conn.execute(select(tickets.c.state, func.count()).group_by(tickets.c.state)).all()
    return {state: int(count) for state, count in rows}
