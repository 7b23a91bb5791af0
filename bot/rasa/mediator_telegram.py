"""The mediators' Telegram bot, a Rasa input channel: POST /webhooks/mediator_telegram/webhook.

Same secret-token check, dedupe and ordered processing as the people's Telegram channel
(it reuses :class:`bot.rasa.telegram.TelegramInput`), with its own bot token and
secret. Nothing here ever reaches Rasa's dialogue: registered mediators' messages go to
the hand-off desk, anyone else is refused and the attempt logged. The server start also
starts the hand-off scheduler (offers, widening, expiry, sending) and gives it the way
to record ``ConversationResumed`` in Rasa's tracker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint

from bot.app import Services, services
from bot.channels import base
from bot.channels.base import IncomingMessage, OutgoingMessage
from bot.channels.pipeline import Pipeline
from bot.channels.store import ChannelStore
from bot.channels.telegram_api import TelegramSender
from bot.handoff.messages import mediator_text
from bot.handoff.relay import HandoffRuntime
from bot.rasa.telegram import TelegramInput
from bot.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "mediator_telegram"
CREDENTIAL_FIELDS = {
    "bot_token": "mediator_telegram_bot_token",
    "webhook_secret": "mediator_telegram_webhook_secret",
    "api_base_url": "telegram_api_base_url",
}


@dataclass
class MediatorDelivery:
    """Pipeline notices (busy, technical problem) to a mediator's chat."""

    sender: TelegramSender
    store: ChannelStore

    async def deliver(self, message: OutgoingMessage) -> bool:
        """Send ``message`` to the chat behind the pseudonym."""
        contact = await asyncio.to_thread(self.store.contact, message.recipient)
        if contact is None:
            log.error("no mediator chat for %s; notice not sent", message.recipient)
            return False
        return await self.sender.send_text(contact.address, message.text)


def _callback_payload(message: IncomingMessage, _payloads: tuple[str, ...]) -> str | None:
    # The buttons of the mediators' bot carry the command itself ("/take 12").
    return message.text if message.kind == base.CALLBACK else None


class MediatorTelegramInput(TelegramInput):
    """Webhook of the mediators' bot; every message goes to the hand-off desk."""

    channel = CHANNEL
    credential_fields = CREDENTIAL_FIELDS

    def __init__(self, settings: Settings) -> None:
        # The parent reads the people's bot fields: give it the mediators' bot instead.
        super().__init__(
            replace(
                settings,
                telegram_bot_token=settings.mediator_telegram_bot_token,
                telegram_webhook_secret=settings.mediator_telegram_webhook_secret,
            )
        )
        self.full_settings = settings
        self.runtime: HandoffRuntime | None = None

    def services(self) -> Services:
        # The process's services are those of the full settings, not of the mediators' bot.
        return services(self.full_settings)

    def _setup(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        # The hand-off runs even without this bot (mediators may all be on WhatsApp).
        if self.runtime is None:
            try:
                self.runtime = self.services().handoff()
            except Exception:  # noqa: BLE001 (the server still starts; logged)
                log.exception("hand-off could not start: mediators will not be notified")
                return
        super()._setup(on_new_message)

    def not_configured(self) -> None:
        log.warning(
            "mediators' Telegram bot not configured (MEDIATOR_TELEGRAM_BOT_TOKEN "
            "and MEDIATOR_TELEGRAM_WEBHOOK_SECRET): its webhook answers 503"
        )

    def start_pipeline(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]], store: ChannelStore
    ) -> None:
        sender = TelegramSender(
            self.settings.telegram_bot_token, self.settings.telegram_api_base_url
        )
        self.delivery = MediatorDelivery(sender, store)  # type: ignore[assignment]
        self.pipeline = Pipeline(
            CHANNEL,
            store,
            self.delivery,
            self._to_desk,
            [],
            reply_mapper=_callback_payload,
            acknowledge=self._answer_callback,
            order=self.turn_order(),
        )

    async def _to_desk(self, message: IncomingMessage) -> None:
        runtime = self.runtime
        if runtime is None:
            return
        mediator = runtime.mediator_at("telegram", message.address)
        if mediator is None:
            log.warning(
                "mediators' bot: message from an unregistered Telegram user (%s): refused",
                message.sender,
            )
            if self.delivery is not None:
                await self.delivery.sender.send_text(
                    message.address, mediator_text("not_registered", "fr", user_id=message.address)
                )
            return
        await runtime.from_mediator(mediator, message)

    def get_output_channel(self) -> None:
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = super().blueprint(on_new_message)
        # Blueprint names must be unique in the app; the routes are those of TelegramInput.
        bp.name = "mediator_telegram_webhook"

        async def start(app: Any, _loop: Any) -> None:
            if self.runtime is None:
                return
            self.runtime.set_resume(_resumer(app))
            self.runtime.start()

        async def stop(_app: Any, _loop: Any) -> None:
            if self.runtime is not None:
                await self.runtime.stop()

        bp.listener("after_server_start")(start)
        bp.listener("before_server_stop")(stop)
        return bp


def _resumer(app: Any) -> Callable[[str, str | None], Awaitable[bool]]:
    """Resume a person's conversation in Rasa's tracker, under Rasa's conversation lock."""

    async def resume(sender_id: str, language: str | None) -> bool:
        agent = getattr(app.ctx, "agent", None)
        if agent is None or agent.processor is None:
            log.warning("no Rasa agent yet: ConversationResumed for %s postponed", sender_id)
            return False
        async with agent.lock_store.lock(sender_id):
            tracker = await agent.processor.get_tracker(sender_id)
            for event in resume_events(tracker.get_slot("language"), language):
                tracker.update(event)
            await agent.processor.save_tracker(tracker)
        log.info("conversation of %s resumed (hand-off closed)", sender_id)
        return True

    return resume


def resume_events(current: str | None, language: str | None) -> list[Any]:
    """ConversationResumed, and the language the person wrote in to the mediator when it is
    not the tracker's: Rasa never saw those words, and answers next in that language."""
    from rasa.shared.core.events import ConversationResumed, SlotSet

    from bot.language import SUPPORTED_REPLY_LANGUAGES

    events: list[Any] = [ConversationResumed()]
    if language in SUPPORTED_REPLY_LANGUAGES and language != current:
        events.append(SlotSet("language", language))
    return events
