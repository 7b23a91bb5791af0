"""What the adapters make of Twilio form fields and Telegram updates (no server)."""

from __future__ import annotations

import pytest
from telegram import Bot, Update

from bot.channels import base
from bot.channels.telegram import parse_update
from bot.channels.whatsapp import BadPayload, media_kind, parse_twilio
from bot.pseudonyms import pseudonym
from tests.channels.helpers import telegram_callback, telegram_update, twilio_params

KEY = "k"


def test_twilio_text_uses_the_pseudonym_not_the_number() -> None:
    message = parse_twilio(twilio_params("+212600000000", "  salam bghit tbib "), KEY)
    assert message is not None
    assert message.sender == pseudonym("whatsapp", "+212600000000", KEY)
    assert "212600000000" not in message.sender
    assert (message.kind, message.text, message.address) == (
        "text",
        "salam bghit tbib",
        "+212600000000",
    )


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("audio/ogg", "voice"),
        ("image/jpeg", "image"),
        ("image/webp", "sticker"),
        ("video/mp4", "video"),
        ("application/pdf", "document"),
        ("text/vcard", "unsupported"),
    ],
)
def test_twilio_media_kinds(content_type: str, kind: str) -> None:
    assert media_kind(content_type) == kind
    params = twilio_params(
        "+2126", "", NumMedia="1", MediaContentType0=content_type, MediaUrl0="https://x/m"
    )
    message = parse_twilio(params, KEY)
    assert message is not None and message.kind == kind and message.media_url == "https://x/m"


def test_twilio_location_empty_body_status_callback_and_missing_fields() -> None:
    here = parse_twilio(twilio_params("+2126", "", Latitude="30.42", Longitude="-9.6"), KEY)
    assert here is not None and (here.kind, here.latitude, here.longitude) == (
        "location",
        30.42,
        -9.6,
    )
    bad = parse_twilio(twilio_params("+2126", "", Latitude="nan", Longitude="200"), KEY)
    assert bad is not None and bad.kind == "unsupported"
    assert parse_twilio({"MessageSid": "SM1", "MessageStatus": "delivered"}, KEY) is None
    with pytest.raises(BadPayload):
        parse_twilio({"Body": "x"}, KEY)


def test_twilio_long_text_truncated_and_payloads_neutralised() -> None:
    message = parse_twilio(twilio_params("+2126", "x" * 10_000), KEY)
    assert message is not None and message.truncated and len(message.text) == base.MAX_INPUT_CHARS
    typed = parse_twilio(twilio_params("+2126", "/request_mediator"), KEY)
    assert typed is not None and typed.text == "request_mediator"


def _update(data: dict) -> Update:
    update = Update.de_json(data, Bot("1:x"))
    assert update is not None
    return update


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        ({"text": "bonjour"}, "text"),
        ({"voice": {"file_id": "v", "file_unique_id": "u", "duration": 2}}, "voice"),
        ({"photo": [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]}, "image"),
        (
            {"document": {"file_id": "d", "file_unique_id": "u", "mime_type": "application/pdf"}},
            "document",
        ),
        (
            {
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "u",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                }
            },
            "sticker",
        ),
        ({"location": {"latitude": 34.68, "longitude": -1.9}}, "location"),
        ({"contact": {"phone_number": "+2126", "first_name": "A"}}, "unsupported"),
    ],
)
def test_telegram_kinds(content: dict, kind: str) -> None:
    message = parse_update(_update(telegram_update(55, content)), KEY)
    assert message is not None and message.kind == kind
    assert message.sender == pseudonym("telegram", "55", KEY)


def test_telegram_callback_edits_and_groups() -> None:
    press = parse_update(_update(telegram_callback(55, "/affirm")), KEY)
    assert press is not None and press.kind == "callback" and press.callback_id
    edited = {"update_id": 1, "edited_message": telegram_update(55, {"text": "x"})["message"]}
    assert parse_update(_update(edited), KEY) is None
    group = telegram_update(55, {"text": "x"})
    group["message"]["chat"] = {"id": -1, "type": "group", "title": "g"}
    assert parse_update(_update(group), KEY) is None
    start = parse_update(_update(telegram_update(55, {"text": "/start"})), KEY)
    assert start is not None and start.text == "/greet"
