"""actions/media.py: voice notes, other media and shared locations (no Rasa server)."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.media import ActionAnswerLocation, ActionMedia
from bot.directory import DirectoryStore
from bot.orientation import answer_location
from bot.settings import load_settings
from tests.test_actions import DOMAIN, tracker


async def _run(action: Any, entities: list[dict[str, Any]], **kwargs: Any) -> list[str]:
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, tracker(entities=entities, **kwargs), DOMAIN)
    return [m.get("response") for m in dispatcher.messages]


async def test_voice_note_is_acknowledged_honestly() -> None:
    responses = await _run(
        ActionMedia(), [{"entity": "media_type", "value": "voice"}], intent="share_media"
    )
    assert responses == ["utter_voice_note"]  # the rule then offers a mediator


async def test_image_document_sticker_get_the_media_answer() -> None:
    for kind in ("image", "document", "sticker", "video", "unsupported"):
        responses = await _run(
            ActionMedia(), [{"entity": "media_type", "value": kind}], intent="share_media"
        )
        assert responses == ["utter_media_received"]


async def test_location_lists_nearest_services_for_the_topic() -> None:
    entities = [{"entity": "latitude", "value": 34.6814}, {"entity": "longitude", "value": -1.9086}]
    dispatcher = CollectingDispatcher()
    await ActionAnswerLocation().run(
        dispatcher, tracker({"topic": "health"}, entities=entities, channel="whatsapp"), DOMAIN
    )
    (message,) = dispatcher.messages
    assert message["response"] == "utter_location_results"
    assert "Oujda" in message["results"]
    assert len(message["results"]) <= 1600 - 200


async def test_location_without_valid_coordinates_asks_for_the_town() -> None:
    entities = [{"entity": "latitude", "value": "nan"}, {"entity": "longitude", "value": 500}]
    assert await _run(ActionAnswerLocation(), entities) == ["utter_ask_city"]


def test_answer_location_defaults_to_orientation_services() -> None:
    store = DirectoryStore(load_settings(environ={}, env_file=None).directory_path)
    answer = answer_location(store, None, 30.4202, -9.5982, "en", channel="telegram")
    assert answer.response == "utter_location_results"
    assert "Agadir" in answer.variables["results"]
