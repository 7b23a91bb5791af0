"""Without credentials the channels are registered but answer 503 (``make run`` still works)."""

from __future__ import annotations

import pytest
import requests

from bot.runner import Assistant

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("channel", ["whatsapp", "telegram"])
def test_unconfigured_channel_answers_503(assistant: Assistant, channel: str) -> None:
    health = requests.get(f"{assistant.rasa_url}/webhooks/{channel}/", timeout=10)
    assert health.json() == {"status": "ok", "configured": False}
    resp = requests.post(f"{assistant.rasa_url}/webhooks/{channel}/webhook", data=b"x", timeout=10)
    assert resp.status_code == 503
