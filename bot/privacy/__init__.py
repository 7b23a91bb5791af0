"""Data protection: consent decisions, erasure ("delete my data"), retention, log masking.

Plain Python (no rasa import). What is kept, where and for how long is described in
docs/privacy.md; this package is the single place that deletes personal data:

* Rasa's tracker store (table ``events``, keyed by the pseudonym): SQLite under var/ in the
  dev profile, the PostgreSQL database of ``DATABASE_URL`` in production
  (:mod:`bot.privacy.tracker`);
* our own tables, through the *erasers* listed in :data:`ERASERS` (consents, contacts,
  hand-off), each ``fn(connection, pseudonym | None, before: datetime | None) -> rows``
  (:mod:`bot.privacy.erasers`);
* the link between a person and the anonymous analytics events (set to NULL, counts stay).

Erasing while Rasa handles the person's message is not enough: at the end of the turn Rasa
writes the whole session again (it appends the events it thinks are missing). So an erasure
also leaves a row in ``erasure_requests``; :func:`complete_erasures` runs it again a few
seconds later (the action server schedules it) and at every ``privacy purge``.

The erasure runs (:func:`erase_person`, :func:`forget_declined`, :func:`complete_erasures`,
:func:`purge`) are here; the person's answer to the notice and the "delete my data" commands
are in :mod:`bot.privacy.consent`, log masking in :mod:`bot.privacy.masking`. Every public
name is importable from ``bot.privacy``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import Engine

from bot import analytics
from bot.privacy.consent import (
    ACCEPTED,
    DECISIONS,
    DECLINED,
    ERASE_COMMANDS,
    consent_of,
    consents,
    has_declined,
    is_erase_command,
    record_consent,
    utcnow,
)
from bot.privacy.erasers import (
    ERASERS,
    NOT_PERSONAL_TABLES,
    PERSONAL_TABLES,
    Eraser,
    _erase_contact_if_quiet,
    _has_table,
    erasers,
    erasure_requests,
)
from bot.privacy.masking import _FILTER as _FILTER  # the one filter installed everywhere
from bot.privacy.masking import (
    MaskingFilter,
    install_log_masking,
    install_log_masking_everywhere,
)
from bot.privacy.tracker import _epoch, _next_message_at, erase_tracker, tracker_store_url

__all__ = [
    "ACCEPTED",
    "DECISIONS",
    "DECLINED",
    "DECLINED_RETENTION",
    "ERASERS",
    "ERASE_COMMANDS",
    "ERASURE_MARGIN",
    "FINAL_AFTER",
    "NOT_PERSONAL_TABLES",
    "PERSONAL_TABLES",
    "Eraser",
    "MaskingFilter",
    "Outcome",
    "analytics_key",
    "complete_erasures",
    "consent_of",
    "consents",
    "erase_person",
    "erase_tracker",
    "erasers",
    "erasure_requests",
    "forget_declined",
    "has_declined",
    "install_log_masking",
    "install_log_masking_everywhere",
    "is_erase_command",
    "parse_duration",
    "purge",
    "record_consent",
    "tracker_store_url",
    "utcnow",
]

log = logging.getLogger(__name__)

# A person who declined: Rasa still needs the current conversation to answer (language,
# town, topic); nothing of it is kept past this delay (purge) or the end of the decline turn.
DECLINED_RETENTION = timedelta(hours=24)
# Events written by Rasa at the end of the turn that asked for erasure come within seconds.
ERASURE_MARGIN = timedelta(minutes=2)
# A request this old has seen its turn written by Rasa (the turn takes well under a second).
FINAL_AFTER = timedelta(seconds=20)


# --- settings-derived helpers --------------------------------------------------------------
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
    chosen = {
        name: eraser
        for name, eraser in (erasers or dict(ERASERS)).items()
        if not (keep_contact and name == "contacts")
    }
    outcome = _forget(engine, tracker, pseudonym, key, reason, chosen)
    log.info("erased person %s (%s): %s", pseudonym, reason, outcome.rows)
    return outcome


def forget_declined(engine: Engine, tracker: Engine | None, pseudonym: str, key: str) -> Outcome:
    """A person declined: unlink their analytics and drop the conversation (kept: decision)."""
    record_consent(engine, pseudonym, DECLINED)
    return _forget(engine, tracker, pseudonym, key, DECLINED, {})


def _forget(
    engine: Engine,
    tracker: Engine | None,
    pseudonym: str,
    key: str,
    reason: str,
    erasers: Mapping[str, Eraser],
) -> Outcome:
    """Run ``erasers``, unlink the person's analytics and leave an erasure request for
    ``reason`` in one transaction; then drop their conversation from Rasa's tracker."""
    outcome = Outcome()
    with engine.begin() as connection:
        for name, eraser in erasers.items():
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
