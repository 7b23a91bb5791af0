"""Privacy actions and the analytics hooks of the directory actions, without a model."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

import actions.privacy as ap
from actions.directory import ActionAnswerDirectory, ActionEmergency
from bot import analytics, privacy
from bot.analytics import analytics_events
from tests.privacy.conftest import KEY

DOMAIN: dict[str, Any] = {
    "slots": {},
    "forms": {},
    "session_config": {"carry_over_slots_to_new_session": True},
}


@pytest.fixture
def db(engine, monkeypatch):
    monkeypatch.setattr(ap, "database", lambda: engine)
    monkeypatch.setattr(ap, "tracker_database", lambda: None)
    monkeypatch.setattr(ap, "privacy_key", lambda: KEY)
    return engine


def tracker(
    sender: str = "wa-p1",
    slots: dict | None = None,
    intent: str | None = "greet",
    entities: list | None = None,
) -> Tracker:
    latest = {"text": "x", "intent": {"name": intent}, "entities": entities or []}
    events = [{"event": "user", "text": "x", "parse_data": latest, "input_channel": "whatsapp"}]
    return Tracker(sender, dict(slots or {}), latest, events, False, None, None, "whatsapp")


async def run(action, t: Tracker):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, DOMAIN)
    return events, [m.get("response") for m in dispatcher.messages], dispatcher.messages


def stored(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(analytics_events)).mappings()]


def slots_of(events) -> dict:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


async def test_session_start_makes_the_notice_due_for_a_new_person(db) -> None:
    events, _, _ = await run(ap.ActionSessionStart(), tracker(slots={"language": "en"}))
    assert events[0]["event"] == "session_started" and events[-1]["name"] == "action_listen"
    slots = slots_of(events)
    assert slots["privacy_notice_due"] is True and slots["consent"] is None
    assert slots["language"] == "en"  # carried over
    kinds = [e["kind"] for e in stored(db)]
    assert kinds == ["conversation_started"]


async def test_session_start_remembers_a_decision(db) -> None:
    privacy.record_consent(db, "wa-p1", privacy.DECLINED)
    events, _, _ = await run(ap.ActionSessionStart(), tracker())
    assert slots_of(events) == {"consent": "declined", "privacy_notice_due": False}
    assert stored(db)[0]["person_key"] is None  # nothing linkable for who declined


async def test_notice_carries_the_retention_days(db, monkeypatch) -> None:
    monkeypatch.setenv("RETENTION_DAYS", "30")
    events, responses, messages = await run(ap.ActionPrivacyNotice(), tracker())
    assert responses == ["utter_privacy_notice"] and messages[0]["days"] == 30
    assert slots_of(events) == {"privacy_notice_due": False}


async def test_accept_keeps_the_decision_and_asks_the_optional_question(db) -> None:
    events, responses, _ = await run(ap.ActionPrivacyAccept(), tracker())
    assert privacy.consent_of(db, "wa-p1") == "accepted"
    assert responses == ["utter_ask_sex"]
    assert slots_of(events)["consent"] == "accepted"
    assert [(e["kind"], e["outcome"]) for e in stored(db)] == [("consent", "accepted")]


async def test_decline_unlinks_and_keeps_only_the_decision(db) -> None:
    person = analytics.person_key("wa-p1", KEY)
    analytics.record(db, "question", person=person, topic="health")
    events, responses, _ = await run(ap.ActionPrivacyDecline(), tracker())
    assert responses == ["utter_privacy_declined"]
    assert privacy.has_declined(db, "wa-p1")
    assert all(e["person_key"] is None for e in stored(db))
    assert slots_of(events)["consent"] == "declined"


async def test_delete_erases_and_confirms(db) -> None:
    privacy.record_consent(db, "wa-p1", privacy.ACCEPTED)
    analytics.record(db, "question", person=analytics.person_key("wa-p1", KEY), topic="work")
    events, responses, _ = await run(ap.ActionDeleteData(), tracker(intent="delete_data"))
    assert responses == ["utter_data_deleted"]
    assert privacy.consent_of(db, "wa-p1") is None
    assert stored(db)[0]["person_key"] is None and stored(db)[0]["topic"] == "work"
    assert slots_of(events) == {
        "consent": None,
        "privacy_notice_due": False,
        "requested_slot": None,
    }


async def test_delete_confirmation_still_reaches_the_person(db) -> None:
    """Issue 15 (3): the erasure removed the address before the confirmation was sent, so
    "please delete all my data" got silence. The address now goes a few seconds later."""
    from datetime import datetime, timedelta, timezone

    from bot.channels.base import OutgoingMessage
    from bot.channels.store import ChannelStore
    from bot.channels.twilio_api import WhatsAppDelivery

    class Sender:
        sent: list[dict] = []

        async def send(self, address: str, **fields: Any) -> str:
            self.sent.append({"to": address, **fields})
            return "SM1"

    store = ChannelStore(db)
    store.accept_inbound(
        "whatsapp", "SM0", datetime.now(timezone.utc), "wa-p1", "+212612345678", "Zineb"
    )
    _, responses, _ = await run(ap.ActionDeleteData(), tracker(intent="delete_data"))
    sender = Sender()
    delivered = await WhatsAppDelivery(sender, store).deliver(
        OutgoingMessage("wa-p1", "Vos données sont effacées.")
    )
    assert responses == ["utter_data_deleted"] and delivered
    assert sender.sent[0]["to"] == "+212612345678"
    # The run 3 s later keeps the address (a slow turn's confirmation may still be on its
    # way); the final run 30 s later removes it.
    privacy.complete_erasures(db, None, now=privacy.utcnow() + timedelta(seconds=3))
    assert store.contact("wa-p1") is not None
    privacy.complete_erasures(db, None, final=True, now=privacy.utcnow() + timedelta(seconds=30))
    assert store.contact("wa-p1") is None


@pytest.mark.parametrize("value", ["female", "male", "other", "prefer_not_to_say"])
async def test_sex_answer_goes_to_analytics_only(db, value) -> None:
    person = analytics.person_key("wa-p1", KEY)
    analytics.record(db, "question", person=person, topic="health")
    t = tracker(
        slots={"consent": "accepted"},
        intent="inform_sex",
        entities=[{"entity": "sex", "value": value}],
    )
    events, responses, _ = await run(ap.ActionInformSex(), t)
    assert responses == ["utter_thanks_sex"] and events == []
    assert stored(db)[0]["sex"] == value


@pytest.mark.parametrize("slots", [{"consent": "accepted"}, {"consent": "declined"}])
async def test_skipping_or_having_declined_stores_nothing(db, slots) -> None:
    analytics.record(db, "question", person=analytics.person_key("wa-p1", KEY), topic="work")
    value = "skip" if slots["consent"] == "accepted" else "female"
    t = tracker(slots=slots, intent="inform_sex", entities=[{"entity": "sex", "value": value}])
    _, responses, _ = await run(ap.ActionInformSex(), t)
    assert responses == ["utter_thanks_sex"]
    assert stored(db)[0]["sex"] is None


async def test_directory_answer_records_a_question(db) -> None:
    t = tracker(slots={"topic": "health", "city": "oujda", "language": "fr"}, intent="ask_health")
    await run(ActionAnswerDirectory(), t)
    (event,) = stored(db)
    assert event["kind"] == "question" and event["topic"] == "health"
    assert event["city"] == "oujda" and event["region"] and event["language"] == "fr"
    assert event["channel"] == "whatsapp" and event["intent"] == "ask_health"
    assert event["person_key"] == analytics.person_key("wa-p1", KEY)


async def test_no_service_records_an_unmet_need(db, monkeypatch) -> None:
    from bot.orientation import Answer

    monkeypatch.setattr(
        "actions.directory.answer_topic",
        lambda *a, **k: Answer("utter_no_service", {"place": "Figuig"}, offer_mediator=True),
    )
    t = tracker(slots={"topic": "work", "city": "figuig", "language": "ar"}, intent="ask_work")
    await run(ActionAnswerDirectory(), t)
    kinds = {e["kind"]: e for e in stored(db)}
    assert set(kinds) == {"question", "unmet_need"}
    assert kinds["unmet_need"]["unmet_category"] == "work"


async def test_asking_where_is_not_yet_a_question(db) -> None:
    await run(ActionAnswerDirectory(), tracker(slots={"city": "nador"}))
    assert stored(db) == []


async def test_emergency_is_counted_and_declined_people_are_not_linked(db) -> None:
    t = tracker(slots={"city": "agadir", "consent": "declined"}, intent="ask_emergency")
    await run(ActionEmergency(), t)
    (event,) = stored(db)
    assert event["topic"] == "emergency" and event["person_key"] is None


async def test_a_database_failure_never_blocks_the_answer(monkeypatch) -> None:
    def down():
        raise OSError("database down")

    monkeypatch.setattr(ap, "database", down)
    monkeypatch.setattr(ap, "privacy_key", lambda: KEY)
    t = tracker(slots={"topic": "health", "city": "oujda"}, intent="ask_health")
    _, responses, _ = await run(ActionAnswerDirectory(), t)
    assert responses and responses[0].startswith("utter_directory_results")


# --- issue 15: one numbered menu per turn, the notice before a hand-off -------------------
def _turn_with(bot_messages: list[dict]) -> Tracker:
    latest = {"text": "salut", "intent": {"name": "greet"}, "entities": []}
    events = [
        {"event": "user", "text": "salut", "parse_data": latest},
        *({"event": "bot", "text": m.get("text"), "data": m} for m in bot_messages),
    ]
    return Tracker(
        "wa-p1", {"privacy_notice_due": True}, latest, events, False, None, None, "whatsapp"
    )


async def test_notice_waits_when_the_turn_already_had_a_menu(db) -> None:
    menu = {
        "text": "De quoi avez-vous besoin ?",
        "buttons": [{"title": "Santé", "payload": "/ask_health"}],
    }
    events, responses, _ = await run(ap.ActionPrivacyNotice(), _turn_with([menu]))
    assert responses == []  # "1" must keep meaning Health
    assert slots_of(events) == {}  # still due: shown with the next answer without a menu
    events, responses, _ = await run(ap.ActionPrivacyNotice(), _turn_with([{"text": "ok"}]))
    assert responses == ["utter_privacy_notice"]
    assert slots_of(events) == {"privacy_notice_due": False}


async def test_a_handoff_asked_before_the_notice_waits_for_the_decision(db, monkeypatch) -> None:
    import actions.handoff as ah

    opened: list = []

    class Handoff:
        def open(self, request):  # noqa: ANN001, ANN202
            opened.append(request)
            from types import SimpleNamespace

            return SimpleNamespace(ticket_id=1, on_duty=True, opens_at=None)

    class Runtime:
        handoff = Handoff()

        async def flush(self) -> int:
            return 0

    monkeypatch.setattr(ah, "runtime", lambda: Runtime())
    monkeypatch.setattr(ah, "database", lambda: db)
    asked = tracker(intent="request_mediator", slots={"privacy_notice_due": True})
    events, responses, _ = await run(ah.ActionHandoff(), asked)
    assert responses == ["utter_privacy_notice"] and opened == []
    assert slots_of(events)["handoff_after_notice"] is True
    decided = tracker(intent="privacy_accept", slots={"handoff_after_notice": True})
    events, responses, _ = await run(ap.ActionPrivacyAccept(), decided)
    assert responses == ["utter_handoff_requested"]  # no optional question in between
    assert len(opened) == 1 and privacy.consent_of(db, "wa-p1") == "accepted"
