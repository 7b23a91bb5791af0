"""The hand-off's operations: open, offer, widen, expire, relay, close, rate.

Each operation is one database transaction that changes the tickets and queues the
messages it causes in the outbox (sent afterwards by ``outbox.Flusher``), so a crash
between the two loses nothing. Synchronous (call through ``asyncio.to_thread``).
No Rasa import.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from bot import analytics
from bot.handoff import records
from bot.handoff import tickets as store
from bot.handoff.desk_ops import MediatorOperations
from bot.handoff.mediators import Mediator, Registry
from bot.handoff.messages import mediator_text, person_text
from bot.handoff.routing import (
    Clock,
    Policy,
    SystemClock,
    is_widened,
    opens_at_text,
    targets,
)
from bot.handoff.tickets import Ticket, TicketRequest
from bot.handoff.wording import (
    danger_label,
    mediator_lang,
    place,
    reason_label,
    urgent_mark,
)
from bot.language import detect, next_language

log = logging.getLogger(__name__)

# Directory answers shown while the person waits: f(ticket) -> text or None.
Meanwhile = Callable[[Ticket], "str | None"]


@dataclass(frozen=True)
class OpenResult:
    """What the hand-off action tells the person."""

    ticket_id: int
    created: bool
    # Someone is at work now (False: outside working hours, see opens_at).
    on_duty: bool
    opens_at: str | None


@dataclass
class Handoff(MediatorOperations):
    """The hand-off on one database, with a registry source and a clock."""

    engine: Engine
    registry: Callable[[], Registry]
    clock: Clock = field(default_factory=SystemClock)
    policy: Policy = field(default_factory=Policy)
    meanwhile: Meanwhile | None = None
    # Key of the analytics person link (None: events are recorded without a link).
    analytics_key: str | None = None
    declined: Callable[[Connection, str], bool] | None = None

    # --- opening and routing ---------------------------------------------------------------
    def open(self, request: TicketRequest) -> OpenResult:
        """Open (or find) the person's ticket and offer it to the mediators on duty."""
        now = self.clock.now()
        registry = self.registry()
        with self.engine.begin() as conn:
            ticket, created = store.open_ticket(conn, request, now)
            if created:
                self._offer(conn, registry, ticket, now)
                self._record(conn, "handoff_opened", ticket, intent=ticket.intent)
        on_duty = bool(registry.on_duty(now))
        log.info(
            "hand-off ticket #%d %s (%s, on duty: %s)",
            ticket.id,
            "opened" if created else "already open",
            ticket.reason,
            on_duty,
        )
        return OpenResult(
            ticket.id, created, on_duty, None if on_duty else opens_at_text(registry, now)
        )

    def escalate(self, ticket_id: int, kind: str) -> Ticket | None:
        """A danger in an open ticket's conversation: the ticket becomes urgent at once.

        First in the queue and offered to everyone on duty; the mediators it was already
        offered to (or the one who has it) are told, with the kind. None: not open.
        """
        now = self.clock.now()
        registry = self.registry()
        with self.engine.begin() as conn:
            changed = store.mark_danger(conn, ticket_id, kind)
            ticket = store.get(conn, ticket_id)
            if ticket is None or not ticket.is_open:
                return None
            if not changed:
                return ticket
            told = set()
            if ticket.state == "assigned" and ticket.mediator_id:
                told.add(ticket.mediator_id)
            else:
                told.update(records.offered_to(conn, ticket.id))
            for mediator_id in sorted(told):
                mediator = registry.get(mediator_id)
                if mediator is not None:
                    lang = mediator_lang(mediator)
                    text = mediator_text(
                        "danger_now", lang, ticket=ticket.id, kind=danger_label(kind, lang)
                    )
                    records.enqueue(conn, "mediator", mediator.id, text, now, ticket_id=ticket.id)
            if ticket.state == "queued":
                self._offer(conn, registry, ticket, now)
        log.warning("hand-off ticket #%d made urgent: %s", ticket_id, kind)
        return ticket

    def withdraw(self, pseudonym: str) -> bool:
        """The person does not want the mediator alerted for them: a queued ticket is
        withdrawn (mediators told, the bot resumes); an assigned one stays with its mediator,
        who reads the person's words. True when a ticket was withdrawn."""
        now = self.clock.now()
        registry = self.registry()
        with self.engine.begin() as conn:
            ticket = store.open_for_person(conn, pseudonym)
            if ticket is None or ticket.state != "queued":
                return False
            if not store.withdraw(conn, ticket.id, now):
                return False
            self._close_unanswered(conn, registry, ticket, "withdrawn", now)
        log.info("hand-off ticket #%d withdrawn by the person", ticket.id)
        return True

    def _resume(self, conn: Connection, ticket: Ticket, now: datetime) -> None:
        """The bot takes the conversation back, in the language the person last wrote in:
        Rasa never saw their words during the hand-off (the row's text carries it)."""
        current = store.get(conn, ticket.id) or ticket
        language = current.language or ""
        records.enqueue(conn, "resume", ticket.pseudonym, language, now, ticket_id=ticket.id)

    def _offer(self, conn: Connection, registry: Registry, ticket: Ticket, now: datetime) -> int:
        widened = is_widened(ticket, self.policy, now, records.first_offer_at(conn, ticket.id))
        count = 0
        for mediator in targets(registry, ticket, now, widened):
            if records.offer(conn, ticket.id, mediator.id, now):
                self._notify_new(conn, mediator, ticket, now)
                count += 1
        return count

    def _notify_new(
        self, conn: Connection, mediator: Mediator, ticket: Ticket, now: datetime
    ) -> None:
        lang = mediator_lang(mediator)
        context = "\n".join(
            f"{'>' if item.get('who') == 'person' else '🤖'} {item.get('text', '')}"
            for item in ticket.context
        )
        text = mediator_text(
            "new_ticket",
            lang,
            ticket=ticket.id,
            first_name=ticket.display_name,
            urgent=urgent_mark(ticket, lang),
            reason=reason_label(ticket, lang),
            language=ticket.language or "?",
            place=place(ticket),
            profile=ticket.profile or "?",
            context=context,
        )
        button = (mediator_text("take_button", lang, ticket=ticket.id), f"/take {ticket.id}")
        records.enqueue(
            conn, "mediator", mediator.id, text, now, ticket_id=ticket.id, buttons=[button]
        )

    def tick(self) -> dict[str, int]:
        """Offer waiting tickets to who just came on duty, widen, expire; counts of each."""
        now = self.clock.now()
        registry = self.registry()
        done = {"offered": 0, "widened": 0, "expired": 0}
        with self.engine.begin() as conn:
            waiting = store.queued(conn)
        for ticket in waiting:
            with self.engine.begin() as conn:
                if now - ticket.created_at >= self.policy.expire_after:
                    if store.expire(conn, ticket.id, now):
                        self._close_unanswered(conn, registry, ticket, "expired", now)
                        done["expired"] += 1
                    continue
                done["offered"] += self._offer(conn, registry, ticket, now)
                first = records.first_offer_at(conn, ticket.id)
                due = first is not None and now - first >= self.policy.widen_after
                if due and store.widen(conn, ticket.id, now):
                    done["widened"] += 1
                    self._tell_widened(conn, registry, ticket, now)
        return done

    def _tell_widened(
        self, conn: Connection, registry: Registry, ticket: Ticket, now: datetime
    ) -> None:
        services = None
        if self.meanwhile is not None:
            try:
                services = self.meanwhile(ticket)
            except Exception:  # noqa: BLE001 (the honest message goes out anyway)
                log.exception("no directory answers for ticket #%d", ticket.id)
        if services:
            text = person_text("widened", ticket.language) + "\n\n" + services
        else:
            text = person_text("widened_no_services", ticket.language)
        records.enqueue(conn, "person", ticket.pseudonym, text, now, ticket_id=ticket.id)
        self._tell_offered(conn, registry, ticket, "widened_offer", now)

    def _tell_offered(
        self, conn: Connection, registry: Registry, ticket: Ticket, key: str, now: datetime
    ) -> None:
        """Tell every mediator the ticket was offered to, each in their language."""
        for mediator_id in records.offered_to(conn, ticket.id):
            mediator = registry.get(mediator_id)
            if mediator is not None:
                text = mediator_text(key, mediator_lang(mediator), ticket=ticket.id)
                records.enqueue(conn, "mediator", mediator.id, text, now)

    def _close_unanswered(
        self, conn: Connection, registry: Registry, ticket: Ticket, outcome: str, now: datetime
    ) -> None:
        """A ticket no mediator took is over (``outcome`` is withdrawn or expired): the person
        of an expired one is told, the bot resumes, the mediators it was offered to are told
        (the message of that name), and analytics records how long it waited."""
        if outcome == "expired":
            text = person_text("expired", ticket.language)
            records.enqueue(conn, "person", ticket.pseudonym, text, now, ticket_id=ticket.id)
        self._resume(conn, ticket, now)
        self._tell_offered(conn, registry, ticket, outcome, now)
        self._record(
            conn,
            "handoff_closed",
            ticket,
            outcome=outcome,
            wait_seconds=(now - ticket.created_at).total_seconds(),
        )

    # --- mediator side -----------------------------------------------------------------------
    def _relay_waiting(
        self,
        conn: Connection,
        mediator: Mediator,
        ticket: Ticket,
        now: datetime,
        header: bool = False,
    ) -> None:
        waiting = records.waiting_person_messages(conn, ticket.id)
        if not waiting:
            return
        lang = mediator_lang(mediator)
        if header:
            records.enqueue(
                conn,
                "mediator",
                mediator.id,
                mediator_text("backlog", lang),
                now,
                ticket_id=ticket.id,
            )
        for row in waiting:
            self._to_mediator(
                conn, mediator, ticket, row.kind, row.text, row.media_url, row.media_type, now
            )
        records.mark_relayed(conn, [row.id for row in waiting], now)

    def _to_mediator(
        self,
        conn: Connection,
        mediator: Mediator,
        ticket: Ticket,
        kind: str,
        text: str | None,
        media_url: str | None,
        media_type: str | None,
        now: datetime,
    ) -> None:
        lang = mediator_lang(mediator)
        if media_url:
            caption = mediator_text(
                "person_media", lang, ticket=ticket.id, first_name=ticket.display_name, kind=kind
            )
            if text:
                caption += "\n" + text
            records.enqueue(
                conn,
                "mediator",
                mediator.id,
                caption,
                now,
                ticket_id=ticket.id,
                media_url=media_url,
                media_type=media_type or kind,
                media_channel=ticket.channel,
            )
            return
        if kind != "text" and not text:
            text = f"[{kind}]"
        records.enqueue(
            conn,
            "mediator",
            mediator.id,
            mediator_text(
                "person_says",
                lang,
                ticket=ticket.id,
                first_name=ticket.display_name,
                text=text or "",
            ),
            now,
            ticket_id=ticket.id,
        )

    # --- person side -------------------------------------------------------------------------
    def person_message(
        self,
        ticket: Ticket,
        kind: str,
        text: str | None,
        media_url: str | None,
        media_type: str | None,
    ) -> None:
        """Store a message of the person; relay it at once when a mediator has the ticket."""
        now = self.clock.now()
        registry = self.registry()
        with self.engine.begin() as conn:
            records.add_message(
                conn,
                ticket.id,
                "person",
                now,
                kind=kind,
                text=text,
                media_url=media_url,
                media_type=media_type,
            )
            current = store.get(conn, ticket.id)
            if current is not None and kind == "text" and text:
                self._follow_language(conn, current, text)
            if current is None or current.state != "assigned" or not current.mediator_id:
                return
            mediator = registry.get(current.mediator_id)
            if mediator is None:
                log.error(
                    "ticket #%d: mediator %s is no longer registered; message kept",
                    ticket.id,
                    current.mediator_id,
                )
                return
            self._relay_waiting(conn, mediator, current, now)

    @staticmethod
    def _follow_language(conn: Connection, ticket: Ticket, text: str) -> None:
        """Rasa's sticky-language rule, applied to the words only the mediator reads: the
        notices of the close, and the bot afterwards, answer in the person's language."""
        language = next_language(ticket.language, detect(text), text=text)
        if language and language != ticket.language:
            store.set_language(conn, ticket.id, language)

    def rating(self, ticket: Ticket, rating: int) -> bool:
        """Record the person's rating and thank them."""
        now = self.clock.now()
        registry = self.registry()
        with self.engine.begin() as conn:
            if not store.rate(conn, ticket.id, rating, now):
                return False
            text = person_text("thanks_rating", ticket.language)
            records.enqueue(conn, "person", ticket.pseudonym, text, now, ticket_id=ticket.id)
            mediator = registry.get(ticket.mediator_id or "")
            if mediator is not None:
                text = mediator_text(
                    "rated", mediator_lang(mediator), ticket=ticket.id, rating=rating
                )
                records.enqueue(conn, "mediator", mediator.id, text, now)
            self._record(conn, "rating", ticket, rating=rating)
        return True

    # --- analytics ---------------------------------------------------------------------------
    def _record(self, conn: Connection, kind: str, ticket: Ticket, **fields: object) -> None:
        person = None
        declined = self.declined(conn, ticket.pseudonym) if self.declined else False
        if self.analytics_key and not declined:
            person = analytics.person_key(ticket.pseudonym, self.analytics_key)
        try:
            with conn.begin_nested():
                analytics.record(
                    conn,
                    kind,
                    person=person,
                    language=ticket.language,
                    city=ticket.city,
                    region=ticket.region,
                    profile=ticket.profile,
                    channel=ticket.channel,
                    **fields,
                )
        except ValueError:
            raise
        except Exception:  # noqa: BLE001 (statistics never block a hand-off)
            log.exception("could not record analytics event %s", kind)
