"""What mediators do to tickets: take, switch, reply, note, transfer, close.

The desk (desk.py) parses their commands and words the answers; these operations change
the tickets, each in one database transaction that also queues the messages it causes in
the outbox. A mixin of :class:`bot.handoff.service.Handoff`, which provides the engine,
the clock, the registry and the relaying helpers. No Rasa import.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.handoff import records
from bot.handoff import tickets as store
from bot.handoff.mediators import Mediator
from bot.handoff.messages import mediator_text, person_text
from bot.handoff.routing import is_override, may_handle
from bot.handoff.tickets import Ticket
from bot.handoff.wording import mediator_lang, rating_buttons

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from bot.handoff.mediators import Registry
    from bot.handoff.routing import Clock

log = logging.getLogger(__name__)


class MediatorOperations:
    """The mediators' side of the hand-off (mixed into ``Handoff``)."""

    engine: Engine
    clock: Clock
    registry: Callable[[], Registry]

    def take(self, mediator: Mediator, ticket_id: int) -> tuple[bool, Ticket | None]:
        """Give a queued ticket to ``mediator``: (won, ticket). Others and the person are told."""
        now = self.clock.now()
        registry = self.registry()
        with self.engine.begin() as conn:
            ticket = store.get(conn, ticket_id)
            if ticket is None:
                return False, None
            offered = records.offered_to(conn, ticket_id)
            if not may_handle(mediator, ticket, offered):
                # Least privilege: not one of theirs; answered like an unknown number.
                log.warning(
                    "ticket #%d refused to %s: not their region or language", ticket_id, mediator.id
                )
                return False, None
            if is_override(mediator, ticket, offered):
                log.warning(
                    "admin override: %s takes ticket #%d outside their regions and languages",
                    mediator.id,
                    ticket_id,
                )
            if not store.take(conn, ticket_id, mediator.id, now):
                return False, ticket
            ticket = store.get(conn, ticket_id)
            assert ticket is not None
            records.set_current(conn, mediator.id, ticket_id, now)
            lang = mediator_lang(mediator)
            records.enqueue(
                conn,
                "mediator",
                mediator.id,
                mediator_text(
                    "taken_by_you", lang, ticket=ticket_id, first_name=ticket.display_name
                ),
                now,
                ticket_id=ticket_id,
            )
            self._relay_waiting(conn, mediator, ticket, now, header=True)
            for other_id in records.offered_to(conn, ticket_id):
                other = registry.get(other_id)
                if other is not None and other.id != mediator.id:
                    records.enqueue(
                        conn,
                        "mediator",
                        other.id,
                        mediator_text(
                            "taken_by_other",
                            mediator_lang(other),
                            ticket=ticket_id,
                            name=mediator.name,
                        ),
                        now,
                        ticket_id=ticket_id,
                    )
            records.enqueue(
                conn,
                "person",
                ticket.pseudonym,
                person_text("taken", ticket.language, name=mediator.name),
                now,
                ticket_id=ticket_id,
            )
        log.info("ticket #%d taken by %s", ticket_id, mediator.id)
        return True, ticket

    def reply(self, mediator: Mediator, ticket: Ticket, text: str) -> None:
        """A mediator's message to the person of ``ticket`` (stored, then sent)."""
        now = self.clock.now()
        with self.engine.begin() as conn:
            records.add_message(
                conn, ticket.id, "mediator", now, text=text, mediator_id=mediator.id, relayed=True
            )
            text = person_text("from_mediator", ticket.language, name=mediator.name, text=text)
            records.enqueue(conn, "person", ticket.pseudonym, text, now, ticket_id=ticket.id)

    def close(self, mediator: Mediator, ticket: Ticket, outcome: str) -> bool:
        """Close the ticket: the person is told and asked for a rating; analytics recorded."""
        now = self.clock.now()
        with self.engine.begin() as conn:
            if not store.close(conn, ticket.id, mediator.id, outcome, now):
                return False
            ticket = store.get(conn, ticket.id) or ticket  # the language may have followed
            if records.current_of(conn, mediator.id) == ticket.id:
                others = [t.id for t in store.assigned_to(conn, mediator.id)]
                records.set_current(conn, mediator.id, others[0] if others else None, now)
            text = person_text("closed", ticket.language, name=mediator.name)
            records.enqueue(conn, "person", ticket.pseudonym, text, now, ticket_id=ticket.id)
            text = person_text("ask_rating", ticket.language)
            buttons = rating_buttons()
            records.enqueue(
                conn, "person", ticket.pseudonym, text, now, ticket_id=ticket.id, buttons=buttons
            )
            self._resume(conn, ticket, now)
            assigned = ticket.assigned_at or now
            self._record(
                conn,
                "handoff_closed",
                ticket,
                outcome=outcome,
                wait_seconds=max(0.0, (assigned - ticket.created_at).total_seconds()),
            )
        log.info("ticket #%d closed by %s (%s)", ticket.id, mediator.id, outcome)
        return True

    def switch(self, mediator: Mediator, ticket: Ticket) -> None:
        """Make one of the mediator's tickets their current one."""
        with self.engine.begin() as conn:
            records.set_current(conn, mediator.id, ticket.id, self.clock.now())

    def add_note(self, mediator: Mediator, ticket: Ticket, text: str) -> None:
        """A private note on the ticket (never sent to the person)."""
        with self.engine.begin() as conn:
            records.add_note(conn, ticket.id, mediator.id, text[:4000], self.clock.now())

    def transfer(self, mediator: Mediator, ticket: Ticket, colleague: Mediator) -> bool:
        """Hand an assigned ticket to a colleague, in one transaction: the ticket changes
        hands, both mediators' current tickets follow, and the mediator, the colleague and
        the person are told. False when the ticket is no longer the mediator's."""
        now = self.clock.now()
        with self.engine.begin() as conn:
            if not store.transfer(conn, ticket.id, mediator.id, colleague.id):
                return False
            if records.current_of(conn, mediator.id) == ticket.id:
                others = [t.id for t in store.assigned_to(conn, mediator.id)]
                records.set_current(conn, mediator.id, others[0] if others else None, now)
            if records.current_of(conn, colleague.id) is None:
                records.set_current(conn, colleague.id, ticket.id, now)
            records.offer(conn, ticket.id, colleague.id, now)
            text = mediator_text(
                "transferred", mediator_lang(mediator), ticket=ticket.id, name=colleague.name
            )
            records.enqueue(conn, "mediator", mediator.id, text, now)
            # The person learns who answers from now on.
            text = person_text("taken", ticket.language, name=colleague.name)
            records.enqueue(conn, "person", ticket.pseudonym, text, now, ticket_id=ticket.id)
            text = mediator_text(
                "transferred_to_you",
                mediator_lang(colleague),
                ticket=ticket.id,
                name=mediator.name,
                first_name=ticket.display_name,
            )
            records.enqueue(conn, "mediator", colleague.id, text, now)
        log.info("ticket #%d transferred from %s to %s", ticket.id, mediator.id, colleague.id)
        return True
