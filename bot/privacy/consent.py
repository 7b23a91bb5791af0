"""The person's answer to the notice, and the one-word "delete my data" commands.

The answer (``accepted`` or ``declined``) is kept in ``consents`` until the person asks to
be forgotten: it is what lets us respect it (docs/privacy.md).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, String, Table, delete, select
from sqlalchemy.engine import Engine

from bot.db import metadata

ACCEPTED = "accepted"
DECLINED = "declined"
DECISIONS = (ACCEPTED, DECLINED)

consents = Table(
    "consents",
    metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("decision", String(16), nullable=False),
    Column("decided_at", DateTime, nullable=False),
)


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
