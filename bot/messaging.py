"""The vocabulary the channels and the hand-off share (docs/architecture.md).

Message kinds, the incoming and outgoing message, buttons, the platforms' limits, the five
reply languages, splitting and truncation. It imports nothing from ``bot.channels`` or
``bot.handoff``: both import it, and the hand-off imports nothing from the channels.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# Kinds of incoming message; everything that is not text goes through Rasa as an intent.
TEXT = "text"
VOICE = "voice"
IMAGE = "image"
DOCUMENT = "document"
STICKER = "sticker"
VIDEO = "video"
LOCATION = "location"
CALLBACK = "callback"
UNSUPPORTED = "unsupported"
MEDIA_KINDS = (VOICE, IMAGE, DOCUMENT, STICKER, VIDEO, UNSUPPORTED)
KINDS = (TEXT, LOCATION, CALLBACK, *MEDIA_KINDS)

# Platform limits on one outgoing message (Twilio and Telegram count UTF-16 code units).
WHATSAPP_MAX_UNITS = 1600
TELEGRAM_MAX_UNITS = 4096
MAX_UNITS = {"whatsapp": WHATSAPP_MAX_UNITS, "telegram": TELEGRAM_MAX_UNITS}
# Longest text we pass to the NLU; longer messages are cut and the person is told.
MAX_INPUT_CHARS = 2000

# What Rasa receives for a "delete my data" command (the rule of the `delete` intent).
ERASE_PAYLOAD = "/delete"
# The five languages the assistant answers in, and the one it falls back on.
REPLY_LANGUAGES: tuple[str, ...] = ("fr", "en", "es", "ar", "ary-Latn")
DEFAULT_LANGUAGE = "fr"


def utcnow() -> datetime:
    """Timezone-aware current time (UTC)."""
    return datetime.now(timezone.utc)


@dataclass
class IncomingMessage:
    """One message from a person, whatever the platform."""

    channel: str
    # Platform address: "+2126..." for WhatsApp, the chat id for Telegram. Never logged.
    address: str
    # Pseudonym: the only id Rasa, analytics and logs see.
    sender: str
    text: str = ""
    kind: str = TEXT
    latitude: float | None = None
    longitude: float | None = None
    first_name: str | None = None
    # MessageSid (Twilio) or update_id (Telegram): the dedupe key.
    external_id: str = ""
    received_at: datetime = field(default_factory=utcnow)
    # Media kept for a later relay to a mediator (URL on Twilio, file_id on Telegram).
    media_url: str | None = None
    media_type: str | None = None
    # Telegram callback query to answer, when the message is a button press.
    callback_id: str | None = None
    # True when the text was cut to MAX_INPUT_CHARS (the person is told).
    truncated: bool = False
    # The person's message number, in the order messages reached the service (set when
    # the webhook is recorded; bot/channels/order.py).
    seq: int | None = None
    # Whose numbering ``seq`` belongs to: the pseudonym and when its contact was created
    # (an erased and re-created contact, or a new database, numbers from 1 again).
    order_key: str = ""
    # The person's message before this one reached the service long ago (or there was
    # none): it is answered, this one need not wait for the order record.
    fresh: bool = False
    # The kind of danger found in it (bot/channels/safety.py): the help was sent first,
    # and only the answer to the person's own request may follow.
    danger: str | None = None

    def rasa_text(self) -> str:
        """What Rasa receives: the text, or an intent payload for media, locations and the
        one-word "delete my data" commands."""
        if self.kind == LOCATION and self.latitude is not None and self.longitude is not None:
            entities = {"latitude": self.latitude, "longitude": self.longitude}
            return "/share_location" + json.dumps(entities)
        if self.kind in MEDIA_KINDS:
            return "/share_media" + json.dumps({"media_type": self.kind})
        if self.is_erase_command:
            # The word is the command (the notice names it), whatever the NLU would make of
            # one word: "mse7" or "delete" alone were taken for a misunderstood message.
            return ERASE_PAYLOAD
        return self.text

    @property
    def is_erase_command(self) -> bool:
        """A text that is one of the "delete my data" commands ("supprimer", "/delete")."""
        from bot.privacy import is_erase_command

        return self.kind == TEXT and is_erase_command(self.text)

    def language_hint(self) -> dict[str, Any] | None:
        """The language of the words typed, when Rasa receives a payload in their place
        (an erase command): the NLU detects the payload's, not the person's, language."""
        if not self.is_erase_command or self.text.startswith("/"):
            return None
        from bot.language import detect

        detection = detect(self.text)
        return {"code": detection.code, "confidence": float(detection.confidence)}


@dataclass(frozen=True)
class Button:
    """A choice offered to the person: what they see and what Rasa receives."""

    title: str
    payload: str


@dataclass
class OutgoingMessage:
    """One response from the assistant to a person (recipient = pseudonym)."""

    recipient: str
    text: str = ""
    buttons: list[Button] = field(default_factory=list)
    image_url: str | None = None
    # True: the menu remembered for typed numbers stays the previous one (the answer that
    # follows a danger's help leaves a number meaning the help's choice).
    keep_menu: bool = False


def utf16_units(text: str) -> int:
    """Length as WhatsApp (Twilio) and Telegram count it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _hard_cut(text: str, limit: int, measure: Callable[[str], int]) -> tuple[str, str]:
    # Longest prefix within the limit, never splitting a character.
    lo, hi = 1, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo], text[lo:]


def split_message(text: str, limit: int, measure: Callable[[str], int] = utf16_units) -> list[str]:
    """Split ``text`` into parts within ``limit``, in order, at the best boundary available.

    Paragraph breaks first, then line breaks, then spaces, then (a single huge word) anywhere.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    text = text.strip()
    if not text:
        return []
    parts: list[str] = []
    rest = text
    while measure(rest) > limit:
        head, _ = _hard_cut(rest, limit, measure)
        cut = -1
        for separator in ("\n\n", "\n", " "):
            position = head.rfind(separator)
            # A boundary too close to the start would make tiny messages: look further.
            if position > len(head) // 4:
                cut = position
                break
        if cut <= 0:
            part, rest = head, rest[len(head) :]
        else:
            part, rest = rest[:cut], rest[cut:]
        part, rest = part.strip(), rest.strip()
        if part:
            parts.append(part)
    if rest:
        parts.append(rest)
    return parts


def truncate_input(text: str, max_chars: int = MAX_INPUT_CHARS) -> tuple[str, bool]:
    """Keep the first ``max_chars`` characters; report whether anything was cut."""
    if len(text) <= max_chars:
        return text, False
    return text[:max_chars], True


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Text without control characters (tabs and newlines kept), stripped."""
    return _CONTROL_RE.sub("", text).strip()


def typed_text(text: str) -> str:
    """What a person typed, never taken as an intent payload ("/intent{...}")."""
    if text.strip().lower() in ("/start", "/help"):
        return "/greet"
    # Only buttons may send payloads; a typed "/..." is just words for the NLU.
    return text.lstrip("/").strip() if text.startswith("/") else text


def guess_language(text: str) -> str:
    """Reply language for a message sent outside Rasa's dialogue (French when unsure)."""
    if not text.strip() or text.startswith("/"):
        return DEFAULT_LANGUAGE
    try:
        from bot.language import detect

        code = detect(text[:500]).code  # the beginning says enough, and fast
    except Exception:  # noqa: BLE001 (detection must never stop an apology)
        return DEFAULT_LANGUAGE
    return code if code in REPLY_LANGUAGES else DEFAULT_LANGUAGE
