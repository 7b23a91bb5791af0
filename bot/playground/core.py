"""The playground itself: what the page talks to, wired to the real pipeline and hand-off.

It is a channel like the others: the page posts what the person does, an
:class:`IncomingMessage` goes through the same :class:`Pipeline` (dedupe, contact, ordered
queue, hand-off interceptor, Rasa), and replies come back through a
:class:`~bot.playground.delivery.PlaygroundDelivery`. The desk pane is a mediator
registered only in playground mode, whose commands go through ``bot/handoff/desk.py`` like
those of the mediators' Telegram bot.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from bot.channels import base
from bot.channels.base import IncomingMessage, clean_text
from bot.channels.pipeline import BUSY, DUPLICATE, Dispatch, Pipeline, numbered_reply
from bot.channels.store import ChannelStore
from bot.playground.delivery import DeskNotices, PlaygroundDelivery, PlaygroundMediatorSender
from bot.playground.hub import (
    CHANNEL,
    DESK_ADDRESS,
    DESK_CHANNEL,
    KINDS,
    MAX_FIRST_NAME_CHARS,
    MAX_TEXT_CHARS,
    MAX_WAIT_S,
    MEDIATOR_ID,
    MEDIATOR_NAME,
    MODES,
    SESSION_RE,
    WHATSAPP,
    PlaygroundError,
    PlaygroundHub,
    Session,
)
from bot.playground.parsing import (
    parse_desk_message,
    parse_person_message,
    read_cursor,
    read_wait,
    string_field,
)
from bot.pseudonyms import pseudonym

log = logging.getLogger(__name__)


@dataclass
class Playground:
    """Everything the page talks to; built by the Rasa adapter, usable without Rasa in tests.

    ``start`` connects it to the dialogue (``dispatch``), the interceptors of the channels
    (the hand-off) and the hand-off runtime of the process (for the desk).
    """

    hub: PlaygroundHub
    store: ChannelStore
    person_pipeline: Pipeline | None = None
    desk_pipeline: Pipeline | None = None
    runtime: Any = None  # bot.handoff.relay.HandoffRuntime
    desk_sender: str = ""
    # How the assistant's replies reach the people's panes (Rasa's output channel uses it).
    delivery: PlaygroundDelivery = field(init=False)

    def __post_init__(self) -> None:
        self.delivery = PlaygroundDelivery(self.hub, self.store)

    def start(self, dispatch: Dispatch, interceptors: list[Any], runtime: Any) -> None:
        """Build the person's and the desk's pipelines; hand the desk to the hand-off."""
        self.runtime = runtime
        if runtime is not None:
            runtime.flusher.mediator_senders[CHANNEL] = PlaygroundMediatorSender(self.hub)
        self.person_pipeline = Pipeline(
            CHANNEL,
            self.store,
            self.delivery,
            self._then_flush(dispatch),
            list(interceptors),
            reply_mapper=self._person_reply,
        )
        self.desk_sender = pseudonym(DESK_CHANNEL, DESK_ADDRESS, self.hub.key)
        self.desk_pipeline = Pipeline(
            DESK_CHANNEL,
            self.store,
            DeskNotices(self.hub),
            self._to_desk,
            [],
            reply_mapper=_desk_reply,
        )

    def _then_flush(self, dispatch: Dispatch) -> Dispatch:
        async def run(message: IncomingMessage) -> None:
            await dispatch(message)
            # A turn may have opened a hand-off in the action server, which leaves the desk's
            # notification to this process: send it now rather than at the scheduler's tick.
            if self.runtime is not None:
                await self.runtime.flush()

        return run

    def _person_reply(self, message: IncomingMessage, payloads: tuple[str, ...]) -> str | None:
        if message.kind == base.CALLBACK:
            from bot.channels.telegram_api import payload_for_callback

            return payload_for_callback(message.text, payloads)
        if self.hub.mode_of(message.address) == WHATSAPP:
            return numbered_reply(message, payloads)
        return None

    async def _to_desk(self, message: IncomingMessage) -> None:
        runtime = self.runtime
        mediator = runtime.handoff.registry().get(MEDIATOR_ID) if runtime is not None else None
        if mediator is None:
            self.hub.desk.put(
                role="notice", kind=base.TEXT, text="Transfert indisponible : voir le journal."
            )
            return
        await runtime.from_mediator(mediator, message)

    # --- what the page calls ---------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """Modes, the desk's mediator and the limits, for the page."""
        from bot.handoff.tickets import OUTCOMES

        return {
            "modes": list(MODES),
            "kinds": list(KINDS),
            "mediator": {"id": MEDIATOR_ID, "name": MEDIATOR_NAME},
            "outcomes": list(OUTCOMES),
            "limits": {"text": MAX_TEXT_CHARS, "wait": MAX_WAIT_S},
        }

    def create_session(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A new person's phone with the chosen platform behaviour."""
        mode = body.get("mode", WHATSAPP)
        if mode not in MODES:
            raise PlaygroundError(
                HTTPStatus.BAD_REQUEST, f"unknown mode {mode!r} (known: {', '.join(MODES)})"
            )
        first_name = clean_text(string_field(body, "first_name", MAX_FIRST_NAME_CHARS)) or None
        session = self.hub.create(mode, first_name)
        log.info("playground: new %s-like session %s", mode, session.sender)
        return session.public()

    def _session(self, session_id: str) -> Session:
        session = self.hub.get(session_id) if SESSION_RE.match(session_id or "") else None
        if session is None:
            raise PlaygroundError(
                HTTPStatus.NOT_FOUND, "no such session (the server restarted?): start a new one"
            )
        return session

    async def send(self, session_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """What the person did (typed, pressed, shared, recorded), through the pipeline."""
        session = self._session(session_id)
        pipeline = self._pipeline(self.person_pipeline)
        message, echo = parse_person_message(session, body)
        outcome = await pipeline.accept(message)
        if outcome == BUSY:
            raise PlaygroundError(HTTPStatus.SERVICE_UNAVAILABLE, "busy: try again in a moment")
        if outcome != DUPLICATE:
            location = None
            if message.kind == base.LOCATION:
                location = {"latitude": message.latitude, "longitude": message.longitude}
            session.mailbox.put(
                role="person",
                kind=message.kind,
                text=echo,
                location=location,
                media={"kind": message.kind} if message.media_url else None,
            )
        return {"status": outcome}

    async def messages(
        self, session_id: str, after: str | None, wait: str | None
    ) -> dict[str, Any]:
        """The person's pane: entries after the cursor (waiting up to ``wait`` seconds)."""
        session = self._session(session_id)
        cursor, seconds = read_cursor(after), read_wait(wait)
        found = await session.mailbox.wait(cursor, seconds)
        return {"messages": found, "last": session.mailbox.last}

    async def desk_send(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A mediator's command, reply or button press, through the desk's pipeline."""
        pipeline = self._pipeline(self.desk_pipeline)
        message, echo = parse_desk_message(body)
        message.sender = self.desk_sender
        outcome = await pipeline.accept(message)
        if outcome == BUSY:
            raise PlaygroundError(HTTPStatus.SERVICE_UNAVAILABLE, "busy: try again in a moment")
        if outcome != DUPLICATE:
            self.hub.desk.put(role="mediator", kind=message.kind, text=echo)
        return {"status": outcome}

    async def desk_messages(self, after: str | None, wait: str | None) -> dict[str, Any]:
        """The desk pane: entries after the cursor (waiting up to ``wait`` seconds)."""
        cursor, seconds = read_cursor(after), read_wait(wait)
        found = await self.hub.desk.wait(cursor, seconds)
        return {"messages": found, "last": self.hub.desk.last}

    @staticmethod
    def _pipeline(pipeline: Pipeline | None) -> Pipeline:
        if pipeline is None:
            raise PlaygroundError(HTTPStatus.SERVICE_UNAVAILABLE, "the playground is starting")
        return pipeline

    async def drain(self, timeout: float) -> int:
        """Finish queued messages on shutdown; how many were left."""
        left = 0
        for pipeline in (self.person_pipeline, self.desk_pipeline):
            if pipeline is not None:
                left += await pipeline.drain(timeout)
        return left


def _desk_reply(message: IncomingMessage, _payloads: tuple[str, ...]) -> str | None:
    # The desk's buttons carry the command itself ("/take 12"), as on the mediators' bot.
    return message.text if message.kind == base.CALLBACK else None


def build_playground(store: ChannelStore, key: str) -> Playground:
    """A playground on ``store`` whose pseudonyms use ``key`` (call ``start`` next)."""
    return Playground(PlaygroundHub(key), store)
