"""How the hand-off words things: a mediator's language, a ticket's reason and urgency
mark, the rating buttons and their payload. Pure functions, no database. No Rasa import.
"""

from __future__ import annotations

import json

from bot.handoff.mediators import Mediator
from bot.handoff.messages import mediator_text
from bot.handoff.tickets import Ticket

RATE_PREFIX = "/rate"


def mediator_lang(mediator: Mediator) -> str:
    """French unless the mediator only reads English."""
    return "en" if "fr" not in mediator.languages and "en" in mediator.languages else "fr"


def rating_buttons() -> list[tuple[str, str]]:
    """Buttons 1..5; the payload maps back through the channels' last buttons."""
    return [(f"{'⭐' * n} {n}", f'{RATE_PREFIX}{{"rating": {n}}}') for n in range(1, 6)]


def parse_rating(text: str) -> int | None:
    """The rating in a ``/rate{"rating": N}`` payload or a bare digit 1-5."""
    text = text.strip()
    if text.startswith(RATE_PREFIX):
        try:
            value = json.loads(text[len(RATE_PREFIX) :] or "{}").get("rating")
        except (ValueError, AttributeError):
            return None
        return value if isinstance(value, int) and 1 <= value <= 5 else None
    if len(text) == 1 and text in "12345":
        return int(text)
    return None


def reason_label(ticket: Ticket, lang: str) -> str:
    """The reason as mediators read it; a danger names its kind ("danger : violence")."""
    if ticket.danger:
        return mediator_text("danger_reason", lang, kind=danger_label(ticket.danger, lang))
    return ticket.reason


def danger_label(kind: str, lang: str) -> str:
    """A danger kind in the mediator's words ("violence", "suicide ou automutilation")."""
    return mediator_text(f"danger_{kind}", lang)


def urgent_mark(ticket: Ticket, lang: str) -> str:
    """ "🚨 EMERGENCY — " (and the kind of danger) before an urgent ticket's text."""
    if ticket.danger:
        return mediator_text("danger_mark", lang, kind=danger_label(ticket.danger, lang))
    return mediator_text("urgent_mark", lang) if ticket.reason == "emergency" else ""


def place(ticket: Ticket) -> str:
    return ticket.city or ticket.region or "?"
