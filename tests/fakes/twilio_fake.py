"""Fake Twilio Messages API: ``POST /2010-04-01/Accounts/{sid}/Messages.json``."""

from __future__ import annotations

import base64
import itertools
import re
from typing import Any

from tests.fakes.base import Call, Failure, FakeApi

_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages\.json$")


def twilio_error(status: int) -> Failure:
    """A Twilio-style error answer."""
    return Failure(status, {"code": 20000 + status, "message": f"fake {status}", "status": status})


class TwilioFake(FakeApi):
    """Accepts messages from the configured account and records them."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._ids = itertools.count(1)

    def answer(self, call: Call) -> tuple[int, dict[str, Any]]:
        match = _MESSAGES.match(call.path)
        if call.method != "POST" or match is None:
            return 404, {"code": 20404, "message": "not found", "status": 404}
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if (
            match["sid"] != self.account_sid
            or call.headers.get("Authorization") != f"Basic {expected}"
        ):
            return 401, {"code": 20003, "message": "authenticate", "status": 401}
        sid = f"SM{next(self._ids):032x}"
        return 201, {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": call.params.get("To"),
            "from": call.params.get("From"),
            "body": call.params.get("Body"),
            "status": "queued",
            "num_media": "0",
        }

    def messages(self, to: str | None = None) -> list[Call]:
        """Messages sent (optionally to one WhatsApp address), in order."""
        return self.recorded(
            lambda c: (
                c.path.endswith("/Messages.json")
                and (to is None or c.params.get("To") == f"whatsapp:{to}")
            )
        )
