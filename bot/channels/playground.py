"""The local playground: a person's phone and the mediators' desk in one browser page.

For people without Twilio or Telegram credentials (an association deciding, a mediator in
training, an admin checking a directory edit). It is a channel like the others: the page
posts what the person does, an :class:`IncomingMessage` goes through the same
:class:`Pipeline` (dedupe, contact, ordered queue, hand-off interceptor, Rasa), and replies
come back through a :class:`Delivery` that renders them as the chosen platform would
(WhatsApp: numbered menus, 1600-unit parts; Telegram: inline buttons, 4096-unit parts) into
a bounded in-memory mailbox the page polls. The desk pane is a mediator registered only in
playground mode, whose hand-off messages land in the page and whose commands go through
``bot/handoff/desk.py`` like those of the mediators' Telegram bot.

Loopback only (:func:`local_request_problem`); enabled by ``Settings.playground_enabled``
(never in the production profile). The Rasa adapter is ``playground_input.py``; no Rasa
import here.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import itertools
import logging
import math
import re
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time as clock_time
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.channels import base
from bot.channels.base import (
    TELEGRAM_MAX_UNITS,
    WHATSAPP_MAX_UNITS,
    Button,
    IncomingMessage,
    OutgoingMessage,
    clean_text,
    numbered_menu,
    split_message,
    truncate_input,
    typed_text,
)
from bot.channels.pipeline import BUSY, DUPLICATE, Dispatch, Pipeline, numbered_reply
from bot.channels.store import ChannelStore
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
STATIC_DIR = Path(__file__).with_name("playground_static")

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
_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")


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


# --- who may use it --------------------------------------------------------------------------
def _is_loopback(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _loopback_host(host: str) -> bool:
    # "127.0.0.1:5005", "localhost", "[::1]:5005"
    hostname = urlsplit(f"//{host}").hostname or ""
    return hostname in LOOPBACK_NAMES or _is_loopback(hostname)


def local_request_problem(peer: str | None, headers: Mapping[str, str]) -> str | None:
    """Why a request may not use the playground (None: a browser on this machine).

    The peer must be loopback, and so must the Host (no DNS rebinding) and the Origin when
    the browser sends one (no other site driving it); a request relayed by a proxy carries
    its headers and is refused, since the person behind it is elsewhere.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    if not peer or not _is_loopback(peer):
        return "the playground answers this machine only (loopback)"
    if any(name in lowered for name in PROXY_HEADERS):
        return "the playground is not served through a proxy"
    if not _loopback_host(lowered.get("host", "")):
        return "open the playground as http://127.0.0.1 or http://localhost"
    origin = lowered.get("origin")
    # Exactly the page's own origin: not "null" (a sandboxed frame, a file), not another
    # local server's page (http://127.0.0.1:8000 is another site for the browser).
    if origin is not None and origin != f"http://{lowered.get('host', '')}":
        return "requests from another site are refused"
    return None


# The page carries a token (a <meta> tag) that its script sends back in this header on every
# API call: another page, even on this machine, cannot read it (same-origin policy).
CSRF_HEADER = "X-Playground-Token"
CSRF_PLACEHOLDER = b"__PLAYGROUND_TOKEN__"


class CsrfTokens:
    """Per-page tokens: a random nonce and its HMAC under a secret of this process."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def _mac(self, nonce: str) -> str:
        return hmac.new(self._secret, nonce.encode(), hashlib.sha256).hexdigest()

    def issue(self) -> str:
        """A new token for a page being served."""
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self._mac(nonce)}"

    def valid(self, token: str | None) -> bool:
        """True for a token this process issued."""
        nonce, _, mac = (token or "").partition(".")
        return bool(nonce and mac) and hmac.compare_digest(mac, self._mac(nonce))


def is_json_request(content_type: str | None) -> bool:
    """Exactly application/json (a charset parameter allowed): a form or text/plain body,
    which another page may send without a preflight, is refused."""
    media_type, _, params = (content_type or "").partition(";")
    if media_type.strip().lower() != "application/json":
        return False
    params = params.strip().lower().replace(" ", "")
    return params in ("", "charset=utf-8")


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


# --- deliveries ------------------------------------------------------------------------------
def telegram_buttons(buttons: Sequence[Button]) -> list[dict[str, str]]:
    """Inline buttons as the Telegram channel sends them (same callback data)."""
    from bot.channels.telegram_api import callback_data

    return [
        {"title": b.title[:64], "data": callback_data(i, b.payload)} for i, b in enumerate(buttons)
    ]


@dataclass
class PlaygroundDelivery:
    """Renders the assistant's messages as the session's platform would, into its mailbox."""

    hub: PlaygroundHub
    store: ChannelStore

    async def deliver(self, message: OutgoingMessage) -> bool:
        """Put ``message`` in the person's mailbox; False when the session is gone."""
        session = self.hub.for_sender(message.recipient)
        if session is None:
            log.warning("playground: no open session for %s; message dropped", message.recipient)
            return False
        # As on both platforms: the latest buttons are what a number or an index refers to.
        if not message.keep_menu:
            await asyncio.to_thread(
                self.store.set_last_buttons, message.recipient, [b.payload for b in message.buttons]
            )
        box = session.mailbox
        if message.image_url:
            box.put(role="bot", kind=base.IMAGE, text="", image_url=message.image_url)
        if session.mode == WHATSAPP:
            text = numbered_menu(message.text, message.buttons)
            for part in split_message(text, WHATSAPP_MAX_UNITS):
                box.put(role="bot", kind=base.TEXT, text=part)
            return True
        parts = split_message(message.text, TELEGRAM_MAX_UNITS)
        if not parts and message.buttons:
            parts = ["…"]  # Telegram needs some text to carry a keyboard
        buttons = telegram_buttons(message.buttons)
        for number, part in enumerate(parts, start=1):
            last = number == len(parts)
            box.put(role="bot", kind=base.TEXT, text=part, buttons=buttons if last else [])
        return True


@dataclass
class PlaygroundMediatorSender:
    """The hand-off's sender for the playground mediator: its messages land in the desk pane."""

    hub: PlaygroundHub

    async def send(
        self, mediator: Mediator, text: str, buttons: Sequence[Button], media: Any | None
    ) -> bool:
        """Text with the buttons' commands ("Take #12" sends "/take 12"), media described."""
        kind = base.TEXT
        if media is not None:
            # The outbox knows the file's content type; the pane shows what it stands for.
            kind = MEDIA_KINDS_BY_TYPE.get(media.kind, media.kind)
            kind = kind if kind in MEDIA_TYPES else base.DOCUMENT
        self.hub.desk.put(
            role="bot",
            kind=kind,
            text=text,
            buttons=[{"title": b.title[:64], "data": b.payload} for b in buttons],
            media={"kind": kind} if media is not None else None,
        )
        return True


@dataclass
class DeskNotices:
    """The desk pipeline's notices (busy, technical problem) shown in the desk pane."""

    hub: PlaygroundHub

    async def deliver(self, message: OutgoingMessage) -> bool:
        """Show ``message`` in the desk pane."""
        self.hub.desk.put(role="notice", kind=base.TEXT, text=message.text)
        return True


# --- reading what the page posts ---------------------------------------------------------------
def _string(body: Mapping[str, Any], name: str, limit: int, required: bool = False) -> str:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise PlaygroundError(HTTPStatus.BAD_REQUEST, f"'{name}' is required")
        return ""
    if not isinstance(value, str):
        raise PlaygroundError(HTTPStatus.BAD_REQUEST, f"'{name}' must be a string")
    if len(value) > limit:
        raise PlaygroundError(
            HTTPStatus.BAD_REQUEST, f"'{name}' is too long ({len(value)} > {limit} characters)"
        )
    return value


def _coordinate(body: Mapping[str, Any], name: str, bound: float) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PlaygroundError(HTTPStatus.BAD_REQUEST, f"'{name}' must be a number")
    value = float(value)
    if not math.isfinite(value) or abs(value) > bound:
        raise PlaygroundError(
            HTTPStatus.BAD_REQUEST, f"'{name}' must be between -{bound:g} and {bound:g}"
        )
    return value


def _client_id(body: Mapping[str, Any]) -> str:
    value = body.get("id")
    if value is None:
        return secrets.token_hex(8)
    if not isinstance(value, str) or not _CLIENT_ID_RE.match(value):
        raise PlaygroundError(
            HTTPStatus.BAD_REQUEST, "'id' must be 1-64 letters, digits, '-' or '_'"
        )
    return value


def parse_person_message(session: Session, body: Mapping[str, Any]) -> tuple[IncomingMessage, str]:
    """The :class:`IncomingMessage` the page's ``body`` stands for, and what to echo.

    The same cleaning as the platforms: control characters removed, a typed ``/intent``
    never taken as a payload, text over 2000 characters cut (and the person told).
    """
    kind = body.get("kind", base.TEXT)
    if kind not in KINDS:
        raise PlaygroundError(
            HTTPStatus.BAD_REQUEST, f"unknown kind {kind!r} (known: {', '.join(KINDS)})"
        )
    message = IncomingMessage(
        channel=CHANNEL,
        address=session.id,
        sender=session.sender,
        kind=kind,
        first_name=session.first_name,
        external_id=f"{session.id}:{_client_id(body)}",
    )
    echo = ""
    if kind == base.TEXT:
        text = clean_text(_string(body, "text", MAX_TEXT_CHARS, required=True))
        if not text:
            raise PlaygroundError(HTTPStatus.BAD_REQUEST, "the message is empty")
        message.text, message.truncated = truncate_input(typed_text(text))
        echo = text
    elif kind == base.CALLBACK:
        if session.mode != TELEGRAM:
            raise PlaygroundError(
                HTTPStatus.BAD_REQUEST,
                "WhatsApp has no buttons here: type the number of your choice",
            )
        message.text = _string(body, "data", MAX_CALLBACK_CHARS, required=True)
        echo = clean_text(_string(body, "title", MAX_TITLE_CHARS)) or message.text
    elif kind == base.LOCATION:
        message.latitude = _coordinate(body, "latitude", 90.0)
        message.longitude = _coordinate(body, "longitude", 180.0)
        where = clean_text(_string(body, "title", MAX_TITLE_CHARS))
        echo = where or f"{message.latitude:.4f}, {message.longitude:.4f}"
    else:
        caption = clean_text(_string(body, "text", MAX_TEXT_CHARS))
        message.text, message.truncated = truncate_input(typed_text(caption))
        message.media_type = MEDIA_TYPES[kind]
        message.media_url = f"playground:{kind}/{message.external_id}"
        echo = caption
    return message, echo


def parse_desk_message(body: Mapping[str, Any]) -> tuple[IncomingMessage, str]:
    """A mediator's typed text or pressed button, as the mediators' Telegram bot reads them."""
    data = _string(body, "data", MAX_CALLBACK_CHARS)
    message = IncomingMessage(
        channel=DESK_CHANNEL,
        address=DESK_ADDRESS,
        sender="",  # set by the caller (pseudonym of the desk)
        external_id=f"desk:{_client_id(body)}",
    )
    if data:
        message.kind, message.text = base.CALLBACK, clean_text(data)
        return message, clean_text(_string(body, "title", MAX_TITLE_CHARS)) or message.text
    text = clean_text(_string(body, "text", MAX_DESK_TEXT_CHARS, required=True))
    if not text:
        raise PlaygroundError(HTTPStatus.BAD_REQUEST, "the message is empty")
    message.text = typed_text(text)
    return message, text


def _wait_seconds(raw: str | None) -> float:
    if raw in (None, ""):
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise PlaygroundError(HTTPStatus.BAD_REQUEST, "'wait' must be a number") from None
    if not math.isfinite(value) or value < 0:
        raise PlaygroundError(HTTPStatus.BAD_REQUEST, "'wait' must be 0 or more seconds")
    return min(value, MAX_WAIT_S)


def _cursor(raw: str | None) -> int:
    if raw in (None, ""):
        return 0
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise PlaygroundError(HTTPStatus.BAD_REQUEST, "'after' must be a whole number")
    return int(raw)


# --- the playground itself ---------------------------------------------------------------------
@dataclass
class Playground:
    """Everything the page talks to; built by the Rasa adapter, usable without Rasa in tests.

    ``start`` connects it to the dialogue (``dispatch``), the interceptors of the channels
    (the hand-off) and the hand-off runtime of the process (for the desk).
    """

    hub: PlaygroundHub
    store: ChannelStore
    person_pipeline: Pipeline | None = None
    desk_pipeline: Pipeline | None = None
    runtime: Any = None  # bot.handoff.relay.HandoffRuntime
    desk_sender: str = ""
    # How the assistant's replies reach the people's panes (Rasa's output channel uses it).
    delivery: PlaygroundDelivery = field(init=False)

    def __post_init__(self) -> None:
        self.delivery = PlaygroundDelivery(self.hub, self.store)

    def start(self, dispatch: Dispatch, interceptors: list[Any], runtime: Any) -> None:
        """Build the person's and the desk's pipelines; hand the desk to the hand-off."""
        self.runtime = runtime
        if runtime is not None:
            runtime.flusher.mediator_senders[CHANNEL] = PlaygroundMediatorSender(self.hub)
        self.person_pipeline = Pipeline(
            CHANNEL,
            self.store,
            self.delivery,
            self._then_flush(dispatch),
            list(interceptors),
            reply_mapper=self._person_reply,
        )
        self.desk_sender = pseudonym(DESK_CHANNEL, DESK_ADDRESS, self.hub.key)
        self.desk_pipeline = Pipeline(
            DESK_CHANNEL,
            self.store,
            DeskNotices(self.hub),
            self._to_desk,
            [],
            reply_mapper=_desk_reply,
        )

    def _then_flush(self, dispatch: Dispatch) -> Dispatch:
        async def run(message: IncomingMessage) -> None:
            await dispatch(message)
            # A turn may have opened a hand-off in the action server, which leaves the desk's
            # notification to this process: send it now rather than at the scheduler's tick.
            if self.runtime is not None:
                await self.runtime.flush()

        return run

    def _person_reply(self, message: IncomingMessage, payloads: tuple[str, ...]) -> str | None:
        if message.kind == base.CALLBACK:
            from bot.channels.telegram_api import payload_for_callback

            return payload_for_callback(message.text, payloads)
        if self.hub.mode_of(message.address) == WHATSAPP:
            return numbered_reply(message, payloads)
        return None

    async def _to_desk(self, message: IncomingMessage) -> None:
        runtime = self.runtime
        mediator = runtime.handoff.registry().get(MEDIATOR_ID) if runtime is not None else None
        if mediator is None:
            self.hub.desk.put(
                role="notice", kind=base.TEXT, text="Transfert indisponible : voir le journal."
            )
            return
        await runtime.from_mediator(mediator, message)

    # --- what the page calls ---------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """Modes, the desk's mediator and the limits, for the page."""
        from bot.handoff.tickets import OUTCOMES

        return {
            "modes": list(MODES),
            "kinds": list(KINDS),
            "mediator": {"id": MEDIATOR_ID, "name": MEDIATOR_NAME},
            "outcomes": list(OUTCOMES),
            "limits": {"text": MAX_TEXT_CHARS, "wait": MAX_WAIT_S},
        }

    def create_session(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A new person's phone with the chosen platform behaviour."""
        mode = body.get("mode", WHATSAPP)
        if mode not in MODES:
            raise PlaygroundError(
                HTTPStatus.BAD_REQUEST, f"unknown mode {mode!r} (known: {', '.join(MODES)})"
            )
        first_name = clean_text(_string(body, "first_name", MAX_FIRST_NAME_CHARS)) or None
        session = self.hub.create(mode, first_name)
        log.info("playground: new %s-like session %s", mode, session.sender)
        return session.public()

    def _session(self, session_id: str) -> Session:
        session = self.hub.get(session_id) if _SESSION_RE.match(session_id or "") else None
        if session is None:
            raise PlaygroundError(
                HTTPStatus.NOT_FOUND, "no such session (the server restarted?): start a new one"
            )
        return session

    async def send(self, session_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """What the person did (typed, pressed, shared, recorded), through the pipeline."""
        session = self._session(session_id)
        pipeline = self._pipeline(self.person_pipeline)
        message, echo = parse_person_message(session, body)
        outcome = await pipeline.accept(message)
        if outcome == BUSY:
            raise PlaygroundError(HTTPStatus.SERVICE_UNAVAILABLE, "busy: try again in a moment")
        if outcome != DUPLICATE:
            location = None
            if message.kind == base.LOCATION:
                location = {"latitude": message.latitude, "longitude": message.longitude}
            session.mailbox.put(
                role="person",
                kind=message.kind,
                text=echo,
                location=location,
                media={"kind": message.kind} if message.media_url else None,
            )
        return {"status": outcome}

    async def messages(
        self, session_id: str, after: str | None, wait: str | None
    ) -> dict[str, Any]:
        """The person's pane: entries after the cursor (waiting up to ``wait`` seconds)."""
        session = self._session(session_id)
        cursor, seconds = _cursor(after), _wait_seconds(wait)
        found = await session.mailbox.wait(cursor, seconds)
        return {"messages": found, "last": session.mailbox.last}

    async def desk_send(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A mediator's command, reply or button press, through the desk's pipeline."""
        pipeline = self._pipeline(self.desk_pipeline)
        message, echo = parse_desk_message(body)
        message.sender = self.desk_sender
        outcome = await pipeline.accept(message)
        if outcome == BUSY:
            raise PlaygroundError(HTTPStatus.SERVICE_UNAVAILABLE, "busy: try again in a moment")
        if outcome != DUPLICATE:
            self.hub.desk.put(role="mediator", kind=message.kind, text=echo)
        return {"status": outcome}

    async def desk_messages(self, after: str | None, wait: str | None) -> dict[str, Any]:
        """The desk pane: entries after the cursor (waiting up to ``wait`` seconds)."""
        cursor, seconds = _cursor(after), _wait_seconds(wait)
        found = await self.hub.desk.wait(cursor, seconds)
        return {"messages": found, "last": self.hub.desk.last}

    @staticmethod
    def _pipeline(pipeline: Pipeline | None) -> Pipeline:
        if pipeline is None:
            raise PlaygroundError(HTTPStatus.SERVICE_UNAVAILABLE, "the playground is starting")
        return pipeline

    async def drain(self, timeout: float) -> int:
        """Finish queued messages on shutdown; how many were left."""
        left = 0
        for pipeline in (self.person_pipeline, self.desk_pipeline):
            if pipeline is not None:
                left += await pipeline.drain(timeout)
        return left


def _desk_reply(message: IncomingMessage, _payloads: tuple[str, ...]) -> str | None:
    # The desk's buttons carry the command itself ("/take 12"), as on the mediators' bot.
    return message.text if message.kind == base.CALLBACK else None


# --- the page's files --------------------------------------------------------------------------
STATIC_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: https:; script-src 'self'; "
        "style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def load_static(directory: Path = STATIC_DIR) -> dict[str, bytes]:
    """The page's files, read once (a missing file is a packaging error, said at start)."""
    return {name: (directory / name).read_bytes() for name in STATIC_TYPES}


def build_playground(store: ChannelStore, key: str) -> Playground:
    """A playground on ``store`` whose pseudonyms use ``key`` (call ``start`` next)."""
    return Playground(PlaygroundHub(key), store)
