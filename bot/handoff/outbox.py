"""Sending what the hand-off queued: to people through their own channel, to mediators
through the mediators' Telegram bot or WhatsApp.

Rows are claimed with a conditional UPDATE before sending, so several processes (the Rasa
server, the action server, a cron ``handoff tick``) may flush at once without sending a
message twice; a row is marked sent only after the platform accepted it, so a restart
loses nothing (at worst a message in flight is sent again). One person's or mediator's
messages go out in order: after a failure their later rows wait. No Rasa import.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine

from bot.handoff import records
from bot.handoff import tickets as store
from bot.handoff.mediators import Mediator, Registry
from bot.handoff.messages import mediator_text
from bot.handoff.models import outbox
from bot.handoff.routing import Clock, SystemClock
from bot.handoff.tickets import naive
from bot.handoff.wording import mediator_lang
from bot.messaging import Button

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BATCH = 100

PersonSender = Callable[[str, str, Sequence[Button]], Awaitable[bool]]


class MediatorSender(Protocol):
    """Reaches mediators on one platform."""

    async def send(
        self, mediator: Mediator, text: str, buttons: Sequence[Button], media: Media | None
    ) -> bool:
        """True when the platform accepted the message."""
        ...


@dataclass(frozen=True)
class Media:
    """A file a person sent: a URL (Twilio) or a file id of the people's Telegram bot."""

    ref: str
    kind: str
    channel: str | None


def with_media_notice(mediator: Mediator, text: str, media: Media) -> str:
    """The text, after a line telling the mediator the person's file could not be forwarded."""
    notice = mediator_text(
        "media_not_forwarded", mediator_lang(mediator), ticket="", first_name="", kind=media.kind
    )
    return notice + "\n" + text


@dataclass
class TelegramMediatorSender:
    """The mediators' Telegram bot (python-telegram-bot), with the people's bot to fetch files."""

    sender: Any  # bot.channels.telegram_api.TelegramSender (mediators' token)
    people_sender: Any = None  # the people's TelegramSender, to download their files

    async def send(
        self, mediator: Mediator, text: str, buttons: Sequence[Button], media: Media | None
    ) -> bool:
        """Text with inline buttons ("Take #12"), or a file with the text as caption."""
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup

        markup = None
        if buttons:
            markup = InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(b.title[:64], callback_data=b.payload[:64])]
                    for b in buttons
                ]
            )
        if media is not None:
            try:
                if await self._send_file(mediator, text, media):
                    return True
            except Exception:  # noqa: BLE001 (the text still goes, with a notice)
                log.exception("file for mediator %s could not be forwarded", mediator.id)
        if media is not None:
            text = with_media_notice(mediator, text, media)
        return await self.sender.send_text(mediator.address, text, markup)

    async def _send_file(self, mediator: Mediator, caption: str, media: Media) -> bool:
        bot = self.sender.bot
        document: Any = media.ref
        if media.channel == "telegram":
            # A file id belongs to the people's bot: fetch the bytes and upload them again.
            if self.people_sender is None:
                return False
            people = self.people_sender.bot
            got = await self.people_sender.call("getFile", lambda: people.get_file(media.ref))
            if got is None:
                return False
            data = await self.people_sender.call("download", got.download_as_bytearray)
            if data is None:
                return False
            document = bytes(data)
        result = await self.sender.call(
            "sendDocument",
            lambda: bot.send_document(
                chat_id=mediator.address,
                document=document,
                caption=caption[:1000],
                filename=f"{media.kind}" if isinstance(document, bytes) else None,
            ),
        )
        return result is not None


@dataclass
class WhatsAppMediatorSender:
    """Mediators on WhatsApp, through the same Twilio number people write to."""

    sender: Any  # bot.channels.twilio_api.TwilioSender

    async def send(
        self, mediator: Mediator, text: str, buttons: Sequence[Button], media: Media | None
    ) -> bool:
        """Text (commands are in it; no buttons), with the person's file when it is a URL."""
        if media is not None and media.channel == "whatsapp":
            sid = await self.sender.send(mediator.address, body=text[:1500], media_url=[media.ref])
            return sid is not None
        if media is not None:
            text = with_media_notice(mediator, text, media)
        from bot.messaging import WHATSAPP_MAX_UNITS, split_message

        for part in split_message(text, WHATSAPP_MAX_UNITS):
            if await self.sender.send(mediator.address, body=part) is None:
                return False
        return True


@dataclass
class Flusher:
    """Sends unsent outbox rows in order; safe to run in several processes at once."""

    engine: Engine
    registry: Callable[[], Registry]
    person_sender: PersonSender
    mediator_senders: dict[str, MediatorSender]
    clock: Clock = field(default_factory=SystemClock)
    # A claimed row not marked sent after this long is claimed again (crash, failure).
    retry_after: timedelta = timedelta(seconds=30)
    # Records ConversationResumed in Rasa's tracker; only the Rasa process has it.
    # The row's text is the language the person wrote in during the hand-off ("" unknown).
    resume: Callable[[str, str | None], Awaitable[bool]] | None = None
    # Mediator channels another process sends (the playground's desk is in the Rasa server):
    # without a sender for them here, their rows are left unclaimed for that process.
    elsewhere: frozenset[str] = frozenset()
    _lock: asyncio.Lock | None = None

    async def flush(self) -> int:
        """Send what is due; the number of rows sent."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            return await self._flush()

    async def _flush(self) -> int:
        now = self.clock.now()
        rows = await asyncio.to_thread(self._pending, now)
        blocked: set[tuple[str, str]] = set()
        sent = 0
        for row in rows:
            target = (row.target_kind, row.target)
            if target in blocked or self._sent_elsewhere(row):
                continue
            if not await asyncio.to_thread(self._claim, row.id, now):
                blocked.add(target)  # another process is sending it: keep the order
                continue
            try:
                ok = await self._send(row)
            except Exception:  # noqa: BLE001 (one bad row must not stop the others)
                log.exception("hand-off outbox row %d could not be sent", row.id)
                ok = False
            await asyncio.to_thread(self._finish, row, ok, now)
            if ok:
                sent += 1
            else:
                blocked.add(target)
        return sent

    def _sent_elsewhere(self, row: Any) -> bool:
        if row.target_kind != "mediator" or not self.elsewhere:
            return False
        mediator = self.registry().get(row.target)
        return (
            mediator is not None
            and mediator.channel in self.elsewhere
            and mediator.channel not in self.mediator_senders
        )

    def _pending(self, now: datetime) -> list[Any]:
        stale = naive(now - self.retry_after)
        kinds = ("person", "mediator", "resume") if self.resume else ("person", "mediator")
        with self.engine.connect() as conn:
            return conn.execute(
                select(outbox)
                .where(
                    outbox.c.target_kind.in_(kinds),
                    outbox.c.sent_at.is_(None),
                    outbox.c.failed_at.is_(None),
                    or_(outbox.c.claimed_at.is_(None), outbox.c.claimed_at < stale),
                )
                .order_by(outbox.c.id)
                .limit(BATCH)
            ).all()

    def _claim(self, row_id: int, now: datetime) -> bool:
        stale = naive(now - self.retry_after)
        with self.engine.begin() as conn:
            done = conn.execute(
                update(outbox)
                .where(
                    outbox.c.id == row_id,
                    outbox.c.sent_at.is_(None),
                    or_(outbox.c.claimed_at.is_(None), outbox.c.claimed_at < stale),
                )
                .values(claimed_at=naive(now), attempts=outbox.c.attempts + 1)
            ).rowcount
        return done == 1

    def _finish(self, row: Any, ok: bool, now: datetime) -> None:
        with self.engine.begin() as conn:
            if ok:
                conn.execute(update(outbox).where(outbox.c.id == row.id).values(sent_at=naive(now)))
                return
            if row.attempts + 1 < MAX_ATTEMPTS:
                log.warning(
                    "hand-off message %d to a %s not sent (attempt %d); will retry",
                    row.id,
                    row.target_kind,
                    row.attempts + 1,
                )
                return
            conn.execute(update(outbox).where(outbox.c.id == row.id).values(failed_at=naive(now)))
            log.error(
                "hand-off message %d to a %s given up after %d attempts",
                row.id,
                row.target_kind,
                MAX_ATTEMPTS,
            )
            if row.target_kind == "person" and row.ticket_id is not None:
                ticket = store.get(conn, row.ticket_id)
                mediator = self.registry().get(ticket.mediator_id or "") if ticket else None
                if mediator is not None:
                    lang = mediator_lang(mediator)
                    text = mediator_text("person_unreachable", lang, ticket=row.ticket_id)
                    records.enqueue(conn, "mediator", mediator.id, text, now)

    async def _send(self, row: Any) -> bool:
        try:
            buttons = [Button(str(t), str(p)) for t, p in json.loads(row.buttons or "[]")]
        except (ValueError, TypeError):
            buttons = []
        if row.target_kind == "person":
            return await self.person_sender(row.target, row.text, buttons)
        if row.target_kind == "resume":
            return self.resume is not None and await self.resume(row.target, row.text or None)
        mediator = self.registry().get(row.target)
        if mediator is None:
            log.error(
                "hand-off message %d: mediator %s is not registered any more; dropped "
                "after logging",
                row.id,
                row.target,
            )
            return True
        sender = self.mediator_senders.get(mediator.channel)
        if sender is None:
            log.error("no %s sender configured for mediator %s", mediator.channel, mediator.id)
            return False
        media = (
            Media(row.media_url, row.media_type or "file", row.media_channel)
            if row.media_url
            else None
        )
        return await sender.send(mediator, row.text, buttons, media)
