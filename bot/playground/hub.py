"""The playground's state: its constants and bounds, the desk's mediator, and the mailboxes.

A :class:`PlaygroundHub` holds the people's phones (:class:`Session`, bounded, the least
recently used dropped first) and the desk's :class:`Mailbox`, which the page polls. No Rasa
import here (see the package's docstring).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time as clock_time
from http import HTTPStatus
from typing import Any

from bot.channels import base
from bot.handoff.mediators import LANGUAGES, Mediator, Registry
from bot.pseudonyms import pseudonym

log = logging.getLogger(__name__)

CHANNEL = "playground"
# The desk's own channel name in the dedupe and contacts tables (at most 16 characters).
DESK_CHANNEL = "playground_desk"
DESK_ADDRESS = "desk"
WHATSAPP = "whatsapp"
TELEGRAM = "telegram"
MODES = (WHATSAPP, TELEGRAM)
MEDIATOR_ID = "playground"
MEDIATOR_NAME = "Sara (playground)"

# Bounds: a forgotten tab or a script cannot make the server grow without limit.
MAX_SESSIONS = 100
SESSION_IDLE_S = 6 * 3600
MAILBOX_SIZE = 200
DESK_MAILBOX_SIZE = 500
MAX_BODY_BYTES = 64 * 1024
# What a person may type (longer is refused; over MAX_INPUT_CHARS it is cut, as on the
# platforms, and the person told).
MAX_TEXT_CHARS = 10_000
MAX_DESK_TEXT_CHARS = 4000
# Telegram's callback data is at most 64 bytes; a little room for a title shown in the echo.
MAX_CALLBACK_CHARS = 256
MAX_TITLE_CHARS = 100
MAX_FIRST_NAME_CHARS = 64
MAX_WAIT_S = 25.0

# Simulated media: what the page can "send" and the content type a platform would give.
MEDIA_TYPES = {
    base.VOICE: "audio/ogg",
    base.IMAGE: "image/jpeg",
    base.DOCUMENT: "application/pdf",
    base.STICKER: "image/webp",
    base.VIDEO: "video/mp4",
}
MEDIA_KINDS_BY_TYPE = {content_type: kind for kind, content_type in MEDIA_TYPES.items()}
KINDS = (base.TEXT, base.CALLBACK, base.LOCATION, *MEDIA_TYPES)
SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class PlaygroundError(Exception):
    """A request the playground refuses: an HTTP status and a sentence for the page."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- the playground mediator -----------------------------------------------------------------
def playground_mediator() -> Mediator:
    """The desk pane's mediator: every region and language, on duty day and night."""
    always = ((clock_time(0), clock_time(0)),)
    return Mediator(
        id=MEDIATOR_ID,
        name=MEDIATOR_NAME,
        channel=CHANNEL,
        address=DESK_ADDRESS,
        regions=("all",),
        languages=LANGUAGES,
        hours={day: always for day in range(7)},
    )


def with_playground(registry: Callable[[], Registry]) -> Callable[[], Registry]:
    """``registry`` plus the playground mediator (first, so its id always means it)."""
    mediator = playground_mediator()

    def current() -> Registry:
        others = tuple(m for m in registry().mediators if m.id != MEDIATOR_ID)
        return Registry((mediator, *others))

    return current


# --- mailboxes -------------------------------------------------------------------------------
@dataclass
class Mailbox:
    """What a pane shows, in order, bounded; ``wait`` returns as soon as something arrives."""

    size: int = MAILBOX_SIZE
    _entries: deque = field(default_factory=deque)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Event | None = None

    def put(self, **entry: Any) -> dict[str, Any]:
        """Append an entry (role, kind, text, buttons...); the oldest goes when full."""
        item = {"id": next(self._ids), "at": time.time(), **entry}
        self._entries.append(item)
        while len(self._entries) > self.size:
            self._entries.popleft()
        if self._changed is not None:
            self._changed.set()
            self._changed = None
        return item

    @property
    def last(self) -> int:
        """Id of the newest entry (0 when empty)."""
        return self._entries[-1]["id"] if self._entries else 0

    def after(self, cursor: int) -> list[dict[str, Any]]:
        """Entries newer than ``cursor``."""
        return [item for item in self._entries if item["id"] > cursor]

    async def wait(self, cursor: int, timeout: float) -> list[dict[str, Any]]:
        """Entries newer than ``cursor``, waiting up to ``timeout`` seconds for one."""
        found = self.after(cursor)
        if found or timeout <= 0:
            return found
        if self._changed is None:
            self._changed = asyncio.Event()
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        return self.after(cursor)


@dataclass
class Session:
    """One person's phone in the page: a platform behaviour and what it received."""

    id: str
    mode: str
    sender: str
    first_name: str | None
    mailbox: Mailbox = field(default_factory=Mailbox)
    last_seen: float = field(default_factory=time.monotonic)

    def touch(self) -> None:
        """Mark the session as used now (idle sessions are dropped first)."""
        self.last_seen = time.monotonic()

    def public(self) -> dict[str, Any]:
        """What the page needs to know about its session (no pseudonym)."""
        return {"session": self.id, "mode": self.mode, "first_name": self.first_name}


@dataclass
class PlaygroundHub:
    """Sessions (bounded, least recently used dropped first) and the desk's mailbox."""

    key: str
    max_sessions: int = MAX_SESSIONS
    idle_seconds: float = SESSION_IDLE_S
    desk: Mailbox = field(default_factory=lambda: Mailbox(DESK_MAILBOX_SIZE))
    _sessions: OrderedDict = field(default_factory=OrderedDict)
    _by_sender: dict = field(default_factory=dict)

    def create(self, mode: str, first_name: str | None) -> Session:
        """A new phone; the oldest idle ones make room."""
        self._prune()
        while len(self._sessions) >= self.max_sessions:
            _sid, oldest = self._sessions.popitem(last=False)
            self._by_sender.pop(oldest.sender, None)
            log.info("playground: session of %s dropped (too many sessions)", oldest.sender)
        session_id = secrets.token_urlsafe(18)
        session = Session(session_id, mode, pseudonym(CHANNEL, session_id, self.key), first_name)
        self._sessions[session_id] = session
        self._by_sender[session.sender] = session
        return session

    def get(self, session_id: str) -> Session | None:
        """The live session with this id."""
        session = self._sessions.get(session_id)
        if session is not None:
            session.touch()
            self._sessions.move_to_end(session_id)
        return session

    def for_sender(self, sender: str) -> Session | None:
        """The session behind a pseudonym (what the delivery receives)."""
        return self._by_sender.get(sender)

    def mode_of(self, session_id: str) -> str | None:
        """The platform behaviour of a session, without touching it."""
        session = self._sessions.get(session_id)
        return session.mode if session is not None else None

    def __len__(self) -> int:
        return len(self._sessions)

    def _prune(self) -> None:
        limit = time.monotonic() - self.idle_seconds
        for session_id, session in list(self._sessions.items()):
            if session.last_seen < limit:
                del self._sessions[session_id]
                self._by_sender.pop(session.sender, None)
