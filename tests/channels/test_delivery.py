"""Outbound through the real twilio and python-telegram-bot clients against the local fakes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.channels.base import Button, OutgoingMessage, utcnow
from bot.channels.store import ChannelStore
from bot.channels.telegram_api import (
    TelegramDelivery,
    TelegramSender,
    callback_data,
    payload_for_callback,
    to_telegram_html,
)
from bot.channels.twilio_api import TwilioSender, WhatsAppDelivery
from tests.channels.conftest import ACCOUNT_SID, AUTH_TOKEN, BOT_TOKEN, TEMPLATE_SID
from tests.fakes.telegram_fake import TelegramFake, markup, telegram_error
from tests.fakes.twilio_fake import TwilioFake, twilio_error

NUMBER = "+212611111111"
CHAT = 4711


@pytest.fixture
def twilio(twilio_fake: TwilioFake) -> Iterator[TwilioFake]:
    twilio_fake.reset()
    yield twilio_fake
    twilio_fake.reset()


@pytest.fixture
def telegram(telegram_fake: TelegramFake) -> Iterator[TelegramFake]:
    telegram_fake.reset()
    yield telegram_fake
    telegram_fake.reset()


def _whatsapp(store: ChannelStore, fake: TwilioFake, template: str = TEMPLATE_SID):
    sender = TwilioSender(
        ACCOUNT_SID, AUTH_TOKEN, "+14155238886", base_url=fake.url, timeout=5, backoff=0.01
    )
    store.record_inbound("wa-t", "whatsapp", NUMBER, None, utcnow())
    return WhatsAppDelivery(sender, store, template)


def _telegram(store: ChannelStore, fake: TelegramFake) -> TelegramDelivery:
    store.record_inbound("tg-t", "telegram", str(CHAT), None, utcnow())
    return TelegramDelivery(TelegramSender(BOT_TOKEN, fake.url, timeout=5, backoff=0.01), store)


async def test_whatsapp_long_reply_is_split_in_order(
    store: ChannelStore, twilio: TwilioFake
) -> None:
    delivery = _whatsapp(store, twilio)
    paragraphs = [f"Paragraphe {i}: " + "texte " * 60 for i in range(1, 16)]
    assert await delivery.deliver(OutgoingMessage("wa-t", "\n\n".join(paragraphs)))
    bodies = [c.params["Body"] for c in twilio.messages(NUMBER)]
    assert len(bodies) >= 3
    assert all(len(b.encode("utf-16-le")) // 2 <= 1600 for b in bodies)
    order = [int(p.split(":")[0].split()[-1]) for b in bodies for p in b.split("\n\n")]
    assert order == list(range(1, 16))


async def test_whatsapp_buttons_become_a_numbered_list_remembered(
    store: ChannelStore, twilio: TwilioFake
) -> None:
    delivery = _whatsapp(store, twilio)
    buttons = [Button("Santé", "/ask_health"), Button("Travail", "/ask_work")]
    assert await delivery.deliver(OutgoingMessage("wa-t", "Je peux vous orienter :", buttons))
    assert twilio.messages(NUMBER)[0].params["Body"].endswith("1. Santé\n2. Travail")
    contact = store.contact("wa-t")
    assert contact is not None and contact.last_buttons == ("/ask_health", "/ask_work")


async def test_a_message_that_keeps_the_menu_leaves_numbers_meaning_the_last_menu(
    store: ChannelStore, twilio: TwilioFake, telegram: TelegramFake
) -> None:
    deliveries = ((_whatsapp(store, twilio), "wa-t"), (_telegram(store, telegram), "tg-t"))
    for delivery, sender in deliveries:
        offer = [Button("Parler à une personne", "/safety_mediator")]
        assert await delivery.deliver(OutgoingMessage(sender, "Appelez le 19.", offer))
        answer = OutgoingMessage(sender, "Et pour votre demande :\n1. ANAPEC", keep_menu=True)
        assert await delivery.deliver(answer)
        assert store.contact(sender).last_buttons == ("/safety_mediator",)
        assert await delivery.deliver(OutgoingMessage(sender, "Merci."))
        assert store.contact(sender).last_buttons == ()  # an ordinary answer replaces it


async def test_whatsapp_retries_5xx_and_429_then_delivers(
    store: ChannelStore, twilio: TwilioFake
) -> None:
    delivery = _whatsapp(store, twilio)
    twilio.fail_next(1, twilio_error(503))
    twilio.fail_next(1, twilio_error(429))
    assert await delivery.deliver(OutgoingMessage("wa-t", "bonjour"))
    assert len(twilio.messages(NUMBER)) == 3


async def test_whatsapp_gives_up_after_bounded_attempts_and_on_4xx(
    store: ChannelStore, twilio: TwilioFake, caplog: pytest.LogCaptureFixture
) -> None:
    delivery = _whatsapp(store, twilio)
    twilio.fail_next(5, twilio_error(500))
    assert not await delivery.deliver(OutgoingMessage("wa-t", "bonjour"))
    assert len(twilio.messages(NUMBER)) == 3
    twilio.reset()
    twilio.fail_next(1, twilio_error(400))
    assert not await delivery.deliver(OutgoingMessage("wa-t", "bonjour"))
    assert len(twilio.messages(NUMBER)) == 1
    assert "giving up" in caplog.text
    assert NUMBER not in caplog.text


def _twilio_at(port: int, timeout: float) -> TwilioSender:
    """A sender to a Twilio that is not there on ``port``: two attempts, each ``timeout`` s."""
    return TwilioSender(
        ACCOUNT_SID,
        AUTH_TOKEN,
        "+1415",
        base_url=f"http://127.0.0.1:{port}",
        timeout=timeout,
        attempts=2,
        backoff=0.01,
    )


async def test_whatsapp_unreachable_api_fails_within_the_timeout(store: ChannelStore) -> None:
    from bot.runner import free_port

    sender = _twilio_at(free_port(), timeout=1)
    store.record_inbound("wa-t", "whatsapp", NUMBER, None, utcnow())
    started = time.monotonic()
    assert not await WhatsAppDelivery(sender, store).deliver(OutgoingMessage("wa-t", "x"))
    assert time.monotonic() - started < 10


async def test_whatsapp_api_that_never_answers_fails_within_the_timeout(
    store: ChannelStore,
) -> None:
    import socket

    # Accepts the connection and never answers: only the client's timeout ends the wait.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        port = server.getsockname()[1]
        sender = _twilio_at(port, timeout=0.5)
        store.record_inbound("wa-t", "whatsapp", NUMBER, None, utcnow())
        delivery = WhatsAppDelivery(sender, store)
        # Bounded here too: without the client's timeout the call would wait forever.
        sent = await asyncio.wait_for(delivery.deliver(OutgoingMessage("wa-t", "x")), 10)
        assert not sent


async def test_whatsapp_outside_the_window_template_or_nothing(
    store: ChannelStore, twilio: TwilioFake, caplog: pytest.LogCaptureFixture
) -> None:
    delivery = _whatsapp(store, twilio)
    store.record_inbound(
        "wa-t", "whatsapp", NUMBER, None, utcnow() - timedelta(hours=24, minutes=1)
    )
    assert await delivery.deliver(OutgoingMessage("wa-t", "texte libre"))
    (call,) = twilio.messages(NUMBER)
    assert call.params["ContentSid"] == TEMPLATE_SID and "Body" not in call.params
    no_template = _whatsapp(store, twilio, template="")
    store.record_inbound("wa-t", "whatsapp", NUMBER, None, utcnow() - timedelta(days=3))
    assert not await no_template.deliver(OutgoingMessage("wa-t", "texte libre"))
    assert len(twilio.messages(NUMBER)) == 1
    assert "TWILIO_TEMPLATE_SID" in caplog.text


async def test_unknown_pseudonym_is_logged_not_sent(
    store: ChannelStore, twilio: TwilioFake
) -> None:
    delivery = _whatsapp(store, twilio)
    assert not await delivery.deliver(OutgoingMessage("wa-unknown", "x"))
    assert twilio.messages() == []


async def test_telegram_split_at_4096_keyboard_on_the_last_part(
    store: ChannelStore, telegram: TelegramFake
) -> None:
    delivery = _telegram(store, telegram)
    text = "\n".join(f"ligne {i} " + "x" * 90 for i in range(120))  # ~12,000 characters
    buttons = [Button("Oui", "/affirm"), Button("Non", "/deny")]
    assert await delivery.deliver(OutgoingMessage("tg-t", text, buttons))
    calls = telegram.sent(CHAT)
    assert len(calls) == 3
    assert all(len(c.params["text"].encode("utf-16-le")) // 2 <= 4096 for c in calls)
    assert [markup(c) is not None for c in calls] == [False, False, True]
    lines = [line for c in calls for line in c.params["text"].split("\n")]
    assert [int(line.split()[1]) for line in lines] == list(range(120))


async def test_telegram_long_payloads_go_by_index(
    store: ChannelStore, telegram: TelegramFake
) -> None:
    delivery = _telegram(store, telegram)
    long_payload = '/change_language{"requested_language": "ary-Latn", "note": "' + "x" * 60 + '"}'
    buttons = [Button("Darija", long_payload), Button("Oui", "/affirm")]
    assert await delivery.deliver(OutgoingMessage("tg-t", "Langue ?", buttons))
    keyboard = markup(telegram.sent(CHAT)[0])["inline_keyboard"]
    data = [row[0]["callback_data"] for row in keyboard]
    assert data == ["#0", "/affirm"]
    contact = store.contact("tg-t")
    assert contact is not None
    assert payload_for_callback("#0", contact.last_buttons) == long_payload
    assert payload_for_callback("#9", contact.last_buttons) is None


async def test_telegram_flood_control_network_errors_and_blocked_person(
    store: ChannelStore, telegram: TelegramFake
) -> None:
    delivery = _telegram(store, telegram)
    telegram.fail_next(1, telegram_error(429, retry_after=1))
    telegram.fail_next(1, telegram_error(502))
    started = time.monotonic()
    assert await delivery.deliver(OutgoingMessage("tg-t", "bonjour"))
    assert time.monotonic() - started >= 0.9
    assert len(telegram.sent(CHAT)) == 3
    telegram.reset()
    telegram.fail_next(5, telegram_error(403))
    assert not await delivery.deliver(OutgoingMessage("tg-t", "bonjour"))
    assert len(telegram.sent(CHAT)) == 1  # blocked: no retry


def test_telegram_html_escapes_and_keeps_bold() -> None:
    assert to_telegram_html("*Hôpital* <Hassan II> & co") == (
        "<b>Hôpital</b> &lt;Hassan II&gt; &amp; co"
    )
    assert to_telegram_html("2 * 3 = 6") == "2 * 3 = 6"
    assert callback_data(0, "/affirm") == "/affirm"
    assert callback_data(3, "é" * 40) == "#3"  # 80 bytes


def test_fake_records_json_markup() -> None:
    from tests.fakes.base import Call

    call = Call("POST", "/x", {"reply_markup": json.dumps({"inline_keyboard": []})}, {})
    assert markup(call) == {"inline_keyboard": []}
