"""Answers from the service directory."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import as_int, channel_of, directory_store, end_question, reply_language
from actions.privacy import record_answer
from bot.orientation import Answer, answer_emergency, answer_topic


def _dispatch(dispatcher: CollectingDispatcher, answer: Answer) -> None:
    dispatcher.utter_message(response=answer.response, **answer.variables)
    if answer.offer_mediator:
        dispatcher.utter_message(response="utter_offer_mediator")


class ActionAnswerDirectory(Action):
    """Services for the current topic around the person's place."""

    def name(self) -> str:
        return "action_answer_directory"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        answer = _answer_from_slots(tracker)
        _dispatch(dispatcher, answer)
        record_answer(tracker, answer.response, tracker.get_slot("topic"))
        return [SlotSet("results_offset", answer.shown_until)]


def _answer_from_slots(tracker: Tracker, offset: int = 0) -> Answer:
    """The directory answer for the conversation's topic, city, language, channel, profile."""
    return answer_topic(
        directory_store(),
        tracker.get_slot("topic"),
        tracker.get_slot("city"),
        reply_language(tracker),
        channel=channel_of(tracker),
        audience=tracker.get_slot("profile"),
        offset=offset,
    )


class ActionMoreResults(Action):
    """The next services of the last list ("PLUS", "MORE", "ZID")."""

    def name(self) -> str:
        return "action_more_results"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        answer = _answer_from_slots(tracker, offset=as_int(tracker.get_slot("results_offset")))
        _dispatch(dispatcher, answer)
        return [SlotSet("results_offset", answer.shown_until)]


class ActionEmergency(Action):
    """Emergency numbers at once; the rule then offers a mediator."""

    def name(self) -> str:
        return "action_emergency"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        answer = answer_emergency(
            directory_store(),
            tracker.get_slot("city"),
            reply_language(tracker),
            channel=channel_of(tracker),
        )
        dispatcher.utter_message(response=answer.response, **answer.variables)
        record_answer(tracker, answer.response, "emergency")
        return end_question()
