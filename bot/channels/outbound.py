"""The delivery that reaches people on a platform, built from settings.

``bot.app.Services`` keeps the process's deliveries (the input channels register theirs
when the server starts) and sends to a person by pseudonym through the channel they wrote
from, for code outside Rasa's dialogue (the mediator hand-off). No Rasa import.
"""

from __future__ import annotations

import logging

from bot.channels.pipeline import Delivery
from bot.channels.store import ChannelStore
from bot.settings import Settings

log = logging.getLogger(__name__)


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
