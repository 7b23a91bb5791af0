"""Who is offered a ticket, and when: region and language, working hours, widening.

Plain functions of the registry, the ticket and the time (a ``Clock`` is injected where
time passes, so tests control it). No Rasa import.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Protocol

from bot.handoff.mediators import TIMEZONE, Mediator, Registry
from bot.handoff.tickets import Ticket


class Clock(Protocol):
    """Where the hand-off reads the time (aware UTC)."""

    def now(self) -> datetime:
        """The current time."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """Now, aware UTC."""
        return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Policy:
    """Timing of the routing (settings HANDOFF_WIDEN_AFTER_MINUTES, ..._EXPIRE_AFTER_HOURS)."""

    widen_after: timedelta = timedelta(minutes=10)
    expire_after: timedelta = timedelta(hours=72)
    # A rating is read from the person's next messages for this long after closing.
    rating_window: timedelta = timedelta(hours=24)


def is_widened(ticket: Ticket, policy: Policy, now: datetime, first_offer: datetime | None) -> bool:
    """Emergencies and dangers at once; others ``widen_after`` after the first offer
    without a taker.

    Counted from the first offer, not the opening: a request made at night is widened only
    if nobody takes it once the mediators are at work.
    """
    if ticket.urgent:
        return True
    return first_offer is not None and now - first_offer >= policy.widen_after


def targets(registry: Registry, ticket: Ticket, now: datetime, widened: bool) -> list[Mediator]:
    """On-duty mediators to offer ``ticket`` to now.

    Matching region and language first; everybody on duty once widened, or when nobody
    on duty matches (better someone than no one).
    """
    on_duty = registry.on_duty(now)
    if widened:
        return on_duty
    matching = [m for m in on_duty if m.serves(ticket.region, ticket.language)]
    return matching or on_duty


def may_handle(mediator: Mediator, ticket: Ticket, offered_ids: list[str]) -> bool:
    """Whether ``mediator`` may see (/queue) and take (/take) a waiting ticket: one of their
    regions and languages, or offered to them, or widened to everyone. Admins may take any
    (the caller logs it: :func:`is_override`)."""
    return (
        mediator.admin
        or ticket.widened_at is not None
        or mediator.id in offered_ids
        or mediator.serves(ticket.region, ticket.language)
    )


def is_override(mediator: Mediator, ticket: Ticket, offered_ids: list[str]) -> bool:
    """True when only the admin right lets ``mediator`` handle ``ticket`` (to be logged)."""
    return mediator.admin and not may_handle(replace(mediator, admin=False), ticket, offered_ids)


def opens_at_text(registry: Registry, now: datetime) -> str | None:
    """When someone will answer, as people read it ("lundi 09:00" is language-bound, so
    day names are avoided: "09:00" today, else "2026-11-23 09:00"), Morocco time."""
    opening = registry.next_opening(now)
    if opening is None:
        return None
    local_now = now.astimezone(TIMEZONE)
    if opening.date() == local_now.date():
        return opening.strftime("%H:%M")
    return opening.strftime("%d/%m %H:%M")
