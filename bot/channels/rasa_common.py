"""What the two Rasa adapters share: settings from credentials.yml, the output channel."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import Blueprint

from bot.channels import rasa_patches
from bot.channels.action_errors import watch_turn
from bot.channels.base import IncomingMessage, OutgoingMessage, buttons_from_rasa
from bot.channels.pipeline import Delivery, Pipeline
from bot.privacy import install_log_masking_everywhere
from bot.settings import Settings, load_settings

log = logging.getLogger(__name__)

# Constant per-turn work of stock Rasa done once (bot/channels/rasa_patches.py).
rasa_patches.install()

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

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery

    @classmethod
    def name(cls) -> str:
        return cls.channel_name

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
            log.warning("empty response for %s not sent (keys: %s)", recipient_id,
                        ", ".join(sorted(message)))  # fmt: skip
            return
        await self.delivery.deliver(
            OutgoingMessage(recipient_id, text, buttons, str(image) if image else None)
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


def rasa_dispatch(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    output: OutputChannel,
    channel: str,
) -> Callable[[IncomingMessage], Awaitable[None]]:
    """Hand a message to Rasa under the person's pseudonym (never the platform id)."""

    async def dispatch(message: IncomingMessage) -> None:
        # Rasa carries on silently when a custom action fails: raise, so the queue apologises.
        with watch_turn():
            await on_new_message(
                UserMessage(
                    message.rasa_text(),
                    output,
                    sender_id=message.sender,
                    input_channel=channel,
                    message_id=f"{channel}:{message.external_id}",
                    metadata={"kind": message.kind},
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
                log.warning("%s: %d message(s) left unanswered at shutdown",
                            current.channel, left)  # fmt: skip

    blueprint.listener("after_server_start")(_mask_logs)
    blueprint.listener("before_server_stop")(_drain)
