"""Fault tests: the assistant keeps its promises when a part of it fails.

- the action server dies mid-conversation: the person gets an apology in their language,
  the runner starts it again, and the same person's next message within 30 s is answered;
- the database is unreachable for a few seconds: a webhook that cannot be recorded is not
  acknowledged (Twilio retries it) and is answered once the database is back;
- Redis is unreachable: a clear error in the log, the person still gets an answer;
- a Rasa replica restarts during a hand-off: see test_handoff_replicas.py.

PostgreSQL and Redis are never stopped (others use them): each test cuts its own TCP proxy.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from bot.channels.base import catalogue_text
from bot.runner import Assistant, Supervisor, _get
from tests.channels.helpers import post_whatsapp, twilio_params
from tests.domain_texts import prefix
from tests.fakes.twilio_fake import TwilioFake
from tests.resilience.conftest import (
    prod_settings,
    proxied,
    proxy_to,
    running,
    server_log,
    settings_for,
)
from tests.resilience.proxy import TcpProxy

pytestmark = pytest.mark.e2e


def _bodies(fake: TwilioFake, number: str) -> list[str]:
    return [c.params.get("Body", "") for c in fake.messages(number)]


def _say(url: str, fake: TwilioFake, number: str, text: str, timeout: float = 40.0) -> list[str]:
    """Send a signed webhook; the new replies once they stop coming (bounded)."""
    before = len(_bodies(fake, number))
    resp, _took = post_whatsapp(url, twilio_params(number, text))
    assert resp.status_code == 200, resp.text
    return _new_replies(fake, number, before, timeout)


def _new_replies(fake: TwilioFake, number: str, before: int, timeout: float = 40.0) -> list[str]:
    fake.wait_for(lambda c: c.params.get("To") == f"whatsapp:{number}", before + 1, timeout)
    time.sleep(1.5)  # a turn may send several messages
    return _bodies(fake, number)[before:]


def _is_results(text: str, lang: str) -> bool:
    return text.startswith(prefix("utter_directory_results", lang)) or text.startswith(
        prefix("utter_directory_results_wider", lang)
    )


def test_action_server_killed_mid_conversation(twilio: TwilioFake, tmp_path: Path) -> None:
    number = "+212600000101"
    with running(settings_for(tmp_path / "var", twilio.url)) as assistant:
        # As `make run`: the runner starts a crashed server again (bot/runner.py).
        supervisor = Supervisor(assistant, backoff=(3.0,), say=lambda _text: None)
        supervisor.start(interval=0.2)
        try:
            assert _say(assistant.rasa_url, twilio, number, "salam"), "no greeting"

            actions = assistant.processes["actions"]
            os.killpg(actions.pid, signal.SIGKILL)  # e.g. the OOM killer
            killed = time.monotonic()
            actions.wait(timeout=10)

            # Sent while it is down: not lost, answered with the apology, never silence.
            replies = _say(assistant.rasa_url, twilio, number, "bghit tbib f nador")
            apology = catalogue_text("technical_problem", "ary-Latn")
            assert apology in replies, replies
            assert "Encountered an exception while running action" in server_log(assistant)

            while _get(f"{assistant.action_url}/health") != 200:
                assert time.monotonic() - killed < 30, "the action server was not started again"
                time.sleep(0.2)
            assert supervisor.restarts == 1 and supervisor.failed() is None
            # The same person's next message, within 30 s of the crash: the right answer (it
            # tripped Rasa's circuit breaker and got nothing: bot/rasa/turns.py).
            assert time.monotonic() - killed < 30
            replies = _say(assistant.rasa_url, twilio, number, "bghit tbib f nador")
            assert replies and _is_results(replies[0], "ary-Latn"), replies
            assert apology not in replies
            assert "Circuit breaker tripped" not in server_log(assistant)
        finally:
            supervisor.stop()


@contextmanager
def prod_cut_off(
    twilio: TwilioFake, tmp_path: Path, pg_database_url: str, redis_url: str, service: str
) -> Iterator[tuple[Assistant, TcpProxy]]:
    """The production profile reaching its ``service`` (database or redis) through a TCP
    proxy that can cut it; the running assistant and the proxy."""
    url, port = (pg_database_url, 5432) if service == "database" else (redis_url, 6379)
    with proxy_to(url, port) as proxy:
        database = proxied(url, proxy) if service == "database" else pg_database_url
        cache = proxied(url, proxy) if service == "redis" else redis_url
        with running(prod_settings(tmp_path / "var", twilio.url, database, cache)) as assistant:
            yield assistant, proxy


@pytest.mark.services
def test_database_unavailable_for_a_few_seconds(
    twilio: TwilioFake, tmp_path: Path, pg_database_url: str, redis_url: str
) -> None:
    number = "+212600000102"
    with prod_cut_off(twilio, tmp_path, pg_database_url, redis_url, "database") as (
        assistant,
        proxy,
    ):
        assert _say(assistant.rasa_url, twilio, number, "bonjour"), "no greeting"
        before = len(_bodies(twilio, number))

        proxy.cut()
        params = twilio_params(number, "je cherche un médecin à nador")
        refused, _ = post_whatsapp(assistant.rasa_url, params)
        # Not recorded, so not acknowledged: Twilio's retry brings it back.
        assert refused.status_code >= 500, refused.status_code
        time.sleep(3)
        proxy.restore()

        # Twilio's retry: the same MessageSid and signature.
        retried, _ = post_whatsapp(assistant.rasa_url, params)
        assert retried.status_code == 200, retried.text
        replies = _new_replies(twilio, number, before)
        # Answered once (the privacy notice may follow the first answer without a menu).
        assert replies and _is_results(replies[0], "fr"), replies
        assert sum(_is_results(r, "fr") for r in replies) == 1, replies
        # Another retry of the same message is recognised: no second answer.
        again, _ = post_whatsapp(assistant.rasa_url, params)
        assert again.status_code == 200
        time.sleep(2)
        assert len(_bodies(twilio, number)) == before + len(replies)


@pytest.mark.services
def test_redis_down_degraded_but_answering(
    twilio: TwilioFake, tmp_path: Path, pg_database_url: str, redis_url: str
) -> None:
    number = "+212600000103"
    with prod_cut_off(twilio, tmp_path, pg_database_url, redis_url, "redis") as (
        assistant,
        proxy,
    ):
        assert _say(assistant.rasa_url, twilio, number, "hello"), "no greeting"

        proxy.cut()
        replies = _say(assistant.rasa_url, twilio, number, "i need a doctor in nador")
        assert replies, "no answer while Redis is down"
        # Rasa cannot take the conversation lock: the person is told, not left waiting.
        assert replies == [catalogue_text("technical_problem", "en")], replies
        log = server_log(assistant)
        assert "Error while acquiring lock" in log, log[-3000:]

        proxy.restore()
        redis.Redis.from_url(proxied(redis_url, proxy), socket_connect_timeout=2).ping()
        replies = _say(assistant.rasa_url, twilio, number, "i need a doctor in nador")
        assert replies and _is_results(replies[0], "en"), replies
