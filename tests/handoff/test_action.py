"""The hand-off action: reason, context, consent, outside hours (a Tracker from a dict)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.handoff as action_module
from actions.handoff import ActionHandoff, handoff_reason, recent_messages
from bot.handoff import tickets as store


def _tracker(
    intents: list[tuple[str, str]],
    slots: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
) -> Tracker:
    events: list[dict[str, Any]] = []
    for text, intent in intents:
        events.append(
            {
                "event": "user",
                "text": text,
                "input_channel": "telegram",
                "parse_data": {"intent": {"name": intent}, "entities": entities or []},
            }
        )
        events.append({"event": "bot", "text": f"réponse à {text}"})
    latest = events[-2]["parse_data"] if events else {}
    return Tracker("person-9", dict(slots or {}), latest, events, False, None, None, "telegram")


@pytest.mark.parametrize(
    ("intents", "entities", "reason"),
    [
        ([("je veux un mediateur", "request_mediator")], None, "request_mediator"),
        ([("urgence", "ask_emergency"), ("oui", "affirm")], None, "emergency"),
        (
            [("/share_media", "share_media"), ("oui", "affirm")],
            [{"entity": "media_type", "value": "voice"}],
            "voice_note",
        ),
        ([("blabla", "nlu_fallback"), ("blublu", "nlu_fallback")], None, "misunderstood"),
    ],
)
def test_reason(intents, entities, reason) -> None:  # noqa: ANN001
    assert handoff_reason(_tracker(intents, entities=entities)) == reason


def test_recent_messages_keeps_the_last_ten() -> None:
    tracker = _tracker([(f"message {i}", "greet") for i in range(8)])
    context = recent_messages(tracker)
    assert len(context) == 10 and context[-1] == {"who": "bot", "text": "réponse à message 7"}


@pytest.fixture
def patched(runtime, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setattr(action_module, "runtime", lambda: runtime)
    monkeypatch.setattr(
        action_module, "_declined", lambda tracker: tracker.get_slot("consent") == "declined"
    )
    monkeypatch.setattr(action_module, "_first_name", lambda sender: "Awa")
    monkeypatch.setattr(action_module, "_region", lambda city: "souss-massa" if city else None)
    return runtime


async def _run(tracker: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    await ActionHandoff().run(dispatcher, tracker, {})
    return dispatcher.messages


async def test_opens_a_ticket_with_context_and_notifies(patched, recorder, engine) -> None:  # noqa: ANN001, E501
    tracker = _tracker(
        [("santé", "ask_health"), ("je veux un mediateur", "request_mediator")],
        slots={"language": "fr", "city": "agadir", "profile": "migrant"},
    )
    messages = await _run(tracker)
    assert [m["response"] for m in messages] == ["utter_handoff_requested"]
    with engine.connect() as conn:
        ticket = store.open_for_person(conn, "person-9")
    assert (ticket.reason, ticket.intent, ticket.city, ticket.region, ticket.first_name) == (
        "request_mediator",
        "ask_health",
        "agadir",
        "souss-massa",
        "Awa",
    )
    assert ticket.context[0] == {"who": "person", "text": "santé"}
    assert recorder.to("amina")


async def test_declined_person_keeps_only_the_reason(patched, engine) -> None:  # noqa: ANN001
    tracker = _tracker(
        [("je veux un mediateur", "request_mediator")],
        slots={"language": "en", "consent": "declined"},
    )
    await _run(tracker)
    with engine.connect() as conn:
        ticket = store.open_for_person(conn, "person-9")
    assert ticket.context == () and ticket.first_name is None


async def test_outside_hours_says_when(patched, clock, registry) -> None:  # noqa: ANN001
    office = type(registry)(tuple(m for m in registry.mediators if m.id == "amina"))
    patched.handoff.registry = lambda: office
    clock.current = datetime(2026, 11, 23, 19, 0, tzinfo=timezone.utc)
    messages = await _run(_tracker([("humain", "request_mediator")], slots={"language": "fr"}))
    assert messages[0]["response"] == "utter_handoff_outside_hours"
    assert messages[0]["opens_at"] == "24/11 09:00"
