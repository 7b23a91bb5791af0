"""The mediators' desk: commands parsed from text, identical on Telegram and WhatsApp.

``/queue``, ``/take N``, ``/switch N``, ``/transfer N MEDIATOR``, ``/note text``,
``/close [outcome]``, ``/status``, ``/help``; the leading slash is optional (WhatsApp
strips it) and a plain message goes to the mediator's current ticket. Only registered
mediators get here (the relay and the mediators' Telegram channel check). No Rasa import.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from bot.handoff import records
from bot.handoff import tickets as store
from bot.handoff.mediators import Mediator
from bot.handoff.messages import mediator_text
from bot.handoff.routing import is_override, may_handle
from bot.handoff.service import Handoff
from bot.handoff.tickets import OUTCOMES, Ticket
from bot.handoff.wording import mediator_lang, reason_label

log = logging.getLogger(__name__)

COMMANDS = ("queue", "take", "switch", "transfer", "note", "close", "status", "help", "start")
_COMMAND_RE = re.compile(r"^[/!]?(?P<name>[a-z]+)(?:@\w+)?(?:\s+(?P<args>.*))?$", re.S | re.I)
_NUMBER_RE = re.compile(r"^#?(\d{1,9})$")
USAGE = {
    "take": "/take N",
    "switch": "/switch N",
    "transfer": "/transfer N ID",
    "note": "/note texte",
}


@dataclass(frozen=True)
class Command:
    """A parsed mediator command (``name`` None: a plain message for the current ticket)."""

    name: str | None
    args: str = ""


def parse(text: str) -> Command:
    """The command in ``text``; WhatsApp's "/greet" (its /help) means help."""
    stripped = text.strip()
    if stripped.lower() in ("/greet", "greet"):
        return Command("help")
    match = _COMMAND_RE.match(stripped)
    if match is None or match["name"].lower() not in COMMANDS:
        return Command(None, text)
    name, args = match["name"].lower(), (match["args"] or "").strip()
    # Without its slash a command word must have the expected shape, so that an ordinary
    # sentence ("Note that ...") still reaches the person.
    if not stripped.startswith(("/", "!")):
        words = args.split()
        shaped = {
            "queue": not args,
            "status": not args,
            "help": not args,
            "start": False,
            "take": len(words) == 1 and bool(_NUMBER_RE.match(words[0])),
            "switch": len(words) == 1 and bool(_NUMBER_RE.match(words[0])),
            "transfer": len(words) == 2 and bool(_NUMBER_RE.match(words[0])),
            "close": not args or (len(words) == 1 and words[0].lower() in OUTCOMES),
            "note": bool(args),
        }[name]
        if not shaped:
            return Command(None, text)
    return Command("help" if name == "start" else name, args)


def looks_like_command(text: str) -> bool:
    """True for a command only a mediator could mean (used to log refused attempts)."""
    command = parse(text)
    # Only the shapes no ordinary sentence has ("take 12"); "close" or "note" alone may be
    # words a person means for the assistant.
    return command.name in ("take", "switch", "transfer")


def _number(args: str) -> int | None:
    match = _NUMBER_RE.match(args.split()[0]) if args.split() else None
    return int(match.group(1)) if match else None


@dataclass
class Desk:
    """Executes mediators' commands on a :class:`Handoff`; answers go through the outbox."""

    handoff: Handoff

    def _say(self, mediator: Mediator, key: str, **values: object) -> None:
        text = mediator_text(key, mediator_lang(mediator), **values)
        now = self.handoff.clock.now()
        with self.handoff.engine.begin() as conn:
            records.enqueue(conn, "mediator", mediator.id, text, now)

    def handle(
        self,
        mediator: Mediator,
        text: str,
        kind: str = "text",
        media_url: str | None = None,
    ) -> str:
        """Run one message of ``mediator``; the command name (or "reply") for logs and tests."""
        if kind != "text" and media_url:
            self._say(mediator, "mediator_media_refused")
            return "media"
        command = parse(text or "")
        name = command.name or "reply"
        handler = getattr(self, f"_cmd_{name}")
        handler(mediator, command.args if command.name else text)
        log.info("mediator %s: %s", mediator.id, name)
        return name

    def _cmd_help(self, mediator: Mediator, _args: str) -> None:
        self._say(mediator, "help", outcomes=", ".join(OUTCOMES))

    def _cmd_queue(self, mediator: Mediator, _args: str) -> None:
        with self.handoff.engine.connect() as conn:
            # Least privilege: only requests this mediator may take (routing.may_handle).
            queued = store.queued(conn)
            offers = {t.id: records.offered_to(conn, t.id) for t in queued}
            waiting = [t for t in queued if may_handle(mediator, t, offers[t.id])]
            overrides = [t.id for t in waiting if is_override(mediator, t, offers[t.id])]
        if overrides:
            log.warning(
                "admin override: %s lists tickets %s outside their regions and languages",
                mediator.id,
                overrides,
            )
        if not waiting:
            self._say(mediator, "queue_empty")
            return
        lang = mediator_lang(mediator)
        now = self.handoff.clock.now()
        lines = [mediator_text("queue_header", lang, count=len(waiting))]
        for ticket in waiting[:20]:
            lines.append(
                mediator_text(
                    "queue_line",
                    lang,
                    urgent="🚨 " if ticket.urgent else "",
                    ticket=ticket.id,
                    first_name=ticket.display_name,
                    reason=reason_label(ticket, lang),
                    language=ticket.language or "?",
                    place=ticket.city or ticket.region or "?",
                    minutes=int((now - ticket.created_at).total_seconds() // 60),
                )
            )
        with self.handoff.engine.begin() as conn:
            records.enqueue(conn, "mediator", mediator.id, "\n".join(lines), now)

    def _cmd_take(self, mediator: Mediator, args: str) -> None:
        number = _number(args)
        if number is None:
            self._say(mediator, "bad_command", usage=USAGE["take"])
            return
        won, ticket = self.handoff.take(mediator, number)
        if ticket is None:
            self._say(mediator, "unknown_ticket", ticket=number)
        elif not won:
            self._say(mediator, "already_taken", ticket=number, state=ticket.state)

    def _mine(self, mediator: Mediator, number: int) -> Ticket | None:
        with self.handoff.engine.connect() as conn:
            ticket = store.get(conn, number)
        if ticket is None:
            self._say(mediator, "unknown_ticket", ticket=number)
            return None
        if ticket.state != "assigned" or ticket.mediator_id != mediator.id:
            self._say(mediator, "not_yours", ticket=number)
            return None
        return ticket

    def _current(self, mediator: Mediator) -> Ticket | None:
        with self.handoff.engine.connect() as conn:
            number = records.current_of(conn, mediator.id)
            ticket = store.get(conn, number) if number is not None else None
        if ticket is None or ticket.state != "assigned" or ticket.mediator_id != mediator.id:
            self._say(mediator, "no_current")
            return None
        return ticket

    def _cmd_switch(self, mediator: Mediator, args: str) -> None:
        number = _number(args)
        if number is None:
            self._say(mediator, "bad_command", usage=USAGE["switch"])
            return
        ticket = self._mine(mediator, number)
        if ticket is None:
            return
        self.handoff.switch(mediator, ticket)
        self._say(mediator, "switched", ticket=ticket.id, first_name=ticket.display_name)

    def _cmd_transfer(self, mediator: Mediator, args: str) -> None:
        words = args.split()
        number = _number(args)
        if number is None or len(words) != 2:
            self._say(mediator, "bad_command", usage=USAGE["transfer"])
            return
        registry = self.handoff.registry()
        colleague = registry.get(words[1])
        if colleague is None:
            known = ", ".join(m.id for m in registry.mediators)
            self._say(mediator, "unknown_mediator", who=words[1], known=known)
            return
        ticket = self._mine(mediator, number)
        if ticket is None:
            return
        if not self.handoff.transfer(mediator, ticket, colleague):
            self._say(mediator, "not_yours", ticket=ticket.id)

    def _cmd_note(self, mediator: Mediator, args: str) -> None:
        if not args.strip():
            self._say(mediator, "note_empty")
            return
        ticket = self._current(mediator)
        if ticket is None:
            return
        self.handoff.add_note(mediator, ticket, args.strip())
        self._say(mediator, "note_saved", ticket=ticket.id)

    def _cmd_close(self, mediator: Mediator, args: str) -> None:
        outcome = args.split()[0].lower() if args.split() else "resolved"
        if outcome not in OUTCOMES:
            self._say(mediator, "bad_outcome", outcome=outcome, outcomes=", ".join(OUTCOMES))
            return
        ticket = self._current(mediator)
        if ticket is None:
            return
        if self.handoff.close(mediator, ticket, outcome):
            self._say(mediator, "closed", ticket=ticket.id, outcome=outcome)
        else:
            self._say(mediator, "not_yours", ticket=ticket.id)

    def _cmd_status(self, mediator: Mediator, _args: str) -> None:
        lang = mediator_lang(mediator)
        with self.handoff.engine.connect() as conn:
            current = records.current_of(conn, mediator.id)
            mine = store.assigned_to(conn, mediator.id)
            waiting = len(store.queued(conn))
        none = mediator_text("none", lang)
        current_ticket = next((t for t in mine if t.id == current), None)
        self._say(
            mediator,
            "status",
            current=f"#{current_ticket.id} {current_ticket.display_name}"
            if current_ticket
            else none,
            mine=", ".join(f"#{t.id}" for t in mine) or none,
            waiting=waiting,
        )

    def _cmd_reply(self, mediator: Mediator, text: str) -> None:
        text = (text or "").strip()
        if not text:
            return
        ticket = self._current(mediator)
        if ticket is None:
            return
        self.handoff.reply(mediator, ticket, text[:4000])
