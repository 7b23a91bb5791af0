"""End to end: danger messages through the WhatsApp and Telegram fakes, with Rasa running.

A first message, a message while the privacy notice is pending, inside the location form,
during a queued hand-off (the ticket becomes urgent), a danger inside another request
(both answered, help first), and an idiom that must not fire.
"""

from __future__ import annotations

import time

import pytest

from bot.app import services
from bot.privacy import ACCEPTED, record_consent
from tests.channels.helpers import post_telegram, post_whatsapp, telegram_text_update, twilio_params
from tests.handoff.test_e2e_handoff import AMINA_CHAT, Running, _pseudonym, _wait

pytestmark = pytest.mark.e2e


def _consented(running: Running, channel: str, address: str) -> str:
    sender = _pseudonym(channel, address)
    record_consent(services(running.settings).engine, sender, ACCEPTED)
    return sender


def _telegram(running: Running, chat: int, text: str) -> None:
    resp, _ = post_telegram(running.url, telegram_text_update(chat, text))
    assert resp.status_code == 200


def _whatsapp(running: Running, number: str, text: str) -> None:
    resp, _ = post_whatsapp(running.url, twilio_params(number, text))
    assert resp.status_code == 200


def test_first_message_with_risk_to_life_gets_help_before_anything_and_alerts(
    running: Running,
) -> None:
    chat = 8601  # a new person: no privacy decision yet
    _telegram(running, chat, "je veux mourir ce soir, j'ai la corde")
    texts = running.wait_person(chat, "141")
    assert "équipe de médiateurs" in texts[0]  # the help is the very first message
    running.wait_amina("🚨")
    ticket = running.ticket_of(_pseudonym("telegram", str(chat)))
    assert ticket.danger == "suicide" and ticket.state in ("queued", "assigned")
    time.sleep(1.5)
    assert not any("J'accepte" in t or "données" in t for t in running.person_texts(chat)[:1])


def test_danger_inside_a_request_help_first_then_the_answer(running: Running) -> None:
    number = "+212600086002"
    _consented(running, "whatsapp", number)
    _whatsapp(running, number, "je cherche du travail à Agadir, mon patron m'a frappé hier")
    bodies = running.wait_whatsapp(number, "Et pour votre demande")
    first = bodies[0]
    assert "19" in first and "pas de votre faute" in first
    answer = next(b for b in bodies if "Et pour votre demande" in b)
    assert bodies.index(answer) > 0 and "ANAPEC" in answer


def test_danger_while_the_privacy_notice_is_pending(running: Running) -> None:
    number = "+212600086003"  # no decision recorded: the notice is due
    _whatsapp(running, number, "bonjour")
    _wait(lambda: running.whatsapp_bodies(number))
    before = len(running.whatsapp_bodies(number))
    _whatsapp(running, number, "help he has a knife and he is following me")
    bodies = running.wait_whatsapp(number, "19")
    assert "19" in bodies[before]  # the help is the first answer to the danger


def test_danger_inside_the_location_form(running: Running) -> None:
    chat = 8604
    _consented(running, "telegram", str(chat))
    _telegram(running, chat, "j'ai besoin d'un médecin")
    running.wait_person(chat, "ville")
    before = len(running.person_texts(chat))
    _telegram(running, chat, "mon bébé ne respire plus")
    texts = running.wait_person(chat, "141")
    assert "141" in texts[before]
    running.wait_amina("urgence médicale")


def test_danger_during_a_queued_hand_off_makes_the_ticket_urgent(running: Running) -> None:
    chat = 8605
    sender = _consented(running, "telegram", str(chat))
    _telegram(running, chat, "je veux parler à un médiateur")
    assert _wait(lambda: running.ticket_of(sender) is not None)
    assert running.ticket_of(sender).danger is None
    _telegram(running, chat, "he says he is going to kill me tonight")
    assert _wait(lambda: running.ticket_of(sender).danger == "threat")
    running.wait_amina("menaces")
    running.wait_person(chat, "19")
    # The message waits in the ticket and reaches whoever takes it.
    running.mediator_says(AMINA_CHAT, f"/take {running.ticket_of(sender).id}")
    running.wait_amina("going to kill me")


def test_an_idiom_gets_an_ordinary_answer(running: Running) -> None:
    number = "+212600086006"
    _consented(running, "whatsapp", number)
    _whatsapp(running, number, "ce boulot me tue, je cherche un autre travail à Agadir")
    assert _wait(lambda: running.whatsapp_bodies(number))
    time.sleep(1.5)
    bodies = running.whatsapp_bodies(number)
    assert not any("19" in b.split() or "pas de votre faute" in b for b in bodies)
    assert running.ticket_of(_pseudonym("whatsapp", number)) is None
