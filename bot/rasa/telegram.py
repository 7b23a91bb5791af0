"""Telegram as a Rasa input channel: ``POST /webhooks/telegram/webhook``.

Every request must carry ``X-Telegram-Bot-Api-Secret-Token`` equal to
``TELEGRAM_WEBHOOK_SECRET`` (compared in constant time; set it with setWebhook's
``secret_token``); anything else gets 403 and never reaches Rasa. Retried updates (same
update_id) get 200 and are not processed again. Updates without a message (edits, chat
member changes) are acknowledged; button presses are answered (answerCallbackQuery).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Update

from bot.channels.base import IncomingMessage
from bot.channels.telegram import (
    CHANNEL,
    CREDENTIAL_FIELDS,
    MAX_BODY_BYTES,
    SECRET_HEADER,
    callback_mapper,
    describe_unanswered,
    parse_update,
)
from bot.channels.telegram_api import TelegramDelivery
from bot.rasa.common import PlatformInput, accepted, limit_body

log = logging.getLogger(__name__)


class TelegramInput(PlatformInput):
    """Telegram webhook with secret-token check, dedupe and ordered processing."""

    delivery: TelegramDelivery | None  # set by PlatformInput.start_pipeline
    channel = CHANNEL
    credential_fields = CREDENTIAL_FIELDS

    @property
    def configured(self) -> bool:
        """True when the bot token and the webhook secret are both set."""
        return bool(self.settings.telegram_bot_token and self.settings.telegram_webhook_secret)

    def not_configured(self) -> None:
        if self.settings.telegram_bot_token:
            log.error(
                "TELEGRAM_WEBHOOK_SECRET is empty: the Telegram webhook answers 503 "
                "until it is set (unauthenticated updates are never accepted)"
            )
        else:
            log.warning("Telegram channel not configured: its webhook answers 503")

    def pipeline_options(self) -> dict[str, Any]:
        """Button presses are read as their payload and answered (answerCallbackQuery)."""
        return {"reply_mapper": callback_mapper, "acknowledge": self._answer_callback}

    async def _answer_callback(self, message: IncomingMessage) -> None:
        if self.delivery is not None and message.callback_id:
            await self.delivery.sender.answer_callback(message.callback_id)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = self.start_blueprint("telegram_webhook", on_new_message)
        limit_body(f"/webhooks/{self.name()}/webhook", MAX_BODY_BYTES)

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            """Check the secret token, record the update, queue it, answer at once."""
            pipeline, delivery = await self.ready_pipeline(), self.delivery
            if pipeline is None or delivery is None:
                return response.text("not configured", status=HTTPStatus.SERVICE_UNAVAILABLE)
            given = request.headers.get(SECRET_HEADER, "")
            expected = self.settings.telegram_webhook_secret
            if not given or not hmac.compare_digest(
                given.encode("utf-8", "replace"), expected.encode("utf-8")
            ):
                log.warning(
                    "Telegram webhook: %s secret token from %s, refused",
                    "wrong" if given else "missing",
                    request.remote_addr or request.ip,
                )
                return response.text("forbidden", status=HTTPStatus.FORBIDDEN)
            body = request.body or b""
            if len(body) > MAX_BODY_BYTES:
                return response.text("too large", status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            try:
                data = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                log.warning("Telegram webhook: body is not UTF-8 JSON")
                return response.text("invalid JSON", status=HTTPStatus.BAD_REQUEST)
            if not isinstance(data, dict) or type(data.get("update_id")) is not int:
                log.warning("Telegram webhook: JSON without an integer update_id")
                return response.text("not an update", status=HTTPStatus.BAD_REQUEST)
            try:
                update = Update.de_json(data, delivery.sender.bot)
                message = parse_update(update, self.key) if update is not None else None
            except Exception as exc:  # noqa: BLE001 (a malformed update is the sender's error)
                log.warning(
                    "Telegram webhook: malformed update %s (%s)",
                    data.get("update_id"),
                    exc.__class__.__name__,
                )
                return response.text("malformed update", status=HTTPStatus.BAD_REQUEST)
            if message is None:
                log.info(
                    "Telegram update %s: %s, nothing to answer",
                    data["update_id"],
                    describe_unanswered(update) if update else "empty",
                )
                return response.json({"ok": True})
            return accepted(await pipeline.accept(message), response.json({"ok": True}))

        return bp
