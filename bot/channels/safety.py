"""A person in danger comes first: the first interceptor of every channel (docs/safety.md).

Every text a person sends (a media caption too) is assessed before anything else, in any
state of the conversation: first contact, notice pending, inside a form, after a menu,
during a hand-off. When it shows a danger:

* the help goes out at once, in the person's language (bot/safety/help.py);
* risk to life now: a mediator is alerted (an urgent ticket, offered to everyone on duty),
  the person is told so and can say they do not want it; the message goes to the mediator;
* otherwise a mediator is offered with one tap, and the message goes on to Rasa marked
  ``danger`` so that only the answer to the person's own request comes after the help;
* during a queued or assigned hand-off the ticket becomes urgent and the message still
  goes to the mediator;
* an anonymous ``danger_detected`` event is recorded.

No Rasa import.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any

from bot import analytics
from bot.channels.base import CALLBACK, MEDIA_KINDS, TEXT, IncomingMessage, guess_language
from bot.handoff import records
from bot.handoff import tickets as store
from bot.handoff.relay import HandoffRuntime
from bot.handoff.tickets import TicketRequest
from bot.safety import Danger, assess
from bot.safety import help as safety_help
from bot.safety.assess import compiled
from bot.safety.classifier import load as load_classifier

log = logging.getLogger(__name__)


@dataclass
class SafetyInterceptor:
    """Assess every message before the hand-off and Rasa; answer danger first."""

    runtime: HandoffRuntime
    # The current directory (``DirectoryStore.current``), for the numbers.
    directory: Any

    async def intercept(self, message: IncomingMessage) -> bool:
        """True when the message was answered here and must go nowhere else."""
        if message.kind not in (TEXT, CALLBACK, *MEDIA_KINDS) or not message.text.strip():
            return False
        text = message.text
        if text.startswith(safety_help.ASK_MEDIATOR):
            kind, lang = safety_help.parse_ask_mediator(text)
            return await self._ask_mediator(message, kind, lang)
        if text == safety_help.DECLINE:
            return await self._decline(message)
        if text.startswith("/"):
            return False  # another button's payload
        if self.runtime.mediator_at(message.channel, message.address) is not None:
            return False  # a mediator's words about a case are not the mediator in danger
        try:
            danger = assess(text)
        except Exception:  # noqa: BLE001 (never lose a message to the assessment)
            log.exception("danger assessment failed; the message goes on")
            return False
        if danger is None:
            return False
        danger = replace(danger, language=guess_language(text))
        log.warning(
            "danger (%s, %s, rule %s) from %s",
            danger.kind,
            danger.severity,
            danger.rule,
            message.sender,
        )
        message.danger = danger.kind
        consumed = await asyncio.to_thread(self._answer, message, danger)
        await self.runtime.flush()
        return consumed

    # --- the decisions (in a worker thread: database work) ---------------------------------
    def _answer(self, message: IncomingMessage, danger: Danger) -> bool:
        handoff = self.runtime.handoff
        lang = danger.language or "fr"
        with handoff.engine.connect() as conn:
            ticket = store.open_for_person(conn, message.sender)
        directory = self._directory()
        consumed = False
        if ticket is not None:
            handoff.escalate(ticket.id, danger.kind)
            help_ = safety_help.compose(danger, lang, directory, alerted=True, already_open=True)
        elif danger.imminent:
            result = self._open_urgent(message, danger.kind, lang, message.text)
            help_ = safety_help.compose(
                danger,
                lang,
                directory,
                alerted=True,
                on_duty=result.on_duty,
                opens_at=result.opens_at,
            )
            consumed = True  # the message is the ticket's first line, read by the mediator
        else:
            on_duty, opens_at = self._duty()
            help_ = safety_help.compose(
                danger, lang, directory, alerted=False, on_duty=on_duty, opens_at=opens_at
            )
        self._tell(message.sender, help_)
        self._record(message, danger)
        return consumed

    def _open_urgent(
        self, message: IncomingMessage, kind: str | None, lang: str, said: str | None = None
    ) -> Any:
        """An urgent ticket for the person (``said``: the message the mediator reads first)."""
        return self.runtime.handoff.open(
            TicketRequest(
                pseudonym=message.sender,
                reason="emergency",
                channel=message.channel,
                language=lang,
                first_name=message.first_name,
                context=[{"who": "person", "text": said}] if said else (),
                danger=kind,
            )
        )

    def _directory(self) -> Any:
        try:
            return self.directory()
        except Exception:  # noqa: BLE001 (the caring words and the alert go out anyway)
            log.exception("directory not available for the danger help")
            return None

    def _duty(self) -> tuple[bool, str | None]:
        from bot.handoff.routing import opens_at_text

        handoff = self.runtime.handoff
        now = handoff.clock.now()
        registry = handoff.registry()
        if registry.on_duty(now):
            return True, None
        return False, opens_at_text(registry, now)

    def _tell(self, pseudonym: str, help_: safety_help.Help) -> None:
        handoff = self.runtime.handoff
        with handoff.engine.begin() as conn:
            records.enqueue(
                conn, "person", pseudonym, help_.text, handoff.clock.now(), buttons=help_.buttons
            )

    def _record(self, message: IncomingMessage, danger: Danger) -> None:
        handoff = self.runtime.handoff
        try:
            with handoff.engine.begin() as conn:
                person = None
                declined = handoff.declined(conn, message.sender) if handoff.declined else False
                if handoff.analytics_key and not declined:
                    person = analytics.person_key(message.sender, handoff.analytics_key)
                sex, region = _known_of(conn, person)
                analytics.record(
                    conn,
                    "danger_detected",
                    person=person,
                    topic=danger.kind,
                    outcome=danger.severity,
                    language=danger.language,
                    channel=message.channel,
                    sex=sex,
                    region=region,
                )
        except ValueError:
            raise
        except Exception:  # noqa: BLE001 (statistics never delay help)
            log.exception("could not record the danger_detected event")

    # --- the buttons of the help -----------------------------------------------------------
    async def _ask_mediator(self, message: IncomingMessage, kind: str | None, lang: str) -> bool:
        """The offer's button: an urgent ticket for that kind (or the open one escalated);
        the person is told either way."""

        def run() -> None:
            handoff = self.runtime.handoff
            with handoff.engine.connect() as conn:
                ticket = store.open_for_person(conn, message.sender)
            if ticket is not None:
                if kind:
                    handoff.escalate(ticket.id, kind)
                again = safety_help.Help(safety_help.text("alerted_again", lang))
                self._tell(message.sender, again)
                return
            result = self._open_urgent(message, kind, lang)
            self._tell(message.sender, safety_help.opened(lang, result.on_duty, result.opens_at))

        await asyncio.to_thread(run)
        await self.runtime.flush()
        return True

    async def _decline(self, message: IncomingMessage) -> bool:
        """The person does not want the alerted mediator: a queued ticket is withdrawn; a
        mediator who already has it reads the person's answer."""

        def run() -> None:
            handoff = self.runtime.handoff
            with handoff.engine.connect() as conn:
                ticket = store.open_for_person(conn, message.sender)
            language = (ticket.language if ticket else None) or "fr"
            if ticket is not None and ticket.state == "assigned":
                said = safety_help.text("button_decline", language)
                handoff.person_message(ticket, "text", said, None, None)
                return
            handoff.withdraw(message.sender)
            self._tell(message.sender, safety_help.Help(safety_help.text("withdrawn", language)))

        await asyncio.to_thread(run)
        await self.runtime.flush()
        return True


def _known_of(conn: Any, person: str | None) -> tuple[str | None, str | None]:
    """The sex (where the person chose to say) and region of their latest events."""
    if person is None:
        return None, None
    from sqlalchemy import select

    events = analytics.analytics_events
    found: dict[str, str | None] = {}
    for name in ("sex", "region"):
        column = events.c[name]
        found[name] = conn.execute(
            select(column)
            .where(events.c.person_key == person, column.is_not(None))
            .order_by(events.c.id.desc())
            .limit(1)
        ).scalar()
    return found["sex"], found["region"]


def warm() -> None:
    """Compile the patterns and load the classifier now (at start-up), not inside the first
    person's turn."""
    compiled()
    load_classifier()
