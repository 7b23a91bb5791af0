"""Building signed webhook requests like Twilio and Telegram send them."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import requests
from twilio.request_validator import RequestValidator

from tests.channels.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, WEBHOOK_SECRET

WHATSAPP_PATH = "/webhooks/whatsapp/webhook"
TELEGRAM_PATH = "/webhooks/telegram/webhook"
_sids = itertools.count(1)
_updates = itertools.count(int(time.time()) % 100000 * 1000)


def next_sid() -> str:
    """A fresh MessageSid."""
    return f"SM{next(_sids):08d}{int(time.time() * 1000):024d}"[:34]


def next_update_id() -> int:
    """A fresh update_id."""
    return next(_updates)


def twilio_params(number: str, body: str = "", **extra: str) -> dict[str, str]:
    """The form fields of an inbound WhatsApp message."""
    params = {
        "MessageSid": next_sid(),
        "AccountSid": "AC" + "0" * 32,
        "From": f"whatsapp:{number}",
        "To": "whatsapp:+14155238886",
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Test",
        "WaId": number.lstrip("+"),
    }
    params.update(extra)
    return params


def sign(params: dict[str, str], path: str = WHATSAPP_PATH, token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature for ``params`` posted to the public URL."""
    return RequestValidator(token).compute_signature(f"{PUBLIC_BASE_URL}{path}", params)


def post_whatsapp(
    base_url: str,
    params: dict[str, str],
    *,
    signature: str | None = "compute",
    timeout: float = 15.0,
) -> tuple[requests.Response, float]:
    """POST a form to the WhatsApp webhook; the response and how long it took."""
    headers = {}
    if signature == "compute":
        headers["X-Twilio-Signature"] = sign(params)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    started = time.monotonic()
    resp = requests.post(
        f"{base_url}{WHATSAPP_PATH}", data=params, headers=headers, timeout=timeout
    )
    return resp, time.monotonic() - started


def telegram_text_update(chat_id: int, text: str, **message: Any) -> dict[str, Any]:
    """An update carrying a private text message."""
    return telegram_update(chat_id, {"text": text, **message})


def telegram_update(chat_id: int, content: dict[str, Any]) -> dict[str, Any]:
    """An update carrying a private message with ``content`` (text, voice, location...)."""
    return {
        "update_id": next_update_id(),
        "message": {
            "message_id": next_update_id() % 100000,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Test"},
            **content,
        },
    }


def telegram_callback(chat_id: int, data: str) -> dict[str, Any]:
    """An update carrying a button press."""
    return {
        "update_id": next_update_id(),
        "callback_query": {
            "id": f"cb{next_update_id()}",
            "chat_instance": "ci",
            "data": data,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Test"},
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": 4242, "is_bot": True, "first_name": "Fake"},
                "text": "menu",
            },
        },
    }


def post_telegram(
    base_url: str,
    update: dict[str, Any] | bytes,
    *,
    secret: str | None = WEBHOOK_SECRET,
    timeout: float = 15.0,
) -> tuple[requests.Response, float]:
    """POST an update (or raw bytes) to the Telegram webhook; response and duration."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    started = time.monotonic()
    resp = requests.post(f"{base_url}{TELEGRAM_PATH}", data=body, headers=headers, timeout=timeout)
    return resp, time.monotonic() - started


def tracker_events(base_url: str, sender: str) -> list[dict[str, Any]]:
    """Events Rasa recorded for ``sender`` (user and bot turns)."""
    resp = requests.get(f"{base_url}/conversations/{sender}/tracker", timeout=10)
    resp.raise_for_status()
    return [e for e in resp.json().get("events", []) if e.get("event") in ("user", "bot")]


def user_texts(base_url: str, sender: str, count: int = 1, timeout: float = 15.0) -> list[str]:
    """Texts of the user turns Rasa saved for ``sender``, once ``count`` are there (bounded).

    Rasa saves the tracker at the end of a turn, which may be after the first reply is sent.
    """
    deadline = time.monotonic() + timeout
    while True:
        texts = [e.get("text") for e in tracker_events(base_url, sender) if e["event"] == "user"]
        if len(texts) >= count or time.monotonic() > deadline:
            return texts
        time.sleep(0.2)
