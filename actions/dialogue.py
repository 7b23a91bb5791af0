"""Fallback and language switching."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import end_question, user_intents
from bot.orientation import should_hand_off


class ActionFallback(Action):
    """Ask to rephrase; after two misunderstood turns in a row, hand off to a person."""

    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if should_hand_off(user_intents(tracker)):
            # The hand-off in this action, not as a FollowupAction: after a followed-up
            # action_handoff the rules predicted action_fallback again, which handed off
            # again, five times in one turn until Rasa's circuit breaker (issue 15).
            from actions.handoff import ActionHandoff

            return [*end_question(), *await ActionHandoff().run(dispatcher, tracker, domain)]
        dispatcher.utter_message(response="utter_default")
        return end_question()


class ActionChangeLanguage(Action):
    """Confirm the new language (already set by the slot mapping), or ask which one."""

    def name(self) -> str:
        return "action_change_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        requested = next(tracker.get_latest_entity_values("requested_language"), None)
        if requested:
            dispatcher.utter_message(response="utter_language_changed")
        else:
            dispatcher.utter_message(response="utter_choose_language")
        return []
