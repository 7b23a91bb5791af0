"""A Rasa replica restarts during a hand-off: the other replica and the restarted one carry on.

Two replicas of the production profile share PostgreSQL (tickets, relayed messages, the
tracker store) and Redis; the person and the mediator write to either. Reuses the
hand-off's end-to-end helpers (fakes of both Telegram bots, the mediators file).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.runner import free_port
from bot.settings import Settings
from tests.channels.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.channels.conftest import channel_settings as base_settings
from tests.channels.helpers import post_telegram, telegram_callback, telegram_text_update
from tests.conftest import model_and_ports, require_model
from tests.fakes.twilio_fake import TwilioFake
from tests.handoff.test_e2e_handoff import (
    AMINA_CHAT,
    MEDIATOR_SECRET,
    MEDIATOR_TOKEN,
    MEDIATORS,
    Running,
    TwoBotsTelegramFake,
    _accepted,
    _pseudonym,
    _start,
    _user_texts,
    _wait,
)

pytestmark = [pytest.mark.e2e, pytest.mark.services]


def _settings(
    var_dir: Path,
    fakes: tuple[TwilioFake, TwoBotsTelegramFake],
    mediators: Path,
    database_url: str,
    redis_url: str,
) -> Settings:
    twilio, telegram = fakes
    settings = base_settings(
        var_dir,
        twilio.url,
        telegram.url,
        **model_and_ports(),
        mediator_telegram_bot_token=MEDIATOR_TOKEN,
        mediator_telegram_webhook_secret=MEDIATOR_SECRET,
        mediators_file=mediators,
    )
    # rasa_api: these tests read trackers through Rasa's HTTP API, off by default in prod.
    return replace(
        settings, profile="prod", database_url=database_url, redis_url=redis_url, rasa_api="on"
    )


@pytest.fixture
def replicas(
    tmp_path: Path, pg_database_url: str, redis_url: str
) -> Iterator[tuple[Running, Running]]:
    """Two replicas sharing the database and Redis, and the fakes."""
    require_model()
    telegram = TwoBotsTelegramFake().start()
    twilio = TwilioFake(ACCOUNT_SID, AUTH_TOKEN).start()
    mediators = tmp_path / "mediators.yml"
    mediators.write_text(MEDIATORS, encoding="utf-8")
    started: list[Running] = []
    try:
        for name in ("a", "b"):
            var_dir = tmp_path / name
            var_dir.mkdir()
            settings = _settings(var_dir, (twilio, telegram), mediators, pg_database_url, redis_url)
            log_path = var_dir / "servers.log"
            started.append(
                Running(_start(settings, log_path), settings, log_path, telegram, twilio)
            )
        yield started[0], started[1]
    finally:
        for replica in started:
            replica.assistant.stop()
        telegram.stop()
        twilio.stop()


def test_replica_restarted_during_handoff(replicas: tuple[Running, Running]) -> None:
    a, b = replicas
    chat = 9201
    sender = _pseudonym("telegram", str(chat))
    _accepted(a, sender)  # a hand-off waits for the privacy notice's answer (issue 15.4)
    post_telegram(a.url, telegram_callback(chat, "/request_mediator"))
    assert _wait(lambda: a.ticket_of(sender) is not None), a.log()
    number = a.ticket_of(sender).id
    a.wait_amina(f"Nouvelle demande #{number}")
    b.mediator_says(AMINA_CHAT, f"/take {number}")  # taken through the other replica
    a.wait_person(chat, "a pris votre demande")

    # Replica A restarts; meanwhile B serves both sides of the hand-off.
    a.assistant.stop()
    post_telegram(b.url, telegram_text_update(chat, "pendant le redémarrage"))
    b.wait_amina(f"#{number} Test : pendant le redémarrage")
    a.settings = replace(a.settings, rasa_port=free_port(), action_port=free_port())
    a.assistant = _start(a.settings, a.log_path)

    assert a.ticket_of(sender).state == "assigned"
    post_telegram(a.url, telegram_text_update(chat, "après le redémarrage"))
    a.wait_amina(f"#{number} Test : après le redémarrage")
    a.mediator_says(AMINA_CHAT, "Je suis toujours là.")
    a.wait_person(chat, "👤 Amina : Je suis toujours là.")
    # Relayed texts stay out of Rasa's conversation, whichever replica relayed them.
    texts = _user_texts(a, sender)
    assert "pendant le redémarrage" not in texts and "après le redémarrage" not in texts
