"""Dedupe and contacts in our database (SQLite; PostgreSQL when available)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channels.base import utcnow
from bot.channels.store import ChannelStore, processed_updates
from bot.db import make_engine, migrate

ROOT = Path(__file__).resolve().parents[2]


def _channel_names() -> list[str]:
    """The name of every input channel configured in credentials.yml (the Rasa adapters)."""
    import importlib

    import yaml

    names = []
    for key in yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8")):
        if "." in key:
            module, cls = key.rsplit(".", 1)
            names.append(getattr(importlib.import_module(module), cls).name())
        else:
            names.append(key)
    return names


CHANNEL_NAMES = _channel_names()


def test_an_id_is_processed_once_even_after_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    first = make_engine(url)
    migrate(first)
    assert ChannelStore(first).mark_processed("whatsapp", "SM1", utcnow())
    assert not ChannelStore(first).mark_processed("whatsapp", "SM1", utcnow())
    first.dispose()
    # A new process (new engine) still remembers.
    again = make_engine(url)
    migrate(again)
    store = ChannelStore(again)
    assert not store.mark_processed("whatsapp", "SM1", utcnow())
    assert store.mark_processed("telegram", "SM1", utcnow())  # ids are per channel


def test_forget_and_prune(store: ChannelStore) -> None:
    old = utcnow() - timedelta(days=10)
    store.mark_processed("telegram", "1", old)
    store.mark_processed("telegram", "2", utcnow())
    assert store.prune_processed(utcnow() - timedelta(days=7)) == 1
    store.forget_processed("telegram", "2")
    assert not store.is_processed("telegram", "2")
    assert store.mark_processed("telegram", "2", utcnow())


def test_contact_is_created_then_refreshed(store: ChannelStore) -> None:
    earlier = utcnow() - timedelta(hours=30)
    store.record_inbound("wa-1", "whatsapp", "+212600000000", "Awa", earlier)
    contact = store.contact("wa-1")
    assert contact is not None and contact.first_name == "Awa"
    assert not contact.within_whatsapp_window(utcnow())
    store.record_inbound("wa-1", "whatsapp", "+212600000000", None, utcnow())
    contact = store.contact("wa-1")
    assert contact is not None
    assert contact.first_name == "Awa"  # not erased by a message without a profile name
    assert contact.within_whatsapp_window(utcnow())
    assert contact.created_at == earlier


def test_last_buttons_round_trip(store: ChannelStore) -> None:
    store.record_inbound("tg-1", "telegram", "42", None, utcnow())
    store.set_last_buttons("tg-1", ["/affirm", '/change_language{"requested_language": "ar"}'])
    contact = store.contact("tg-1")
    assert contact is not None
    assert contact.last_buttons == ("/affirm", '/change_language{"requested_language": "ar"}')
    store.delete_contact("tg-1")
    assert store.contact("tg-1") is None


@pytest.mark.services
def test_store_on_postgresql(pg_url: str) -> None:
    engine = make_engine(pg_url)
    migrate(engine)
    store = ChannelStore(engine)
    assert store.mark_processed("whatsapp", "SMpg", utcnow())
    assert not store.mark_processed("whatsapp", "SMpg", utcnow())
    store.record_inbound("wa-pg", "whatsapp", "+2126", "X", utcnow())
    store.record_inbound("wa-pg", "whatsapp", "+2126", None, utcnow())
    contact = store.contact("wa-pg")
    assert contact is not None and contact.within_whatsapp_window(utcnow())
    # PostgreSQL enforces column lengths (SQLite does not): every channel's name must fit.
    for channel in CHANNEL_NAMES:
        assert store.mark_processed(channel, f"id-{channel}", utcnow())
        store.record_inbound(f"p-{channel}", channel, "12345", None, utcnow())
    engine.dispose()


def test_every_channel_name_fits_the_channel_columns() -> None:
    from bot.channels.store import contacts, processed_updates
    from bot.handoff.models import outbox, tickets

    longest = max(len(name) for name in CHANNEL_NAMES)
    for column in (
        processed_updates.c.channel,
        contacts.c.channel,
        tickets.c.channel,
        outbox.c.media_channel,
    ):
        assert column.type.length >= longest, column


def _accept(store: ChannelStore, external_id: str, who: str = "wa-a", name: str | None = None):
    return store.accept_inbound("whatsapp", external_id, utcnow(), who, "+2126", name)


def _check_accept_inbound(store: ChannelStore) -> None:
    new, contact = _accept(store, "SMa1", name="Awa")
    assert new and contact is not None and contact.inbound_seq == 1
    # A retry is not numbered; the next new message is number 2.
    assert _accept(store, "SMa1") == (False, None)
    second = _accept(store, "SMa1-next")[1]
    assert second is not None and second.inbound_seq == 2
    assert second.previous_inbound_at == contact.last_inbound_at  # the one before it
    with store.engine.connect() as conn:  # each webhook id keeps its number
        table = processed_updates.c
        numbers = {row.external_id: row.seq for row in conn.execute(select(table))}
    assert (numbers["SMa1"], numbers["SMa1-next"]) == (1, 2)
    assert (contact.address, contact.first_name, contact.last_buttons) == ("+2126", "Awa", ())
    store.set_last_buttons("wa-a", ["/affirm"])
    assert _accept(store, "SMa1") == (False, None)  # a retry: nothing recorded again
    new, contact = _accept(store, "SMa2")
    assert new and contact is not None
    assert contact.first_name == "Awa" and contact.last_buttons == ("/affirm",)


def test_accept_inbound_records_the_id_and_the_contact_once(store: ChannelStore) -> None:
    _check_accept_inbound(store)


def test_accept_inbound_writes_both_rows_or_neither(
    store: ChannelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    import bot.channels.store as module

    def lost(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("update contacts", {}, Exception("server closed the connection"))

    monkeypatch.setattr(module, "_upsert_contact", lost)
    with pytest.raises(OperationalError):
        _accept(store, "SMx")
    monkeypatch.undo()
    # The webhook was refused (500): the platform's retry must be processed, not ignored.
    assert not store.is_processed("whatsapp", "SMx")
    assert store.contact("wa-a") is None
    new, contact = _accept(store, "SMx")
    assert new and contact is not None


def test_contact_for_reply_remembers_the_buttons_only_when_asked(store: ChannelStore) -> None:
    assert store.contact_for_reply("nobody", ["/x"]) is None
    store.record_inbound("tg-r", "telegram", "42", None, utcnow())
    contact = store.contact_for_reply("tg-r", ["/affirm", "/deny"])
    assert contact is not None and contact.last_buttons == ()  # as it was before this reply
    assert store.contact("tg-r").last_buttons == ("/affirm", "/deny")  # type: ignore[union-attr]
    store.contact_for_reply("tg-r", ["/other"], lambda c: c.channel == "whatsapp")
    assert store.contact("tg-r").last_buttons == ("/affirm", "/deny")  # type: ignore[union-attr]


@pytest.mark.services
def test_accept_inbound_on_postgresql_under_concurrency(pg_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    engine = make_engine(pg_url)
    migrate(engine)
    store = ChannelStore(engine)
    _check_accept_inbound(store)
    with ThreadPoolExecutor(8) as pool:
        # The same webhook eight times at once (retries racing): processed exactly once.
        same = list(pool.map(lambda _i: _accept(store, "SMrace", "wa-b")[0], range(8)))
        # Eight new messages of a new person at once: each recorded, one contact.
        many = list(pool.map(lambda i: _accept(store, f"SMm{i}", "wa-c"), range(8)))
    assert same.count(True) == 1
    assert all(new for new, _contact in many)
    contact = store.contact("wa-c")
    assert contact is not None and contact.address == "+2126"
    # Each new message got its own number, 1 to 8: the row is locked until the commit.
    assert sorted(c.inbound_seq for _new, c in many) == list(range(1, 9))
    assert contact.inbound_seq == 8
    engine.dispose()


def test_contact_for_reply_writes_only_what_changed(store: ChannelStore) -> None:
    from sqlalchemy import event

    store.record_inbound("wa-w", "whatsapp", "+2126", None, utcnow())
    updates: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE"):
            updates.append(statement)

    store.contact_for_reply("wa-w", [])  # none pending, none sent: nothing to write
    assert updates == []
    store.contact_for_reply("wa-w", ["/affirm"])
    store.contact_for_reply("wa-w", ["/affirm"])
    assert len(updates) == 1
    store.contact_for_reply("wa-w", [])
    assert len(updates) == 2 and store.contact("wa-w").last_buttons == ()  # type: ignore[union-attr]
