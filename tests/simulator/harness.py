"""The real pipeline with Rasa in the loop, in one process, for the conversation simulator.

Messages go through :class:`bot.channels.pipeline.Pipeline` as a WhatsApp webhook would
(dedupe, contact, numbered menus, the hand-off interceptor), then to a Rasa agent loaded once,
whose custom actions run in this process (the action server's executor, called with the JSON
the HTTP call would carry). Replies land in a recording delivery that behaves like
WhatsApp's (numbered menus, the 1600-unit limit, no contact: not delivered). The mediators'
desk is the playground's mediator, driven by the hand-off's own desk commands.
No network: SQLite files under a temporary directory.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.channels.base import (
    WHATSAPP_MAX_UNITS,
    IncomingMessage,
    OutgoingMessage,
    numbered_menu,
    split_message,
    utf16_units,
)

log = logging.getLogger(__name__)

PSEUDONYM_KEY = "simulator-key-" + "s" * 24
TURN_TIMEOUT_S = 30.0


@dataclass
class Sent:
    """One message a person received: its text as displayed, its buttons' payloads."""

    text: str
    payloads: list[str]
    parts: list[str]
    source: str  # "bot" (a Rasa turn), "handoff" (the outbox: mediator, notices)
    delivered: bool = True


@dataclass
class Inbox:
    """Everything one person received, in order."""

    messages: list[Sent] = field(default_factory=list)


class RecordingDelivery:
    """WhatsApp's delivery without Twilio: the contact must exist, menus are numbered,
    the remembered buttons are what a typed number maps to."""

    def __init__(self, store: Any, inboxes: dict[str, Inbox]) -> None:
        self.store = store
        self.inboxes = inboxes
        self.source = "bot"

    async def deliver(self, message: OutgoingMessage) -> bool:
        """Record ``message`` for its recipient; False without a contact (as WhatsApp)."""
        payloads = [button.payload for button in message.buttons]
        contact = await asyncio.to_thread(self.store.contact_for_reply, message.recipient, payloads)
        text = numbered_menu(message.text, message.buttons)
        sent = Sent(
            text,
            payloads,
            split_message(text, WHATSAPP_MAX_UNITS),
            self.source,
            delivered=contact is not None,
        )
        self.inboxes.setdefault(message.recipient, Inbox()).messages.append(sent)
        return contact is not None


class InProcessActions:
    """Rasa's action endpoint, answered by rasa_sdk's executor in this process."""

    def __init__(self) -> None:
        from rasa_sdk.executor import ActionExecutor

        self.executor = ActionExecutor()
        self.executor.register_package("actions")
        self.url = "in-process"
        self.headers: dict[str, str] = {}
        self.basic_auth = None
        self.token = None
        self.token_name = "token"
        self.kwargs: dict[str, Any] = {}
        self.cafile = None
        self.params: dict[str, Any] = {}

    async def request(self, method: str = "post", subpath: str | None = None, **kwargs: Any):
        """What the action server would answer to ``kwargs["json"]``."""
        from rasa.utils.endpoints import ClientResponseError
        from rasa_sdk.interfaces import ActionExecutionRejection

        call = json.loads(json.dumps(kwargs["json"]))
        try:
            result = await self.executor.run(call)
        except ActionExecutionRejection as exc:
            body = json.dumps({"error": exc.message, "action_name": exc.action_name})
            raise ClientResponseError(400, "rejected", body) from None
        return json.loads(json.dumps(result or {}))


class Harness:
    """One assistant (Rasa agent, pipeline, hand-off) for many simulated people."""

    def __init__(self, model_path: Path, workdir: Path) -> None:
        self.model_path = model_path
        self.workdir = workdir
        self.inboxes: dict[str, Inbox] = {}
        self._ids = itertools.count(1)
        self.agent: Any = None

    # --- set-up --------------------------------------------------------------------------
    async def start(self) -> Harness:
        """Load the model and wire the pipeline (once; a few seconds)."""
        os.environ.update(self.env())
        import actions.common as common
        from bot.app import reset

        reset()  # the actions' services follow the environment just set
        from rasa.core.agent import Agent
        from rasa.core.tracker_store import SQLTrackerStore
        from rasa.shared.core.domain import Domain

        from bot.channels.pipeline import Pipeline
        from bot.channels.store import ChannelStore
        from bot.rasa.common import DeliveryOutput, rasa_dispatch

        self.engine = common.database()
        self.tracker_engine = common.tracker_database()
        self.store = ChannelStore(self.engine)
        self.delivery = RecordingDelivery(self.store, self.inboxes)
        self.runtime = self._handoff_runtime()
        tracker_store = SQLTrackerStore(
            Domain.empty(), dialect="sqlite", db=str(self.workdir / "tracker.db")
        )
        self.agent = Agent.load(
            str(self.model_path), tracker_store=tracker_store, action_endpoint=InProcessActions()
        )
        tracker_store.domain = self.agent.domain
        self.pipeline = Pipeline(
            "whatsapp",
            self.store,
            self.delivery,
            rasa_dispatch(self.agent.handle_message, DeliveryOutput(self.delivery), "whatsapp"),
            deployment_interceptors(self.engine),
            order=None,
        )
        return self

    def env(self) -> dict[str, str]:
        """Settings of the actions (they read the environment, as the action server does)."""
        (self.workdir / "var").mkdir(parents=True, exist_ok=True)
        mediators = self.workdir / "mediators.yml"
        mediators.write_text("mediators: []\n", encoding="utf-8")
        return {
            "PROFILE": "dev",
            "VAR_DIR": str(self.workdir / "var"),
            "DATABASE_URL": f"sqlite:///{self.workdir / 'assistant.db'}",
            "TRACKER_DB_PATH": str(self.workdir / "tracker.db"),
            "PSEUDONYM_KEY": PSEUDONYM_KEY,
            "MEDIATORS_FILE": str(mediators),
            "PLAYGROUND": "off",
        }

    def _handoff_runtime(self):  # noqa: ANN202
        from datetime import timedelta

        from bot.handoff import relay
        from bot.handoff.mediators import Registry
        from bot.handoff.models import ensure_schema
        from bot.handoff.outbox import Flusher
        from bot.handoff.routing import Policy, SystemClock
        from bot.handoff.service import Handoff
        from bot.playground import playground_mediator

        ensure_schema(self.engine)
        self.mediator = playground_mediator()
        registry = Registry((self.mediator,))
        self.desk_inbox: list[str] = []
        harness = self

        class DeskSender:
            async def send(self, mediator, text, buttons, media) -> bool:  # noqa: ANN001
                harness.desk_inbox.append(text)
                return True

        async def to_person(pseudonym: str, text: str, buttons) -> bool:  # noqa: ANN001
            previous, self.delivery.source = self.delivery.source, "handoff"
            try:
                return await self.delivery.deliver(OutgoingMessage(pseudonym, text, list(buttons)))
            finally:
                self.delivery.source = previous

        handoff = Handoff(
            engine=self.engine,
            registry=lambda: registry,
            clock=SystemClock(),
            policy=Policy(widen_after=timedelta(minutes=10), expire_after=timedelta(hours=72)),
            meanwhile=lambda ticket: None,
            analytics_key=PSEUDONYM_KEY,
            declined=relay._declined,
        )
        flusher = Flusher(
            self.engine, lambda: registry, to_person, {self.mediator.channel: DeskSender()}
        )
        runtime = relay.HandoffRuntime(handoff, flusher)
        runtime.set_resume(self._resume)
        from bot.app import services
        from bot.settings import load_settings

        services(load_settings()).use_runtime(runtime)  # what actions.handoff.runtime() finds
        return runtime

    async def _resume(self, pseudonym: str, language: str | None) -> bool:
        from bot.rasa.mediator_telegram import resume_events

        tracker = await self.agent.tracker_store.get_or_create_tracker(pseudonym)
        for event in resume_events(tracker.get_slot("language"), language):
            tracker.update(event)
        await self.agent.tracker_store.save(tracker)
        return True

    # --- driving ---------------------------------------------------------------------------
    async def person_says(self, sender: str, address: str, **fields: Any) -> list[Sent]:
        """One message of a person through the pipeline; what they received meanwhile."""
        before = len(self.inboxes.setdefault(sender, Inbox()).messages)
        message = IncomingMessage(
            channel="whatsapp",
            address=address,
            sender=sender,
            external_id=f"SM{next(self._ids):032d}",
            **fields,
        )
        status = await self.pipeline.accept(message)
        if status != "queued":
            raise AssertionError(f"message not queued: {status}")
        if not await self.pipeline.queues.join(TURN_TIMEOUT_S):
            raise TimeoutError(f"no answer within {TURN_TIMEOUT_S} s")
        await self.runtime.flush()
        return self.inboxes[sender].messages[before:]

    async def mediator_says(self, text: str) -> list[str]:
        """A desk command or a reply of the (single) mediator; what the desk received."""
        before = len(self.desk_inbox)
        await self.runtime.from_mediator(
            self.mediator,
            IncomingMessage(
                channel=self.mediator.channel,
                address=self.mediator.address,
                sender="desk",
                text=text,
            ),
        )
        return self.desk_inbox[before:]

    async def finish_erasures(self) -> None:
        """What the action server does 3 and 30 s after "delete my data" (time passes)."""
        from bot import privacy

        later = privacy.utcnow() + privacy.FINAL_AFTER
        privacy.complete_erasures(self.engine, self.tracker_engine, final=True, now=later)

    async def stop(self) -> None:
        """Release the databases."""
        await self.runtime.stop()
        self.engine.dispose()
        self.tracker_engine.dispose()


def deployment_interceptors(engine: Any) -> list[Any]:
    """The interceptors a deployment runs (bot.app.interceptors), in its order: the
    hand-off (whose runtime is ours, registered for this database) and, once bot/safety
    adds one there, the danger interceptor."""
    from bot.app import services
    from bot.settings import load_settings

    return services(load_settings()).interceptors()


def has_danger_interceptor(pipeline: Any) -> bool:
    """True when something besides the hand-off looks at messages before Rasa."""
    from bot.handoff.relay import HandoffInterceptor

    return any(not isinstance(i, HandoffInterceptor) for i in pipeline.interceptors)


def units(text: str) -> int:
    """Length as WhatsApp counts it."""
    return utf16_units(text)
