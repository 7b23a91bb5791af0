"""Channel state in our database: processed webhook ids (exactly once) and contacts.

``processed_updates`` remembers every MessageSid / update_id, so a retried webhook is not
processed twice, even across a restart. ``contacts`` maps a pseudonym back to the platform
address the channels must reply to; it is the only place a phone number or chat id is kept.
No Rasa import.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.db import metadata

log = logging.getLogger(__name__)

processed_updates = Table(
    "processed_updates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(32), nullable=False),
    Column("external_id", String(128), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
    # The sender's message number (contacts.inbound_seq) when it was recorded.
    Column("seq", Integer, nullable=True),
    UniqueConstraint("channel", "external_id", name="uq_processed_updates_channel_external_id"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("address", String(64), nullable=False),
    Column("first_name", String(128), nullable=True),
    Column("last_inbound_at", DateTime(timezone=True), nullable=True),
    # Payloads of the last buttons sent, so "2" (WhatsApp) or an index (Telegram) maps back.
    Column("last_buttons", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Number of the person's last new message (the order they reached the service).
    Column("inbound_seq", Integer, nullable=False, server_default="0"),
    # When the message before the last one arrived (None: the last one was the first).
    Column("previous_inbound_at", DateTime(timezone=True), nullable=True),
)

# WhatsApp allows free-form messages only within 24 hours of the person's last message.
WHATSAPP_WINDOW = timedelta(hours=24)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes; everything we store is UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Contact:
    """Where to reach a pseudonymous person."""

    pseudonym: str
    channel: str
    address: str
    first_name: str | None
    last_inbound_at: datetime | None
    last_buttons: tuple[str, ...]
    created_at: datetime
    inbound_seq: int = 0
    previous_inbound_at: datetime | None = None

    def within_whatsapp_window(self, now: datetime) -> bool:
        """True when free text may be sent (the person wrote in the last 24 hours)."""
        return self.last_inbound_at is not None and now - self.last_inbound_at < WHATSAPP_WINDOW


class ChannelStore:
    """Synchronous access to the channel tables (call it through ``asyncio.to_thread``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def mark_processed(self, channel: str, external_id: str, received_at: datetime) -> bool:
        """Remember ``external_id``; False when it was already processed (a retry)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(processed_updates).values(
                        channel=channel, external_id=external_id[:128], received_at=received_at
                    )
                )
        except IntegrityError:
            return False
        return True

    def forget_processed(self, channel: str, external_id: str) -> None:
        """Forget an id we could not accept after all, so the platform's retry is processed."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(processed_updates).where(
                    processed_updates.c.channel == channel,
                    processed_updates.c.external_id == external_id[:128],
                )
            )

    def is_processed(self, channel: str, external_id: str) -> bool:
        """Whether ``external_id`` was already seen on ``channel``."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(processed_updates.c.id).where(
                    processed_updates.c.channel == channel,
                    processed_updates.c.external_id == external_id[:128],
                )
            ).first()
        return row is not None

    def prune_processed(self, older_than: datetime) -> int:
        """Delete dedupe ids older than ``older_than`` (platforms stop retrying within hours)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(processed_updates).where(processed_updates.c.received_at < older_than)
            )
        return int(result.rowcount or 0)

    def record_inbound(
        self,
        pseudonym: str,
        channel: str,
        address: str,
        first_name: str | None,
        at: datetime,
    ) -> None:
        """Create or refresh the contact of a person who just wrote."""
        with self.engine.begin() as conn:
            _upsert_contact(conn, pseudonym, channel, address, first_name, at)

    def accept_inbound(
        self,
        channel: str,
        external_id: str,
        received_at: datetime,
        pseudonym: str,
        address: str,
        first_name: str | None,
    ) -> tuple[bool, Contact | None]:
        """Record a new webhook in one transaction: its id and its sender's contact.

        ``(False, None)`` when ``external_id`` was already processed (a retry); otherwise
        ``(True, contact)``, whose ``inbound_seq`` numbers this message: the person's
        messages in the order their transactions committed, whichever replica took them
        (the contact's row is locked from the increment to the commit). Both rows are
        written or neither, so a failure (database gone mid-way) leaves the platform's
        retry free to be processed: nothing is lost. One connection and one commit instead
        of three (the webhook waits for it).
        """
        known = False
        try:
            with self.engine.begin() as conn:
                # The contact first: its row stays locked until the commit, so the number
                # is the person's arrival order; a retry rolls the whole transaction back.
                _upsert_contact(
                    conn, pseudonym, channel, address, first_name, received_at, count=True
                )
                row = conn.execute(
                    select(contacts).where(contacts.c.pseudonym == pseudonym)
                ).first()
                try:
                    conn.execute(
                        insert(processed_updates).values(
                            channel=channel,
                            external_id=external_id[:128],
                            received_at=received_at,
                            seq=row.inbound_seq if row is not None else None,
                        )
                    )
                except IntegrityError:
                    known = True
                    raise
        except IntegrityError:
            if known:
                return False, None
            raise
        return True, _contact_from_row(row) if row is not None else None

    def contact(self, pseudonym: str) -> Contact | None:
        """The contact behind ``pseudonym``, if known."""
        with self.engine.connect() as conn:
            row = conn.execute(select(contacts).where(contacts.c.pseudonym == pseudonym)).first()
        return _contact_from_row(row) if row is not None else None

    def contact_for_reply(
        self,
        pseudonym: str,
        payloads: list[str],
        remember_if: Callable[[Contact], bool] = lambda _contact: True,
    ) -> Contact | None:
        """The contact to reply to, remembering ``payloads`` as its last buttons when
        ``remember_if(contact)``: :meth:`contact` then :meth:`set_last_buttons` in one
        transaction (the deliveries call it once per reply, inside the person's turn).
        Nothing is written when the payloads are already the remembered ones (most replies
        carry no buttons after a reply without buttons)."""
        with self.engine.begin() as conn:
            row = conn.execute(select(contacts).where(contacts.c.pseudonym == pseudonym)).first()
            if row is None:
                return None
            contact = _contact_from_row(row)
            if remember_if(contact) and list(contact.last_buttons) != list(payloads):
                conn.execute(
                    update(contacts)
                    .where(contacts.c.pseudonym == pseudonym)
                    .values(last_buttons=json.dumps(payloads, ensure_ascii=False))
                )
        return contact

    def set_last_buttons(self, pseudonym: str, payloads: list[str]) -> None:
        """Remember the payloads of the buttons just sent (empty list: none pending)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(contacts)
                .where(contacts.c.pseudonym == pseudonym)
                .values(last_buttons=json.dumps(payloads, ensure_ascii=False))
            )

    def delete_contact(self, pseudonym: str) -> None:
        """Erase a person's contact (right to erasure)."""
        with self.engine.begin() as conn:
            conn.execute(delete(contacts).where(contacts.c.pseudonym == pseudonym))


def _contact_from_row(row: Any) -> Contact:
    try:
        buttons = tuple(str(p) for p in json.loads(row.last_buttons or "[]"))
    except (ValueError, TypeError):
        buttons = ()
    return Contact(
        pseudonym=row.pseudonym,
        channel=row.channel,
        address=row.address,
        first_name=row.first_name,
        last_inbound_at=_aware(row.last_inbound_at),
        last_buttons=buttons,
        created_at=_aware(row.created_at),  # type: ignore[arg-type]
        inbound_seq=int(row.inbound_seq or 0),
        previous_inbound_at=_aware(row.previous_inbound_at),
    )


def _upsert_contact(
    conn: Connection,
    pseudonym: str,
    channel: str,
    address: str,
    first_name: str | None,
    at: datetime,
    count: bool = False,
) -> None:
    """Create or refresh a contact inside the caller's transaction; ``count``: number a
    new message (``inbound_seq`` + 1, and keep the time of the one before)."""
    values: dict[str, Any] = {"channel": channel, "address": address, "last_inbound_at": at}
    if first_name:
        values["first_name"] = first_name[:128]
    update_it = (
        update(contacts)
        .where(contacts.c.pseudonym == pseudonym)
        .values(**values, **(_counted() if count else {}))
    )
    if conn.execute(update_it).rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(
                insert(contacts).values(
                    pseudonym=pseudonym, created_at=at, inbound_seq=1 if count else 0, **values
                )
            )
    except IntegrityError:
        # Created meanwhile by a concurrent webhook of the same person: update it instead.
        conn.execute(update_it)


def _counted() -> dict[str, Any]:
    # SET expressions read the row as it was: the previous arrival moves to its column.
    return {
        "inbound_seq": contacts.c.inbound_seq + 1,
        "previous_inbound_at": contacts.c.last_inbound_at,
    }
