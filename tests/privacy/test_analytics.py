"""Anonymous events: validated kinds and fields, keyed person links, hour rounding, sex."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from bot import analytics
from bot.analytics import analytics_events
from bot.pseudonyms import pseudonym
from tests.privacy.conftest import KEY


def rows(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(analytics_events)).mappings()]


def test_unknown_kind_is_an_error_not_a_silent_drop(engine) -> None:
    with pytest.raises(ValueError, match="unknown analytics event kind"):
        analytics.record(engine, "message_text", topic="health")
    assert rows(engine) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"phone": "+212600000000"}, "unknown field"),
        ({"text": "je cherche un medecin"}, "unknown field"),
        ({"sex": "woman"}, "sex must be one of"),
        ({"rating": 9}, "between 1 and 5"),
        ({"topic": 3}, "must be text"),
        ({"topic": "x" * 65}, "longer than"),
    ],
)
def test_bad_fields_are_rejected(engine, fields, message) -> None:
    kind = "rating" if "rating" in fields else "question"
    with pytest.raises(ValueError, match=message):
        analytics.record(engine, kind, **fields)
    assert rows(engine) == []


def test_kind_specific_fields_only_where_they_belong(engine) -> None:
    with pytest.raises(ValueError, match="wait_seconds"):
        analytics.record(engine, "question", wait_seconds=30)
    with pytest.raises(ValueError, match="negative"):
        analytics.record(engine, "handoff_closed", wait_seconds=-1)


def test_events_hold_a_keyed_hash_never_the_pseudonym_or_number(engine) -> None:
    phone = "+212612345678"
    alias = pseudonym("whatsapp", phone, KEY)
    person = analytics.person_key(alias, KEY)
    analytics.record(engine, "question", person=person, topic="health", city="oujda")
    stored = rows(engine)[0]
    dump = repr(stored)
    assert phone not in dump and "612345678" not in dump and alias not in dump
    assert stored["person_key"] == person and len(person) == 32
    # Another key gives another link: the key, not the hash, protects the person.
    assert analytics.person_key(alias, KEY + "2") != person


def test_raw_identifiers_are_refused_as_person(engine) -> None:
    with pytest.raises(ValueError, match="person_key"):
        analytics.record(engine, "question", person="+2126")


def test_times_are_rounded_down_to_the_hour(engine) -> None:
    analytics.record(engine, "question", at=datetime(2026, 11, 3, 14, 37, 12))
    assert rows(engine)[0]["occurred_at"] == datetime(2026, 11, 3, 14, 0)


def test_optional_sex_answer_applies_to_past_and_future_events(engine) -> None:
    person = analytics.person_key("tg-abc", KEY)
    analytics.record(engine, "question", person=person, topic="health")
    analytics.record(engine, "question", person=None, topic="work")
    assert analytics.set_sex(engine, person, "female") == 1
    analytics.record(engine, "question", person=person, topic="schooling")
    by_topic = {r["topic"]: r["sex"] for r in rows(engine)}
    assert by_topic == {"health": "female", "work": None, "schooling": "female"}
    with pytest.raises(ValueError):
        analytics.set_sex(engine, person, "skip")


def test_unlink_keeps_counts_and_removes_the_link(engine) -> None:
    person = analytics.person_key("wa-1", KEY)
    for _ in range(3):
        analytics.record(engine, "question", person=person, topic="health")
    with engine.begin() as conn:
        assert analytics.unlink(conn, person) == 3
    assert [r["person_key"] for r in rows(engine)] == [None, None, None]
    with engine.begin() as conn, pytest.raises(ValueError):
        analytics.unlink(conn)
