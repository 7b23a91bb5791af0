"""Reading what the playground's page posts: every field checked, a clear refusal otherwise.

The same cleaning as the platforms' parsers (control characters removed, a typed ``/intent``
never taken as a payload, long text cut); a bad field raises :class:`PlaygroundError` with
the HTTP status and a sentence for the page, never a 500.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from bot.channels import base
from bot.channels.base import IncomingMessage, clean_text, truncate_input, typed_text
from bot.playground.hub import (
    CHANNEL,
    DESK_ADDRESS,
    DESK_CHANNEL,
    KINDS,
    MAX_CALLBACK_CHARS,
    MAX_DESK_TEXT_CHARS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    MAX_WAIT_S,
    MEDIA_TYPES,
    TELEGRAM,
    PlaygroundError,
    Session,
)

_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


# --- reading what the page posts ---------------------------------------------------------------
def string_field(body: Mapping[str, Any], name: str, limit: int, required: bool = False) -> str:
    """The string field ``name`` of ``body`` ('' when absent), at most ``limit`` characters."""
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise PlaygroundError(HTTPStatus.BAD_REQUEST, f"'{name}' is required")
        return ""
    if not isinstance(value, str):
        raise PlaygroundError(HTTPStatus.BAD_REQUEST, f"'{name}' must be a string")
    if len(value) > limit:
        raise PlaygroundError(
            HTTPStatus.BAD_REQUEST, f"'{name}' is too long ({len(value)} > {limit} characters)"
        )
    return value


def _coordinate(body: Mapping[str, Any], name: str, bound: float) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PlaygroundError(HTTPStatus.BAD_REQUEST, f"'{name}' must be a number")
    value = float(value)
    if not math.isfinite(value) or abs(value) > bound:
        raise PlaygroundError(
            HTTPStatus.BAD_REQUEST, f"'{name}' must be between -{bound:g} and {bound:g}"
        )
    return value


def _client_id(body: Mapping[str, Any]) -> str:
    value = body.get("id")
    if value is None:
        return secrets.token_hex(8)
    if not isinstance(value, str) or not _CLIENT_ID_RE.match(value):
        raise PlaygroundError(
            HTTPStatus.BAD_REQUEST, "'id' must be 1-64 letters, digits, '-' or '_'"
        )
    return value


def parse_person_message(session: Session, body: Mapping[str, Any]) -> tuple[IncomingMessage, str]:
    """The :class:`IncomingMessage` the page's ``body`` stands for, and what to echo.

    The same cleaning as the platforms: control characters removed, a typed ``/intent``
    never taken as a payload, text over 2000 characters cut (and the person told).
    """
    kind = body.get("kind", base.TEXT)
    if kind not in KINDS:
        raise PlaygroundError(
            HTTPStatus.BAD_REQUEST, f"unknown kind {kind!r} (known: {', '.join(KINDS)})"
        )
    message = IncomingMessage(
        channel=CHANNEL,
        address=session.id,
        sender=session.sender,
        kind=kind,
        first_name=session.first_name,
        external_id=f"{session.id}:{_client_id(body)}",
    )
    echo = ""
    if kind == base.TEXT:
        text = clean_text(string_field(body, "text", MAX_TEXT_CHARS, required=True))
        if not text:
            raise PlaygroundError(HTTPStatus.BAD_REQUEST, "the message is empty")
        message.text, message.truncated = truncate_input(typed_text(text))
        echo = text
    elif kind == base.CALLBACK:
        if session.mode != TELEGRAM:
            raise PlaygroundError(
                HTTPStatus.BAD_REQUEST,
                "WhatsApp has no buttons here: type the number of your choice",
            )
        message.text = string_field(body, "data", MAX_CALLBACK_CHARS, required=True)
        echo = clean_text(string_field(body, "title", MAX_TITLE_CHARS)) or message.text
    elif kind == base.LOCATION:
        message.latitude = _coordinate(body, "latitude", 90.0)
        message.longitude = _coordinate(body, "longitude", 180.0)
        where = clean_text(string_field(body, "title", MAX_TITLE_CHARS))
        echo = where or f"{message.latitude:.4f}, {message.longitude:.4f}"
    else:
        caption = clean_text(string_field(body, "text", MAX_TEXT_CHARS))
        message.text, message.truncated = truncate_input(typed_text(caption))
        message.media_type = MEDIA_TYPES[kind]
        message.media_url = f"playground:{kind}/{message.external_id}"
        echo = caption
    return message, echo


def parse_desk_message(body: Mapping[str, Any]) -> tuple[IncomingMessage, str]:
    """A mediator's typed text or pressed button, as the mediators' Telegram bot reads them."""
    data = string_field(body, "data", MAX_CALLBACK_CHARS)
    message = IncomingMessage(
        channel=DESK_CHANNEL,
        address=DESK_ADDRESS,
        sender="",  # set by the caller (pseudonym of the desk)
        external_id=f"desk:{_client_id(body)}",
    )
    if data:
        message.kind, message.text = base.CALLBACK, clean_text(data)
        return message, clean_text(string_field(body, "title", MAX_TITLE_CHARS)) or message.text
    text = clean_text(string_field(body, "text", MAX_DESK_TEXT_CHARS, required=True))
    if not text:
        raise PlaygroundError(HTTPStatus.BAD_REQUEST, "the message is empty")
    message.text = typed_text(text)
    return message, text


def read_wait(raw: str | None) -> float:
    """The ``wait`` parameter of a poll: seconds to wait for an entry, at most MAX_WAIT_S."""
    if raw in (None, ""):
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise PlaygroundError(HTTPStatus.BAD_REQUEST, "'wait' must be a number") from None
    if not math.isfinite(value) or value < 0:
        raise PlaygroundError(HTTPStatus.BAD_REQUEST, "'wait' must be 0 or more seconds")
    return min(value, MAX_WAIT_S)


def read_cursor(raw: str | None) -> int:
    """The ``after`` parameter of a poll: the id of the last entry the page has (0: none)."""
    if raw in (None, ""):
        return 0
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise PlaygroundError(HTTPStatus.BAD_REQUEST, "'after' must be a whole number")
    return int(raw)
