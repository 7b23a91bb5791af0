"""Data protection in the dialogue: the notice, consent, "delete my data", the optional
sex question, and the anonymous events the other actions record (docs/privacy.md).

The notice: ``action_session_start`` (overridden here) sets ``privacy_notice_due`` for a
person with no decision in our database; rules then run ``action_privacy_notice`` right
after the answer to the first message, when the reply language is known.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, FollowupAction, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    channel_of,
    database,
    directory_store,
    end_question,
    privacy_key,
    reply_language,
    tracker_database,
)
from bot import analytics, privacy
from bot.settings import load_settings

log = logging.getLogger(__name__)

# Rasa writes the turn's events after the action returns: erase again after that.
ERASE_AGAIN_AFTER_SECONDS = (3.0, 30.0)


def _person(tracker: Tracker) -> str | None:
    """The analytics link of this person, or None when they declined (nothing linkable)."""
    if tracker.get_slot("consent") == privacy.DECLINED or not tracker.sender_id:
        return None
    return analytics.person_key(tracker.sender_id, privacy_key())


def _region(city: str | None) -> str | None:
    if not city:
        return None
    try:
        return directory_store().current().places.region_of(city)
    except Exception:  # noqa: BLE001 (statistics never break an answer)
        return None


def record_event(tracker: Tracker, kind: str, **fields: Any) -> None:
    """Record one anonymous event for this conversation; a failure is logged, never raised."""
    city = fields.pop("city", tracker.get_slot("city"))
    values: dict[str, Any] = {
        "language": tracker.get_slot("language"),
        "city": city,
        "region": _region(city),
        "profile": tracker.get_slot("profile"),
        "channel": channel_of(tracker),
        **fields,
    }
    try:
        analytics.record(database(), kind, person=_person(tracker), **values)
    except ValueError:
        raise  # a programming error: fail loudly in tests, never drop silently
    except Exception:  # noqa: BLE001 (the database may be down; the answer must still go)
        log.exception("could not record analytics event %s", kind)


def _erase_again_later() -> None:
    """Finish pending erasures after Rasa's end-of-turn write (and again a bit later)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return

    def run(final: bool) -> None:
        try:
            privacy.complete_erasures(database(), tracker_database(), final=final)
        except Exception:  # noqa: BLE001 (privacy purge finishes it)
            log.exception("could not finish pending erasures; `privacy purge` will")

    for i, delay in enumerate(ERASE_AGAIN_AFTER_SECONDS):
        final = i == len(ERASE_AGAIN_AFTER_SECONDS) - 1
        loop.call_later(delay, lambda f=final: loop.run_in_executor(None, run, f))


class ActionSessionStart(Action):
    """Rasa's session start, plus: is the privacy notice due for this person?"""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        if (domain.get("session_config") or {}).get("carry_over_slots_to_new_session", True):
            events += [
                SlotSet(name, value)
                for name, value in tracker.slots.items()
                if name
                not in ("consent", "privacy_notice_due", "requested_slot", "handoff_after_notice")
                and value is not None
            ]
        try:
            decision = privacy.consent_of(database(), tracker.sender_id)
        except Exception:  # noqa: BLE001 (show the notice rather than skip it)
            log.exception("could not read the consent decision")
            decision = None
        events += [SlotSet("consent", decision), SlotSet("privacy_notice_due", decision is None)]
        # Person link only once they have not declined.
        person = None
        if decision != privacy.DECLINED and tracker.sender_id:
            person = analytics.person_key(tracker.sender_id, privacy_key())
        try:
            analytics.record(
                database(),
                "conversation_started",
                person=person,
                channel=channel_of(tracker),
            )
        except Exception:  # noqa: BLE001
            log.exception("could not record conversation_started")
        events.append(ActionExecuted("action_listen"))
        return events


class ActionPrivacyNotice(Action):
    """What is kept, for how long, who reads it, how to erase it; accept or decline."""

    def name(self) -> str:
        return "action_privacy_notice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if notice_waits(turn_responses(tracker)) or after_danger(tracker):
            # Already a numbered menu in this turn: a second one would make "1" mean the
            # notice's "I agree" to a person who meant the first menu. Next turn, then.
            return [FollowupAction("action_listen")]
        return show_notice(dispatcher)


def show_notice(dispatcher: CollectingDispatcher) -> list[EventType]:
    """The notice, which ends the turn whatever the rules say: waiting for the answer."""
    dispatcher.utter_message(response="utter_privacy_notice", days=load_settings().retention_days)
    return [SlotSet("privacy_notice_due", False), FollowupAction("action_listen")]


def after_danger(tracker: Tracker) -> bool:
    """The message showed a danger (bot/channels/safety.py): its help was this turn's
    message, and only the answer to the person's request may follow; the notice waits."""
    return bool((tracker.latest_message.get("metadata") or {}).get("danger"))


def turn_responses(tracker: Tracker) -> list[dict[str, Any]]:
    """The bot messages already sent in this turn (since the person's last message)."""
    sent: list[dict[str, Any]] = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        if event.get("event") == "bot":
            sent.append(event)
    return sent[::-1]


def notice_waits(sent: list[dict[str, Any]]) -> bool:
    """True when this turn already carried buttons (one numbered menu per turn)."""
    return any((message.get("data") or {}).get("buttons") for message in sent)


async def _handoff_after_notice(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> list[EventType]:
    """The hand-off asked before the notice was answered: now that the person decided."""
    if not tracker.get_slot("handoff_after_notice"):
        return []
    from actions.handoff import ActionHandoff

    return [
        SlotSet("handoff_after_notice", False),
        *await ActionHandoff().run(dispatcher, tracker, domain),
    ]


class ActionPrivacyAccept(Action):
    """Keep the decision, then ask the optional (skippable) sex question once."""

    def name(self) -> str:
        return "action_privacy_accept"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        privacy.record_consent(database(), tracker.sender_id, privacy.ACCEPTED)
        events = [SlotSet("consent", privacy.ACCEPTED), SlotSet("privacy_notice_due", False)]
        record_event(tracker, "consent", outcome=privacy.ACCEPTED)
        if tracker.get_slot("handoff_after_notice"):
            # Their next message goes to a mediator: no question of ours in between.
            return events + await _handoff_after_notice(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_ask_sex")
        return events


class ActionPrivacyDecline(Action):
    """Keep only the decision; the conversation is erased, answers go on."""

    def name(self) -> str:
        return "action_privacy_decline"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        privacy.forget_declined(database(), tracker_database(), tracker.sender_id, privacy_key())
        analytics.record(
            database(),
            "consent",
            outcome=privacy.DECLINED,
            language=reply_language(tracker),
            channel=channel_of(tracker),
        )
        _erase_again_later()
        dispatcher.utter_message(response="utter_privacy_declined")
        return [
            SlotSet("consent", privacy.DECLINED),
            SlotSet("privacy_notice_due", False),
            *await _handoff_after_notice(dispatcher, tracker, domain),
        ]


class ActionDeleteData(Action):
    """Erase the person everywhere (tracker, tickets, contacts, analytics link); confirm."""

    def name(self) -> str:
        return "action_delete_data"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        # The contact (the address) goes a few seconds later: without it the confirmation
        # below could not be delivered (the person got silence).
        privacy.erase_person(
            database(), tracker_database(), tracker.sender_id, privacy_key(), keep_contact=True
        )
        _erase_again_later()
        dispatcher.utter_message(response="utter_data_deleted")
        # Nothing about them remains: the next message starts over (notice included).
        return [SlotSet("consent", None), SlotSet("privacy_notice_due", False), *end_question()]


class ActionInformSex(Action):
    """Store the optional answer on the person's anonymous events only (skip: nothing)."""

    def name(self) -> str:
        return "action_inform_sex"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        value = next(tracker.get_latest_entity_values("sex"), None)
        person = _person(tracker)
        if value in analytics.SEX_VALUES and person is not None:
            analytics.set_sex(database(), person, value)
        dispatcher.utter_message(response="utter_thanks_sex")
        return []


def record_answer(tracker: Tracker, response: str, topic: str | None) -> None:
    """A directory question was answered (and an unmet need when nothing was found)."""
    if response in ("utter_ask_topic", "utter_ask_city"):
        return  # not a question yet: the dialogue still asks what or where
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    record_event(tracker, "question", intent=intent, topic=topic)
    if response == "utter_no_service":
        record_event(tracker, "unmet_need", intent=intent, topic=topic, unmet_category=topic)
