"""Twilio WhatsApp webhooks into the channels' vocabulary: pure parsing, no Rasa or web
framework. The webhook itself (signature, dedupe, ordering) is ``bot.rasa.whatsapp``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

from bot.channels import base
from bot.channels.base import IncomingMessage, clean_text, truncate_input, typed_text
from bot.pseudonyms import pseudonym

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
# Twilio's inbound form is a few kilobytes; anything far larger is not from Twilio.
MAX_BODY_BYTES = 64 * 1024
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
CREDENTIAL_FIELDS = {
    "account_sid": "twilio_account_sid",
    "auth_token": "twilio_auth_token",
    "whatsapp_number": "twilio_whatsapp_number",
    "api_base_url": "twilio_api_base_url",
    "template_sid": "twilio_template_sid",
    "public_base_url": "public_base_url",
}


class BadPayload(ValueError):
    """The (authentic) request lacks what a message needs."""


def _number(address: str) -> str:
    return address.strip().removeprefix("whatsapp:").strip()


def not_whatsapp_to_us(params: Mapping[str, str], our_number: str) -> str | None:
    """Why a signed Twilio request is not a WhatsApp message to our number (None: it is).

    The same account's SMS webhook, or another of its numbers, is signed by the same auth
    token: an SMS sent from a mediator's phone number would otherwise be taken for them.
    """
    if params.get("MessageStatus") and not params.get("Body") and not params.get("NumMedia"):
        return None  # a status callback: nothing is processed
    if not (params.get("From") or "").strip().startswith("whatsapp:"):
        return "the sender is not a WhatsApp address (SMS?)"
    if our_number and _number(params.get("To") or "") != _number(our_number):
        return "the message was sent to another number than TWILIO_WHATSAPP_NUMBER"
    return None


def media_kind(content_type: str) -> str:
    """Kind of a Twilio media item from its content type."""
    content_type = content_type.lower()
    if content_type.startswith("audio/"):
        return base.VOICE
    if content_type == "image/webp":
        return base.STICKER  # WhatsApp stickers arrive as WebP images
    if content_type.startswith("image/"):
        return base.IMAGE
    if content_type.startswith("video/"):
        return base.VIDEO
    if content_type.startswith(("application/", "text/plain")):
        return base.DOCUMENT
    return base.UNSUPPORTED


def _coordinate(raw: str | None, limit: float) -> float | None:
    try:
        value = float(raw) if raw not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and abs(value) <= limit else None


def parse_twilio(params: Mapping[str, str], key: str) -> IncomingMessage | None:
    """The message in Twilio's form fields; None for a status callback (nothing to answer)."""
    if params.get("MessageStatus") and not params.get("Body") and not params.get("NumMedia"):
        return None
    external_id = (params.get("MessageSid") or params.get("SmsMessageSid") or "").strip()
    sender = (params.get("From") or "").strip()
    address = sender.removeprefix("whatsapp:").strip()
    if not external_id or not address:
        raise BadPayload("MessageSid and From are required")
    message = IncomingMessage(
        channel=CHANNEL,
        address=address,
        sender=pseudonym(CHANNEL, address, key),
        external_id=external_id,
        first_name=(params.get("ProfileName") or "").strip()[:128] or None,
    )
    text = clean_text(params.get("Body") or "")
    message.text, message.truncated = truncate_input(typed_text(text))
    latitude = _coordinate(params.get("Latitude"), 90.0)
    longitude = _coordinate(params.get("Longitude"), 180.0)
    try:
        media_count = int(params.get("NumMedia") or 0)
    except ValueError:
        media_count = 0
    if latitude is not None and longitude is not None:
        message.kind, message.latitude, message.longitude = base.LOCATION, latitude, longitude
    elif media_count > 0:
        message.media_type = (params.get("MediaContentType0") or "").strip()[:100]
        message.media_url = (params.get("MediaUrl0") or "").strip()[:1000] or None
        message.kind = media_kind(message.media_type)
    elif not message.text:
        # A reaction, a poll, a contact card...: answered like media rather than ignored.
        message.kind = base.UNSUPPORTED
    return message
