"""Voice notes, images, documents and shared locations sent through WhatsApp or Telegram.

The channels (bot/channels) turn them into ``/share_media{"media_type": ...}`` and
``/share_location{"latitude": ..., "longitude": ...}`` so the answer comes from domain.yml
in the person's language.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import channel_of, directory_store, end_question, reply_language
from bot.orientation import answer_location

log = logging.getLogger(__name__)


def _entity(tracker: Tracker, name: str) -> Any:
    return next(tracker.get_latest_entity_values(name), None)


def _coordinate(value: Any, limit: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


class ActionMedia(Action):
    """Acknowledge media the assistant cannot read (the rule then offers a mediator)."""

    def name(self) -> str:
        return "action_media"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        # The rule then offers a mediator (utter_offer_mediator), so "yes" hands off.
        if _entity(tracker, "media_type") == "voice":
            dispatcher.utter_message(response="utter_voice_note")
        else:
            dispatcher.utter_message(response="utter_media_received")
        return end_question()


class ActionAnswerLocation(Action):
    """Services nearest to a shared location, for the current topic."""

    def name(self) -> str:
        return "action_answer_location"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        latitude = _coordinate(_entity(tracker, "latitude"), 90.0)
        longitude = _coordinate(_entity(tracker, "longitude"), 180.0)
        if latitude is None or longitude is None:
            dispatcher.utter_message(response="utter_ask_city")
            return []
        try:
            answer = answer_location(
                directory_store(),
                tracker.get_slot("topic"),
                latitude,
                longitude,
                reply_language(tracker),
                channel=channel_of(tracker),
                audience=tracker.get_slot("profile"),
            )
        except Exception:  # the person gets an apology, the log gets the trace
            log.exception("location search failed for %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_technical_problem")
            return []
        dispatcher.utter_message(response=answer.response, **answer.variables)
        if answer.offer_mediator:
            dispatcher.utter_message(response="utter_offer_mediator")
        return _place_known(tracker, latitude, longitude)


def _place_known(tracker: Tracker, latitude: float, longitude: float) -> list[dict[str, Any]]:
    """The location answers "where?": the form stops asking, and the nearest town (if the
    person is in the regions) is the conversation's place from now on."""
    events: list[dict[str, Any]] = []
    try:
        town = directory_store().current().places.nearest(latitude, longitude)
    except Exception:  # noqa: BLE001 (the answer is sent; the place is a convenience)
        town = None
    if town is not None and town.geo is not None and _km(town.geo, latitude, longitude) < 60:
        events.append(SlotSet("city", town.id))
    # Always (a no-op outside the form): the rules then read the same whatever was active.
    return [*events, *end_question()]


def _km(geo: Any, latitude: float, longitude: float) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (geo.lat, geo.lon, latitude, longitude))
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 6371.0 * 2 * math.asin(math.sqrt(a))
