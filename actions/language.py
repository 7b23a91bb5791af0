"""Feed the ``language`` slot from the NLU language detector, with the sticky rule."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction
from rasa_sdk.types import DomainDict

from bot.language import Detection, next_language


class ValidateSlotMappings(ValidationAction):
    """Runs after every user message (Rasa's ``action_validate_slot_mappings``)."""

    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def extract_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Keep, switch or set the reply language after this message."""
        message = tracker.latest_message or {}
        # A payload in place of typed words (an erase command, bot/channels/base.py): the
        # channel detected the words; the NLU only saw the payload.
        detected = (message.get("metadata") or {}).get("language") or message.get("language")
        detected = detected if isinstance(detected, dict) else {}
        detection = Detection(
            code=str(detected.get("code") or "und"),
            confidence=float(detected.get("confidence") or 0.0),
        )
        intent = (message.get("intent") or {}).get("name")
        requested = next(
            (
                e.get("value")
                for e in message.get("entities") or []
                if e.get("entity") == "requested_language"
            ),
            None,
        )
        current = tracker.get_slot("language")
        new = next_language(current, detection, intent=intent, requested=requested)
        return {"language": new} if new != current else {}
