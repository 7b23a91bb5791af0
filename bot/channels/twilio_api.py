"""WhatsApp through Twilio, outbound: the twilio client pointed at a configurable base URL.

Timeouts on every call, bounded retries with exponential backoff on 429, 5xx and connection
errors, the 24-hour window (a template outside it), numbered menus for buttons and replies
split at 1600 UTF-16 units in order. No Rasa import.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.channels.base import (
    API_TIMEOUT_S,
    WHATSAPP_MAX_UNITS,
    OutgoingMessage,
    Retried,
    numbered_menu,
    split_message,
    utcnow,
)
from bot.channels.store import ChannelStore
from bot.pseudonyms import mask_numbers

log = logging.getLogger(__name__)
# The twilio client logs every request at INFO; our own lines say what matters.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

TWILIO_API = "https://api.twilio.com"


class RebasedHttpClient(TwilioHttpClient):
    """The twilio HTTP client, sending what targets api.twilio.com to ``base_url`` instead."""

    def __init__(self, base_url: str, timeout: float = API_TIMEOUT_S) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        """Rewrite the host, then send as twilio would (with the client's timeout)."""
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, TwilioRestException):
        return exc.status == 429 or exc.status >= 500
    return isinstance(exc, requests.RequestException)


@dataclass
class TwilioSender(Retried):
    """Sends WhatsApp messages through Twilio's Messages API (retried, bounded)."""

    account_sid: str
    auth_token: str = field(repr=False)
    from_number: str
    base_url: str = TWILIO_API
    http_client: Any = None

    def __post_init__(self) -> None:
        client = self.http_client or RebasedHttpClient(self.base_url, self.timeout)
        self.client = Client(self.account_sid, self.auth_token, http_client=client)
        number = self.from_number.strip()
        self.sender = number if number.startswith("whatsapp:") else f"whatsapp:{number}"

    async def send(self, to: str, **fields: Any) -> str | None:
        """Create one message (``body=...`` or ``content_sid=...``); its sid, or None on failure."""
        recipient = to if to.startswith("whatsapp:") else f"whatsapp:{to}"
        for attempt in range(1, self.attempts + 1):
            try:
                message = await asyncio.to_thread(
                    self.client.messages.create, to=recipient, from_=self.sender, **fields
                )
                return str(message.sid)
            except Exception as exc:  # noqa: BLE001 (classified just below)
                reason = mask_numbers(f"{exc.__class__.__name__}: {exc}")[:300]
                if not _retryable(exc) or attempt == self.attempts:
                    log.error("twilio send failed (attempt %d, giving up): %s", attempt, reason)
                    return None
                delay = self.retry_delay(attempt)
                log.warning(
                    "twilio send failed (attempt %d, retry in %.1fs): %s", attempt, delay, reason
                )
                await asyncio.sleep(delay)
        return None


@dataclass
class WhatsAppDelivery:
    """Delivers the assistant's messages to a pseudonymous person on WhatsApp."""

    sender: TwilioSender
    store: ChannelStore
    template_sid: str = ""

    async def deliver(self, message: OutgoingMessage) -> bool:
        """Send ``message``; False (logged) when it could not be delivered."""
        now = utcnow()
        payloads = [button.payload for button in message.buttons]
        # The numbers of the latest list are what a bare "2" refers to: remembered (in the
        # same thread hop and transaction as the look-up) when free text may be sent.
        contact = await asyncio.to_thread(
            self.store.contact_for_reply,
            message.recipient,
            payloads,
            lambda c: (
                not message.keep_menu and c.channel == "whatsapp" and c.within_whatsapp_window(now)
            ),
        )
        if contact is None or contact.channel != "whatsapp":
            log.error("no WhatsApp contact for %s; message not sent", message.recipient)
            return False
        if not contact.within_whatsapp_window(now):
            return await self._template(contact.address, message.recipient)
        text = message.text
        if message.buttons:
            text = numbered_menu(text, message.buttons)
        parts = split_message(text, WHATSAPP_MAX_UNITS)
        if message.image_url:
            if not await self.sender.send(contact.address, media_url=[message.image_url]):
                return False
        for part in parts:
            # Stop at the first failure: a later part alone would read out of order.
            if not await self.sender.send(contact.address, body=part):
                log.error("message to %s stopped after a failed part", message.recipient)
                return False
        return True

    async def _template(self, address: str, pseudonym: str) -> bool:
        if not self.template_sid:
            log.error(
                "%s last wrote over 24 hours ago and TWILIO_TEMPLATE_SID is not set: "
                "WhatsApp refuses free text outside the window; message not sent",
                pseudonym,
            )
            return False
        log.info("%s is outside the 24-hour window: sending the template", pseudonym)
        return await self.sender.send(address, content_sid=self.template_sid) is not None
