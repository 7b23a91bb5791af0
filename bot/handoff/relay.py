"""The hand-off at the channels' door: decides, before Rasa, who a message belongs to.

* A registered mediator writing on WhatsApp (same number as people) -> the desk.
* A person with a queued or assigned ticket -> stored and relayed to the mediator; Rasa
  never sees it, whatever happens to Rasa's session (expiry, ``/restart``, pauses),
  because the decision comes from our database.
* A person just asked for a rating -> the rating is recorded.
* Anything else -> Rasa. A non-mediator typing a mediator command is refused and logged.

A :class:`HandoffRuntime` holds the service, the desk, the outbox flusher and the scheduler
loop; ``bot.app`` builds it (with the senders of the configured platforms). It imports
nothing from the channels: both speak ``bot.messaging``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.handoff import records
from bot.handoff import tickets as store
from bot.handoff.desk import Desk, looks_like_command
from bot.handoff.mediators import Mediator, RegistryFile
from bot.handoff.messages import person_text
from bot.handoff.outbox import Flusher
from bot.handoff.service import Handoff
from bot.handoff.tickets import Ticket
from bot.handoff.wording import parse_rating
from bot.messaging import CALLBACK, LOCATION, TEXT, IncomingMessage
from bot.settings import Settings

log = logging.getLogger(__name__)

TICK_SECONDS = 2.0
Resume = Callable[[str, str | None], Awaitable[bool]]


def meanwhile_from_settings(settings: Settings, lang_chars: int = 1200) -> Callable:
    """Directory answers for a waiting person: the ticket's topic near the ticket's place."""
    from bot.directory import INTENT_CATEGORY, DirectoryStore, render

    directory = DirectoryStore(settings.directory_path)

    def meanwhile(ticket: Ticket) -> str | None:
        category = INTENT_CATEGORY.get(ticket.intent or "")
        if ticket.reason == "emergency":
            category = "emergency"
        if category is None:
            return None
        result = directory.current().search(category, city=ticket.city, limit=3)
        text = render(result, ticket.language or "fr", lang_chars)
        return text or None

    return meanwhile


def _declined(conn, pseudonym: str) -> bool:  # noqa: ANN001 (sqlalchemy Connection)
    from sqlalchemy import select

    from bot.privacy import consents

    decision = conn.execute(
        select(consents.c.decision).where(consents.c.pseudonym == pseudonym)
    ).scalar()
    return decision == "declined"


@dataclass
class HandoffRuntime:
    """Everything the hand-off needs in one process."""

    handoff: Handoff
    flusher: Flusher
    registry_file: RegistryFile | None = None
    _task: asyncio.Task | None = None
    _wake: asyncio.Event | None = field(default=None, repr=False)

    @property
    def desk(self) -> Desk:
        """The mediators' desk on this hand-off."""
        return Desk(self.handoff)

    def set_resume(self, resume: Resume) -> None:
        """How to record ``ConversationResumed`` in Rasa's tracker (Rasa process only)."""
        self.flusher.resume = resume

    async def flush(self) -> int:
        """Send what is queued now (and let the scheduler retry failures)."""
        try:
            return await self.flusher.flush()
        except Exception:  # noqa: BLE001 (the database may be down; retried by the loop)
            log.exception("hand-off outbox flush failed")
            return 0

    async def tick(self) -> None:
        """One round of the scheduler: offers, widening, expiry, then sending."""
        try:
            await asyncio.to_thread(self.handoff.tick)
        except Exception:  # noqa: BLE001
            log.exception("hand-off tick failed")
        await self.flush()

    def start(self, interval: float = TICK_SECONDS) -> None:
        """Run the scheduler in the current event loop (idempotent)."""
        if self._task is not None and not self._task.done():
            return
        self._task = asyncio.get_running_loop().create_task(
            self._loop(interval), name="handoff-scheduler"
        )

    async def stop(self) -> None:
        """Stop the scheduler."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _loop(self, interval: float) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(interval)

    # --- the interceptor's decisions ---------------------------------------------------------
    def mediator_at(self, channel: str, address: str) -> Mediator | None:
        """The registered mediator behind a channel address, if any."""
        return self.handoff.registry().by_address(channel, address)

    async def from_mediator(self, mediator: Mediator, message: IncomingMessage) -> str:
        """Run a mediator's message through the desk and send the results."""
        text = message.text
        if message.kind == CALLBACK and not text.startswith("/"):
            text = "/" + text
        name = await asyncio.to_thread(
            self.desk.handle, mediator, text, message.kind, message.media_url
        )
        await self.flush()
        return name

    async def from_person(self, message: IncomingMessage) -> bool:
        """Relay or record a person's message; True when it must not reach Rasa."""
        # One thread hop for both questions (each hop waits for the busy event loop).
        ticket, asked = await asyncio.to_thread(self._person_state, message.sender)
        if ticket is not None:
            if message.kind == TEXT and not message.text.strip():
                return True  # an old keyboard's button: nothing to relay
            text = message.text or None
            if message.kind == LOCATION and message.latitude is not None:
                text = f"📍 https://maps.google.com/?q={message.latitude},{message.longitude}"
            await asyncio.to_thread(
                self.handoff.person_message,
                ticket,
                message.kind,
                text,
                message.media_url,
                message.media_type or None,
            )
            await self.flush()
            return True
        if asked is not None:
            rating = parse_rating(message.text) if message.kind in (TEXT, CALLBACK) else None
            if rating is not None:
                await asyncio.to_thread(self.handoff.rating, asked, rating)
                await self.flush()
                return True
            # Something else: the person moved on; Rasa answers and we stop waiting.
            await asyncio.to_thread(self._stop_asking, asked.id)
            return False
        if message.kind == TEXT and looks_like_command(message.text):
            log.warning(
                "mediator command from an unregistered %s sender (%s): refused",
                message.channel,
                message.sender,
            )
            await self.handoff_say_refusal(message)
            return True
        return False

    async def handoff_say_refusal(self, message: IncomingMessage) -> None:
        """Tell a person that mediator commands are not for them (in their channel)."""
        now = self.handoff.clock.now()
        from bot.messaging import guess_language

        text = person_text("not_a_mediator", guess_language(message.text))
        await asyncio.to_thread(self._enqueue_for_person, message.sender, text, now)
        await self.flush()

    def _enqueue_for_person(self, pseudonym: str, text: str, now: datetime) -> None:
        with self.handoff.engine.begin() as conn:
            records.enqueue(conn, "person", pseudonym, text, now)

    def _person_state(self, pseudonym: str) -> tuple[Ticket | None, Ticket | None]:
        """The person's open ticket, else the closed one whose rating is awaited."""
        since = self.handoff.clock.now() - self.handoff.policy.rating_window
        with self.handoff.engine.connect() as conn:
            ticket = store.open_for_person(conn, pseudonym)
            if ticket is not None:
                return ticket, None
            return None, store.awaiting_rating(conn, pseudonym, since)

    def _stop_asking(self, ticket_id: int) -> None:
        with self.handoff.engine.begin() as conn:
            store.stop_asking_rating(conn, ticket_id)


@dataclass
class HandoffInterceptor:
    """The channels' interceptor (built by bot.app.interceptors)."""

    runtime: HandoffRuntime

    async def intercept(self, message: IncomingMessage) -> bool:
        """True when the hand-off took the message (Rasa must not see it)."""
        if message.channel == "whatsapp":
            mediator = self.runtime.mediator_at("whatsapp", message.address)
            if mediator is not None:
                await self.runtime.from_mediator(mediator, message)
                return True
        return await self.runtime.from_person(message)
