"""Fake Telegram Bot API: ``POST /bot{token}/{method}`` (sendMessage, answerCallbackQuery...)."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from tests.fakes.base import Call, Failure, FakeApi


def telegram_error(status: int, retry_after: int | None = None) -> Failure:
    """A Bot API error answer (429 with ``retry_after`` for flood control)."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": f"fake {status}"}
    if status == 403:
        body["description"] = "Forbidden: bot was blocked by the user"
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
        body["description"] = f"Too Many Requests: retry after {retry_after}"
    return Failure(status, body)


class TelegramFake(FakeApi):
    """Answers like the Bot API for the configured token and records every call."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self._ids = itertools.count(1)

    def answer(self, call: Call) -> tuple[int, dict[str, Any]]:
        prefix = f"/bot{self.token}/"
        if not call.path.startswith(prefix):
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        method = call.path[len(prefix) :]
        if method == "getMe":
            return 200, {
                "ok": True,
                "result": {
                    "id": 4242,
                    "is_bot": True,
                    "first_name": "Fake",
                    "username": "fake_bot",
                },
            }
        if method in ("sendMessage", "sendPhoto"):
            chat_id = int(call.params.get("chat_id", 0))
            result = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": call.params.get("text", ""),
            }
            return 200, {"ok": True, "result": result}
        return 200, {"ok": True, "result": True}

    def sent(self, chat_id: int | str | None = None, method: str = "sendMessage") -> list[Call]:
        """Calls of ``method`` (optionally to one chat), in order."""
        return self.recorded(
            lambda c: (
                c.path.endswith(f"/{method}")
                and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))
            )
        )


def markup(call: Call) -> dict[str, Any] | None:
    """The reply_markup of a recorded call, decoded."""
    raw = call.params.get("reply_markup")
    if raw is None:
        return None
    return raw if isinstance(raw, dict) else json.loads(raw)
