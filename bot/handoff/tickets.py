"""Tickets and their state machine: queued -> assigned -> closed, or queued -> expired.

Every transition is one conditional UPDATE (``... WHERE state = 'queued'``), so of two
mediators taking the same ticket at once exactly one wins, on SQLite and PostgreSQL, and
several replicas may run the scheduler. Times are naive UTC. No Rasa import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from bot.handoff.models import (
    ASSIGNED,
    CLOSED,
    EXPIRED,
    OPEN_STATES,
    PRIORITY,
    QUEUED,
    REASONS,
    mediator_state,
    outbox,
    ticket_messages,
    ticket_notes,
    ticket_offers,
    tickets,
)

OUTCOMES = ("resolved", "referred", "unreachable", "duplicate", "other")
CONTEXT_MESSAGES = 10


def naive(moment: datetime) -> datetime:
    """``moment`` as naive UTC (what the DateTime columns hold)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def aware(moment: datetime | None) -> datetime | None:
    """A stored naive UTC time as an aware one."""
    return None if moment is None else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class TicketRequest:
    """What the hand-off action knows when it opens a ticket."""

    pseudonym: str
    reason: str
    channel: str | None = None
    language: str | None = None
    intent: str | None = None
    city: str | None = None
    region: str | None = None
    profile: str | None = None
    first_name: str | None = None
    # [{"who": "person"|"bot", "text": ...}], oldest first; empty when the person declined.
    context: Sequence[dict[str, str]] = ()
    # The kind of danger found in the person's message (bot/safety): urgent.
    danger: str | None = None

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"unknown hand-off reason {self.reason!r}; known: {REASONS}")
        if not self.pseudonym:
            raise ValueError("a ticket needs the person's pseudonym")


@dataclass(frozen=True)
class Ticket:
    """One hand-off, as stored."""

    id: int
    pseudonym: str
    channel: str | None
    reason: str
    priority: int
    language: str | None
    intent: str | None
    city: str | None
    region: str | None
    profile: str | None
    first_name: str | None
    context: tuple[dict[str, str], ...]
    state: str
    mediator_id: str | None
    created_at: datetime
    assigned_at: datetime | None
    widened_at: datetime | None
    closed_at: datetime | None
    expired_at: datetime | None
    outcome: str | None
    rating: int | None
    rating_asked_at: datetime | None
    danger: str | None = None

    @property
    def urgent(self) -> bool:
        """An emergency or a danger: first in the queue, offered to everyone on duty."""
        return self.reason == "emergency" or self.danger is not None

    @property
    def is_open(self) -> bool:
        """Queued or assigned: the person talks to people, not to the bot."""
        return self.state in OPEN_STATES

    @property
    def display_name(self) -> str:
        """What mediators see: the first name if given, never the number."""
        return self.first_name or "—"

    @classmethod
    def from_row(cls, row: Any) -> Ticket:
        """Build from a ``handoff_tickets`` row."""
        try:
            context = tuple(json.loads(row.context or "[]"))
        except ValueError:
            context = ()
        return cls(
            id=row.id,
            pseudonym=row.pseudonym,
            channel=row.channel,
            reason=row.reason,
            priority=row.priority,
            language=row.language,
            intent=row.intent,
            city=row.city,
            region=row.region,
            profile=row.profile,
            first_name=row.first_name,
            context=context,
            state=row.state,
            mediator_id=row.mediator_id,
            created_at=aware(row.created_at),
            assigned_at=aware(row.assigned_at),
            widened_at=aware(row.widened_at),
            closed_at=aware(row.closed_at),
            expired_at=aware(row.expired_at),
            outcome=row.outcome,
            rating=row.rating,
            rating_asked_at=aware(row.rating_asked_at),
            danger=getattr(row, "danger", None),
        )


def open_ticket(conn: Connection, request: TicketRequest, now: datetime) -> tuple[Ticket, bool]:
    """The person's open ticket, or a new queued one; (ticket, created)."""
    existing = open_for_person(conn, request.pseudonym)
    if existing is not None:
        return existing, False
    context = [
        {"who": str(item.get("who", ""))[:8], "text": str(item.get("text", ""))[:1000]}
        for item in list(request.context)[-CONTEXT_MESSAGES:]
    ]
    result = conn.execute(
        insert(tickets).values(
            pseudonym=request.pseudonym,
            channel=request.channel,
            reason=request.reason,
            priority=0 if request.danger else PRIORITY[request.reason],
            language=request.language,
            intent=(request.intent or None) and request.intent[:64],
            city=request.city,
            region=request.region,
            profile=request.profile,
            first_name=(request.first_name or None) and request.first_name[:128],
            context=json.dumps(context, ensure_ascii=False) if context else None,
            state=QUEUED,
            created_at=naive(now),
            danger=request.danger,
        )
    )
    ticket = get(conn, int(result.inserted_primary_key[0]))
    assert ticket is not None
    return ticket, True


def mark_danger(conn: Connection, ticket_id: int, kind: str) -> bool:
    """Make an open ticket urgent for ``kind``; False when it was already marked so."""
    result = conn.execute(
        update(tickets)
        .where(tickets.c.id == ticket_id, tickets.c.state.in_(OPEN_STATES))
        .where((tickets.c.danger.is_(None)) | (tickets.c.danger != kind))
        .values(danger=kind, priority=0)
    )
    return bool(result.rowcount)


def set_language(conn: Connection, ticket_id: int, language: str) -> None:
    """The language the person now writes in (their words during the hand-off)."""
    conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(language=language))


def get(conn: Connection, ticket_id: int) -> Ticket | None:
    """The ticket with this number."""
    row = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
    return Ticket.from_row(row) if row is not None else None


def open_for_person(conn: Connection, pseudonym: str) -> Ticket | None:
    """The person's queued or assigned ticket, if any."""
    row = conn.execute(
        select(tickets)
        .where(tickets.c.pseudonym == pseudonym, tickets.c.state.in_(OPEN_STATES))
        .order_by(tickets.c.id.desc())
        .limit(1)
    ).first()
    return Ticket.from_row(row) if row is not None else None


def awaiting_rating(conn: Connection, pseudonym: str, since: datetime) -> Ticket | None:
    """The person's last closed ticket whose rating was asked after ``since`` and not given."""
    row = conn.execute(
        select(tickets)
        .where(
            tickets.c.pseudonym == pseudonym,
            tickets.c.state == CLOSED,
            tickets.c.rating.is_(None),
            tickets.c.rating_asked_at >= naive(since),
        )
        .order_by(tickets.c.id.desc())
        .limit(1)
    ).first()
    return Ticket.from_row(row) if row is not None else None


def queued(conn: Connection) -> list[Ticket]:
    """Waiting tickets, emergencies first, then oldest first."""
    rows = conn.execute(
        select(tickets)
        .where(tickets.c.state == QUEUED)
        .order_by(tickets.c.priority, tickets.c.created_at, tickets.c.id)
    ).all()
    return [Ticket.from_row(r) for r in rows]


def assigned_to(conn: Connection, mediator_id: str) -> list[Ticket]:
    """Tickets a mediator is answering, oldest first."""
    rows = conn.execute(
        select(tickets)
        .where(tickets.c.state == ASSIGNED, tickets.c.mediator_id == mediator_id)
        .order_by(tickets.c.id)
    ).all()
    return [Ticket.from_row(r) for r in rows]


def _changed(conn: Connection, ticket_id: int, where: tuple[Any, ...], **values: Any) -> bool:
    """One transition: UPDATE the ticket with ``values`` if it still meets ``where``; True
    when it changed the row."""
    done = conn.execute(
        update(tickets).where(tickets.c.id == ticket_id, *where).values(**values)
    ).rowcount
    return done == 1


_QUEUED = (tickets.c.state == QUEUED,)


def take(conn: Connection, ticket_id: int, mediator_id: str, now: datetime) -> bool:
    """Assign a queued ticket; True for exactly one of concurrent takers."""
    values = {"state": ASSIGNED, "mediator_id": mediator_id, "assigned_at": naive(now)}
    return _changed(conn, ticket_id, _QUEUED, **values)


def _assigned_to(mediator_id: str) -> tuple[Any, ...]:
    """The condition of a ticket assigned to ``mediator_id``."""
    return (tickets.c.state == ASSIGNED, tickets.c.mediator_id == mediator_id)


def transfer(conn: Connection, ticket_id: int, from_id: str, to_id: str) -> bool:
    """Pass an assigned ticket from one mediator to another."""
    return _changed(conn, ticket_id, _assigned_to(from_id), mediator_id=to_id)


def close(conn: Connection, ticket_id: int, mediator_id: str, outcome: str, now: datetime) -> bool:
    """Close an assigned ticket and mark its rating as asked."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; known: {OUTCOMES}")
    values = {"closed_at": naive(now), "outcome": outcome, "rating_asked_at": naive(now)}
    return _changed(conn, ticket_id, _assigned_to(mediator_id), state=CLOSED, **values)


def withdraw(conn: Connection, ticket_id: int, now: datetime) -> bool:
    """Close a queued ticket the person no longer wants (no rating asked)."""
    values = {"closed_at": naive(now), "outcome": "withdrawn"}
    return _changed(conn, ticket_id, _QUEUED, state=CLOSED, **values)


def expire(conn: Connection, ticket_id: int, now: datetime) -> bool:
    """Give up on a ticket nobody took."""
    return _changed(conn, ticket_id, _QUEUED, state=EXPIRED, expired_at=naive(now))


def widen(conn: Connection, ticket_id: int, now: datetime) -> bool:
    """Mark a queued ticket as offered to everyone; True only the first time."""
    where = (*_QUEUED, tickets.c.widened_at.is_(None))
    return _changed(conn, ticket_id, where, widened_at=naive(now))


def rate(conn: Connection, ticket_id: int, rating: int, now: datetime) -> bool:
    """Record the person's 1-5 rating once."""
    if not 1 <= rating <= 5:
        raise ValueError(f"rating must be between 1 and 5, got {rating}")
    where = (tickets.c.rating.is_(None), tickets.c.rating_asked_at.is_not(None))
    return _changed(conn, ticket_id, where, rating=rating, rated_at=naive(now))


def stop_asking_rating(conn: Connection, ticket_id: int) -> None:
    """The person moved on without rating: stop reading their messages as a rating."""
    conn.execute(
        update(tickets)
        .where(tickets.c.id == ticket_id, tickets.c.rating.is_(None))
        .values(rating_asked_at=None)
    )


def erase(conn: Connection, pseudonym: str | None, before: datetime | None) -> int:
    """Privacy eraser (listed in bot.privacy.ERASERS): a person's tickets, relayed messages,
    notes and outbox rows, and their first name in the mediators' listings; or, with
    ``before``, finished tickets and media links older than that."""
    if pseudonym is not None:
        ids = select(tickets.c.id).where(tickets.c.pseudonym == pseudonym)
        named = conn.execute(
            select(tickets.c.id, tickets.c.first_name).where(
                tickets.c.pseudonym == pseudonym, tickets.c.first_name.is_not(None)
            )
        ).all()
        rows = _blank_first_names(conn, named)
        rows += (
            conn.execute(
                delete(outbox).where(
                    or_(
                        and_(outbox.c.target_kind == "person", outbox.c.target == pseudonym),
                        outbox.c.ticket_id.in_(ids),
                    )
                )
            ).rowcount
            or 0
        )
    elif before is not None:
        old = naive(before)
        ids = select(tickets.c.id).where(
            or_(
                and_(tickets.c.state == CLOSED, tickets.c.closed_at < old),
                and_(tickets.c.state == EXPIRED, tickets.c.expired_at < old),
            )
        )
        # Any row that old, sent or not (a send retried for months is of no use to anyone).
        written_long_ago = outbox.c.created_at < old
        rows = _blank_old_media(conn, old)
        rows += (
            conn.execute(
                delete(outbox).where(or_(outbox.c.ticket_id.in_(ids), written_long_ago))
            ).rowcount
            or 0
        )
    else:
        return 0
    id_list = list(conn.execute(ids).scalars())
    if not id_list:
        return int(rows)
    for table in (ticket_messages, ticket_notes, ticket_offers):
        rows += conn.execute(delete(table).where(table.c.ticket_id.in_(id_list))).rowcount or 0
    conn.execute(
        update(mediator_state)
        .where(mediator_state.c.current_ticket_id.in_(id_list))
        .values(current_ticket_id=None)
    )
    rows += conn.execute(delete(tickets).where(tickets.c.id.in_(id_list))).rowcount or 0
    return int(rows)


def _blank_first_names(conn: Connection, named: Sequence[Any]) -> int:
    """Replace a person's first name by "—" in mediator messages that carry no ticket id
    (queue listings, transfer notices, status): on the lines naming one of their tickets."""
    if not named:
        return 0
    rows = conn.execute(
        select(outbox.c.id, outbox.c.text).where(
            outbox.c.target_kind == "mediator", outbox.c.ticket_id.is_(None)
        )
    ).all()
    changed = 0
    for row_id, body in rows:
        new_body = body
        for ticket_id, first_name in named:
            mark = re.compile(rf"#{ticket_id}(?!\d)")
            name = re.compile(rf"(?<!\w){re.escape(first_name)}(?!\w)")
            new_body = "\n".join(
                name.sub("—", line) if mark.search(line) else line for line in new_body.split("\n")
            )
        if new_body != body:
            conn.execute(update(outbox).where(outbox.c.id == row_id).values(text=new_body))
            changed += 1
    return changed


def _blank_old_media(conn: Connection, old: datetime) -> int:
    """Retention of media links (Twilio URLs, Telegram file ids) older than ``old``."""
    rows = 0
    for table in (ticket_messages, outbox):
        rows += (
            conn.execute(
                update(table)
                .where(table.c.created_at < old, table.c.media_url.is_not(None))
                .values(media_url=None)
            ).rowcount
            or 0
        )
    return int(rows)
