"""End to end: a running Rasa server with both channels, talking to the local fake APIs.

Each test uses its own phone number or chat id, so the tests do not depend on each other.
Acknowledgement times are printed (``-s``) as measurements, never asserted as targets.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.app import services
from bot.channels.base import utcnow
from bot.channels.store import contacts
from tests.channels.conftest import TEMPLATE_SID, ChannelAssistant
from tests.channels.helpers import (
    post_telegram,
    post_whatsapp,
    telegram_callback,
    telegram_text_update,
    telegram_update,
    tracker_events,
    twilio_params,
    user_texts,
)
from tests.fakes.telegram_fake import TelegramFake, markup, telegram_error
from tests.fakes.twilio_fake import TwilioFake

pytestmark = pytest.mark.e2e

ACK_TIMES: list[float] = []


def _bodies(fake: TwilioFake, number: str) -> list[str]:
    return [c.params.get("Body", "") for c in fake.messages(number)]


def _texts(fake: TelegramFake, chat_id: int) -> list[str]:
    return [c.params.get("text", "") for c in fake.sent(chat_id)]


def _wait_whatsapp(
    fake: TwilioFake, number: str, count: int = 1, timeout: float = 40.0
) -> list[str]:
    calls = fake.wait_for(
        lambda c: c.params.get("To") == f"whatsapp:{number}", count=count, timeout=timeout
    )
    return [c.params.get("Body", "") for c in calls]


def _wait_telegram(fake: TelegramFake, chat_id: int, count: int = 1, timeout: float = 40.0):
    return fake.wait_for(
        lambda c: c.path.endswith("/sendMessage") and str(c.params.get("chat_id")) == str(chat_id),
        count=count,
        timeout=timeout,
    )


# --- WhatsApp ------------------------------------------------------------------------------


def test_whatsapp_unsigned_and_forged_requests_are_refused(
    channel_assistant: ChannelAssistant, twilio_fake: TwilioFake
) -> None:
    number = "+212600000001"
    channel_assistant.whatsapp_pseudonym(number)  # no privacy notice in these tests
    params = twilio_params(number, "bonjour")
    unsigned, _ = post_whatsapp(channel_assistant.url, params, signature=None)
    forged, _ = post_whatsapp(channel_assistant.url, params, signature="bm90IGEgc2lnbmF0dXJl")
    tampered = dict(params, Body="autre chose")
    changed, _ = post_whatsapp(channel_assistant.url, tampered, signature=post_sign(params))
    assert (unsigned.status_code, forged.status_code, changed.status_code) == (403, 403, 403)
    time.sleep(1.5)
    assert twilio_fake.messages(number) == []
    sender = channel_assistant.whatsapp_pseudonym(number)
    assert tracker_events(channel_assistant.url, sender) == []
    assert "signature" in channel_assistant.log()


def post_sign(params: dict[str, str]) -> str:
    from tests.channels.helpers import sign

    return sign(params)


def test_whatsapp_signed_message_is_answered_through_the_api(
    channel_assistant: ChannelAssistant, twilio_fake: TwilioFake
) -> None:
    number = "+212600000002"
    channel_assistant.whatsapp_pseudonym(number)  # no privacy notice in these tests
    resp, took = post_whatsapp(channel_assistant.url, twilio_params(number, "bonjour"))
    ACK_TIMES.append(took)
    assert resp.status_code == 200
    assert "<Response>" in resp.text  # empty TwiML: the reply goes through the API
    bodies = _wait_whatsapp(twilio_fake, number)
    assert bodies and "PRIM" in bodies[0]
    # The greeting's buttons become a numbered list on WhatsApp.
    assert "\n1. " in bodies[0] and "\n7. " in bodies[0]
    call = twilio_fake.messages(number)[0]
    assert call.params["From"] == "whatsapp:+14155238886"
    # Rasa never sees the phone number: the conversation is under the pseudonym.
    sender = channel_assistant.whatsapp_pseudonym(number)
    assert user_texts(channel_assistant.url, sender) == ["bonjour"]
    print(f"\nWhatsApp webhook acknowledged in {took * 1000:.0f} ms")


def test_whatsapp_retried_webhook_is_processed_once(
    channel_assistant: ChannelAssistant, twilio_fake: TwilioFake
) -> None:
    number = "+212600000003"
    channel_assistant.whatsapp_pseudonym(number)  # no privacy notice in these tests
    params = twilio_params(number, "merci")
    first, _ = post_whatsapp(channel_assistant.url, params)
    second, _ = post_whatsapp(channel_assistant.url, params)
    assert (first.status_code, second.status_code) == (200, 200)
    _wait_whatsapp(twilio_fake, number)
    time.sleep(2.0)
    bodies = _bodies(twilio_fake, number)
    assert len([b for b in bodies if "plaisir" in b]) == 1, bodies
    assert user_texts(channel_assistant.url, channel_assistant.whatsapp_pseudonym(number)) == [
        "merci"
    ]


def test_whatsapp_messages_of_one_person_are_answered_in_order(
    channel_assistant: ChannelAssistant, twilio_fake: TwilioFake
) -> None:
    number = "+212600000004"
    channel_assistant.whatsapp_pseudonym(number)  # no privacy notice in these tests
    for text in ("bonjour", "merci", "au revoir"):
        resp, took = post_whatsapp(channel_assistant.url, twilio_params(number, text))
        ACK_TIMES.append(took)
        assert resp.status_code == 200
    # (A privacy notice may follow the first answer; the three answers keep their order.)
    twilio_fake.wait_for(
        lambda c: c.params.get("To") == f"whatsapp:{number}" and "Au revoir" in c.params["Body"]
    )
    bodies = _bodies(twilio_fake, number)
    expected = ["PRIM", "plaisir", "Au revoir"]
    positions = [next((i for i, b in enumerate(bodies) if word in b), -1) for word in expected]
    assert -1 not in positions, bodies
    assert positions == sorted(positions), bodies
    sender = channel_assistant.whatsapp_pseudonym(number)
    assert user_texts(channel_assistant.url, sender, count=3) == ["bonjour", "merci", "au revoir"]


def test_whatsapp_voice_note_then_numbered_answer(
    channel_assistant: ChannelAssistant, twilio_fake: TwilioFake
) -> None:
    number = "+212600000005"
    channel_assistant.whatsapp_pseudonym(number)  # no privacy notice in these tests
    voice = twilio_params(
        number,
        "",
        NumMedia="1",
        MediaContentType0="audio/ogg",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME",
    )
    resp, _ = post_whatsapp(channel_assistant.url, voice)
    assert resp.status_code == 200
    bodies = _wait_whatsapp(twilio_fake, number, count=2)
    assert "vocal" in bodies[0]
    assert bodies[1].endswith("1. Oui\n2. Non")
    # "1" is the first button's payload (/affirm): the mediator offer is accepted.
    post_whatsapp(channel_assistant.url, twilio_params(number, "1"))
    handoff = twilio_fake.wait_for(
        lambda c: c.params.get("To") == f"whatsapp:{number}" and "transmets" in c.params["Body"]
    )
    assert handoff
    sender = channel_assistant.whatsapp_pseudonym(number)
    assert user_texts(channel_assistant.url, sender, count=2)[-1] == "/affirm"


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [("image/jpeg", "images"), ("application/pdf", "documents"), ("image/webp", "images")],
)
def test_whatsapp_image_document_and_sticker_get_a_helpful_answer(
    channel_assistant: ChannelAssistant, twilio_fake: TwilioFake, content_type: str, expected: str
) -> None:
    number = f"+2126000001{len(content_type):02d}"
    channel_assistant.whatsapp_pseudonym(number)
    media = twilio_params(
        number, "", NumMedia="1", MediaContentType0=content_type, MediaUrl0="https://example.org/m"
    )
    assert post_whatsapp(channel_assistant.url, media)[0].status_code == 200
    bodies = _wait_whatsapp(twilio_fake, number)
    assert expected in bodies[0]


def test_whatsapp_shared_location_lists_nearest_services(
    channel_assistant: ChannelAssistant, twilio_fake: TwilioFake
) -> None:
    number = "+212600000006"
    channel_assistant.whatsapp_pseudonym(number)  # no privacy notice in these tests
    # Agadir city centre.
    location = twilio_params(number, "", Latitude="30.4202", Longitude="-9.5982")
    assert post_whatsapp(channel_assistant.url, location)[0].status_code == 200
    bodies = _wait_whatsapp(twilio_fake, number)
    assert bodies[0].startswith("Services près de vous")
    assert "Agadir" in bodies[0]
    assert all(len(b.encode("utf-16-le")) // 2 <= 1600 for b in bodies)


def test_whatsapp_long_message_is_truncated_and_the_person_told(
    channel_assistant: ChannelAssistant, twilio_fake: TwilioFake
) -> None:
    number = "+212600000007"
    channel_assistant.whatsapp_pseudonym(number)  # no privacy notice in these tests
    text = ("Bonjour, je cherche un médecin pour mon enfant à Agadir. " * 200)[:10000]
    resp, took = post_whatsapp(channel_assistant.url, twilio_params(number, text))
    ACK_TIMES.append(took)
    assert resp.status_code == 200
    bodies = _wait_whatsapp(twilio_fake, number, count=2)
    assert "très long" in bodies[0]
    assert len(bodies) >= 2


def test_whatsapp_bad_requests_never_cause_a_server_error(
    channel_assistant: ChannelAssistant, twilio_fake: TwilioFake
) -> None:
    import requests

    url = f"{channel_assistant.url}/webhooks/whatsapp/webhook"
    empty_unsigned = requests.post(url, data=b"", timeout=10)
    empty_signed = requests.post(
        url, data=b"", headers={"X-Twilio-Signature": post_sign({})}, timeout=10
    )
    garbage = requests.post(url, data=b"\xff\xfe%%%", timeout=10)
    # Authentic, a WhatsApp sender to our number, but no MessageSid: a bad request.
    no_sid = {"From": "whatsapp:+212600000099", "To": "whatsapp:+14155238886"}
    no_sid_signed = requests.post(
        url, data=no_sid, headers={"X-Twilio-Signature": post_sign(no_sid)}, timeout=10
    )
    assert empty_unsigned.status_code == 403
    # Authentic but not a WhatsApp message to us (no From): ignored, so Twilio never retries.
    assert empty_signed.status_code == 200
    assert no_sid_signed.status_code == 400
    assert garbage.status_code == 403
    number = "+212600000008"
    channel_assistant.whatsapp_pseudonym(number)  # no privacy notice in these tests
    emoji, _ = post_whatsapp(channel_assistant.url, twilio_params(number, "🙏🙏", Foo="bar"))
    assert emoji.status_code == 200
    assert _wait_whatsapp(twilio_fake, number)


def test_whatsapp_outside_24h_window_sends_the_template(
    channel_assistant: ChannelAssistant, twilio_fake: TwilioFake
) -> None:
    number = "+212600000009"
    channel_assistant.whatsapp_pseudonym(number)  # no privacy notice in these tests
    post_whatsapp(channel_assistant.url, twilio_params(number, "merci"))
    _wait_whatsapp(twilio_fake, number)
    sender = channel_assistant.whatsapp_pseudonym(number)
    settings = channel_assistant.settings
    store = services(settings).store
    # Inside the window: free text.
    assert asyncio.run(
        services(settings).send_to_person(sender, "Un médiateur vous répond.", settings=settings)
    )
    assert _bodies(twilio_fake, number)[-1] == "Un médiateur vous répond."
    with store.engine.begin() as conn:
        conn.execute(
            update(contacts)
            .where(contacts.c.pseudonym == sender)
            .values(last_inbound_at=utcnow() - timedelta(hours=25))
        )
    before = len(twilio_fake.messages(number))
    assert asyncio.run(
        services(settings).send_to_person(sender, "Texte libre interdit", settings=settings)
    )
    calls = twilio_fake.messages(number)[before:]
    assert len(calls) == 1
    assert calls[0].params.get("ContentSid") == TEMPLATE_SID
    assert "Body" not in calls[0].params


# --- Telegram ------------------------------------------------------------------------------


def test_telegram_missing_or_wrong_secret_is_refused(
    channel_assistant: ChannelAssistant, telegram_fake: TelegramFake
) -> None:
    chat_id = 700001
    channel_assistant.telegram_pseudonym(chat_id)  # no privacy notice in these tests
    missing, _ = post_telegram(
        channel_assistant.url, telegram_text_update(chat_id, "salut"), secret=None
    )
    wrong, _ = post_telegram(
        channel_assistant.url, telegram_text_update(chat_id, "salut"), secret="guess"
    )
    assert (missing.status_code, wrong.status_code) == (403, 403)
    time.sleep(1.5)
    assert telegram_fake.sent(chat_id) == []
    assert (
        tracker_events(channel_assistant.url, channel_assistant.telegram_pseudonym(chat_id)) == []
    )


def test_telegram_text_gets_an_inline_keyboard_and_the_button_round_trip_works(
    channel_assistant: ChannelAssistant, telegram_fake: TelegramFake
) -> None:
    chat_id = 700002
    channel_assistant.telegram_pseudonym(chat_id)  # no privacy notice in these tests
    resp, took = post_telegram(channel_assistant.url, telegram_text_update(chat_id, "bonjour"))
    ACK_TIMES.append(took)
    assert resp.status_code == 200
    calls = _wait_telegram(telegram_fake, chat_id)
    assert "PRIM" in calls[0].params["text"]
    keyboard = markup(calls[0])["inline_keyboard"]
    assert [row[0]["callback_data"] for row in keyboard][0] == "/ask_health"
    # Press "Parler à une personne" (/request_mediator).
    press = telegram_callback(chat_id, keyboard[-1][0]["callback_data"])
    assert post_telegram(channel_assistant.url, press)[0].status_code == 200
    handoff = telegram_fake.wait_for(
        lambda c: (
            str(c.params.get("chat_id")) == str(chat_id) and "transmets" in c.params.get("text", "")
        )
    )
    assert handoff, _texts(telegram_fake, chat_id)
    answered = telegram_fake.wait_for(lambda c: c.path.endswith("/answerCallbackQuery"))
    assert any(c.params.get("callback_query_id") == press["callback_query"]["id"] for c in answered)
    print(f"\nTelegram webhook acknowledged in {took * 1000:.0f} ms")


def test_telegram_retried_update_is_processed_once(
    channel_assistant: ChannelAssistant, telegram_fake: TelegramFake
) -> None:
    chat_id = 700003
    channel_assistant.telegram_pseudonym(chat_id)  # no privacy notice in these tests
    update_ = telegram_text_update(chat_id, "merci")
    assert post_telegram(channel_assistant.url, update_)[0].status_code == 200
    assert post_telegram(channel_assistant.url, update_)[0].status_code == 200
    _wait_telegram(telegram_fake, chat_id)
    time.sleep(2.0)
    texts = _texts(telegram_fake, chat_id)
    assert len([t for t in texts if "plaisir" in t]) == 1, texts
    sender = channel_assistant.telegram_pseudonym(chat_id)
    assert user_texts(channel_assistant.url, sender) == ["merci"]


def test_telegram_voice_location_and_updates_without_message(
    channel_assistant: ChannelAssistant, telegram_fake: TelegramFake
) -> None:
    chat_id = 700004
    channel_assistant.telegram_pseudonym(chat_id)  # no privacy notice in these tests
    voice = telegram_update(
        chat_id, {"voice": {"file_id": "v1", "file_unique_id": "u1", "duration": 3}}
    )
    assert post_telegram(channel_assistant.url, voice)[0].status_code == 200
    calls = _wait_telegram(telegram_fake, chat_id, count=2)
    assert "vocal" in calls[0].params["text"]
    assert markup(calls[1]) is not None  # mediator offer with Oui / Non buttons
    # Oujda.
    location = telegram_update(chat_id, {"location": {"latitude": 34.6814, "longitude": -1.9086}})
    assert post_telegram(channel_assistant.url, location)[0].status_code == 200
    calls = _wait_telegram(telegram_fake, chat_id, count=3)
    assert calls[2].params["text"].startswith("Services près de vous")
    assert "<b>" in calls[2].params["text"] and calls[2].params.get("parse_mode") == "HTML"
    before = len(telegram_fake.sent(chat_id))
    edited = {
        "update_id": 990001,
        "edited_message": telegram_update(chat_id, {"text": "x"})["message"],
    }
    member = {
        "update_id": 990002,
        "my_chat_member": {
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "T"},
            "date": int(time.time()),
            "old_chat_member": {
                "user": {"id": 4242, "is_bot": True, "first_name": "F"},
                "status": "member",
            },
            "new_chat_member": {
                "user": {"id": 4242, "is_bot": True, "first_name": "F"},
                "status": "kicked",
                "until_date": 0,
            },
        },
    }
    group_message = telegram_update(chat_id, {"text": "hi"})["message"]
    group_message["chat"] = {"id": -5, "type": "group", "title": "g"}
    group = {"update_id": 990003, "message": group_message}
    for update_ in (edited, member, group):
        assert post_telegram(channel_assistant.url, update_)[0].status_code == 200
    time.sleep(1.5)
    assert len(telegram_fake.sent(chat_id)) == before
    assert telegram_fake.sent(-5) == []


def test_telegram_flood_control_is_respected(
    channel_assistant: ChannelAssistant, telegram_fake: TelegramFake
) -> None:
    chat_id = 700005
    channel_assistant.telegram_pseudonym(chat_id)  # no privacy notice in these tests
    telegram_fake.fail_next(1, telegram_error(429, retry_after=1))
    started = time.monotonic()
    assert post_telegram(channel_assistant.url, telegram_text_update(chat_id, "merci"))[0].ok
    calls = _wait_telegram(telegram_fake, chat_id, count=2)
    # The first attempt got 429; the retry came after retry_after and was delivered.
    assert len(calls) == 2
    assert calls[1].at - calls[0].at >= 0.9
    assert "plaisir" in calls[1].params["text"]
    print(f"\nTelegram 429: delivered {time.monotonic() - started:.1f} s after the webhook")


def test_telegram_bad_input_never_causes_a_server_error(
    channel_assistant: ChannelAssistant, telegram_fake: TelegramFake
) -> None:
    url = channel_assistant.url
    assert post_telegram(url, b"")[0].status_code == 400
    assert post_telegram(url, b"\xff\xfe\x00garbage")[0].status_code == 400
    assert post_telegram(url, b"{not json")[0].status_code == 400
    assert post_telegram(url, b"[1, 2]")[0].status_code == 400
    assert post_telegram(url, json.dumps({"update_id": "1"}).encode())[0].status_code == 400
    chat_id = 700006
    channel_assistant.telegram_pseudonym(chat_id)  # no privacy notice in these tests
    odd = telegram_text_update(chat_id, "😀😀😀", unknown_field={"a": 1})
    odd["brand_new_update_kind"] = {"x": 1}
    assert post_telegram(url, odd)[0].status_code == 200
    long_text = telegram_text_update(
        chat_id, ("Merci beaucoup pour votre aide, je vais y aller demain matin. " * 200)[:10000]
    )
    assert post_telegram(url, long_text)[0].status_code == 200
    told = telegram_fake.wait_for(
        lambda c: (
            str(c.params.get("chat_id")) == str(chat_id) and "très long" in c.params.get("text", "")
        )
    )
    assert told


def test_logs_never_show_numbers_or_chat_ids(channel_assistant: ChannelAssistant) -> None:
    """The servers' output (and Rasa's log) only ever name people by their pseudonym.

    Also prints the webhook acknowledgement times measured above (a measurement, not a check).
    """
    logs = channel_assistant.log_path.read_text(encoding="utf-8", errors="replace")
    rasa_log = channel_assistant.settings.var_dir / "rasa.log"
    if rasa_log.is_file():
        logs += rasa_log.read_text(encoding="utf-8", errors="replace")
    assert "refused" in logs  # the forged requests above were logged
    assert "21260000" not in logs
    assert "70000" not in logs
    if ACK_TIMES:
        ordered = sorted(ACK_TIMES)
        print(
            f"\nwebhook acknowledgement over {len(ordered)} requests: "
            f"median {ordered[len(ordered) // 2] * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
        )
