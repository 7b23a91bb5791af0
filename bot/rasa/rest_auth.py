"""Rasa's REST channel with our policy: ``POST /webhooks/rest/webhook``.

Rasa's own REST channel has no authentication and lets the caller choose the sender (any
pseudonym) while skipping our pipeline (privacy notice, dedupe, hand-off). This subclass,
registered in credentials.yml instead of ``rest:``, answers 404 when ``REST_CHANNEL`` is off
(the default in prod) and 401 without ``RASA_API_TOKEN`` when one is set, given as
``Authorization: Bearer <token>`` or ``?token=<token>`` (as for Rasa's HTTP API). The policy
lives here, so it holds however Rasa is started (``make run`` or systemd). An adapter.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.settings import load_settings

log = logging.getLogger(__name__)


def token_matches(expected: str, authorization: str | None, query_token: str | None) -> bool:
    """True when the request carries ``expected`` (constant-time comparison)."""
    if not expected:
        return False
    given = query_token or ""
    if authorization and authorization.lower().startswith("bearer "):
        given = authorization[7:].strip()
    return hmac.compare_digest(given.encode(), expected.encode())


def refusal(
    enabled: bool, token: str, authorization: str | None, query_token: str | None
) -> tuple[HTTPStatus, str] | None:
    """Why a REST request is refused (status and reason), None when it may go on."""
    if not enabled:
        return HTTPStatus.NOT_FOUND, "the REST channel is off (REST_CHANNEL)"
    if token and not token_matches(token, authorization, query_token):
        return HTTPStatus.UNAUTHORIZED, "the REST channel needs RASA_API_TOKEN"
    return None


class TokenRestInput(RestInput):
    """The REST channel: off, open on loopback (dev, no token) or behind the token."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        settings = load_settings()
        return cls(settings.rasa_api_token, settings.rest_enabled)

    def __init__(self, token: str = "", enabled: bool = True) -> None:
        self.token = token
        self.enabled = enabled

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = super().blueprint(on_new_message)

        @bp.middleware("request")
        async def authenticate(request: Request) -> HTTPResponse | None:
            """Refuse before Rasa's handler sees the request."""
            refused = refusal(
                self.enabled,
                self.token,
                request.headers.get("Authorization"),
                request.args.get("token"),
            )
            if refused is None:
                return None
            status, reason = refused
            if status == HTTPStatus.UNAUTHORIZED:
                log.warning(
                    "REST channel: request without a valid token from %s refused",
                    request.remote_addr or request.ip,
                )
            return response.json({"error": reason}, status=status)

        return bp
