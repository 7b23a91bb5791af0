"""Generated payloads against both webhooks of a running server: never a 500, never a crash."""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.channels.conftest import ChannelAssistant
from tests.channels.helpers import (
    TELEGRAM_PATH,
    WHATSAPP_PATH,
    next_sid,
    next_update_id,
    post_telegram,
    post_whatsapp,
    sign,
)

pytestmark = pytest.mark.e2e

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
texts = st.text(max_size=300) | st.sampled_from(
    ["", "😀", "1", "/affirm", "a" * 5000, "\x00\ufeff"]
)
field_names = st.sampled_from(
    [
        "Body",
        "From",
        "MessageSid",
        "NumMedia",
        "MediaContentType0",
        "MediaUrl0",
        "Latitude",
        "Longitude",
        "ProfileName",
        "ButtonPayload",
        "MessageStatus",
        "Unknown",
    ]
)


@FUZZ
@given(extra=st.dictionaries(field_names, texts, max_size=6), keep_sender=st.booleans())
def test_whatsapp_signed_generated_forms(
    channel_assistant: ChannelAssistant, extra: dict[str, str], keep_sender: bool
) -> None:
    params = {"MessageSid": next_sid(), "From": "whatsapp:+212699999999", "Body": "merci"}
    if not keep_sender:
        params.pop("From")
    params.update(extra)
    resp, _ = post_whatsapp(channel_assistant.url, params)
    assert resp.status_code in (200, 400, 503), resp.text


@FUZZ
@given(body=st.binary(max_size=2000))
def test_whatsapp_generated_raw_bodies(channel_assistant: ChannelAssistant, body: bytes) -> None:
    resp = requests.post(
        f"{channel_assistant.url}{WHATSAPP_PATH}",
        data=body,
        headers={"X-Twilio-Signature": sign({})},
        timeout=15,
    )
    assert resp.status_code in (200, 400, 403), resp.text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
message_fields = st.fixed_dictionaries(
    {},
    optional={
        "text": texts,
        "voice": st.fixed_dictionaries(
            {
                "file_id": st.text(max_size=10),
                "file_unique_id": st.text(max_size=10),
                "duration": st.integers(0, 999),
            }
        ),
        "location": st.fixed_dictionaries(
            {"latitude": st.floats(-90, 90), "longitude": st.floats(-180, 180)}
        ),
        "caption": texts,
        "weird": json_values,
    },
)


@FUZZ
@given(
    content=message_fields,
    chat_id=st.integers(1, 10**12),
    chat_type=st.sampled_from(["private", "group", "channel", "bogus"]),
)
def test_telegram_generated_messages(
    channel_assistant: ChannelAssistant, content: dict, chat_id: int, chat_type: str
) -> None:
    update = {
        "update_id": next_update_id(),
        "message": {
            "message_id": 1,
            "date": 1700000000,
            "chat": {"id": chat_id, "type": chat_type},
            "from": {"id": chat_id, "is_bot": False, "first_name": "F"},
            **content,
        },
    }
    resp, _ = post_telegram(channel_assistant.url, update)
    assert resp.status_code in (200, 400, 503), resp.text


@FUZZ
@given(data=st.dictionaries(st.text(max_size=20), json_values, max_size=6) | json_values)
def test_telegram_generated_json(channel_assistant: ChannelAssistant, data: object) -> None:
    if isinstance(data, dict) and "update_id" not in data:
        data["update_id"] = next_update_id()
    resp = requests.post(
        f"{channel_assistant.url}{TELEGRAM_PATH}",
        data=json.dumps(data).encode(),
        headers={
            "X-Telegram-Bot-Api-Secret-Token": channel_assistant.settings.telegram_webhook_secret
        },
        timeout=15,
    )
    assert resp.status_code in (200, 400, 503), resp.text


def test_server_still_healthy_after_fuzzing(channel_assistant: ChannelAssistant) -> None:
    for path in ("/webhooks/whatsapp/", "/webhooks/telegram/"):
        resp = requests.get(f"{channel_assistant.url}{path}", timeout=10)
        assert resp.json() == {"status": "ok", "configured": True}
    assert channel_assistant.assistant.died() is None
    full_log = channel_assistant.log_path.read_text(encoding="utf-8", errors="replace")
    assert "Exception occurred while handling" not in full_log  # Sanic's line for a 500
