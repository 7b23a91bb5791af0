"""Telegram, outbound: python-telegram-bot's ``Bot`` pointed at a configurable base URL.

Timeouts on every call, 429 ``retry_after`` respected (capped), bounded retries with backoff
on network errors, a person who blocked the bot logged and left alone. Buttons become an
inline keyboard; the directory's ``*bold*`` becomes HTML bold, everything else is escaped.
No Rasa import.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.channels.base import TELEGRAM_MAX_UNITS, Button, OutgoingMessage, Retried, split_message
from bot.channels.store import ChannelStore

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO, and Bot API URLs contain the bot token.
logging.getLogger("httpx").setLevel(logging.WARNING)

TELEGRAM_API = "https://api.telegram.org"
# Never wait longer than this for a flood-control pause; later messages would pile up.
MAX_RETRY_AFTER_S = 30.0
CALLBACK_DATA_MAX_BYTES = 64
# Prefix of callback data that stands for "button number i of the last keyboard".
INDEX_PREFIX = "#"

T = TypeVar("T")
_BOLD_RE = re.compile(r"\*([^*\n]+)\*")


def to_telegram_html(text: str) -> str:
    """Escape ``text`` for parse_mode HTML and turn ``*bold*`` into ``<b>bold</b>``."""
    return _BOLD_RE.sub(r"<b>\1</b>", html.escape(text, quote=False))


def callback_data(index: int, payload: str) -> str:
    """The payload itself when it fits Telegram's 64 bytes, else the button's index."""
    if len(payload.encode("utf-8")) <= CALLBACK_DATA_MAX_BYTES and not payload.startswith(
        INDEX_PREFIX
    ):
        return payload
    return f"{INDEX_PREFIX}{index}"


def payload_for_callback(data: str, payloads: tuple[str, ...] | list[str]) -> str | None:
    """Map callback data back to a payload (index form resolved from the last keyboard)."""
    if not data.startswith(INDEX_PREFIX):
        return data
    number = data[len(INDEX_PREFIX) :]
    if number.isascii() and number.isdigit() and int(number) < len(payloads):
        return payloads[int(number)]
    return None


def keyboard(buttons: list[Button]) -> InlineKeyboardMarkup:
    """One button per row (long titles in several languages stay readable)."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.title[:64], callback_data=callback_data(i, b.payload))]
            for i, b in enumerate(buttons)
        ]
    )


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass
class TelegramSender(Retried):
    """Calls the Bot API with timeouts, flood-control waits and bounded retries."""

    token: str = field(repr=False)
    base_url: str = TELEGRAM_API
    max_retry_after: float = MAX_RETRY_AFTER_S

    def __post_init__(self) -> None:
        base = self.base_url.rstrip("/")
        request = HTTPXRequest(
            connection_pool_size=16,
            connect_timeout=5.0,
            read_timeout=self.timeout,
            write_timeout=self.timeout,
            pool_timeout=5.0,
        )
        self.bot = Bot(
            self.token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=request,
            get_updates_request=HTTPXRequest(connect_timeout=5.0, read_timeout=self.timeout),
        )

    async def call(self, what: str, action: Callable[[], Awaitable[T]]) -> T | None:
        """Run one API call with retries; None (logged) when it finally fails."""
        for attempt in range(1, self.attempts + 1):
            try:
                return await action()
            except RetryAfter as exc:
                wait = min(_seconds(exc._retry_after), self.max_retry_after)
                log.warning("telegram %s: flood control, waiting %.1fs", what, wait)
                if attempt == self.attempts:
                    break
                await asyncio.sleep(wait)
            except Forbidden as exc:
                log.warning("telegram %s refused (the person blocked the bot?): %s", what, exc)
                return None
            except BadRequest as exc:
                log.error("telegram %s rejected: %s", what, exc)
                return None
            except (NetworkError, TelegramError) as exc:
                # NetworkError covers TimedOut and the 5xx answers of the Bot API.
                if attempt == self.attempts:
                    log.error("telegram %s failed after %d attempts: %s", what, attempt, exc)
                    return None
                delay = self.retry_delay(attempt)
                log.warning("telegram %s failed (retry in %.1fs): %s", what, delay, exc)
                await asyncio.sleep(delay)
        log.error("telegram %s failed after %d attempts", what, self.attempts)
        return None

    async def send_text(
        self, chat_id: str, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> bool:
        """Send one message (HTML, bold only); True when Telegram accepted it."""
        result = await self.call(
            "sendMessage",
            lambda: self.bot.send_message(
                chat_id=chat_id,
                text=to_telegram_html(text),
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                disable_web_page_preview=True,
            ),
        )
        return result is not None

    async def answer_callback(self, callback_id: str) -> bool:
        """Stop the button's spinner in the person's app."""
        result = await self.call(
            "answerCallbackQuery", lambda: self.bot.answer_callback_query(callback_id)
        )
        return bool(result)

    async def send_photo(self, chat_id: str, url: str) -> bool:
        """Send an image by URL."""
        result = await self.call(
            "sendPhoto", lambda: self.bot.send_photo(chat_id=chat_id, photo=url)
        )
        return result is not None


@dataclass
class TelegramDelivery:
    """Delivers the assistant's messages to a pseudonymous person on Telegram."""

    sender: TelegramSender
    store: ChannelStore

    async def deliver(self, message: OutgoingMessage) -> bool:
        """Send ``message``; False (logged) when it could not be delivered."""
        # Look-up and the buttons' payloads in one thread hop and transaction.
        contact = await asyncio.to_thread(
            self.store.contact_for_reply,
            message.recipient,
            [b.payload for b in message.buttons],
            lambda c: c.channel == "telegram" and not message.keep_menu,
        )
        if contact is None or contact.channel != "telegram":
            log.error("no Telegram contact for %s; message not sent", message.recipient)
            return False
        markup = keyboard(message.buttons) if message.buttons else None
        if message.image_url and not await self.sender.send_photo(
            contact.address, message.image_url
        ):
            return False
        parts = split_message(message.text, TELEGRAM_MAX_UNITS)
        if not parts and markup is not None:
            parts = ["…"]  # Telegram needs some text to carry a keyboard
        for number, part in enumerate(parts, start=1):
            last = number == len(parts)
            if not await self.sender.send_text(contact.address, part, markup if last else None):
                log.error("message to %s stopped after a failed part", message.recipient)
                return False
        return True
