"""WhatsApp through Twilio, as a Rasa input channel: ``POST /webhooks/whatsapp/webhook``.

Every request must carry a valid ``X-Twilio-Signature`` computed over the public URL
(``PUBLIC_BASE_URL``, so it works behind a TLS-terminating proxy); anything else gets 403
and never reaches Rasa. Retried webhooks (same MessageSid) get 200 and are not processed
again. The webhook answers at once; replies go out through Twilio's API.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channels.store import ChannelStore
from bot.channels.whatsapp import (
    CHANNEL,
    CREDENTIAL_FIELDS,
    EMPTY_TWIML,
    MAX_BODY_BYTES,
    BadPayload,
    not_whatsapp_to_us,
    parse_twilio,
)
from bot.rasa.common import PlatformInput, accepted, limit_body
from bot.settings import Settings

log = logging.getLogger(__name__)


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
        super().start_pipeline(on_new_message, store)
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
