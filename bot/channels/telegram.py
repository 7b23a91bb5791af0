"""Telegram updates into the channels' vocabulary: pure parsing, no Rasa or web framework.

The webhook itself (secret token, dedupe, ordering) is ``bot.rasa.telegram``.
"""

from __future__ import annotations

import logging

from telegram import Message, Update

from bot.channels import base
from bot.channels.base import IncomingMessage, clean_text, truncate_input, typed_text
from bot.channels.telegram_api import payload_for_callback
from bot.pseudonyms import pseudonym

log = logging.getLogger(__name__)

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
MAX_BODY_BYTES = 256 * 1024
CREDENTIAL_FIELDS = {
    "bot_token": "telegram_bot_token",
    "webhook_secret": "telegram_webhook_secret",
    "api_base_url": "telegram_api_base_url",
}


def message_kind(message: Message) -> str:
    """Kind of a Telegram message from the field it carries."""
    if message.location is not None or message.venue is not None:
        return base.LOCATION
    if message.voice is not None or message.audio is not None:
        return base.VOICE
    if message.photo:
        return base.IMAGE
    if message.sticker is not None:
        return base.STICKER
    if message.video is not None or message.video_note is not None or message.animation:
        return base.VIDEO
    if message.document is not None:
        mime = (message.document.mime_type or "").lower()
        return base.IMAGE if mime.startswith("image/") else base.DOCUMENT
    if message.text is not None:
        return base.TEXT
    return base.UNSUPPORTED


def _media_id(message: Message) -> str | None:
    for item in (
        message.voice,
        message.audio,
        message.sticker,
        message.video,
        message.video_note,
        message.animation,
        message.document,
    ):
        if item is not None:
            return item.file_id
    return message.photo[-1].file_id if message.photo else None


def parse_update(update: Update, key: str) -> IncomingMessage | None:
    """The person's message in ``update``; None when there is nothing to answer."""
    external_id = str(update.update_id)
    query = update.callback_query
    if query is not None:
        chat = query.message.chat if query.message is not None else None
        chat_id = str(chat.id) if chat is not None else str(query.from_user.id)
        if chat is not None and chat.type != "private":
            return None
        return IncomingMessage(
            channel=CHANNEL,
            address=chat_id,
            sender=pseudonym(CHANNEL, chat_id, key),
            text=(query.data or "")[:256],
            kind=base.CALLBACK,
            external_id=external_id,
            first_name=query.from_user.first_name,
            callback_id=query.id,
        )
    message = update.message
    if message is None:
        return None
    if message.chat.type != "private":
        # People's questions are private; a group would expose them to each other.
        return None
    address = str(message.chat.id)
    incoming = IncomingMessage(
        channel=CHANNEL,
        address=address,
        sender=pseudonym(CHANNEL, address, key),
        kind=message_kind(message),
        external_id=external_id,
        first_name=message.from_user.first_name if message.from_user else None,
    )
    text = clean_text(message.text or message.caption or "")
    incoming.text, incoming.truncated = truncate_input(typed_text(text))
    if incoming.kind == base.LOCATION:
        location = message.location or (message.venue.location if message.venue else None)
        if location is None:
            incoming.kind = base.UNSUPPORTED
        else:
            incoming.latitude, incoming.longitude = location.latitude, location.longitude
    elif incoming.kind != base.TEXT:
        incoming.media_url = _media_id(message)
        incoming.media_type = incoming.kind
    return incoming


def callback_mapper(message: IncomingMessage, payloads: tuple[str, ...]) -> str | None:
    if message.kind == base.CALLBACK:
        return payload_for_callback(message.text, payloads)
    return None


def describe_unanswered(update: Update) -> str:
    if update.my_chat_member is not None:
        status = update.my_chat_member.new_chat_member.status
        return f"my_chat_member ({status})"
    kinds = [
        name
        for name in (
            "edited_message",
            "channel_post",
            "edited_channel_post",
            "message",
            "inline_query",
            "poll",
            "chat_join_request",
        )
        if getattr(update, name, None) is not None
    ]
    return ", ".join(kinds) or "unknown update"
