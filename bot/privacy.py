"""Data protection: consent decisions, erasure ("delete my data"), retention, log masking.

Plain Python (no rasa import). What is kept, where and for how long is described in
docs/privacy.md; this module is the single place that deletes personal data:

* Rasa's tracker store (table ``events``, keyed by the pseudonym): SQLite under var/ in the
  dev profile, the PostgreSQL database of ``DATABASE_URL`` in production;
* our own tables, through the *erasers* listed in :data:`ERASERS` (consents, contacts,
  hand-off), each ``fn(connection, pseudonym | None, before: datetime | None) -> rows``;
* the link between a person and the anonymous analytics events (set to NULL, counts stay).

Erasing while Rasa handles the person's message is not enough: at the end of the turn Rasa
writes the whole session again (it appends the events it thinks are missing). So an erasure
also leaves a row in ``erasure_requests``; :func:`complete_erasures` runs it again a few
seconds later (the action server schedules it) and at every ``privacy purge``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    String,
    Table,
    bindparam,
    delete,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
from sqlalchemy.engine import Connection, Engine

from bot import analytics
from bot.db import metadata
from bot.pseudonyms import mask_numbers

log = logging.getLogger(__name__)

ACCEPTED = "accepted"
DECLINED = "declined"
DECISIONS = (ACCEPTED, DECLINED)
# A person who declined: Rasa still needs the current conversation to answer (language,
# town, topic); nothing of it is kept past this delay (purge) or the end of the decline turn.
DECLINED_RETENTION = timedelta(hours=24)
# Events written by Rasa at the end of the turn that asked for erasure come within seconds.
ERASURE_MARGIN = timedelta(minutes=2)
# A request this old has seen its turn written by Rasa (the turn takes well under a second).
FINAL_AFTER = timedelta(seconds=20)

consents = Table(
    "consents",
    metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("decision", String(16), nullable=False),
    Column("decided_at", DateTime, nullable=False),
)

erasure_requests = Table(
    "erasure_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pseudonym", String(64), nullable=False, index=True),
    Column("requested_at", DateTime, nullable=False),
    Column("reason", String(16), nullable=False),
)

# --- erasers ---------------------------------------------------------------------------------
Eraser = Callable[[Connection, "str | None", "datetime | None"], int]


def _has_table(connection: Connection, name: str) -> bool:
    return inspect(connection).has_table(name)


def _erase_consents(connection: Connection, pseudonym: str | None, before: datetime | None) -> int:
    # The decision is what lets us respect it: kept until the person asks to be forgotten.
    if pseudonym is None:
        return 0
    return int(
        connection.execute(delete(consents).where(consents.c.pseudonym == pseudonym)).rowcount or 0
    )


def _erase_contacts(connection: Connection, pseudonym: str | None, before: datetime | None) -> int:
    # The channels' table (revision 0002_channels): pseudonym -> phone number / chat id.
    # Retention: people who have not written since ``before`` (a later message re-creates it).
    if not _has_table(connection, "contacts"):
        return 0
    columns = {c["name"] for c in inspect(connection).get_columns("contacts")}
    if "pseudonym" not in columns:
        log.warning("contacts table has no pseudonym column: cannot erase it")
        return 0
    if pseudonym is not None:
        return int(
            connection.execute(
                text("DELETE FROM contacts WHERE pseudonym = :p"), {"p": pseudonym}
            ).rowcount
            or 0
        )
    if before is None or "last_inbound_at" not in columns:
        return 0
    cut = before.replace(tzinfo=timezone.utc) if before.tzinfo is None else before
    rows = connection.execute(
        text("SELECT pseudonym, last_inbound_at, created_at FROM contacts")
    ).all()
    stale = [row[0] for row in rows if _aware(row[1] or row[2]) < cut]
    for start in range(0, len(stale), 500):
        connection.execute(
            text("DELETE FROM contacts WHERE pseudonym IN :ps").bindparams(
                bindparam("ps", expanding=True)
            ),
            {"ps": stale[start : start + 500]},
        )
    return len(stale)


def _erase_contact_if_quiet(connection: Connection, pseudonym: str, since: datetime) -> int:
    """The deferred part of an erasure from the chat: the address, once the confirmation
    went out, unless the person has written again since (that new contact is theirs)."""
    if not _has_table(connection, "contacts"):
        return 0
    row = connection.execute(
        text("SELECT last_inbound_at, created_at FROM contacts WHERE pseudonym = :p"),
        {"p": pseudonym},
    ).first()
    if row is None:
        return 0
    last = _aware(row[0] or row[1])
    if last is not None and last > _aware(since):
        return 0
    return _erase_contacts(connection, pseudonym, None)


def _aware(moment: datetime | str | None) -> datetime | None:
    if isinstance(moment, str):  # SQLite through text() gives strings
        moment = datetime.fromisoformat(moment)
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def _erase_handoff(connection: Connection, pseudonym: str | None, before: datetime | None) -> int:
    # Tickets, relayed messages, notes, offers, outbox rows (and first names in the
    # mediators' queue listings); with ``before``, finished tickets and old media links.
    from bot.handoff.tickets import erase

    if not _has_table(connection, "handoff_tickets"):
        return 0
    return erase(connection, pseudonym, before)


# Every eraser, listed here and not registered at import (a registry filled by imports ran
# without the hand-off's in `python -m bot privacy`, which never imports bot.handoff).
ERASERS: tuple[tuple[str, Eraser], ...] = (
    ("consents", _erase_consents),
    ("contacts", _erase_contacts),
    ("handoff", _erase_handoff),
)

# Every table of our database, by what holds personal data and who erases it; a test fails
# when a table is added without being listed here (tests/privacy/test_erasure_coverage.py).
PERSONAL_TABLES: dict[str, str] = {
    "consents": "consents",
    "contacts": "contacts",
    "handoff_tickets": "handoff",
    "handoff_messages": "handoff",
    "handoff_notes": "handoff",
    "handoff_offers": "handoff",
    "handoff_outbox": "handoff",
    "analytics_events": "analytics links",
    "erasure_requests": "requests closed",
}
# Tables without anything about a person: webhook ids (kept, against replays), which ticket
# a mediator answers, Alembic's revision.
NOT_PERSONAL_TABLES = ("processed_updates", "handoff_mediator_state", "alembic_version")


def erasers() -> dict[str, Eraser]:
    """Every eraser, by name."""
    return dict(ERASERS)


# --- "delete my data" as a command ----------------------------------------------------------
# The one-word commands the notice names (intent ``delete`` of nlu_data/nlu/privacy.yml;
# tests/privacy/test_erasure_coverage.py checks they agree). They are answered by the
# assistant even during a hand-off, where anything else goes to the mediator.
ERASE_COMMANDS = frozenset(
    (
        "supprimer",
        "effacer",
        "delete",
        "erase",
        "borrar",
        "eliminar",
        "امسح",
        "احذف",
        "mse7",
        "7ayed",
    )
)


def is_erase_command(text: str) -> bool:
    """True for "/delete", "supprimer", "MSE7 !" and the other one-word commands."""
    word = text.strip().lstrip("/").strip(" .!?؟،,").lower()
    return word in ERASE_COMMANDS


# --- settings-derived helpers --------------------------------------------------------------
def tracker_store_url(settings) -> str:  # noqa: ANN001 (bot.settings.Settings)
    """Where Rasa keeps conversations: PostgreSQL (prod) or the SQLite file (dev)."""
    if settings.profile == "prod":
        return settings.effective_database_url
    return f"sqlite:///{settings.rasa_env()['TRACKER_DB_PATH']}"


def analytics_key(settings) -> str:  # noqa: ANN001
    """The key of the keyed hashes (PSEUDONYM_KEY, or the dev key under var/)."""
    from bot.pseudonyms import key_for

    return key_for(settings.pseudonym_key, settings.var_dir, settings.profile)


_DURATION_RE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_duration(raw: str) -> timedelta:
    """``90d``, ``12h``, ``2w`` -> timedelta; ValueError with the accepted forms otherwise."""
    match = _DURATION_RE.match(raw or "")
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"{raw!r} is not a duration: write a positive number and a unit, e.g. 90d, 12h, 2w"
        )
    return timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


def utcnow() -> datetime:
    """Now, UTC, naive (what our DateTime columns hold)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


# --- consent --------------------------------------------------------------------------------
def record_consent(engine: Engine, pseudonym: str, decision: str) -> None:
    """Store (or change) the person's answer to the notice."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
    if not pseudonym:
        raise ValueError("empty pseudonym")
    with engine.begin() as connection:
        connection.execute(delete(consents).where(consents.c.pseudonym == pseudonym))
        connection.execute(
            consents.insert().values(pseudonym=pseudonym, decision=decision, decided_at=utcnow())
        )


def consent_of(engine: Engine, pseudonym: str) -> str | None:
    """``accepted``, ``declined`` or None (the notice was not answered yet)."""
    with engine.connect() as connection:
        return connection.execute(
            select(consents.c.decision).where(consents.c.pseudonym == pseudonym)
        ).scalar()


def has_declined(engine: Engine, pseudonym: str) -> bool:
    """True when the person declined: keep nothing of theirs beyond answering (hand-off too)."""
    return consent_of(engine, pseudonym) == DECLINED


# --- tracker store --------------------------------------------------------------------------
# Rasa's SQLTrackerStore table, described (not owned) so that no rasa import is needed.
_EVENTS = sa_table("events", sa_column("sender_id"), sa_column("timestamp"), sa_column("type_name"))


def erase_tracker(
    tracker: Engine,
    *,
    pseudonym: str | None = None,
    before: datetime | None = None,
    not_after: datetime | None = None,
    senders: Iterable[str] = (),
    kept_from_message_after: datetime | None = None,
) -> int:
    """Delete Rasa events: one person's, or older than ``before``, or of ``senders`` before it.

    ``not_after`` limits a person's erasure to what existed when they asked (a new
    conversation started afterwards is theirs to keep). ``kept_from_message_after`` keeps
    everything from the person's first message after that moment: decided inside the
    DELETE itself, so a turn Rasa writes meanwhile is either seen and kept, or not yet
    there (a lookup before the DELETE erased a turn written in between: the simulator
    found replies in French after "zid", the slot that said Darija gone).
    """
    clauses = []
    if pseudonym is not None:
        clauses.append(_EVENTS.c.sender_id == pseudonym)
    if not_after is not None:
        clauses.append(_EVENTS.c.timestamp <= _epoch(not_after))
    if pseudonym is not None and kept_from_message_after is not None:
        later = _EVENTS.alias("later")
        first_message = (
            select(func.min(later.c.timestamp))
            .where(
                later.c.sender_id == pseudonym,
                later.c.type_name == "user",
                later.c.timestamp > _epoch(kept_from_message_after),
            )
            .scalar_subquery()
        )
        clauses.append(_EVENTS.c.timestamp < func.coalesce(first_message, _NEVER))
    if before is not None:
        clauses.append(_EVENTS.c.timestamp < _epoch(before))
    sender_list = list(senders)
    if not clauses and not sender_list:
        raise ValueError("erase_tracker needs a person, a cut-off date or senders")
    with tracker.begin() as connection:
        if not _has_table(connection, "events"):
            return 0
        if not sender_list:
            return int(connection.execute(delete(_EVENTS).where(*clauses)).rowcount or 0)
        total = 0
        for start in range(0, len(sender_list), 500):
            chunk = sender_list[start : start + 500]
            statement = delete(_EVENTS).where(*clauses, _EVENTS.c.sender_id.in_(chunk))
            total += int(connection.execute(statement).rowcount or 0)
        return total


# Later than any event's timestamp (seconds since 1970).
_NEVER = 1e18


def _next_message_at(tracker: Engine, pseudonym: str, after: datetime) -> datetime:
    """Just before the person's first message after ``after`` (what they said after asking
    to be forgotten, or after declining, is theirs: kept like any conversation), or the
    far future when there is none yet."""
    with tracker.connect() as connection:
        if not _has_table(connection, "events"):
            return datetime.max
        first = connection.execute(
            select(func.min(_EVENTS.c.timestamp)).where(
                _EVENTS.c.sender_id == pseudonym,
                _EVENTS.c.type_name == "user",
                _EVENTS.c.timestamp > _epoch(after),
            )
        ).scalar()
    if first is None:
        return datetime.max
    moment = datetime.fromtimestamp(float(first), tz=timezone.utc).replace(tzinfo=None)
    return moment - timedelta(microseconds=1)


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


# --- erasure and retention ------------------------------------------------------------------
@dataclass
class Outcome:
    """Rows removed per place (tracker events, each eraser, analytics links)."""

    rows: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, count: int) -> None:
        """Count ``count`` more rows under ``name``."""
        self.rows[name] = self.rows.get(name, 0) + int(count)

    @property
    def total(self) -> int:
        """All rows touched."""
        return sum(self.rows.values())


def erase_person(
    engine: Engine,
    tracker: Engine | None,
    pseudonym: str,
    key: str,
    *,
    reason: str = "delete",
    keep_contact: bool = False,
    erasers: Mapping[str, Eraser] | None = None,
) -> Outcome:
    """Forget one person now, and leave a request to finish after Rasa's end-of-turn write.

    ``keep_contact``: the erasure was asked in the chat, whose confirmation still needs the
    address; :func:`complete_erasures` removes it a few seconds later.
    """
    if not pseudonym:
        raise ValueError("empty pseudonym")
    outcome = Outcome()
    with engine.begin() as connection:
        for name, eraser in (erasers or dict(ERASERS)).items():
            if keep_contact and name == "contacts":
                continue
            outcome.add(name, eraser(connection, pseudonym, None))
        link = analytics.person_key(pseudonym, key)
        outcome.add("analytics links", analytics.unlink(connection, link))
        connection.execute(
            erasure_requests.insert().values(
                pseudonym=pseudonym, requested_at=utcnow(), reason=reason
            )
        )
    if tracker is not None:
        outcome.add("tracker events", erase_tracker(tracker, pseudonym=pseudonym))
    log.info("erased person %s (%s): %s", pseudonym, reason, outcome.rows)
    return outcome


def forget_declined(engine: Engine, tracker: Engine | None, pseudonym: str, key: str) -> Outcome:
    """A person declined: unlink their analytics and drop the conversation (kept: decision)."""
    record_consent(engine, pseudonym, DECLINED)
    outcome = Outcome()
    with engine.begin() as connection:
        link = analytics.person_key(pseudonym, key)
        outcome.add("analytics links", analytics.unlink(connection, link))
        connection.execute(
            erasure_requests.insert().values(
                pseudonym=pseudonym, requested_at=utcnow(), reason=DECLINED
            )
        )
    if tracker is not None:
        outcome.add("tracker events", erase_tracker(tracker, pseudonym=pseudonym))
    return outcome


def complete_erasures(
    engine: Engine, tracker: Engine | None, *, final: bool = False, now: datetime | None = None
) -> Outcome:
    """Run pending erasure requests again on the tracker store; ``final`` closes them.

    Requests older than :data:`ERASURE_MARGIN` are always closed: Rasa wrote long ago.
    ``final`` closes only requests at least :data:`FINAL_AFTER` old: one person's last
    run (30 s after their request) must not close another's made a moment ago, before
    Rasa's end-of-turn write, which then outlived the erasure (found by the simulator).
    """
    outcome = Outcome()
    now = now or utcnow()
    with engine.connect() as connection:
        pending = connection.execute(select(erasure_requests)).mappings().all()
    for request in pending:
        cut = request["requested_at"] + ERASURE_MARGIN
        if tracker is not None:
            # Once the person wrote again, the request's turn is written (Rasa handles one
            # person's turns one at a time): up to that message, and the request is done.
            outcome.add(
                "tracker events",
                erase_tracker(
                    tracker,
                    pseudonym=request["pseudonym"],
                    not_after=cut,
                    kept_from_message_after=request["requested_at"],
                ),
            )
            cut = min(cut, _next_message_at(tracker, request["pseudonym"], request["requested_at"]))
        # The address goes once the confirmation surely went out: not at the run 3 s after
        # the request (a turn slower than that under load lost its confirmation, found by
        # the simulator), at the final one or later.
        if request["reason"] != DECLINED and now - request["requested_at"] >= FINAL_AFTER:
            with engine.begin() as connection:
                outcome.add(
                    "contacts",
                    _erase_contact_if_quiet(
                        connection, request["pseudonym"], request["requested_at"]
                    ),
                )
        if now >= cut or (final and now - request["requested_at"] >= FINAL_AFTER):
            with engine.begin() as connection:
                connection.execute(
                    delete(erasure_requests).where(erasure_requests.c.id == request["id"])
                )
            outcome.add("requests closed", 1)
    return outcome


def purge(
    engine: Engine,
    tracker: Engine | None,
    older_than: timedelta,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> Outcome:
    """Retention: remove conversation contents older than ``older_than``; counts stay.

    Also finishes pending erasures and drops what people who declined said more than
    :data:`DECLINED_RETENTION` ago. ``dry_run`` counts without deleting.
    """
    now = now or utcnow()
    cutoff = now - older_than
    outcome = Outcome()
    if dry_run:
        return _count_purge(engine, tracker, cutoff, now)
    with engine.begin() as connection:
        for name, eraser in ERASERS:
            outcome.add(name, eraser(connection, None, cutoff))
        outcome.add("analytics links", analytics.unlink(connection, before=cutoff))
        declined = [
            row[0]
            for row in connection.execute(
                select(consents.c.pseudonym).where(consents.c.decision == DECLINED)
            )
        ]
    if tracker is not None:
        outcome.add("tracker events", erase_tracker(tracker, before=cutoff))
        if declined:
            outcome.add(
                "tracker events (declined)",
                erase_tracker(tracker, before=now - DECLINED_RETENTION, senders=declined),
            )
    for name, count in complete_erasures(engine, tracker).rows.items():
        outcome.add(name, count)
    log.info("purge of contents older than %s: %s", cutoff.isoformat(), outcome.rows)
    return outcome


def _count_purge(
    engine: Engine, tracker: Engine | None, cutoff: datetime, now: datetime
) -> Outcome:
    outcome = Outcome()
    if tracker is not None:
        with tracker.connect() as connection:
            if _has_table(connection, "events"):
                outcome.add(
                    "tracker events",
                    connection.execute(
                        text("SELECT COUNT(*) FROM events WHERE timestamp < :c"),
                        {"c": _epoch(cutoff)},
                    ).scalar()
                    or 0,
                )
    events = analytics.analytics_events
    with engine.connect() as connection:
        outcome.add(
            "analytics links",
            connection.execute(
                select(func.count())
                .select_from(events)
                .where(events.c.person_key.is_not(None))
                .where(events.c.occurred_at < analytics.hour_of(cutoff))
            ).scalar()
            or 0,
        )
    return outcome


# --- logs -----------------------------------------------------------------------------------
class MaskingFilter(logging.Filter):
    """Masks phone-number-like digit runs in every record passing a handler."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003
        """Format the message once, mask it, and keep the record."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 (a broken format string must not lose the record)
            message = str(record.msg)
        record.msg = mask_numbers(message)
        record.args = None
        # Tracebacks quote values too: format them now, masked (formatters reuse exc_text).
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_numbers(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_numbers(record.stack_info)
        return True


_FILTER = MaskingFilter()


def install_log_masking(logger: logging.Logger | None = None) -> MaskingFilter:
    """Mask numbers in everything the handlers of ``logger`` (default: root) write.

    Call it after configuring logging: filters on handlers see records from every logger,
    including libraries'. Idempotent.
    """
    target = logger or logging.getLogger()
    if target is logging.getLogger() and not target.handlers:
        logging.basicConfig()
    for handler in target.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    return _FILTER


def install_log_masking_everywhere() -> MaskingFilter:
    """Mask numbers in the handlers of every logger configured so far (root, Rasa, Sanic...).

    For server processes, whose frameworks attach handlers to their own loggers: call it
    once logging is configured (for a web server, when it starts). Idempotent.
    """
    install_log_masking()
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.handlers:
            install_log_masking(logger)
    return _FILTER
