"""Hand the conversation to a community mediator (the work is in bot/handoff)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    channel_of,
    database,
    directory_store,
    end_question,
    reply_language,
    user_intents,
)
from bot.app import services
from bot.handoff.relay import HandoffRuntime
from bot.handoff.tickets import CONTEXT_MESSAGES, TicketRequest

log = logging.getLogger(__name__)

# How long the action waits for the mediators' notifications before answering the person;
# anything not sent by then is sent by the Rasa server's scheduler (it is in the outbox).
NOTIFY_TIMEOUT_S = 5.0
TOPIC_INTENTS = (
    "ask_health",
    "ask_civil_status",
    "ask_schooling",
    "ask_work",
    "ask_residence",
    "ask_emergency",
)


def runtime() -> HandoffRuntime:
    """The hand-off in the action server's process (shares the database with Rasa's)."""
    return services().handoff()


def handoff_reason(tracker: Tracker) -> str:
    """Why a person is handed off: emergency, voice_note, misunderstood or request_mediator."""
    users = [e for e in tracker.events if e.get("event") == "user"]
    for event in reversed(users[-3:]):
        parse = event.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name")
        if intent == "ask_emergency":
            return "emergency"
        if intent == "nlu_fallback":
            return "misunderstood"
        if intent == "share_media":
            kinds = [
                e.get("value")
                for e in parse.get("entities") or []
                if e.get("entity") == "media_type"
            ]
            return "voice_note" if "voice" in kinds else "request_mediator"
        if intent == "request_mediator":
            return "request_mediator"
    return "request_mediator"


def recent_messages(tracker: Tracker, limit: int = CONTEXT_MESSAGES) -> list[dict[str, str]]:
    """The last user and bot messages, oldest first (payloads shown as [what])."""
    found: list[dict[str, str]] = []
    for event in tracker.events:
        kind = event.get("event")
        text = str(event.get("text") or "").strip()
        if kind not in ("user", "bot") or not text:
            continue
        if text.startswith("/"):
            text = f"[{text[1:].split('{')[0]}]"
        found.append({"who": "person" if kind == "user" else "bot", "text": text[:500]})
    return found[-limit:]


def _region(city: str | None) -> str | None:
    if not city:
        return None
    try:
        return directory_store().current().places.region_of(city)
    except Exception:  # noqa: BLE001 (routing falls back to every region)
        return None


def _first_name(sender: str) -> str | None:

    contact = services().store.contact(sender)
    return contact.first_name if contact else None


def _declined(tracker: Tracker) -> bool:
    from bot.privacy import DECLINED, has_declined

    if tracker.get_slot("consent") == DECLINED:
        return True
    return has_declined(database(), tracker.sender_id)


class ActionHandoff(Action):
    """Open a hand-off ticket, notify the mediators, tell the person what happens next."""

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if tracker.get_slot("privacy_notice_due"):
            # Mediators read what the person writes: they see the notice first, and the
            # hand-off follows their answer (actions/privacy.py).
            from actions.privacy import show_notice

            return [
                SlotSet("handoff_after_notice", True),
                *end_question(),
                *show_notice(dispatcher),
            ]
        reason = handoff_reason(tracker)
        try:
            declined = await asyncio.to_thread(_declined, tracker)
            intents = [i for i in user_intents(tracker) if i in TOPIC_INTENTS]
            city = tracker.get_slot("city")
            request = TicketRequest(
                pseudonym=tracker.sender_id,
                reason=reason,
                channel=channel_of(tracker),
                language=reply_language(tracker),
                intent=intents[-1] if intents else None,
                city=city,
                region=_region(city),
                profile=tracker.get_slot("profile"),
                # A person who declined data keeping: only the reason and what routing needs.
                first_name=None
                if declined
                else await asyncio.to_thread(_first_name, tracker.sender_id),
                context=() if declined else recent_messages(tracker),
            )
            handoff = runtime()
            result = await asyncio.to_thread(handoff.handoff.open, request)
        except Exception:  # noqa: BLE001 (the person must get an answer, and we must know)
            log.exception("hand-off could not be opened for %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_technical_problem")
            return []
        try:
            await asyncio.wait_for(handoff.flush(), timeout=NOTIFY_TIMEOUT_S)
        except asyncio.TimeoutError:
            log.warning(
                "mediators' notification for ticket #%d still sending; the scheduler finishes it",
                result.ticket_id,
            )
        if not result.on_duty and result.opens_at:
            dispatcher.utter_message(
                response="utter_handoff_outside_hours", opens_at=result.opens_at
            )
        else:
            dispatcher.utter_message(response="utter_handoff_requested")
        return end_question()
