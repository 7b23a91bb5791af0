"""The composition root: the one place that builds the services and wires them together.

The layers below never reach for each other's objects: the hand-off runtime gets its
senders (the platforms' APIs, the people's outbound), the playground's desk and the
analytics key from here; the channels get their interceptors from here. Rasa's adapters
(bot/rasa/), the actions and the CLI ask this module; tests build their own pieces.
See docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.engine import Engine, make_url

from bot.channels.interceptors import Interceptor
from bot.channels.order import TurnOrder, turn_order
from bot.channels.outbound import build_delivery
from bot.channels.pipeline import Delivery
from bot.channels.store import ChannelStore
from bot.channels.telegram_api import TelegramSender
from bot.channels.twilio_api import TwilioSender
from bot.db import make_engine, migrate
from bot.directory import DirectoryStore
from bot.handoff.mediators import RegistryFile
from bot.handoff.models import ensure_schema
from bot.handoff.outbox import (
    Flusher,
    MediatorSender,
    PersonSender,
    TelegramMediatorSender,
    WhatsAppMediatorSender,
)
from bot.handoff.relay import HandoffInterceptor, HandoffRuntime, meanwhile_from_settings
from bot.handoff.relay import _declined as declined
from bot.handoff.routing import Clock, Policy, SystemClock
from bot.handoff.service import Handoff
from bot.messaging import Button, OutgoingMessage
from bot.playground import CHANNEL as PLAYGROUND
from bot.playground import with_playground
from bot.settings import Settings, load_settings

log = logging.getLogger(__name__)

_services: dict[str, Services] = {}
# The services of the process's own settings (``services()`` without arguments).
_default: Services | None = None
_lock = threading.Lock()


def senders_from_settings(settings: Settings) -> dict[str, MediatorSender]:
    """Mediator senders for the configured platforms."""
    senders: dict[str, MediatorSender] = {}
    people = None
    if settings.telegram_bot_token:
        people = TelegramSender(settings.telegram_bot_token, settings.telegram_api_base_url)
    if settings.mediator_telegram_bot_token:
        senders["telegram"] = TelegramMediatorSender(
            TelegramSender(settings.mediator_telegram_bot_token, settings.telegram_api_base_url),
            people,
        )
    if settings.has_whatsapp and settings.twilio_whatsapp_number:
        senders["whatsapp"] = WhatsAppMediatorSender(
            TwilioSender(
                settings.twilio_account_sid,
                settings.twilio_auth_token,
                settings.twilio_whatsapp_number,
                base_url=settings.twilio_api_base_url,
            )
        )
    return senders


def person_sender_from_settings(settings: Settings) -> PersonSender:
    """Send to a person through the channels' outbound (their own channel)."""

    async def send(pseudonym: str, text: str, buttons: Sequence[Button]) -> bool:
        return await services(settings).send_to_person(pseudonym, text, buttons, settings=settings)

    return send


def build_runtime(
    settings: Settings,
    engine: Engine,
    clock: Clock | None = None,
    person_sender: PersonSender | None = None,
) -> HandoffRuntime:
    """A runtime from settings (senders to the configured platforms; to people through
    ``person_sender``, else through the process's services)."""
    ensure_schema(engine)
    registry_file = RegistryFile(settings.mediators_file)
    registry = registry_file.current
    elsewhere: frozenset[str] = frozenset()
    if settings.playground_enabled:
        registry = with_playground(registry)
        # The playground's desk lives in the Rasa server: other processes leave it its rows.
        elsewhere = frozenset({PLAYGROUND})
    clock = clock or SystemClock()
    try:
        from bot.privacy import analytics_key

        key: str | None = analytics_key(settings)
    except Exception:  # noqa: BLE001 (no key: events without a person link)
        key = None
    handoff = Handoff(
        engine=engine,
        registry=registry,
        clock=clock,
        policy=Policy(
            widen_after=timedelta(minutes=settings.handoff_widen_after_minutes),
            expire_after=timedelta(hours=settings.handoff_expire_after_hours),
        ),
        meanwhile=meanwhile_from_settings(settings),
        analytics_key=key,
        declined=declined,
    )
    flusher = Flusher(
        engine,
        registry,
        person_sender or person_sender_from_settings(settings),
        senders_from_settings(settings),
        clock=clock,
        elsewhere=elsewhere,
    )
    return HandoffRuntime(handoff, flusher, registry_file)


@dataclass
class Services:
    """One database's services in this process: our store (contacts, webhooks, consents),
    the per-person turn order, the deliveries to people, the hand-off runtime and the
    directory (the last two built on first use)."""

    settings: Settings
    store: ChannelStore
    order: TurnOrder
    # Per channel and platform account: tests run several configurations side by side.
    deliveries: dict[tuple[str, ...], Delivery] = field(default_factory=dict)
    _runtime: HandoffRuntime | None = None
    _directory: DirectoryStore | None = None
    _tracker: Engine | None = None
    _key: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def engine(self) -> Engine:
        """Our database (consents, analytics, tickets), migrated."""
        return self.store.engine

    def handoff(self) -> HandoffRuntime:
        """The hand-off runtime, shared by every channel and action of the process."""
        with self._lock:
            if self._runtime is None:
                self._runtime = build_runtime(
                    self.settings, self.engine, person_sender=self._to_person
                )
            return self._runtime

    def use_runtime(self, runtime: HandoffRuntime) -> None:
        """Serve with ``runtime`` instead (a test's own, for the actions to find)."""
        with self._lock:
            self._runtime = runtime

    def directory(self) -> DirectoryStore:
        """The hot-reloading service directory."""
        with self._lock:
            if self._directory is None:
                self._directory = DirectoryStore(self.settings.directory_path)
            return self._directory

    def tracker_engine(self) -> Engine:
        """Rasa's tracker store (the SQLite file in dev, PostgreSQL in prod), for erasure."""
        from bot.privacy import tracker_store_url

        with self._lock:
            if self._tracker is None:
                self._tracker = make_engine(tracker_store_url(self.settings))
            return self._tracker

    def privacy_key(self) -> str:
        """Key of the keyed hashes (PSEUDONYM_KEY, or the dev key under var/)."""
        from bot.privacy import analytics_key

        with self._lock:
            if self._key is None:
                self._key = analytics_key(self.settings)
            return self._key

    def interceptors(self) -> list[Interceptor]:
        """The interceptors of a deployment, in order: a person in danger first
        (bot/channels/safety.py), then the mediator hand-off (bot/handoff)."""
        from bot.channels.safety import SafetyInterceptor, warm

        warm()
        runtime = self.handoff()
        return [SafetyInterceptor(runtime, self.directory().current), HandoffInterceptor(runtime)]

    def register(self, channel: str, delivery: Delivery, settings: Settings) -> None:
        """Make ``delivery`` the way to reach people on ``channel`` with ``settings``."""
        self.deliveries[_delivery_key(channel, settings)] = delivery

    def delivery(self, channel: str, settings: Settings | None = None) -> Delivery | None:
        """The registered delivery for ``channel``, else one built from settings."""
        settings = settings or self.settings
        key = _delivery_key(channel, settings)
        found = self.deliveries.get(key)
        if found is None:
            found = build_delivery(channel, settings, self.store)
            if found is not None:
                self.deliveries[key] = found
        return found

    async def _to_person(self, pseudonym: str, text: str, buttons: Sequence[Button]) -> bool:
        return await self.send_to_person(pseudonym, text, buttons)

    async def send_to_person(
        self,
        pseudonym: str,
        text: str,
        buttons: Sequence[Button] | None = None,
        *,
        settings: Settings | None = None,
    ) -> bool:
        """Send ``text`` (and buttons) to the person behind ``pseudonym``, through the
        channel they wrote from; False when impossible."""
        contact = await asyncio.to_thread(self.store.contact, pseudonym)
        if contact is None:
            log.error("no contact for %s: message not sent", pseudonym)
            return False
        delivery = self.delivery(contact.channel, settings)
        if delivery is None:
            log.error(
                "%s channel is not configured: message to %s not sent", contact.channel, pseudonym
            )
            return False
        return await delivery.deliver(OutgoingMessage(pseudonym, text, list(buttons or [])))


def _delivery_key(channel: str, settings: Settings) -> tuple[str, ...]:
    return (
        channel,
        settings.twilio_account_sid,
        settings.twilio_api_base_url,
        settings.telegram_bot_token,
        settings.telegram_api_base_url,
    )


def build_services(settings: Settings, engine: Engine | None = None) -> Services:
    """Services for ``settings``: the database migrated, the turn order for the profile."""
    if engine is None:
        engine = make_engine(settings.effective_database_url)
        migrate(engine)
    return Services(
        settings=settings,
        store=ChannelStore(engine),
        order=turn_order(settings.profile, settings.redis_url),
    )


def reset() -> None:
    """Forget the process's services (a test that changed the environment starts afresh)."""
    global _default
    with _lock:
        _services.clear()
        _default = None


def services(settings: Settings | None = None) -> Services:
    """The process's services for this database.

    Rasa builds the input channels from credentials.yml and the action server loads the
    actions by name: neither can be handed objects, so this is the one process-wide
    registry, and it lives here, at the composition root. Tests build their own with
    :func:`build_services`, or reach the process's with the settings they serve.
    """
    global _default
    own = settings is None
    if own and _default is not None:  # the environment is read once per process, not per call
        return _default
    settings = settings or load_settings()
    key = make_url(settings.effective_database_url).render_as_string(hide_password=False)
    with _lock:
        found = _services.get(key)
        if found is None:
            found = _services[key] = build_services(settings)
        if own:
            _default = found
        return found
