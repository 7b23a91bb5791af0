"""The hand-off without servers: routing, widening and expiry with a controllable clock,
the desk's commands, the relay interceptor, closing and rating, restarts."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot import analytics
from bot.channels.base import CALLBACK, TEXT, VOICE, IncomingMessage
from bot.handoff import records
from bot.handoff import tickets as store
from bot.handoff.desk import parse
from bot.handoff.models import outbox
from bot.handoff.outbox import Flusher
from bot.handoff.relay import HandoffInterceptor, HandoffRuntime
from bot.handoff.tickets import TicketRequest
from bot.handoff.wording import parse_rating
from tests.handoff.conftest import RecordingMediatorSender, recording_flusher


def _request(pseudonym: str = "person-1", reason: str = "request_mediator", **kw) -> TicketRequest:
    values = {
        "language": "fr",
        "region": "souss-massa",
        "city": "agadir",
        "intent": "ask_health",
        "first_name": "Awa",
        "context": [{"who": "person", "text": "j'ai besoin d'aide"}],
    }
    values.update(kw)
    return TicketRequest(pseudonym, reason, channel="telegram", **values)


def _message(
    text: str, sender: str = "person-1", channel: str = "telegram", **kw
) -> IncomingMessage:
    return IncomingMessage(
        channel=channel, address=kw.pop("address", "5555"), sender=sender, text=text, **kw
    )


async def _open(runtime: HandoffRuntime, **kw):  # noqa: ANN202
    result = runtime.handoff.open(_request(**kw))
    await runtime.flush()
    return result


async def test_open_notifies_matching_on_duty_mediators_with_a_take_button(runtime, recorder):
    result = await _open(runtime)
    assert result.created and result.on_duty and result.opens_at is None
    # Souss-Massa + French: Amina and Grace (all regions); not Youssef (Oriental).
    assert {mid for mid, *_ in recorder.mediators} == {"amina", "grace"}
    text = recorder.to("amina")[0]
    assert f"#{result.ticket_id}" in text and "Awa" in text and "j'ai besoin d'aide" in text
    assert "+212" not in text and "person-1" not in text
    buttons = recorder.mediators[0][2]
    assert buttons[0].payload == f"/take {result.ticket_id}"


async def test_emergency_goes_to_everyone_on_duty_at_once_and_first(runtime, recorder):
    await _open(runtime, pseudonym="p-normal")
    urgent = await _open(runtime, pseudonym="p-urgent", reason="emergency")
    assert any(f"#{urgent.ticket_id}" in t and "URGENCE" in t for t in recorder.to("youssef"))
    with runtime.handoff.engine.connect() as conn:
        assert store.queued(conn)[0].id == urgent.ticket_id


async def test_widening_after_n_minutes_with_a_controllable_clock(runtime, recorder, clock):
    opened = await _open(runtime)
    await runtime.tick()
    assert recorder.to("youssef") == [] and recorder.people == []
    clock.advance(minutes=9, seconds=59)
    await runtime.tick()
    assert recorder.to("youssef") == []
    clock.advance(seconds=1)
    await runtime.tick()
    assert any(f"#{opened.ticket_id}" in t for t in recorder.to("youssef"))
    told = recorder.to_person("person-1")
    assert len(told) == 1 and "Personne n'est encore libre" in told[0]
    assert "*Service* 0528000000" in told[0]  # directory answers meanwhile
    assert any("toute l'équipe" in t for t in recorder.to("amina"))
    await runtime.tick()  # widening happens once
    assert len(recorder.to_person("person-1")) == 1


def _only_amina(runtime, registry) -> None:  # noqa: ANN001
    """Only Amina (office hours, Monday to Friday 09:00-17:00 local) is registered."""
    office = type(registry)(tuple(m for m in registry.mediators if m.id == "amina"))
    runtime.handoff.registry = lambda: office
    runtime.flusher.registry = lambda: office


async def test_outside_hours_says_when_and_offers_when_the_shift_starts(
    runtime, recorder, clock, registry
):
    _only_amina(runtime, registry)
    clock.current = datetime(2026, 11, 23, 19, 0, tzinfo=timezone.utc)  # Monday 20:00 local
    result = await _open(runtime)
    assert not result.on_duty and result.opens_at == "24/11 09:00"
    assert recorder.mediators == []
    clock.current = datetime(2026, 11, 24, 8, 1, tzinfo=timezone.utc)  # Tuesday 09:01 local
    await runtime.tick()
    assert any(f"#{result.ticket_id}" in t for t in recorder.to("amina"))


async def test_nobody_takes_it_the_ticket_expires_and_the_person_is_told(runtime, recorder, clock):
    opened = await _open(runtime)
    clock.advance(hours=72)
    await runtime.tick()
    with runtime.handoff.engine.connect() as conn:
        assert store.get(conn, opened.ticket_id).state == "expired"
    assert any("aucun·e médiateur·rice" in t for t in recorder.to_person("person-1"))
    assert recorder.resumed == ["person-1"]


async def test_round_trip_take_relay_note_close_rate(runtime, recorder, registry, clock, engine):
    interceptor = HandoffInterceptor(runtime)
    opened = await _open(runtime)
    # Before anyone takes it, the person's messages are kept, not sent to Rasa.
    assert await interceptor.intercept(_message("vous êtes là ?"))
    amina, grace = registry.get("amina"), registry.get("grace")
    desk = runtime.desk
    clock.advance(minutes=2)
    assert desk.handle(amina, f"/take {opened.ticket_id}") == "take"
    desk.handle(grace, f"take {opened.ticket_id}")
    await runtime.flush()
    assert any("a été prise par Amina" in t for t in recorder.to("grace"))
    assert any("Trop tard" in t for t in recorder.to("grace"))
    assert any("vous êtes là ?" in t for t in recorder.to("amina"))  # the backlog
    assert any("Amina" in t and "a pris votre demande" in t for t in recorder.to_person("person-1"))
    # Relay both ways; /restart typed by the person is relayed, never un-pauses anything.
    assert await interceptor.intercept(_message("restart"))
    assert await interceptor.intercept(
        _message("", kind=VOICE, media_url="file-1", media_type="voice")
    )
    desk.handle(amina, "Bonjour Awa, je vous écoute.")
    desk.handle(amina, "/note a besoin d'un rendez-vous")
    await runtime.flush()
    assert any(t.endswith(": restart") for t in recorder.to("amina"))
    media = [m for mid, _t, _b, m in recorder.mediators if mid == "amina" and m is not None]
    assert media and media[0].ref == "file-1" and media[0].channel == "telegram"
    assert "👤 Amina : Bonjour Awa, je vous écoute." in recorder.to_person("person-1")
    with engine.connect() as conn:
        assert [n.text for n in records.notes_of(conn, opened.ticket_id)] == [
            "a besoin d'un rendez-vous"
        ]
        assert all("rendez-vous" not in t for t in recorder.to_person("person-1"))
    clock.advance(minutes=10)
    desk.handle(amina, "/close referred")
    await runtime.flush()
    told = recorder.to_person("person-1")
    assert any("est terminée" in t for t in told) and "Donnez une note" in told[-1]
    rating_buttons = recorder.people[-1][2]
    assert [b.payload for b in rating_buttons][3] == '/rate{"rating": 4}'
    assert recorder.resumed == ["person-1"]
    # The rating (button payload) is taken by the interceptor and recorded.
    assert await interceptor.intercept(_message('/rate{"rating": 4}', kind=CALLBACK))
    await runtime.flush()
    assert "Merci pour votre note" in recorder.to_person("person-1")[-1]
    with engine.connect() as conn:
        ticket = store.get(conn, opened.ticket_id)
        events = conn.execute(select(analytics.analytics_events)).all()
    assert (ticket.state, ticket.outcome, ticket.rating) == ("closed", "referred", 4)
    closed = [e for e in events if e.kind == "handoff_closed"]
    assert closed[0].wait_seconds == 120 and closed[0].outcome == "referred"
    assert [e.rating for e in events if e.kind == "rating"] == [4]
    assert any("4/5" in t for t in recorder.to("amina"))
    # Afterwards the person talks to the bot again.
    assert not await interceptor.intercept(_message("bonjour"))


async def test_switch_transfer_status_queue_and_errors(runtime, recorder, registry):
    first = await _open(runtime, pseudonym="p-a")
    second = await _open(runtime, pseudonym="p-b", first_name=None)
    amina, grace = registry.get("amina"), registry.get("grace")
    desk = runtime.desk
    desk.handle(amina, "/queue")
    desk.handle(amina, f"/take {first.ticket_id}")
    desk.handle(amina, f"/take {second.ticket_id}")
    desk.handle(amina, f"/switch {first.ticket_id}")
    desk.handle(amina, "/status")
    desk.handle(amina, f"/transfer {second.ticket_id} grace")
    desk.handle(amina, "/transfer 1 nobody")
    desk.handle(amina, "/switch 999")
    desk.handle(amina, "/close magic")
    desk.handle(amina, "/take")
    desk.handle(grace, "hello")  # Grace's current ticket is the transferred one
    await runtime.flush()
    said = recorder.to("amina")
    assert any(t.startswith("Demandes en attente (2)") for t in said)
    assert any(f"Demande en cours : #{first.ticket_id}" in t for t in said)
    assert any("transmise à Grace" in t for t in said)
    assert any("Pas de médiateur·rice « nobody »" in t for t in said)
    assert any("Pas de demande #999" in t for t in said)
    assert any("Résultat inconnu « magic »" in t for t in said)
    assert any("/take N" in t for t in said)
    assert any(f"a transmis la demande #{second.ticket_id}" in t for t in recorder.to("grace"))
    assert "👤 Grace : hello" in recorder.to_person("p-b")  # in the person's language
    desk.handle(grace, f"/switch {first.ticket_id}")
    await runtime.flush()
    assert any(
        "n'est pas ouverte à votre nom" in t or "not open in your name" in t
        for t in recorder.to("grace")
    )


async def test_whatsapp_mediator_is_recognised_and_unregistered_senders_refused(
    runtime, recorder, caplog
):
    interceptor = HandoffInterceptor(runtime)
    opened = await _open(runtime, reason="emergency")
    youssef_msg = _message(
        f"take {opened.ticket_id}",
        sender="pseudo-youssef",
        channel="whatsapp",
        address="+212611111111",
    )
    assert await interceptor.intercept(youssef_msg)
    await runtime.flush()
    assert any("Vous avez la demande" in t for t in recorder.to("youssef"))
    # Someone else types a mediator command: refused, logged, nothing taken.
    intruder = _message(
        "take 1", sender="pseudo-intruder", channel="whatsapp", address="+212699999999"
    )
    with caplog.at_level("WARNING"):
        assert await interceptor.intercept(intruder)
    await runtime.flush()
    assert "mediators only" in recorder.to_person("pseudo-intruder")[0]
    assert "unregistered whatsapp sender" in caplog.text
    # Ordinary words from a person still go to Rasa.
    assert not await interceptor.intercept(
        _message("je note que c'est fermé", sender="p-x", channel="whatsapp", address="+2126")
    )


async def test_restart_loses_no_ticket_and_no_relayed_message(
    runtime, recorder, registry, engine, clock
):
    opened = await _open(runtime)
    runtime.desk.handle(registry.get("amina"), f"/take {opened.ticket_id}")
    await runtime.flush()
    # The person writes; the process dies before sending (nothing flushed).
    runtime.handoff.person_message(
        store.get(engine.connect(), opened.ticket_id), TEXT, "message avant la panne", None, None
    )
    sent_before = len(recorder.to("amina"))
    # A new process on the same database: a fresh flusher sends what was pending.
    fresh = Flusher(
        engine,
        lambda: registry,
        recorder.person,
        {"telegram": RecordingMediatorSender(recorder)},
        clock=clock,
    )
    assert await fresh.flush() >= 1
    assert "message avant la panne" in recorder.to("amina")[-1]
    assert len(recorder.to("amina")) == sent_before + 1
    assert await fresh.flush() == 0  # never twice
    with engine.connect() as conn:
        assert store.open_for_person(conn, "person-1").state == "assigned"


async def test_a_failed_send_is_retried_in_order(runtime, recorder, clock, engine, registry):
    opened = await _open(runtime)
    runtime.desk.handle(registry.get("amina"), f"/take {opened.ticket_id}")
    recorder.fail_people = True
    await runtime.flush()
    runtime.desk.handle(registry.get("amina"), "second")
    await runtime.flush()
    assert recorder.to_person("person-1") == []
    recorder.fail_people = False
    clock.advance(seconds=31)
    await runtime.flush()
    told = recorder.to_person("person-1")
    assert "a pris votre demande" in told[0] and told[1].endswith("second")
    with engine.connect() as conn:
        assert conn.execute(select(outbox).where(outbox.c.sent_at.is_(None))).all() == []


def test_parse_commands_and_ratings() -> None:
    assert parse("/take 12").name == "take" and parse("/take 12").args == "12"
    assert parse("take #12").name == "take"
    assert parse("/take@prim_mediators_bot 3").name == "take"
    assert parse("take care of yourself").name is None
    assert parse("note").name is None and parse("note rappeler lundi").name == "note"
    assert parse("close referred").name == "close" and parse("close the door").name is None
    assert parse("/greet").name == "help" and parse("/start").name == "help"
    assert parse("Bonjour").name is None
    assert parse_rating('/rate{"rating": 5}') == 5 and parse_rating("3") == 3
    assert parse_rating('/rate{"rating": 9}') is None and parse_rating("merci") is None
    assert json.loads('{"rating": 4}')["rating"] == 4


@pytest.mark.parametrize("lang", ["fr", "en", "es", "ar", "ary-Latn"])
def test_every_person_text_exists_in_five_languages(lang: str) -> None:
    from bot.handoff.messages import catalogue

    for key, variants in catalogue()["person"].items():
        assert variants.get(lang), f"{key} has no {lang} text"
        fields = {
            f for v in variants.values() for f in __import__("string").Formatter().parse(v) if f[1]
        }
        for other in variants.values():
            assert {f[1] for f in __import__("string").Formatter().parse(other) if f[1]} == {
                f[1] for f in fields
            }, key
    for key, variants in catalogue()["mediator"].items():
        assert set(variants) == {"fr", "en"}, key


async def test_widening_counts_from_the_first_offer_not_from_the_night(
    runtime, recorder, clock, registry
):
    _only_amina(runtime, registry)
    clock.current = datetime(2026, 11, 23, 22, 0, tzinfo=timezone.utc)  # Monday 23:00 local
    await _open(runtime)
    clock.current = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)  # Tuesday 09:00 local
    await runtime.tick()
    assert recorder.to_person("person-1") == []  # just offered: no "nobody is free" yet
    clock.advance(minutes=10)
    await runtime.tick()
    assert "Personne n'est encore libre" in recorder.to_person("person-1")[0]


async def test_an_emergency_nobody_takes_is_also_told_honestly(runtime, recorder, clock):
    await _open(runtime, reason="emergency", intent="ask_emergency")
    clock.advance(minutes=10)
    await runtime.tick()
    assert "Personne n'est encore libre" in recorder.to_person("person-1")[0]


async def test_transfer_tells_the_person_who_answers_now(runtime, recorder, registry):
    opened = await _open(runtime)
    runtime.desk.handle(registry.get("amina"), f"/take {opened.ticket_id}")
    runtime.desk.handle(registry.get("amina"), f"/transfer {opened.ticket_id} grace")
    await runtime.flush()
    assert recorder.to_person("person-1")[-1].startswith("Grace, médiateur·rice")


async def test_round_trip_on_postgresql(pg_url, registry, clock, recorder):
    from bot.db import make_engine, migrate
    from bot.handoff.routing import Policy
    from bot.handoff.service import Handoff

    engine = make_engine(pg_url)
    migrate(engine)
    handoff = Handoff(
        engine=engine,
        registry=lambda: registry,
        clock=clock,
        policy=Policy(),
        analytics_key="test-analytics-key-0123456789",
    )
    runtime = HandoffRuntime(handoff, recording_flusher(engine, registry, recorder, clock))
    opened = await _open(runtime)
    interceptor = HandoffInterceptor(runtime)
    assert await interceptor.intercept(_message("allo"))
    runtime.desk.handle(registry.get("amina"), f"/take {opened.ticket_id}")
    runtime.desk.handle(registry.get("amina"), "/close")
    await runtime.flush()
    assert await interceptor.intercept(_message("5"))
    await runtime.flush()
    with engine.connect() as conn:
        ticket = store.get(conn, opened.ticket_id)
    assert (ticket.state, ticket.outcome, ticket.rating) == ("closed", "resolved", 5)
    assert any("allo" in t for t in recorder.to("amina")) and recorder.resumed == ["person-1"]
    with engine.begin() as conn:
        assert store.erase(conn, "person-1", None) > 0
    engine.dispose()


async def _amina_takes_hears_and_closes(
    runtime, registry, interceptor: HandoffInterceptor, ticket_id: int, words: str
) -> None:  # noqa: ANN001
    """Amina takes the ticket, the person's ``words`` reach her through ``interceptor``, she
    closes it (referred)."""
    amina = registry.get("amina")
    runtime.desk.handle(amina, f"/take {ticket_id}")
    assert await interceptor.intercept(_message(words))
    await runtime.flush()
    runtime.desk.handle(amina, "/close referred")
    await runtime.flush()


async def test_the_language_follows_the_words_only_the_mediator_read(runtime, recorder, registry):
    """After a decline the conversation has no language; the person then writes Arabic to
    the mediator only (Rasa never sees it): the close, the rating and the bot's next
    replies are in Arabic (the resume row carries it). A one-word "ok" switches nothing."""
    from bot.handoff.messages import person_text

    interceptor = HandoffInterceptor(runtime)
    opened = await _open(runtime, language=None, context=[])
    assert await interceptor.intercept(_message("بغيت نعرف فين نقدر نسجل ولدي فالمدرسة"))
    await _amina_takes_hears_and_closes(runtime, registry, interceptor, opened.ticket_id, "ok")
    told = recorder.to_person("person-1")
    assert person_text("closed", "ar", name="Amina") in told
    assert recorder.resumed_in == ["ar"]


async def test_a_short_word_keeps_the_tickets_language(runtime, recorder, registry):
    interceptor = HandoffInterceptor(runtime)
    opened = await _open(runtime)
    await _amina_takes_hears_and_closes(
        runtime, registry, interceptor, opened.ticket_id, "ok thanks"
    )
    assert recorder.resumed_in == ["fr"]
