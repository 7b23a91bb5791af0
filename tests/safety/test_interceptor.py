"""The safety interceptor: help first in every state, an urgent ticket, the buttons."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot import analytics
from bot.channels.base import IncomingMessage
from bot.channels.safety import SafetyInterceptor
from bot.directory import DirectoryStore
from bot.directory.paths import default_directory_path
from bot.handoff import tickets as store
from bot.handoff.relay import HandoffInterceptor, HandoffRuntime
from bot.handoff.tickets import TicketRequest
from bot.safety import help as safety_help
from tests.handoff.conftest import Recorder

DIRECTORY = DirectoryStore(default_directory_path())


def _message(text: str, sender: str = "p-1", channel: str = "telegram") -> IncomingMessage:
    return IncomingMessage(channel, "5001", sender, text=text, first_name="Awa")


def _interceptor(runtime) -> SafetyInterceptor:  # noqa: ANN001
    return SafetyInterceptor(runtime, DIRECTORY.current)


async def test_risk_to_life_on_first_contact_alerts_a_mediator_and_says_so(
    runtime: HandoffRuntime, recorder: Recorder, engine: Engine
) -> None:
    message = _message("je veux mourir, j'ai la corde")
    assert await _interceptor(runtime).intercept(message) is True
    ((pseudonym, text, buttons),) = recorder.people
    assert pseudonym == "p-1"
    assert "141" in text and safety_help.text("alerted", "fr") in text
    assert [b.payload for b in buttons] == [safety_help.DECLINE]
    with engine.connect() as conn:
        ticket = store.open_for_person(conn, "p-1")
    assert ticket is not None and ticket.danger == "suicide" and ticket.priority == 0
    # Offered to everyone on duty at once, with the kind.
    notified = {mid for mid, text, _b, _m in recorder.mediators if "🚨" in text}
    assert notified == {"amina", "youssef", "grace"}
    assert any("suicid" in text for _mid, text, _b, _m in recorder.mediators)
    assert any("la corde" in text for _mid, text, _b, _m in recorder.mediators)


async def test_urgent_danger_inside_a_request_offers_a_person_and_goes_on_to_rasa(
    runtime: HandoffRuntime, recorder: Recorder, engine: Engine
) -> None:
    message = _message("je cherche du travail à Agadir, mon patron m'a frappé hier")
    assert await _interceptor(runtime).intercept(message) is False
    assert message.danger == "violence"
    ((_p, text, buttons),) = recorder.people
    assert "19" in text
    assert safety_help.parse_ask_mediator(buttons[0].payload) == ("violence", "fr")
    with engine.connect() as conn:
        assert store.open_for_person(conn, "p-1") is None


async def test_during_a_queued_hand_off_the_ticket_becomes_urgent_and_the_message_relayed(
    runtime,
    recorder,
    engine,
    clock,  # noqa: ANN001
) -> None:
    runtime.handoff.open(
        TicketRequest(
            "p-1", "request_mediator", channel="telegram", language="en", region="oriental"
        )
    )
    with engine.begin() as conn:
        other = store.open_ticket(conn, TicketRequest("p-2", "request_mediator"), clock.now())[0]
    message = _message("he says he will kill me tonight")
    safety = _interceptor(runtime)
    assert await safety.intercept(message) is False  # still goes to the hand-off
    assert await HandoffInterceptor(runtime).intercept(message) is True
    with engine.connect() as conn:
        ticket = store.open_for_person(conn, "p-1")
        queue = store.queued(conn)
    assert ticket.danger == "threat" and ticket.priority == 0
    assert queue[0].id == ticket.id and queue[1].id == other.id  # first in the queue
    assert {mid for mid, text, _b, _m in recorder.mediators if "🚨" in text} == {
        "amina",
        "youssef",
        "grace",
    }
    help_text = recorder.to_person("p-1")[-1]
    assert "19" in help_text and safety_help.text("alerted_again", "en") in help_text


async def test_an_idiom_does_nothing(runtime, recorder) -> None:  # noqa: ANN001
    message = _message("ce boulot me tue, je cherche autre chose à Agadir")
    assert await _interceptor(runtime).intercept(message) is False
    assert message.danger is None and recorder.people == []


async def test_a_mediators_words_are_not_assessed(runtime, recorder) -> None:  # noqa: ANN001
    message = IncomingMessage("whatsapp", "+212611111111", "m-1", text="il l'a frappée hier")
    assert await _interceptor(runtime).intercept(message) is False
    assert recorder.people == []


async def test_the_offer_button_opens_an_urgent_ticket(runtime, recorder, engine) -> None:  # noqa: ANN001
    payload = safety_help.ask_mediator_payload("trafficking", "es")
    assert await _interceptor(runtime).intercept(_message(payload)) is True
    with engine.connect() as conn:
        ticket = store.open_for_person(conn, "p-1")
    assert ticket.danger == "trafficking" and ticket.language == "es"
    assert safety_help.text("alerted", "es") in recorder.to_person("p-1")[-1]


async def test_the_person_can_decline_the_alert(runtime, recorder, engine) -> None:  # noqa: ANN001
    safety = _interceptor(runtime)
    await safety.intercept(_message("I want to end my life"))
    assert await safety.intercept(_message(safety_help.DECLINE)) is True
    with engine.connect() as conn:
        assert store.open_for_person(conn, "p-1") is None
    assert safety_help.text("withdrawn", "en") in recorder.to_person("p-1")[-1]
    assert any("retirée" in t or "withdrawn" in t for _mid, t, _b, _m in recorder.mediators)


async def test_outside_hours_the_help_says_when_someone_answers(
    runtime,
    recorder,
    clock,  # noqa: ANN001
) -> None:
    clock.advance(hours=13)  # Monday 23:00 in Casablanca: only Grace (24/7) is on duty
    full = runtime.handoff.registry()
    night = type(full)(tuple(m for m in full.mediators if m.id != "grace"))
    runtime.handoff.registry = lambda: night
    await _interceptor(runtime).intercept(_message("mi marido me pega"))
    text = recorder.to_person("p-1")[-1]
    assert "09:00" in text


async def test_an_anonymous_danger_event_is_recorded(runtime, engine) -> None:  # noqa: ANN001
    await _interceptor(runtime).intercept(_message("راجلي كيضربني"))
    with engine.connect() as conn:
        rows = conn.execute(select(analytics.analytics_events)).all()
    (row,) = [r for r in rows if r.kind == "danger_detected"]
    assert (row.topic, row.outcome, row.language) == ("violence", "urgent", "ar")
    assert row.person_key and row.person_key != "p-1"


async def test_a_media_caption_is_assessed(runtime, recorder) -> None:  # noqa: ANN001
    message = _message("help, my baby is not breathing")
    message.kind = "image"
    assert await _interceptor(runtime).intercept(message) is True
    assert "141" in recorder.to_person("p-1")[-1]


async def test_the_offer_button_with_a_request_already_open_is_answered(
    runtime: HandoffRuntime, recorder: Recorder, engine: Engine
) -> None:
    runtime.handoff.open(TicketRequest("p-1", "request_mediator", channel="telegram"))
    payload = safety_help.ask_mediator_payload("violence", "en")
    assert await _interceptor(runtime).intercept(_message(payload)) is True
    assert safety_help.text("alerted_again", "en") in recorder.to_person("p-1")[-1]
    with engine.connect() as conn:
        assert store.open_for_person(conn, "p-1").danger == "violence"


async def test_declining_once_a_mediator_has_it_reaches_that_mediator(
    runtime,
    recorder,  # noqa: ANN001
) -> None:
    safety = _interceptor(runtime)
    await safety.intercept(_message("I want to end my life"))
    amina = runtime.handoff.registry().get("amina")
    with runtime.handoff.engine.connect() as conn:
        ticket = store.open_for_person(conn, "p-1")
    assert runtime.handoff.take(amina, ticket.id)[0]
    await runtime.flush()
    assert await safety.intercept(_message(safety_help.DECLINE)) is True
    await runtime.flush()
    assert any(safety_help.text("button_decline", "en") in t for t in recorder.to(amina.id))
