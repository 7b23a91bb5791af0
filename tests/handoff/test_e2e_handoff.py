"""End to end: the running assistant, people and mediators on the fake Telegram and Twilio
APIs. Telegram person + Telegram mediator, WhatsApp person + WhatsApp mediator, an
unregistered sender on the mediators' bot, a restart and a session reset during a hand-off,
and a restart of the whole assistant in the middle of a hand-off.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import requests

from bot.db import make_engine
from bot.handoff import tickets as store
from bot.runner import Assistant, free_port
from bot.settings import Settings
from tests.channels.conftest import ACCOUNT_SID, AUTH_TOKEN, BOT_TOKEN, PSEUDONYM_KEY
from tests.channels.conftest import channel_settings as base_settings
from tests.channels.helpers import (
    post_telegram,
    post_whatsapp,
    telegram_callback,
    telegram_text_update,
    telegram_update,
    twilio_params,
)
from tests.conftest import MODEL, _tail, start_assistant
from tests.fakes.base import Call
from tests.fakes.telegram_fake import TelegramFake
from tests.fakes.twilio_fake import TwilioFake

pytestmark = pytest.mark.e2e

MEDIATOR_TOKEN = "654321:FAKE-mediators-token"
MEDIATOR_SECRET = "fake-mediator-secret-9876543210"
MEDIATOR_PATH = "/webhooks/mediator_telegram/webhook"
AMINA_CHAT = 7001
YOUSSEF_NUMBER = "+212622222222"
MEDIATORS = f"""\
mediators:
  - id: amina
    name: Amina
    channel: telegram
    address: "{AMINA_CHAT}"
    regions: [all]
    languages: [fr, en, es, ar, ary-Latn]
    hours: {{mon-sun: "00:00-24:00"}}
  - id: youssef
    name: Youssef
    channel: whatsapp
    address: "{YOUSSEF_NUMBER}"
    regions: [all]
    languages: [fr, en, es, ar, ary-Latn]
    hours: {{mon-sun: "00:00-24:00"}}
"""


class TwoBotsTelegramFake(TelegramFake):
    """The Bot API for the people's bot and the mediators' bot (two tokens, one server)."""

    def __init__(self) -> None:
        super().__init__(BOT_TOKEN)

    def answer(self, call: Call) -> tuple[int, dict[str, Any]]:
        for token in (BOT_TOKEN, MEDIATOR_TOKEN):
            prefix = f"/bot{token}/"
            if call.path.startswith(prefix):
                method = call.path[len(prefix) :]
                if method == "getFile":
                    result = {
                        "file_id": "VOICE1",
                        "file_unique_id": "u1",
                        "file_size": 12,
                        "file_path": "voice/file_1.oga",
                    }
                    return 200, {"ok": True, "result": result}
                if method == "sendDocument":
                    chat_id = int(call.params.get("chat_id", 0))
                    result = {
                        "message_id": 1,
                        "date": int(time.time()),
                        "chat": {"id": chat_id, "type": "private"},
                    }
                    return 200, {"ok": True, "result": result}
                self.token = token
                return super().answer(call)
        if unquote(call.path).startswith(f"/file/bot{BOT_TOKEN}/"):
            return 200, {"fake": "voice bytes"}  # the file's content, downloaded
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}


def _bot_calls(fake: TelegramFake, token: str, chat_id: int, method: str = "sendMessage"):
    return fake.recorded(
        lambda c: c.path == f"/bot{token}/{method}" and str(c.params.get("chat_id")) == str(chat_id)
    )


def _wait(predicate, timeout: float = 40.0) -> Any:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@dataclass
class Running:
    assistant: Assistant
    settings: Settings
    log_path: Path
    telegram: TwoBotsTelegramFake
    twilio: TwilioFake

    @property
    def url(self) -> str:
        return self.assistant.rasa_url

    # --- what people and mediators received ------------------------------------------------
    def person_texts(self, chat_id: int) -> list[str]:
        return [c.params.get("text", "") for c in _bot_calls(self.telegram, BOT_TOKEN, chat_id)]

    def amina_texts(self) -> list[str]:
        calls = _bot_calls(self.telegram, MEDIATOR_TOKEN, AMINA_CHAT)
        return [c.params.get("text", "") for c in calls]

    def whatsapp_bodies(self, number: str) -> list[str]:
        return [c.params.get("Body", "") for c in self.twilio.messages(number)]

    def wait_person(self, chat_id: int, needle: str) -> list[str]:
        _wait(lambda: any(needle in t for t in self.person_texts(chat_id)))
        found = self.person_texts(chat_id)
        assert any(needle in t for t in found), (needle, found[-5:])
        return found

    def wait_amina(self, needle: str) -> list[str]:
        _wait(lambda: any(needle in t for t in self.amina_texts()))
        found = self.amina_texts()
        assert any(needle in t for t in found), (needle, found[-5:])
        return found

    def wait_whatsapp(self, number: str, needle: str) -> list[str]:
        _wait(lambda: any(needle in t for t in self.whatsapp_bodies(number)))
        found = self.whatsapp_bodies(number)
        assert any(needle in t for t in found), (needle, found[-5:])
        return found

    # --- what they send ------------------------------------------------------------------------
    def mediator_says(self, chat_id: int, text: str) -> requests.Response:
        body = json.dumps(telegram_text_update(chat_id, text)).encode()
        return self._post_mediator(body)

    def mediator_presses(self, chat_id: int, data: str) -> requests.Response:
        return self._post_mediator(json.dumps(telegram_callback(chat_id, data)).encode())

    def _post_mediator(self, body: bytes, secret: str = MEDIATOR_SECRET) -> requests.Response:
        return requests.post(
            f"{self.url}{MEDIATOR_PATH}",
            data=body,
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
            timeout=15,
        )

    def tracker(self, sender: str) -> list[dict[str, Any]]:
        resp = requests.get(f"{self.url}/conversations/{sender}/tracker", timeout=10)
        resp.raise_for_status()
        return resp.json().get("events", [])

    def ticket_of(self, pseudonym: str):  # noqa: ANN201
        engine = make_engine(self.settings.effective_database_url)
        try:
            with engine.connect() as conn:
                from sqlalchemy import select

                from bot.handoff.models import tickets

                row = conn.execute(
                    select(tickets)
                    .where(tickets.c.pseudonym == pseudonym)
                    .order_by(tickets.c.id.desc())
                    .limit(1)
                ).first()
                return store.Ticket.from_row(row) if row is not None else None
        finally:
            engine.dispose()

    def log(self) -> str:
        return _tail(self.log_path, 200)


def _start(settings: Settings, log_path: Path) -> Assistant:
    return start_assistant(settings, log_path, env={"PSEUDONYM_KEY": PSEUDONYM_KEY})


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """Rasa + action server with both people's channels and the mediators' bot on fakes."""
    if not MODEL.is_file():
        pytest.fail(f"no trained model at {MODEL}: set TEST_MODEL_PATH or run `make train`")
    telegram = TwoBotsTelegramFake().start()
    twilio = TwilioFake(ACCOUNT_SID, AUTH_TOKEN).start()
    var_dir = tmp_path_factory.mktemp("handoff-var")
    mediators = var_dir / "mediators.yml"
    mediators.write_text(MEDIATORS, encoding="utf-8")
    settings = base_settings(
        var_dir,
        twilio.url,
        telegram.url,
        model_path=MODEL,
        rasa_port=free_port(),
        action_port=free_port(),
        mediator_telegram_bot_token=MEDIATOR_TOKEN,
        mediator_telegram_webhook_secret=MEDIATOR_SECRET,
        mediators_file=mediators,
    )
    log_path = var_dir / "servers.log"
    state = Running(_start(settings, log_path), settings, log_path, telegram, twilio)
    yield state
    state.assistant.stop()
    telegram.stop()
    twilio.stop()


def _pseudonym(channel: str, address: str) -> str:
    from bot.pseudonyms import pseudonym

    return pseudonym(channel, address, PSEUDONYM_KEY)


def _accepted(running: Running, sender: str) -> None:
    """The person already answered the privacy notice (a hand-off waits for the answer:
    mediators read what people write; tested with the dialogue in tests/privacy)."""
    from bot.app import services
    from bot.privacy import ACCEPTED, record_consent

    record_consent(services(running.settings).engine, sender, ACCEPTED)


def _ticket_number(texts: list[str]) -> int:
    for text in reversed(texts):  # the newest notification
        match = re.search(r"Nouvelle demande #(\d+)", text)
        if match:
            return int(match.group(1))
    raise AssertionError(f"no new-ticket notification in {texts}")


def _user_texts(running: Running, sender: str) -> list[str]:
    return [e.get("text") for e in running.tracker(sender) if e.get("event") == "user"]


def test_telegram_person_and_telegram_mediator_round_trip(running: Running) -> None:
    chat = 8101
    sender = _pseudonym("telegram", str(chat))
    _accepted(running, sender)
    resp, _ = post_telegram(running.url, telegram_callback(chat, "/request_mediator"))
    assert resp.status_code == 200
    running.wait_person(chat, "médiateur")
    number = _ticket_number(running.wait_amina("Nouvelle demande"))
    offer = [
        c
        for c in _bot_calls(running.telegram, MEDIATOR_TOKEN, AMINA_CHAT)
        if f"#{number}" in c.params.get("text", "")
    ][0]
    markup = offer.params["reply_markup"]
    markup = markup if isinstance(markup, dict) else json.loads(markup)
    assert markup["inline_keyboard"][0][0]["callback_data"] == f"/take {number}"
    assert str(chat) not in offer.params["text"]  # the person's id is never shown
    # Amina presses "Take": she gets the ticket, the person is told.
    assert running.mediator_presses(AMINA_CHAT, f"/take {number}").status_code == 200
    running.wait_amina(f"Vous avez la demande #{number}")
    running.wait_person(chat, "Amina, médiateur·rice du programme PRIM, a pris votre demande")
    # Person -> mediator, not Rasa; "/restart" is relayed too and un-pauses nothing.
    users_before = _user_texts(running, sender)
    post_telegram(running.url, telegram_text_update(chat, "J'ai perdu mon passeport"))
    post_telegram(running.url, telegram_text_update(chat, "/restart"))
    running.wait_amina("restart")
    assert any(f"#{number} Test : J'ai perdu mon passeport" in t for t in running.amina_texts())
    # A voice note: downloaded from the people's bot, uploaded to the mediators' bot.
    voice = {"voice": {"file_id": "VOICE1", "file_unique_id": "u1", "duration": 3}}
    post_telegram(running.url, telegram_update(chat, voice))
    assert _wait(
        lambda: running.telegram.recorded(lambda c: c.path == f"/bot{MEDIATOR_TOKEN}/sendDocument")
    )
    assert running.telegram.recorded(
        lambda c: unquote(c.path) == f"/file/bot{BOT_TOKEN}/voice/file_1.oga"
    )
    time.sleep(1.0)
    assert _user_texts(running, sender) == users_before
    # Mediator -> person through the person's own bot.
    running.mediator_says(AMINA_CHAT, "Bonjour, allez au consulat demain matin.")
    running.wait_person(chat, "👤 Amina : Bonjour, allez au consulat demain matin.")
    running.mediator_says(AMINA_CHAT, "/note passeport perdu, consulat")
    running.wait_amina("Note enregistrée")
    # Close: the person is told, ConversationResumed recorded, rating asked with buttons.
    running.mediator_says(AMINA_CHAT, "/close resolved")
    texts = running.wait_person(chat, "Donnez une note")
    assert any("La conversation avec Amina est terminée" in t for t in texts)
    assert _wait(lambda: any(e.get("event") == "resume" for e in running.tracker(sender)))
    post_telegram(running.url, telegram_callback(chat, '/rate{"rating": 5}'))
    running.wait_person(chat, "Merci pour votre note")
    ticket = running.ticket_of(sender)
    assert (ticket.state, ticket.outcome, ticket.rating) == ("closed", "resolved", 5)
    running.wait_amina("5/5")
    # The bot answers again.
    post_telegram(running.url, telegram_text_update(chat, "bonjour"))
    assert _wait(lambda: "bonjour" in _user_texts(running, sender))


def test_whatsapp_person_and_whatsapp_mediator_round_trip(running: Running) -> None:
    number = "+212633333333"
    sender = _pseudonym("whatsapp", number)
    _accepted(running, sender)
    post_whatsapp(running.url, twilio_params(number, "je veux parler a un humain"))
    running.wait_whatsapp(number, "médiateur")
    offers = running.wait_whatsapp(YOUSSEF_NUMBER, "Nouvelle demande")
    ticket_number = _ticket_number(offers)
    assert number not in "".join(offers)
    # Youssef types the command on WhatsApp (Twilio strips nothing; the channel strips "/").
    post_whatsapp(running.url, twilio_params(YOUSSEF_NUMBER, f"/take {ticket_number}"))
    running.wait_whatsapp(YOUSSEF_NUMBER, f"Vous avez la demande #{ticket_number}")
    running.wait_amina(f"La demande #{ticket_number} a été prise par Youssef")
    running.wait_whatsapp(number, "Youssef, médiateur·rice du programme PRIM")
    # A photo from the person is forwarded with its URL.
    media_url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM1/Media/ME1"
    post_whatsapp(
        running.url,
        twilio_params(
            number, "", NumMedia="1", MediaUrl0=media_url, MediaContentType0="image/jpeg"
        ),
    )
    running.wait_whatsapp(YOUSSEF_NUMBER, "a envoyé un fichier (image)")
    forwarded = [c for c in running.twilio.messages(YOUSSEF_NUMBER) if c.params.get("MediaUrl")]
    assert forwarded and forwarded[-1].params["MediaUrl"] == media_url
    post_whatsapp(running.url, twilio_params(YOUSSEF_NUMBER, "Merci, je regarde le document."))
    running.wait_whatsapp(number, "👤 Youssef : Merci, je regarde le document.")
    post_whatsapp(running.url, twilio_params(YOUSSEF_NUMBER, "close referred"))
    bodies = running.wait_whatsapp(number, "Donnez une note")
    assert "5. ⭐⭐⭐⭐⭐ 5" in bodies[-1]
    post_whatsapp(running.url, twilio_params(number, "4"))  # a number from the list
    running.wait_whatsapp(number, "Merci pour votre note")
    ticket = running.ticket_of(sender)
    assert (ticket.state, ticket.outcome, ticket.rating, ticket.mediator_id) == (
        "closed",
        "referred",
        4,
        "youssef",
    )


def test_unregistered_sender_on_the_mediators_bot_is_refused_and_logged(running: Running) -> None:
    stranger = 9999
    forged = running._post_mediator(
        json.dumps(telegram_text_update(stranger, "/queue")).encode(), secret="wrong"
    )
    assert forged.status_code == 403
    assert running.mediator_says(stranger, "/queue").status_code == 200
    assert running.mediator_says(stranger, "/take 1").status_code == 200
    refusals = _wait(lambda: [c for c in _bot_calls(running.telegram, MEDIATOR_TOKEN, stranger)])
    assert "pas inscrit·e comme médiateur·rice" in refusals[0].params["text"]
    assert _wait(lambda: "unregistered Telegram user" in running.log())
    # On WhatsApp a person typing a mediator command is refused too, and nothing is taken.
    post_whatsapp(running.url, twilio_params("+212644444444", "take 1"))
    refused = _wait(lambda: running.whatsapp_bodies("+212644444444"))
    assert any("mediators only" in b or "réservée aux médiateur" in b for b in refused), refused
    assert _wait(lambda: "unregistered whatsapp sender" in running.log())


def _taken_by_amina(running: Running, chat: int) -> tuple[str, int]:
    """A Telegram person asks for a mediator and Amina takes the ticket: (sender, number)."""
    sender = _pseudonym("telegram", str(chat))
    _accepted(running, sender)
    post_telegram(running.url, telegram_callback(chat, "/request_mediator"))
    assert _wait(lambda: running.ticket_of(sender) is not None)
    number = running.ticket_of(sender).id
    running.wait_amina(f"Nouvelle demande #{number}")
    running.mediator_says(AMINA_CHAT, f"/take {number}")
    running.wait_person(chat, "a pris votre demande")
    return sender, number


def test_session_reset_and_restart_events_do_not_unpause(running: Running) -> None:
    chat = 8102
    sender, number = _taken_by_amina(running, chat)
    # What a session expiry or a /restart does to Rasa's tracker: restart + new session.
    events = [
        {"event": "restart"},
        {"event": "session_started"},
        {"event": "action", "name": "action_listen"},
    ]
    resp = requests.post(
        f"{running.url}/conversations/{sender}/tracker/events", json=events, timeout=10
    )
    assert resp.status_code == 200, resp.text
    before = len(running.person_texts(chat))
    post_telegram(running.url, telegram_text_update(chat, "toujours là ?"))
    running.wait_amina(f"#{number} Test : toujours là ?")
    time.sleep(1.5)
    assert len(running.person_texts(chat)) == before  # the bot stayed silent
    assert "toujours là ?" not in _user_texts(running, sender)
    running.mediator_says(AMINA_CHAT, "/close duplicate")
    running.wait_person(chat, "Donnez une note")


def test_restart_in_the_middle_of_a_handoff_loses_nothing(running: Running) -> None:
    chat = 8103
    sender, number = _taken_by_amina(running, chat)
    # Restart every process (same database and settings, new ports).
    running.assistant.stop()
    running.settings = base_settings(
        running.settings.var_dir,
        running.twilio.url,
        running.telegram.url,
        model_path=MODEL,
        rasa_port=free_port(),
        action_port=free_port(),
        mediator_telegram_bot_token=MEDIATOR_TOKEN,
        mediator_telegram_webhook_secret=MEDIATOR_SECRET,
        mediators_file=running.settings.mediators_file,
    )
    running.assistant = _start(running.settings, running.log_path)
    assert running.ticket_of(sender).state == "assigned"
    post_telegram(running.url, telegram_text_update(chat, "après le redémarrage"))
    running.wait_amina(f"#{number} Test : après le redémarrage")
    running.mediator_says(AMINA_CHAT, "Je suis toujours là.")
    running.wait_person(chat, "👤 Amina : Je suis toujours là.")
    assert "après le redémarrage" not in _user_texts(running, sender)
