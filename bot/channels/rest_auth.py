"""Rasa's REST channel behind the API token: ``POST /webhooks/rest/webhook``.

Rasa's own REST channel has no authentication and lets the caller choose the sender (any
pseudonym) while skipping our pipeline. The runner uses this subclass instead whenever
``RASA_API_TOKEN`` is set; the token goes in ``Authorization: Bearer <token>`` or
``?token=<token>`` (as for Rasa's HTTP API). An adapter: it imports Rasa and Sanic.
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


class TokenRestInput(RestInput):
    """The REST channel, answering 401 without the API token."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(load_settings().rasa_api_token)

    def __init__(self, token: str = "") -> None:
        self.token = token

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = super().blueprint(on_new_message)

        @bp.middleware("request")
        async def authenticate(request: Request) -> HTTPResponse | None:
            """Refuse a request without the token before Rasa's handler sees it."""
            if token_matches(
                self.token, request.headers.get("Authorization"), request.args.get("token")
            ):
                return None
            log.warning("REST channel: request without a valid token from %s refused",
                        request.remote_addr or request.ip)  # fmt: skip
            return response.json(
                {"error": "the REST channel needs RASA_API_TOKEN"},
                status=HTTPStatus.UNAUTHORIZED,
            )

        return bp
