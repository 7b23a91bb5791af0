"""From an authenticated webhook to Rasa: dedupe, contact, ordered queue, interceptors.

The adapters (whatsapp.py, telegram.py) check authenticity and parse the platform's
payload into an :class:`IncomingMessage`; everything after that is here. No Rasa import.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from bot.channels.base import (
    CALLBACK,
    TEXT,
    IncomingMessage,
    OutgoingMessage,
    catalogue_text,
    guess_language,
    payload_for_reply,
)
from bot.channels.interceptors import Interceptor
from bot.channels.order import PAUSE_S, MemoryTurnOrder, TurnOrder
from bot.channels.person_queues import PersonQueues
from bot.channels.store import ChannelStore
from bot.privacy import is_erase_command

log = logging.getLogger(__name__)

# Dedupe ids are never pruned (None): Twilio's signature carries no time, so a captured
# signed request could be replayed after any pruning delay (docs/security.md). An id and a
# time per message, no personal data.
DEDUPE_KEEP: timedelta | None = None
PRUNE_EVERY = 1000
ORDER_PAUSE = timedelta(seconds=PAUSE_S)

DUPLICATE = "duplicate"
QUEUED = "queued"
BUSY = "busy"


class Delivery(Protocol):
    """Sends an assistant message to a pseudonymous person on one platform."""

    async def deliver(self, message: OutgoingMessage) -> bool:
        """True when the platform accepted the message."""
        ...


Dispatch = Callable[[IncomingMessage], Awaitable[None]]
# Maps a button press (Telegram callback data) or a typed number back to a payload.
ReplyMapper = Callable[[IncomingMessage, tuple[str, ...]], str | None]


def numbered_reply(message: IncomingMessage, payloads: tuple[str, ...]) -> str | None:
    """WhatsApp: a typed number within the last list stands for that button's payload."""
    if message.kind != TEXT:
        return None
    return payload_for_reply(message.text, payloads)


@dataclass
class Pipeline:
    """Accepts parsed messages at once and processes each person's messages in order."""

    channel: str
    store: ChannelStore
    delivery: Delivery
    dispatch: Dispatch
    interceptors: list[Interceptor] = field(default_factory=list)
    reply_mapper: ReplyMapper = numbered_reply
    acknowledge: Callable[[IncomingMessage], Awaitable[None]] | None = None
    max_per_person: int = 20
    # Record of answered turns (bot/channels/order.py): in the process by default, in
    # Redis when several replicas share the webhooks; None: arrival order only.
    order: TurnOrder | None = field(default_factory=MemoryTurnOrder)
    _queues: PersonQueues | None = None
    # Per person: a lock and how many webhooks hold or wait for it.
    _accepting: dict[str, list] = field(default_factory=dict)
    _accepted: int = 0

    @property
    def queues(self) -> PersonQueues:
        """The per-person queues (created inside the server's event loop on first use)."""
        if self._queues is None:
            self._queues = PersonQueues(
                self._process, self._failed, max_per_person=self.max_per_person, order=self.order
            )
        return self._queues

    async def accept(self, message: IncomingMessage) -> str:
        """Record and queue ``message``: DUPLICATE, QUEUED or BUSY (refused, not recorded).

        One person's webhooks on this replica are recorded one at a time, in the order they
        reached the handler: the database numbers them in that order (two worker threads
        racing for the contact's row could swap two messages sent a few ms apart).
        """
        entry = self._accepting.get(message.sender)
        if entry is None:
            entry = self._accepting[message.sender] = [asyncio.Lock(), 0]
        entry[1] += 1
        try:
            async with entry[0]:
                return await self._accept(message)
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._accepting[message.sender]

    async def _accept(self, message: IncomingMessage) -> str:
        # One thread hop and one transaction (dedupe id + contact): each hop waits for the
        # event loop, which is busy with other people's turns under load.
        new, contact = await asyncio.to_thread(
            self.store.accept_inbound,
            self.channel,
            message.external_id,
            message.received_at,
            message.sender,
            message.address,
            message.first_name,
        )
        if not new:
            log.info("%s update %s already processed: ignored", self.channel, message.external_id)
            return DUPLICATE
        self._accepted += 1
        if contact is not None and contact.inbound_seq:
            message.seq = contact.inbound_seq
            message.order_key = f"{contact.pseudonym}@{contact.created_at.timestamp() * 1e6:.0f}"
            previous = contact.previous_inbound_at
            message.fresh = previous is None or message.received_at - previous > ORDER_PAUSE
        if DEDUPE_KEEP is not None and self._accepted % PRUNE_EVERY == 0:
            await self._prune(message)
        if message.kind in (TEXT, CALLBACK):
            payloads = contact.last_buttons if contact else ()
            payload = self.reply_mapper(message, payloads)
            if payload is not None:
                message.text = payload
            elif message.kind == CALLBACK:
                # A keyboard from an older conversation: its index means nothing any more.
                message.kind, message.text = TEXT, ""
        if not self.queues.submit(message):
            # Not processed after all: let the platform's retry be accepted later.
            await asyncio.to_thread(self.store.forget_processed, self.channel, message.external_id)
            await self.queues.finished(message)  # its successors need not wait for it
            asyncio.get_running_loop().create_task(self._tell(message, "busy"))
            return BUSY
        return QUEUED

    async def _prune(self, message: IncomingMessage) -> None:
        try:
            count = await asyncio.to_thread(
                self.store.prune_processed, message.received_at - (DEDUPE_KEEP or timedelta(0))
            )
        except Exception:  # noqa: BLE001 (pruning is housekeeping; the message goes on)
            log.exception("could not prune old webhook ids")
            return
        log.info("pruned %d webhook ids older than %s", count, DEDUPE_KEEP)

    async def _process(self, message: IncomingMessage) -> None:
        if message.callback_id and self.acknowledge is not None:
            await self.acknowledge(message)
        if message.truncated:
            await self._tell(message, "input_truncated")
        if message.kind == TEXT and is_erase_command(message.text):
            # "Delete my data" is the person's right whoever they talk to: answered by the
            # assistant (and confirmed) even during a hand-off (issue 15).
            await self.dispatch(message)
            return
        for interceptor in self.interceptors:
            if await interceptor.intercept(message):
                log.info(
                    "%s message of %s taken by %s",
                    message.kind,
                    message.sender,
                    type(interceptor).__name__,
                )
                return
        if message.kind == TEXT and not message.text.strip():
            log.info("empty %s message from %s: nothing to answer", self.channel, message.sender)
            return
        await self.dispatch(message)

    async def _failed(self, message: IncomingMessage, exc: BaseException) -> None:
        log.error(
            "%s could not be answered (%s); sending an apology",
            message.sender,
            exc.__class__.__name__,
        )
        await self._tell(message, "technical_problem")

    async def _tell(self, message: IncomingMessage, key: str) -> None:
        text = catalogue_text(key, guess_language(message.text))
        try:
            await self.delivery.deliver(OutgoingMessage(message.sender, text))
        except Exception:  # noqa: BLE001 (a notice must never break the worker)
            log.exception("could not send the %s notice to %s", key, message.sender)

    async def drain(self, timeout: float = 20.0) -> int:
        """Finish queued messages on shutdown; the number left unprocessed."""
        if self._queues is None:
            return 0
        return len(await self._queues.drain(timeout))
