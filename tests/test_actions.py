"""Actions as financial-demo tests them: a Tracker built from a dict, a CollectingDispatcher."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.dialogue import ActionChangeLanguage, ActionFallback
from actions.directory import ActionAnswerDirectory, ActionEmergency
from actions.handoff import ActionHandoff
from actions.language import ValidateSlotMappings

DOMAIN: dict[str, Any] = {"slots": {}, "forms": {}}

END_QUESTION = [
    {"event": "active_loop", "timestamp": None, "name": None},
    {"event": "slot", "timestamp": None, "name": "requested_slot", "value": None},
]


def tracker(
    slots: dict[str, Any] | None = None,
    text: str = "",
    intent: str | None = None,
    language: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    past_intents: list[str] = (),
    channel: str = "rest",
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
    }
    if language is not None:
        latest["language"] = language
    events = [
        {
            "event": "user",
            "text": "...",
            "parse_data": {"intent": {"name": i}},
            "input_channel": channel,
        }
        for i in [*past_intents, intent]
    ]
    return Tracker("person-1", dict(slots or {}), latest, events, False, None, None, channel)


async def run(action, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, DOMAIN)
    return events, dispatcher.messages


async def test_directory_answer_for_a_topic_and_a_city() -> None:
    _, messages = await run(
        ActionAnswerDirectory(), tracker({"topic": "health", "city": "oujda", "language": "ar"})
    )
    assert messages[0]["response"] in ("utter_directory_results", "utter_directory_results_wider")
    assert messages[0]["place"] == "وجدة"
    assert messages[0]["results"].strip()


async def test_directory_answer_fits_whatsapp() -> None:
    _, messages = await run(
        ActionAnswerDirectory(),
        tracker({"topic": "health", "city": "agadir", "language": "fr"}, channel="whatsapp"),
    )
    assert len(messages[0]["results"]) <= 1600 - 200


async def test_no_topic_asks_what_the_person_needs() -> None:
    _, messages = await run(ActionAnswerDirectory(), tracker({"city": "nador"}))
    assert [m["response"] for m in messages] == ["utter_ask_topic"]


async def test_unknown_town_still_gets_national_services() -> None:
    _, messages = await run(
        ActionAnswerDirectory(), tracker({"topic": "residence", "city": "casablanca"})
    )
    assert messages[0]["response"] in (
        "utter_directory_results_wider",
        "utter_directory_results",
        "utter_no_service",
    )


async def test_emergency_numbers_include_the_national_ones() -> None:
    _, messages = await run(ActionEmergency(), tracker({"language": "en"}))
    assert messages[0]["response"] == "utter_emergency"
    assert "19" in messages[0]["results"] and "15" in messages[0]["results"]


async def test_first_misunderstanding_asks_to_rephrase() -> None:
    events, messages = await run(
        ActionFallback(), tracker(intent="nlu_fallback", past_intents=["greet"])
    )
    assert [m["response"] for m in messages] == ["utter_default"]
    assert events == END_QUESTION  # the form's "where?" is over (issue 15)


async def test_second_misunderstanding_in_a_row_hands_off() -> None:
    events, messages = await run(
        ActionFallback(), tracker(intent="nlu_fallback", past_intents=["greet", "nlu_fallback"])
    )
    # The hand-off runs in the action: a FollowupAction made the rules predict the fallback
    # again after it, five hand-offs in one turn until the circuit breaker (issue 15).
    assert [m["response"] for m in messages] == ["utter_handoff_requested"]
    assert events[: len(END_QUESTION)] == END_QUESTION
    assert not [e for e in events if e.get("event") == "followup"]


async def test_handoff_tells_the_person() -> None:
    _, messages = await run(ActionHandoff(), tracker())
    assert [m["response"] for m in messages] == ["utter_handoff_requested"]


@pytest.mark.parametrize(
    ("entities", "expected"),
    [
        ([{"entity": "requested_language", "value": "en"}], "utter_language_changed"),
        ([], "utter_choose_language"),
    ],
)
async def test_change_language(entities, expected) -> None:
    _, messages = await run(ActionChangeLanguage(), tracker(entities=entities))
    assert [m["response"] for m in messages] == [expected]


async def _language_after(current: str | None, **latest: Any) -> str | None:
    action = ValidateSlotMappings()
    result = await action.extract_language(
        CollectingDispatcher(), tracker({"language": current}, **latest), DOMAIN
    )
    return result.get("language", current)


async def test_language_slot_follows_a_clear_message() -> None:
    assert (
        await _language_after(
            None, text="hello i need a doctor", language={"code": "en", "confidence": 0.99}
        )
        == "en"
    )
    assert (
        await _language_after(
            "fr",
            text="hello i need a doctor please",
            language={"code": "en", "confidence": 0.99},
        )
        == "en"
    )


async def test_language_slot_is_sticky_on_ok_and_numbers() -> None:
    unknown = {"code": "und", "confidence": 0.0}
    assert await _language_after("ar", text="ok", language=unknown) == "ar"
    assert await _language_after("es", text="1", language=unknown) == "es"


async def test_requested_language_always_wins() -> None:
    assert (
        await _language_after(
            "fr",
            text="speak english",
            intent="change_language",
            language={"code": "en", "confidence": 0.5},
            entities=[{"entity": "requested_language", "value": "ary-Latn"}],
        )
        == "ary-Latn"
    )


async def test_the_channels_hint_wins_for_a_payload() -> None:
    """An erase command ("mse7") reaches Rasa as /delete, whose language the NLU detects:
    the words' language, detected by the channel, is in the metadata."""
    action = ValidateSlotMappings()
    t = tracker(
        {"language": None},
        text="/delete",
        intent="delete",
        language={"code": "en", "confidence": 0.36},
    )
    t.latest_message["metadata"] = {"language": {"code": "ary-Latn", "confidence": 0.5}}
    result = await action.extract_language(CollectingDispatcher(), t, DOMAIN)
    assert result == {"language": "ary-Latn"}


async def test_missing_detection_keeps_the_language() -> None:
    assert await _language_after("es", text="hola") == "es"


async def test_more_continues_the_list_then_says_there_is_no_more() -> None:
    from actions.directory import ActionMoreResults

    slots = {"topic": "health", "city": "nador", "language": "fr"}
    events, first = await run(ActionAnswerDirectory(), tracker(slots))
    offset = events[0]["value"]
    assert offset >= 1
    seen = first[0]["results"]
    for _ in range(20):  # bounded: the directory is finite
        events, messages = await run(
            ActionMoreResults(), tracker({**slots, "results_offset": offset})
        )
        if messages[0]["response"] == "utter_no_more_results":
            break
        assert messages[0]["response"] == "utter_more_results"
        assert messages[0]["results"] not in seen
        assert events[0]["value"] > offset
        offset = events[0]["value"]
    else:
        pytest.fail("the list never ended")
