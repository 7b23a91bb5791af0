"""Tickets: the state machine, timestamps, concurrent takes (SQLite and PostgreSQL), erasure."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import privacy
from bot.db import make_engine, migrate
from bot.handoff import records
from bot.handoff import tickets as store
from bot.handoff.models import outbox, ticket_messages, tickets
from bot.handoff.tickets import TicketRequest
from tests.handoff.conftest import MONDAY_10


def _open(engine, pseudonym: str = "p1", reason: str = "request_mediator"):  # noqa: ANN001, ANN202
    with engine.begin() as conn:
        return store.open_ticket(conn, TicketRequest(pseudonym, reason, language="fr"), MONDAY_10)


def test_open_is_idempotent_per_person(engine) -> None:  # noqa: ANN001
    first, created = _open(engine)
    again, created_again = _open(engine)
    assert created and not created_again and first.id == again.id
    assert first.state == "queued" and first.created_at == MONDAY_10


def test_unknown_reason_and_empty_pseudonym_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown hand-off reason"):
        TicketRequest("p1", "bored")
    with pytest.raises(ValueError, match="pseudonym"):
        TicketRequest("", "emergency")


def test_state_machine_with_timestamps(engine) -> None:  # noqa: ANN001
    ticket, _ = _open(engine)
    later = MONDAY_10 + timedelta(minutes=3)
    with engine.begin() as conn:
        assert store.take(conn, ticket.id, "amina", later)
        assert not store.take(conn, ticket.id, "grace", later)
        assert not store.close(conn, ticket.id, "grace", "resolved", later)
        assert store.transfer(conn, ticket.id, "amina", "grace")
        assert store.close(conn, ticket.id, "grace", "resolved", later + timedelta(minutes=5))
        assert not store.expire(conn, ticket.id, later)
        assert store.rate(conn, ticket.id, 4, later)
        assert not store.rate(conn, ticket.id, 5, later)
        closed = store.get(conn, ticket.id)
    assert closed.state == "closed" and closed.mediator_id == "grace"
    assert closed.assigned_at == later and closed.closed_at == later + timedelta(minutes=5)
    assert closed.outcome == "resolved" and closed.rating == 4
    with engine.begin() as conn, pytest.raises(ValueError, match="unknown outcome"):
        store.close(conn, ticket.id, "grace", "magic", later)


def test_expire_only_queued(engine) -> None:  # noqa: ANN001
    ticket, _ = _open(engine)
    with engine.begin() as conn:
        assert store.expire(conn, ticket.id, MONDAY_10)
        assert not store.take(conn, ticket.id, "amina", MONDAY_10)
        assert store.get(conn, ticket.id).expired_at == MONDAY_10
        assert store.open_for_person(conn, "p1") is None


def test_emergencies_jump_the_queue(engine) -> None:  # noqa: ANN001
    _open(engine, "p1")
    _open(engine, "p2")
    urgent, _ = _open(engine, "p3", "emergency")
    with engine.connect() as conn:
        assert [t.id for t in store.queued(conn)][0] == urgent.id


def _race(url: str, rounds: int = 10) -> None:
    engine = make_engine(url)
    migrate(engine)
    for round_number in range(rounds):
        ticket, _ = _open(engine, f"race-{round_number}")
        barrier = threading.Barrier(4)
        winners: list[str] = []

        def take(mediator: str, barrier=barrier, ticket=ticket, winners=winners) -> None:  # noqa: ANN001
            barrier.wait()
            with engine.begin() as conn:
                if store.take(conn, ticket.id, mediator, MONDAY_10):
                    winners.append(mediator)

        threads = [threading.Thread(target=take, args=(f"m{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(winners) == 1, winners
        with engine.connect() as conn:
            assert store.get(conn, ticket.id).mediator_id == winners[0]
    engine.dispose()


def test_concurrent_take_exactly_one_wins_sqlite(tmp_path) -> None:  # noqa: ANN001
    _race(f"sqlite:///{tmp_path / 'race.db'}")


def test_concurrent_take_exactly_one_wins_postgresql(pg_url: str) -> None:
    _race(pg_url)


def test_migration_downgrade_and_upgrade(tmp_path) -> None:  # noqa: ANN001
    from alembic import command

    from bot.db import alembic_config

    url = f"sqlite:///{tmp_path / 'mig.db'}"
    engine = make_engine(url)
    migrate(engine)
    config = alembic_config(url)
    command.downgrade(config, "0002_channels")
    from sqlalchemy import inspect

    assert not inspect(make_engine(url)).has_table("handoff_tickets")
    command.upgrade(config, "head")
    assert inspect(make_engine(url)).has_table("handoff_outbox")


def test_erasure_removes_a_persons_tickets_and_old_ones(engine) -> None:  # noqa: ANN001
    mine, _ = _open(engine, "erase-me")
    other, _ = _open(engine, "keep-me")
    with engine.begin() as conn:
        records.add_message(conn, mine.id, "person", MONDAY_10, text="secret")
        records.enqueue(conn, "person", "erase-me", "hello", MONDAY_10, ticket_id=mine.id)
        records.add_message(conn, other.id, "person", MONDAY_10, text="kept")
    assert "handoff" in privacy.erasers()
    with engine.begin() as conn:
        assert store.erase(conn, "erase-me", None) >= 3
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tickets)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(ticket_messages)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(outbox)).scalar() == 0
    with engine.begin() as conn:
        store.take(conn, other.id, "amina", MONDAY_10)
        store.close(conn, other.id, "amina", "resolved", MONDAY_10)
        assert store.erase(conn, None, MONDAY_10 - timedelta(days=1)) == 0
        assert store.erase(conn, None, MONDAY_10 + timedelta(days=1)) >= 2
        assert store.get(conn, other.id) is None
