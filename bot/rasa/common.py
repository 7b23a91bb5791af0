"""What the Rasa adapters share: settings from credentials.yml, the output channel, the
input channels' start-up and health route."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from http import HTTPStatus
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.app import Services, services
from bot.channels.action_errors import watch_turn
from bot.channels.base import IncomingMessage, OutgoingMessage, buttons_from_rasa, guess_language
from bot.channels.order import TurnOrder
from bot.channels.outbound import build_delivery
from bot.channels.pipeline import BUSY, Delivery, Pipeline
from bot.channels.store import ChannelStore
from bot.privacy import install_log_masking_everywhere
from bot.pseudonyms import key_for
from bot.rasa import patches as rasa_patches
from bot.rasa import turns as rasa_turns
from bot.settings import Settings, load_settings

log = logging.getLogger(__name__)

# Constant per-turn work of stock Rasa done once (bot/rasa/patches.py).
rasa_patches.install()
# Every turn ends listening: one failed action never silences the next ones (rasa_turns.py).
rasa_turns.install()

# Rasa's Sanic app (with or without its HTTP API).
RASA_APPS = ("rasa_server", "rasa_core_no_api")
# Body limits per webhook path, applied once the route is known and before Sanic reads the
# body (the runner sets Sanic's own limit, SANIC_REQUEST_MAX_SIZE, for every route).
_BODY_LIMITS: dict[str, int] = {}
_limited_apps: set[str] = set()


def limit_body(path: str, max_bytes: int) -> None:
    """Refuse (413) a request to ``path`` announcing more than ``max_bytes``, unread."""
    _BODY_LIMITS[path] = max_bytes
    from sanic import Sanic
    from sanic.exceptions import SanicException

    for name in RASA_APPS:
        if name in _limited_apps:
            continue
        try:
            app = Sanic.get_app(name)
        except SanicException:  # noqa: S112 (no such app in this process: tests, tools)
            continue

        async def _limit(request: Request, **_context: Any) -> None:
            limit = _BODY_LIMITS.get(request.path)
            stream = getattr(request, "stream", None)
            if limit is not None and stream is not None:
                stream.request_max_size = min(limit, stream.request_max_size)

        app.signal("http.routing.after")(_limit)
        _limited_apps.add(name)


# How long a stopping server waits for queued messages to be answered.
DRAIN_TIMEOUT_S = 20.0
# A channel whose start failed (database not reachable yet, a migration racing with another
# replica) tries again on a webhook, at most this often.
SETUP_RETRY_S = 5.0


def settings_from_credentials(
    credentials: Mapping[str, Any] | None, fields: Mapping[str, str]
) -> Settings:
    """Settings from the environment, overridden by the non-empty credentials.yml values."""
    settings = load_settings()
    overrides = {
        field: str(credentials[key]).strip()
        for key, field in fields.items()
        if credentials and credentials.get(key) not in (None, "")
    }
    return replace(settings, **overrides)


class DeliveryOutput(OutputChannel):
    """Rasa's output channel: every response becomes one message (split only at the limit)."""

    channel_name = "delivery"

    def __init__(self, delivery: Delivery, channel_name: str = "") -> None:
        self.delivery = delivery
        if channel_name:
            self.channel_name = channel_name

    def name(self) -> str:  # type: ignore[override] (Rasa asks the instance)
        """The platform whose response variations Rasa picks (``channel:`` in domain.yml)."""
        return self.channel_name

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """One Rasa response (text, buttons, image, custom) as one platform message."""
        text = str(message.get("text") or "")
        buttons = buttons_from_rasa(message.get("buttons") or message.get("quick_replies"))
        custom = message.get("custom")
        if isinstance(custom, dict) and not text:
            text = str(custom.get("text") or "")
        image = message.get("image")
        attachment = message.get("attachment")
        if attachment and isinstance(attachment, str):
            text = f"{text}\n{attachment}".strip()
        if not text and not buttons and not image:
            log.warning(
                "empty response for %s not sent (keys: %s)",
                recipient_id,
                ", ".join(sorted(message)),
            )
            return
        await self.delivery.deliver(
            OutgoingMessage(
                recipient_id,
                text,
                buttons,
                str(image) if image else None,
                keep_menu=bool(message.get("keep_menu")),
            )
        )

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Plain text, not split on blank lines (unlike Rasa's default)."""
        await self.delivery.deliver(OutgoingMessage(recipient_id, text))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """Text with choices (inline keyboard or numbered list)."""
        await self.delivery.deliver(OutgoingMessage(recipient_id, text, buttons_from_rasa(buttons)))

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """Quick replies are buttons here."""
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """An image by URL."""
        await self.delivery.deliver(OutgoingMessage(recipient_id, "", image_url=image))

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        """An attachment's link as text."""
        await self.delivery.deliver(OutgoingMessage(recipient_id, str(attachment)))

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """Custom payloads: their text, if any, else logged (nothing platform-specific yet)."""
        text = json_message.get("text") if isinstance(json_message, dict) else None
        if text:
            await self.delivery.deliver(OutgoingMessage(recipient_id, str(text)))
        else:
            log.warning("custom payload for %s not sent: no text", recipient_id)


# After the help for a danger (bot/channels/safety.py), only these answers of Rasa follow:
# the directory's answer to the person's own request, or its question for the town.
ANSWERS_AFTER_DANGER = frozenset(
    {
        "utter_directory_results",
        "utter_directory_results_wider",
        "utter_more_results",
        "utter_location_results",
        "utter_no_service",
        "utter_no_more_results",
        "utter_ask_city",
    }
)


class AfterDangerOutput(OutputChannel):
    """Rasa's answers to a message that showed a danger: the help went first, so only the
    answer to the person's own request follows ("And for your request: ..."); greetings,
    menus, fallbacks, the emergency numbers again and the notice wait for a later turn."""

    def __init__(self, output: OutputChannel, lang: str) -> None:
        self.output = output
        self.lang = lang
        self.sent = 0

    @classmethod
    def name(cls) -> str:
        return DeliveryOutput.channel_name

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        action = message.get("utter_action")
        if action not in ANSWERS_AFTER_DANGER:
            log.info("after a danger, %s not sent to %s", action, recipient_id)
            return
        # The help carried this turn's numbered menu: the answer follows without one, and a
        # number typed next still means the help's choice (one numbered menu per turn).
        message = {**message, "buttons": None, "quick_replies": None, "keep_menu": True}
        if self.sent == 0 and message.get("text"):
            message["text"] = f"{and_your_request(self.lang)}\n{message['text']}"
        self.sent += 1
        await self.output.send_response(recipient_id, message)


def and_your_request(lang: str) -> str:
    """ "And for your request:" in ``lang``."""
    from bot.safety.help import text

    return text("and_your_request", lang)


def rasa_dispatch(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    output: OutputChannel,
    channel: str,
) -> Callable[[IncomingMessage], Awaitable[None]]:
    """Hand a message to Rasa under the person's pseudonym (never the platform id)."""

    async def dispatch(message: IncomingMessage) -> None:
        metadata: dict[str, Any] = {"kind": message.kind}
        hint = message.language_hint()
        if hint is not None:
            metadata["language"] = hint  # actions/language.py reads it for a payload
        turn_output = output
        if message.danger:
            metadata["danger"] = message.danger
            turn_output = AfterDangerOutput(output, guess_language(message.text))
        # Rasa carries on silently when a custom action fails: raise, so the queue apologises.
        with watch_turn():
            await on_new_message(
                UserMessage(
                    message.rasa_text(),
                    turn_output,
                    sender_id=message.sender,
                    input_channel=channel,
                    message_id=f"{channel}:{message.external_id}",
                    metadata=metadata,
                )
            )

    return dispatch


def drain_on_stop(blueprint: Blueprint, pipeline: Callable[[], Pipeline | None]) -> None:
    """Answer queued messages before the server stops (bounded), log what is left.

    Also, once the server has started (Rasa and Sanic have configured their loggers by
    then), mask numbers in every log line the process writes (docs/privacy.md).
    """

    async def _mask_logs(_app: Any, _loop: Any) -> None:
        install_log_masking_everywhere()

    async def _drain(_app: Any, _loop: Any) -> None:
        current = pipeline()
        if current is not None:
            left = await current.drain(DRAIN_TIMEOUT_S)
            if left:
                log.warning("%s: %d message(s) left unanswered at shutdown", current.channel, left)

    blueprint.listener("after_server_start")(_mask_logs)
    blueprint.listener("before_server_stop")(_drain)


class PlatformInput(InputChannel):
    """What the WhatsApp and Telegram input channels share: settings from credentials.yml,
    a pipeline started once the server has Rasa's handler (again on a webhook after a
    failed start), a health route, queued messages answered before the server stops.

    A subclass sets ``channel`` and ``credential_fields``, says when it is ``configured``,
    adds its own pipeline options (or builds its pipeline in :meth:`start_pipeline`); its
    webhook route calls :meth:`ready_pipeline` first.
    """

    channel = ""
    credential_fields: Mapping[str, str] = {}

    @classmethod
    def name(cls) -> str:
        return cls.channel

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(settings_from_credentials(credentials, cls.credential_fields))

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pipeline: Pipeline | None = None
        self.delivery: Delivery | None = None
        self.output: DeliveryOutput | None = None
        self.key = ""
        self._on_new_message: Callable[[UserMessage], Awaitable[Any]] | None = None
        self._last_setup = 0.0

    @property
    def configured(self) -> bool:
        """Whether the platform's credentials are set."""
        raise NotImplementedError

    def not_configured(self) -> None:
        """Log why the webhook answers 503 (called at start when not configured)."""
        log.warning("%s channel not configured: its webhook answers 503", self.channel)

    def start_pipeline(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]], store: ChannelStore
    ) -> None:
        """Build the platform's delivery (known to the hand-off too), ``self.output`` and
        ``self.pipeline`` (``self.key`` is set), with the platform's own pipeline options
        (:meth:`pipeline_options`)."""
        delivery = build_delivery(self.channel, self.settings, store)
        assert delivery is not None
        self.delivery = delivery
        self.services().register(self.channel, delivery, self.settings)
        self.output = DeliveryOutput(delivery, self.channel)
        self.pipeline = Pipeline(
            self.channel,
            store,
            delivery,
            rasa_dispatch(on_new_message, self.output, self.channel),
            self.services().interceptors(),
            order=self.turn_order(),
            **self.pipeline_options(),
        )

    def pipeline_options(self) -> dict[str, Any]:
        """The platform's own arguments to :class:`Pipeline` (none by default)."""
        return {}

    def _setup(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        self._on_new_message = on_new_message
        self._last_setup = time.monotonic()
        if not self.configured:
            self.not_configured()
            return
        try:
            store = self.services().store
            self.key = key_for(
                self.settings.pseudonym_key, self.settings.var_dir, self.settings.profile
            )
            self.start_pipeline(on_new_message, store)
        except Exception:  # noqa: BLE001 (the server still starts; the webhook says 503)
            log.exception("%s channel could not start: its webhook answers 503", self.channel)
            self.pipeline = None

    async def ready_pipeline(self) -> Pipeline | None:
        """The pipeline; after a failed start (e.g. the database was down), one more try
        at most every ``SETUP_RETRY_S``. None: the webhook answers 503."""
        if self.pipeline is None and self._on_new_message is not None and self.configured:
            if time.monotonic() - self._last_setup >= SETUP_RETRY_S:
                await asyncio.to_thread(self._setup, self._on_new_message)
        if self.pipeline is None:
            log.warning("%s webhook called but the channel is not configured", self.channel)
        return self.pipeline

    def services(self) -> Services:
        """The process's services for this channel's database (bot.app)."""
        return services(self.settings)

    def turn_order(self) -> TurnOrder:
        """The process's record of answered turns (in Redis in the production profile)."""
        return self.services().order

    def get_output_channel(self) -> OutputChannel | None:
        return self.output

    def start_blueprint(
        self, name: str, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Start the channel; its blueprint with the health route (``GET /``)."""
        self._setup(on_new_message)
        bp = Blueprint(name, __name__)
        drain_on_stop(bp, lambda: self.pipeline)

        @bp.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            """Whether the channel is configured (no secret shown)."""
            return response.json({"status": "ok", "configured": self.pipeline is not None})

        return bp


def accepted(outcome: str, ok: HTTPResponse) -> HTTPResponse:
    """``ok``, or 503 with Retry-After when the person's queue was full (the platform
    retries later; the message was not recorded)."""
    if outcome == BUSY:
        return response.text(
            "busy", status=HTTPStatus.SERVICE_UNAVAILABLE, headers={"Retry-After": "5"}
        )
    return ok
