"""Issue 15 (5): erasure and retention from the command line reach every table.

The CLI runs in a subprocess, as cron runs it: in this test process bot.handoff.tickets is
already imported, which hid the bug (the hand-off eraser registered itself at import, and
`python -m bot privacy` never imported it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select, text

from bot import privacy
from bot.channels.store import contacts
from bot.db import make_engine, metadata, migrate
from bot.handoff import records
from bot.handoff import tickets as store
from bot.handoff.models import outbox, ticket_messages, ticket_notes, tickets
from bot.handoff.tickets import TicketRequest
from bot.settings import ROOT

OLD = datetime(2026, 1, 5, 10, 0)  # far past any retention
ADDRESS = "+212612345678"


def _cli(tmp_path: Path, *args: str) -> str:
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        "VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'assistant.db'}",
        "TRACKER_DB_PATH": str(tmp_path / "tracker.db"),
        "PSEUDONYM_KEY": "k" * 32,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "privacy", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _person_with_a_handoff(engine, pseudonym: str, name: str, at: datetime) -> int:
    """A contact, a ticket with relayed messages and a note, and outbox rows, some without a
    ticket id (the queue listing a mediator asked for)."""
    with engine.begin() as conn:
        if conn.execute(select(contacts).where(contacts.c.pseudonym == pseudonym)).first() is None:
            conn.execute(
                contacts.insert().values(
                    pseudonym=pseudonym,
                    channel="whatsapp",
                    address=ADDRESS,
                    first_name=name,
                    created_at=at.replace(tzinfo=timezone.utc),
                    last_inbound_at=at.replace(tzinfo=timezone.utc),
                )
            )
        ticket, _ = store.open_ticket(
            conn, TicketRequest(pseudonym, "request_mediator", language="fr", first_name=name), at
        )
        store.take(conn, ticket.id, "amina", at)
        records.add_message(
            conn,
            ticket.id,
            "person",
            at,
            text="j'ai perdu mon passeport",
            media_url="https://api.twilio.com/media/ME1",
            media_type="image/jpeg",
        )
        records.add_message(
            conn, ticket.id, "mediator", at, text="je vous appelle", mediator_id="amina"
        )
        records.add_note(conn, ticket.id, "amina", "sans papiers depuis mars", at)
        records.enqueue(conn, "person", pseudonym, "je vous appelle", at, ticket_id=ticket.id)
        records.enqueue(
            conn, "mediator", "amina", f"#{ticket.id} {name} — request_mediator, fr", at
        )
        records.enqueue(
            conn,
            "mediator",
            "youssef",
            f"Amina vous a transmis la demande #{ticket.id} ({name}).",
            at,
        )
        store.close(conn, ticket.id, "amina", "resolved", at)
    return ticket.id


def _everything_of(engine, pseudonym: str, name: str) -> dict[str, int]:
    with engine.connect() as conn:
        ids = select(tickets.c.id).where(tickets.c.pseudonym == pseudonym)
        found = {
            "contacts": conn.execute(
                select(func.count()).select_from(contacts).where(contacts.c.pseudonym == pseudonym)
            ).scalar(),
            "tickets": conn.execute(select(func.count()).select_from(ids.subquery())).scalar(),
            "messages": conn.execute(select(func.count()).select_from(ticket_messages)).scalar(),
            "notes": conn.execute(select(func.count()).select_from(ticket_notes)).scalar(),
            "outbox naming": conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.text.contains(name))
            ).scalar(),
            "outbox of the person": conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.target == pseudonym)
            ).scalar(),
        }
    return {k: int(v or 0) for k, v in found.items() if v}


def test_cli_delete_erases_the_handoff_contacts_and_names(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'assistant.db'}")
    migrate(engine)
    _person_with_a_handoff(engine, "wa-zineb", "Zineb", datetime.utcnow())
    assert _everything_of(engine, "wa-zineb", "Zineb")

    out = _cli(tmp_path, "delete", "--person", "wa-zineb")

    assert "handoff" in out
    assert _everything_of(engine, "wa-zineb", "Zineb") == {}


def test_cli_purge_removes_old_handoff_texts_media_and_inactive_contacts(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'assistant.db'}")
    migrate(engine)
    _person_with_a_handoff(engine, "wa-old", "Khadija", OLD)
    recent = datetime.utcnow() - timedelta(days=1)
    with engine.begin() as conn:
        conn.execute(
            contacts.insert().values(
                pseudonym="wa-recent",
                channel="whatsapp",
                address="+212600000002",
                created_at=recent.replace(tzinfo=timezone.utc),
                last_inbound_at=recent.replace(tzinfo=timezone.utc),
            )
        )
        ticket, _ = store.open_ticket(conn, TicketRequest("wa-recent", "voice_note"), recent)
        records.add_message(
            conn,
            ticket.id,
            "person",
            OLD,
            kind="voice",
            media_url="https://api.twilio.com/media/ME2",
            media_type="audio/ogg",
        )

    _cli(tmp_path, "purge")

    with engine.connect() as conn:
        assert conn.execute(select(contacts.c.pseudonym)).scalars().all() == ["wa-recent"]
        assert conn.execute(select(func.count()).select_from(tickets)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(ticket_notes)).scalar() == 0
        media = conn.execute(select(ticket_messages.c.media_url)).scalars().all()
        assert media == [None]  # the open ticket's old voice note: text kept, link gone
        assert (
            conn.execute(
                text("SELECT COUNT(*) FROM handoff_outbox WHERE text LIKE '%Khadija%'")
            ).scalar()
            == 0
        )


def test_delete_in_the_chat_clears_first_names_in_mediator_listings(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'assistant.db'}")
    migrate(engine)
    mine = _person_with_a_handoff(engine, "wa-sara", "Sara", datetime.utcnow())
    other = _person_with_a_handoff(engine, "wa-other", "Sara", datetime.utcnow())
    with engine.begin() as conn:
        records.enqueue(
            conn, "mediator", "amina", f"#{mine} Sara — fr\n#{other} Sara — fr", datetime.utcnow()
        )

    privacy.erase_person(engine, None, "wa-sara", "k" * 32, keep_contact=True)

    with engine.connect() as conn:
        listing = (
            conn.execute(select(outbox.c.text).where(outbox.c.text.contains(f"#{mine} ")))
            .scalars()
            .all()
        )
        assert listing and all(
            "Sara" not in line for t in listing for line in t.split("\n") if f"#{mine} " in line
        )
        # Another person called Sara keeps her name in the same listing.
        assert any(f"#{other} Sara" in t for t in listing)
        # The address stays until the confirmation is sent (completed a few seconds later).
        assert (
            conn.execute(
                select(func.count()).select_from(contacts).where(contacts.c.pseudonym == "wa-sara")
            ).scalar()
            == 1
        )
    later = privacy.utcnow() + privacy.FINAL_AFTER
    privacy.complete_erasures(engine, None, final=True, now=later)
    assert _everything_of(engine, "wa-sara", "Sara").get("contacts") is None


def test_every_table_is_classified_as_personal_or_not() -> None:
    import bot.analytics  # noqa: F401 (tables on the shared metadata)
    import bot.channels.store  # noqa: F401
    import bot.handoff.models  # noqa: F401

    known = set(privacy.PERSONAL_TABLES) | set(privacy.NOT_PERSONAL_TABLES)
    assert set(metadata.tables) <= known, set(metadata.tables) - known
    assert set(privacy.PERSONAL_TABLES.values()) <= (
        set(privacy.erasers()) | {"analytics links", "requests closed"}
    )


def test_erase_commands_are_the_nlu_delete_intent() -> None:
    """The commands answered during a hand-off are exactly the intent the NLU knows."""
    import yaml

    data = yaml.safe_load((ROOT / "nlu_data" / "nlu" / "privacy.yml").read_text("utf-8"))
    block = next(i for i in data["nlu"] if i.get("intent") == "delete")
    examples = {line.strip()[2:].strip() for line in block["examples"].splitlines() if line.strip()}
    assert examples == set(privacy.ERASE_COMMANDS)
    assert privacy.is_erase_command("/delete") and privacy.is_erase_command(" Supprimer ! ")
    assert not privacy.is_erase_command("supprimer mon rendez-vous")


async def test_delete_during_a_handoff_reaches_the_assistant(tmp_path: Path) -> None:
    """Issue 15: during a hand-off "supprimer" went to the mediator; the person was never
    told, and nothing was erased."""
    from bot.channels.base import IncomingMessage
    from bot.channels.pipeline import Pipeline
    from bot.channels.store import ChannelStore

    engine = make_engine(f"sqlite:///{tmp_path / 'assistant.db'}")
    migrate(engine)
    seen: list[str] = []
    taken: list[str] = []

    class Handoff:
        async def intercept(self, message: IncomingMessage) -> bool:
            taken.append(message.text)
            return True

    class Nowhere:
        async def deliver(self, message) -> bool:  # noqa: ANN001
            return True

    async def dispatch(message: IncomingMessage) -> None:
        seen.append(message.text)

    pipeline = Pipeline("whatsapp", ChannelStore(engine), Nowhere(), dispatch, [Handoff()])
    for sid, words in (("SM1", "vous êtes là ?"), ("SM2", "supprimer")):
        await pipeline.accept(
            IncomingMessage("whatsapp", ADDRESS, "wa-p", text=words, external_id=sid)
        )
    assert await pipeline.queues.join(timeout=5)
    assert (taken, seen) == (["vous êtes là ?"], ["supprimer"])
