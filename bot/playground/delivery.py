"""How the playground's panes receive messages: as the chosen platform would show them.

:class:`PlaygroundDelivery` renders the assistant's replies into a person's mailbox
(WhatsApp: numbered menus, 1600-unit parts; Telegram: inline buttons, 4096-unit parts);
:class:`PlaygroundMediatorSender` is the hand-off's sender for the desk pane, and
:class:`DeskNotices` shows the desk pipeline's own notices there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.channels import base
from bot.channels.base import (
    TELEGRAM_MAX_UNITS,
    WHATSAPP_MAX_UNITS,
    Button,
    OutgoingMessage,
    numbered_menu,
    split_message,
)
from bot.channels.store import ChannelStore
from bot.handoff.mediators import Mediator
from bot.playground.hub import MEDIA_KINDS_BY_TYPE, MEDIA_TYPES, WHATSAPP, PlaygroundHub

log = logging.getLogger(__name__)


# --- deliveries ------------------------------------------------------------------------------
def telegram_buttons(buttons: Sequence[Button]) -> list[dict[str, str]]:
    """Inline buttons as the Telegram channel sends them (same callback data)."""
    from bot.channels.telegram_api import callback_data

    return [
        {"title": b.title[:64], "data": callback_data(i, b.payload)} for i, b in enumerate(buttons)
    ]


@dataclass
class PlaygroundDelivery:
    """Renders the assistant's messages as the session's platform would, into its mailbox."""

    hub: PlaygroundHub
    store: ChannelStore

    async def deliver(self, message: OutgoingMessage) -> bool:
        """Put ``message`` in the person's mailbox; False when the session is gone."""
        session = self.hub.for_sender(message.recipient)
        if session is None:
            log.warning("playground: no open session for %s; message dropped", message.recipient)
            return False
        # As on both platforms: the latest buttons are what a number or an index refers to.
        if not message.keep_menu:
            await asyncio.to_thread(
                self.store.set_last_buttons, message.recipient, [b.payload for b in message.buttons]
            )
        box = session.mailbox
        if message.image_url:
            box.put(role="bot", kind=base.IMAGE, text="", image_url=message.image_url)
        if session.mode == WHATSAPP:
            text = numbered_menu(message.text, message.buttons)
            for part in split_message(text, WHATSAPP_MAX_UNITS):
                box.put(role="bot", kind=base.TEXT, text=part)
            return True
        parts = split_message(message.text, TELEGRAM_MAX_UNITS)
        if not parts and message.buttons:
            parts = ["…"]  # Telegram needs some text to carry a keyboard
        buttons = telegram_buttons(message.buttons)
        for number, part in enumerate(parts, start=1):
            last = number == len(parts)
            box.put(role="bot", kind=base.TEXT, text=part, buttons=buttons if last else [])
        return True


@dataclass
class PlaygroundMediatorSender:
    """The hand-off's sender for the playground mediator: its messages land in the desk pane."""

    hub: PlaygroundHub

    async def send(
        self, mediator: Mediator, text: str, buttons: Sequence[Button], media: Any | None
    ) -> bool:
        """Text with the buttons' commands ("Take #12" sends "/take 12"), media described."""
        kind = base.TEXT
        if media is not None:
            # The outbox knows the file's content type; the pane shows what it stands for.
            kind = MEDIA_KINDS_BY_TYPE.get(media.kind, media.kind)
            kind = kind if kind in MEDIA_TYPES else base.DOCUMENT
        self.hub.desk.put(
            role="bot",
            kind=kind,
            text=text,
            buttons=[{"title": b.title[:64], "data": b.payload} for b in buttons],
            media={"kind": kind} if media is not None else None,
        )
        return True


@dataclass
class DeskNotices:
    """The desk pipeline's notices (busy, technical problem) shown in the desk pane."""

    hub: PlaygroundHub

    async def deliver(self, message: OutgoingMessage) -> bool:
        """Show ``message`` in the desk pane."""
        self.hub.desk.put(role="notice", kind=base.TEXT, text=message.text)
        return True
