"""Reliability: a crashed action server or Rasa server is started again (with backoff, each
restart said); while the action server is down people get the apology, not silence; only
repeated crashes in a short time stop everything, with a sentence.

The end-to-end tests kill the shared assistant's servers (tests/security/conftest.py), so
this file runs after the others; the servers are running again when each test ends.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import pytest

from bot.channels.base import catalogue_text
from bot.runner import Supervisor, _get
from tests.channels.helpers import post_whatsapp, twilio_params
from tests.security.conftest import Secured

_numbers = itertools.count(1)
APOLOGY = catalogue_text("technical_problem", "fr")


def _texts(secured: Secured, number: str) -> list[str]:
    calls = secured.twilio.recorded(lambda c: c.params.get("To") == f"whatsapp:{number}")
    return [str(c.params.get("Body", "")) for c in calls]


def _say(secured: Secured, number: str, text: str, timeout: float = 30.0) -> list[str]:
    """Send one WhatsApp message; the replies it got (waits for a 2 s quiet period)."""
    before = len(_texts(secured, number))
    resp, _ = post_whatsapp(secured.url, twilio_params(number, text))
    assert resp.status_code == 200, resp.text
    deadline = time.monotonic() + timeout
    seen, quiet_since = before, time.monotonic()
    while time.monotonic() < deadline:
        now = len(_texts(secured, number))
        if now != seen:
            seen, quiet_since = now, time.monotonic()
        elif now > before and time.monotonic() - quiet_since > 2.0:
            break
        time.sleep(0.1)
    return _texts(secured, number)[before:]


def _new_number() -> str:
    return f"+2126440{next(_numbers):05d}"


def _kill(secured: Secured, name: str) -> None:
    os.killpg(secured.assistant.processes[name].pid, signal.SIGKILL)
    secured.assistant.processes[name].wait(10)


@pytest.fixture
def supervised(secured: Secured):  # noqa: ANN201
    supervisor = Supervisor(secured.assistant, backoff=(1.0,), say=lambda _text: None)
    supervisor.start(interval=0.2)
    yield secured, supervisor
    supervisor.stop()


@pytest.mark.e2e
def test_action_server_killed_mid_conversation(supervised) -> None:  # noqa: ANN001
    secured, supervisor = supervised
    control = _say(secured, _new_number(), "bonjour")
    assert control and APOLOGY not in control
    person = _new_number()
    assert _say(secured, person, "bonjour") == control
    _kill(secured, "actions")  # e.g. the OOM killer
    # The message sent while it is down is not lost: the person gets an answer, the
    # apology at worst, never silence.
    during = _say(secured, person, "je cherche un médecin à Agadir")
    assert during, "silence while the action server was down"
    deadline = time.monotonic() + 30
    while _get(f"{secured.assistant.action_url}/health") != 200:
        assert time.monotonic() < deadline, "the action server was not started again"
        time.sleep(0.2)
    assert supervisor.restarts == 1 and supervisor.failed() is None
    # Within 30 s of the crash, a new conversation gets the same answer as before it.
    assert _say(secured, _new_number(), "bonjour") == control


@pytest.mark.e2e
def test_rasa_server_killed_is_back_within_30_seconds(supervised) -> None:  # noqa: ANN001
    secured, supervisor = supervised
    control = _say(secured, _new_number(), "bonjour")
    killed = time.monotonic()
    _kill(secured, "rasa")
    while _get(f"{secured.url}/") != 200:
        assert time.monotonic() - killed < 30, "the Rasa server was not back within 30 s"
        time.sleep(0.2)
    assert supervisor.restarts == 1
    answered = _say(secured, _new_number(), "bonjour")
    assert answered == control
    assert time.monotonic() - killed < 60


# --- the supervisor itself, with stand-in processes ---------------------------------------
@dataclass
class Crashing:
    """Stand-in for Assistant: its "servers" exit at once with status 3."""

    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    settings: object = None

    def spawn(self, name: str) -> None:
        self.processes[name] = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])


def test_each_restart_is_said_and_repeated_crashes_stop_with_a_sentence(tmp_path) -> None:  # noqa: ANN001
    from types import SimpleNamespace

    crashing = Crashing(settings=SimpleNamespace(var_dir=tmp_path))
    crashing.spawn("actions")
    said: list[str] = []
    supervisor = Supervisor(
        crashing,
        backoff=(0.0,),
        crash_limit=3,
        window_s=60,
        say=said.append,  # type: ignore[arg-type]
    )
    deadline = time.monotonic() + 20
    while supervisor.failed() is None and time.monotonic() < deadline:
        crashing.processes["actions"].wait(5)
        supervisor.check_once()
    assert supervisor.restarts == 3
    assert sum("restarting it" in line for line in said) == 3
    assert "crashed 4 times within 60 s" in str(supervisor.failed())
    assert "make run" in str(supervisor.failed())
