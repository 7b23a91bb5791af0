"""WhatsApp through Twilio, as a Rasa input channel: ``POST /webhooks/whatsapp/webhook``.

Every request must carry a valid ``X-Twilio-Signature`` computed over the public URL
(``PUBLIC_BASE_URL``, so it works behind a TLS-terminating proxy); anything else gets 403
and never reaches Rasa. Retried webhooks (same MessageSid) get 200 and are not processed
again. The webhook answers at once; replies go out through Twilio's API.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channels import base
from bot.channels.base import IncomingMessage, clean_text, truncate_input, typed_text
from bot.channels.interceptors import default_interceptors
from bot.channels.outbound import build_delivery, register
from bot.channels.pipeline import Pipeline
from bot.channels.rasa_common import (
    DeliveryOutput,
    PlatformInput,
    accepted,
    limit_body,
    rasa_dispatch,
)
from bot.channels.store import ChannelStore
from bot.pseudonyms import pseudonym
from bot.settings import Settings

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


class WhatsAppOutput(DeliveryOutput):
    """Replies to WhatsApp people through Twilio."""

    channel_name = CHANNEL


class WhatsAppInput(PlatformInput):
    """Twilio WhatsApp webhook with signature check, dedupe and ordered processing."""

    channel = CHANNEL
    credential_fields = CREDENTIAL_FIELDS

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.validator = RequestValidator(settings.twilio_auth_token)

    @property
    def configured(self) -> bool:
        """True when Twilio credentials and the sending number are set."""
        s = self.settings
        return bool(s.has_whatsapp and s.twilio_whatsapp_number)

    def not_configured(self) -> None:
        log.warning("WhatsApp channel not configured (TWILIO_*): its webhook answers 503")

    def start_pipeline(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]], store: ChannelStore
    ) -> None:
        delivery = build_delivery(CHANNEL, self.settings, store)
        assert delivery is not None
        register(CHANNEL, delivery, self.settings)
        self.output = WhatsAppOutput(delivery)
        self.pipeline = Pipeline(
            CHANNEL,
            store,
            delivery,
            rasa_dispatch(on_new_message, self.output, CHANNEL),
            default_interceptors(self.settings, store.engine),
            order=self.turn_order(),
        )
        if not self.settings.public_base_url:
            log.warning(
                "PUBLIC_BASE_URL is empty: Twilio signatures are checked against the request "
                "URL, which fails behind a TLS-terminating proxy"
            )

    def public_url(self, request: Request) -> str:
        """The URL Twilio called (and signed), as the public sees it."""
        if not self.settings.public_base_url:
            return request.url
        url = self.settings.public_base_url.rstrip("/") + request.path
        return f"{url}?{request.query_string}" if request.query_string else url

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = self.start_blueprint("whatsapp_webhook", on_new_message)
        limit_body(f"/webhooks/{CHANNEL}/webhook", MAX_BODY_BYTES)

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            """Check the signature, record the message, queue it, answer at once."""
            pipeline = await self.ready_pipeline()
            if pipeline is None:
                return response.text("not configured", status=HTTPStatus.SERVICE_UNAVAILABLE)
            body = request.body or b""
            if len(body) > MAX_BODY_BYTES:
                log.warning("WhatsApp webhook: %d-byte body refused", len(body))
                return response.text("too large", status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            try:
                params = dict(
                    parse_qsl(
                        body.decode("utf-8", errors="replace"),
                        keep_blank_values=True,
                        max_num_fields=200,
                    )
                )
            except ValueError:
                params = {}
            signature = request.headers.get("X-Twilio-Signature", "")
            if not signature or not self.validator.validate(
                self.public_url(request), params, signature
            ):
                log.warning(
                    "WhatsApp webhook: %s signature from %s, refused",
                    "invalid" if signature else "missing",
                    request.remote_addr or request.ip,
                )
                return response.text("forbidden", status=HTTPStatus.FORBIDDEN)
            problem = not_whatsapp_to_us(params, self.settings.twilio_whatsapp_number)
            if problem is not None:
                # 200: Twilio must not retry it; it never reaches Rasa or the hand-off.
                log.warning("WhatsApp webhook: signed request ignored: %s", problem)
                return response.text(EMPTY_TWIML, content_type="text/xml")
            try:
                message = parse_twilio(params, self.key)
            except BadPayload as exc:
                log.warning("WhatsApp webhook: signed request without a message: %s", exc)
                return response.text(str(exc), status=HTTPStatus.BAD_REQUEST)
            if message is None:
                return response.text(EMPTY_TWIML, content_type="text/xml")
            # Empty TwiML: the replies go out through the API, not in this response.
            ok = response.text(EMPTY_TWIML, content_type="text/xml")
            return accepted(await pipeline.accept(message), ok)

        return bp
