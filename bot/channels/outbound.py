"""Send a message to a person by pseudonym, through the channel they wrote from.

For code outside Rasa's dialogue (the mediator hand-off, reminders). The input channels
register their delivery here when the server starts; otherwise one is built from settings.
No Rasa import.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot.channels.base import Button, OutgoingMessage
from bot.channels.pipeline import Delivery
from bot.channels.store import ChannelStore, shared_store
from bot.settings import Settings, load_settings

log = logging.getLogger(__name__)

_deliveries: dict[tuple[str, ...], Delivery] = {}


def _key(channel: str, settings: Settings) -> tuple[str, ...]:
    # One delivery per channel and configuration (tests run several side by side).
    return (
        channel,
        settings.effective_database_url,
        settings.twilio_account_sid,
        settings.twilio_api_base_url,
        settings.telegram_bot_token,
        settings.telegram_api_base_url,
    )


def register(channel: str, delivery: Delivery, settings: Settings) -> None:
    """Make ``delivery`` the way to reach people on ``channel`` with ``settings``."""
    _deliveries[_key(channel, settings)] = delivery


def build_delivery(channel: str, settings: Settings, store: ChannelStore) -> Delivery | None:
    """A delivery for ``channel`` from settings; None when the channel is not configured."""
    if channel == "whatsapp" and settings.has_whatsapp and settings.twilio_whatsapp_number:
        from bot.channels.twilio_api import TwilioSender, WhatsAppDelivery

        sender = TwilioSender(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_whatsapp_number,
            base_url=settings.twilio_api_base_url,
        )
        return WhatsAppDelivery(sender, store, settings.twilio_template_sid)
    if channel == "telegram" and settings.has_telegram:
        from bot.channels.telegram_api import TelegramDelivery, TelegramSender

        sender = TelegramSender(settings.telegram_bot_token, settings.telegram_api_base_url)
        return TelegramDelivery(sender, store)
    return None


async def send_to_person(
    pseudonym: str,
    text: str,
    buttons: Sequence[Button] | None = None,
    *,
    settings: Settings | None = None,
) -> bool:
    """Send ``text`` (and buttons) to the person behind ``pseudonym``; False when impossible."""
    settings = settings or load_settings()
    store = await asyncio.to_thread(shared_store, settings.effective_database_url)
    contact = await asyncio.to_thread(store.contact, pseudonym)
    if contact is None:
        log.error("no contact for %s: message not sent", pseudonym)
        return False
    key = _key(contact.channel, settings)
    delivery = _deliveries.get(key)
    if delivery is None:
        delivery = build_delivery(contact.channel, settings, store)
        if delivery is None:
            log.error(
                "%s channel is not configured: message to %s not sent", contact.channel, pseudonym
            )
            return False
        _deliveries[key] = delivery
    return await delivery.deliver(OutgoingMessage(pseudonym, text, list(buttons or [])))
