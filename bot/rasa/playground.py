"""The playground as a Rasa input channel: ``GET /webhooks/playground/`` serves the page.

A thin adapter: loopback check, JSON in and out, and the wiring to Rasa (the dialogue and
the hand-off runtime); everything else is in :mod:`bot.playground`. With the
playground off (``PLAYGROUND=off``, real platforms under ``auto``, or ``PROFILE=prod``) the
page answers 404 and nothing else is set up.

Routes, under /webhooks/playground:
  GET  /                         the page            GET /static/<file>   its files
  GET  /api/config               modes, mediator, limits
  POST /api/sessions             {"mode": "whatsapp"|"telegram", "first_name": "..."}
  POST /api/sessions/<id>/messages    {"kind": "text", "text": "..."} (or callback, location,
                                      voice, image, document, sticker, video)
  GET  /api/sessions/<id>/messages?after=N&wait=S   long poll of the person's phone
  POST /api/desk/messages        {"text": "take 1"} or {"data": "/take 1"}
  GET  /api/desk/messages?after=N&wait=S            long poll of the mediators' desk
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.app import services
from bot.playground import (
    CHANNEL,
    CSRF_HEADER,
    CSRF_PLACEHOLDER,
    MAX_BODY_BYTES,
    SECURITY_HEADERS,
    STATIC_TYPES,
    CsrfTokens,
    Playground,
    PlaygroundError,
    build_playground,
    is_json_request,
    load_static,
    local_request_problem,
)
from bot.pseudonyms import key_for
from bot.rasa.common import (
    DRAIN_TIMEOUT_S,
    DeliveryOutput,
    rasa_dispatch,
    settings_from_credentials,
)
from bot.settings import Settings

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[HTTPResponse]]


class PlaygroundOutput(DeliveryOutput):
    """Replies to the playground's people, rendered as their chosen platform would."""

    channel_name = CHANNEL


def _error(status: HTTPStatus, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status, headers=SECURITY_HEADERS)


def _json_body(request: Request) -> Mapping[str, Any]:
    body = request.body or b""
    if len(body) > MAX_BODY_BYTES:
        raise PlaygroundError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large")
    if not is_json_request(request.headers.get("content-type")):
        raise PlaygroundError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON (Content-Type: application/json)"
        )
    try:
        data = json.loads(body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError):
        raise PlaygroundError(HTTPStatus.BAD_REQUEST, "the body is not UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise PlaygroundError(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
    return data


class PlaygroundInput(InputChannel):
    """The playground page and its JSON API, on loopback only."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(settings_from_credentials(credentials, {}))

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.playground: Playground | None = None
        self.output: PlaygroundOutput | None = None
        self.static: dict[str, bytes] = {}
        self.csrf = CsrfTokens()

    def _setup(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        if not self.settings.playground_enabled:
            log.info(
                "playground off (PLAYGROUND=%s, profile %s)",
                self.settings.playground,
                self.settings.profile,
            )
            return
        try:
            self.static = load_static()
            served = services(self.settings)
            store = served.store
            key = key_for(self.settings.pseudonym_key, self.settings.var_dir, self.settings.profile)
            playground = build_playground(store, key)
            delivery = playground.delivery
            self.output = PlaygroundOutput(delivery)
            playground.start(
                rasa_dispatch(on_new_message, self.output, CHANNEL),
                served.interceptors(),
                served.handoff(),
            )
        except Exception:  # noqa: BLE001 (the server still starts; the page says 503)
            log.exception("playground could not start: its page answers 503")
            return
        served.register(CHANNEL, delivery, self.settings)
        self.playground = playground
        if self.settings.has_messaging:
            log.warning(
                "PLAYGROUND=on with real messaging platforms: the playground's desk sees and "
                "may take every waiting request, real people's included"
            )

    def get_output_channel(self) -> PlaygroundOutput | None:
        return self.output

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:  # noqa: C901 (docs/architecture.md)
        self._setup(on_new_message)
        bp = Blueprint("playground_webhook", __name__)

        if not self.settings.playground_enabled:

            @bp.route("/", methods=["GET"])
            async def off(_request: Request) -> HTTPResponse:
                """Say why there is no playground here."""
                return response.text(
                    "The playground is off: it runs in the dev profile only, by default when "
                    "no messaging platform is configured (PLAYGROUND=auto|on|off).",
                    status=HTTPStatus.NOT_FOUND,
                )

            return bp

        async def drain(_app: Any, _loop: Any) -> None:
            if self.playground is not None:
                left = await self.playground.drain(DRAIN_TIMEOUT_S)
                if left:
                    log.warning("playground: %d message(s) left unanswered at shutdown", left)

        bp.listener("before_server_stop")(drain)

        def guarded(handler: Handler) -> Handler:
            """Loopback only, a started playground, clear errors instead of stack traces."""

            async def wrapper(request: Request, **params: str) -> HTTPResponse:
                problem = local_request_problem(request.ip, dict(request.headers))
                if problem is None and handler.__name__ not in ("page", "static"):
                    if not self.csrf.valid(request.headers.get(CSRF_HEADER)):
                        problem = "reload the page (missing or stale page token)"
                if problem is not None:
                    log.warning("playground: request from %s refused: %s", request.ip, problem)
                    return _error(HTTPStatus.FORBIDDEN, problem)
                if self.playground is None:
                    return _error(HTTPStatus.SERVICE_UNAVAILABLE, "the playground did not start")
                try:
                    return await handler(request, self.playground, **params)
                except PlaygroundError as exc:
                    return _error(exc.status, exc.message)
                except Exception:  # noqa: BLE001 (said plainly, logged with the trace)
                    log.exception("playground: %s %s failed", request.method, request.path)
                    return _error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error (see the log)")

            wrapper.__name__ = handler.__name__
            wrapper.__doc__ = handler.__doc__
            return wrapper

        def ok(payload: Mapping[str, Any], status: HTTPStatus = HTTPStatus.OK) -> HTTPResponse:
            return response.json(payload, status=status, headers=SECURITY_HEADERS)

        async def page(_request: Request, _playground: Playground) -> HTTPResponse:
            """The page, with a fresh token for its script's API calls."""
            html = self.static["index.html"].replace(CSRF_PLACEHOLDER, self.csrf.issue().encode())
            return response.raw(
                html, content_type=STATIC_TYPES["index.html"], headers=SECURITY_HEADERS
            )

        async def static(_request: Request, _playground: Playground, name: str) -> HTTPResponse:
            """The page's script and style sheet (no other file is served)."""
            if name not in STATIC_TYPES or name == "index.html":
                return _error(HTTPStatus.NOT_FOUND, "no such file")
            return self._file(name)

        async def config(_request: Request, playground: Playground) -> HTTPResponse:
            """What the page offers: modes, the desk's mediator, limits."""
            return ok(playground.config())

        async def sessions(request: Request, playground: Playground) -> HTTPResponse:
            """A new person's phone."""
            return ok(playground.create_session(_json_body(request)), HTTPStatus.CREATED)

        async def person_send(request: Request, playground: Playground, sid: str) -> HTTPResponse:
            """The person typed, pressed a button, shared a location or sent a file."""
            result = await playground.send(sid, _json_body(request))
            return ok(result, HTTPStatus.ACCEPTED)

        async def person_poll(request: Request, playground: Playground, sid: str) -> HTTPResponse:
            """What the person's phone shows after the cursor (long poll)."""
            args = request.args
            return ok(await playground.messages(sid, args.get("after"), args.get("wait")))

        async def desk_send(request: Request, playground: Playground) -> HTTPResponse:
            """The mediator typed a command or a reply, or pressed a button."""
            result = await playground.desk_send(_json_body(request))
            return ok(result, HTTPStatus.ACCEPTED)

        async def desk_poll(request: Request, playground: Playground) -> HTTPResponse:
            """What the desk shows after the cursor (long poll)."""
            args = request.args
            return ok(await playground.desk_messages(args.get("after"), args.get("wait")))

        bp.add_route(guarded(page), "/", methods=["GET"], name="page")
        bp.add_route(guarded(static), "/static/<name>", methods=["GET"], name="static")
        bp.add_route(guarded(config), "/api/config", methods=["GET"], name="config")
        bp.add_route(guarded(sessions), "/api/sessions", methods=["POST"], name="sessions")
        bp.add_route(
            guarded(person_send),
            "/api/sessions/<sid>/messages",
            methods=["POST"],
            name="person_send",
        )
        bp.add_route(
            guarded(person_poll),
            "/api/sessions/<sid>/messages",
            methods=["GET"],
            name="person_poll",
        )
        bp.add_route(guarded(desk_send), "/api/desk/messages", methods=["POST"], name="desk_send")
        bp.add_route(guarded(desk_poll), "/api/desk/messages", methods=["GET"], name="desk_poll")
        return bp

    def _file(self, name: str) -> HTTPResponse:
        return response.raw(
            self.static[name], content_type=STATIC_TYPES[name], headers=SECURITY_HEADERS
        )
