"""The composition root: the one place that builds the services and wires them together.

The layers below never reach for each other's objects: the hand-off runtime gets its
senders (the platforms' APIs, the people's outbound), the playground's desk and the
analytics key from here; the channels get their interceptors from here. Rasa's adapters
(bot/rasa/), the actions and the CLI ask this module; tests build their own pieces.
See docs/architecture.md.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.channels.interceptors import Interceptor
from bot.channels.outbound import send_to_person
from bot.channels.telegram_api import TelegramSender
from bot.channels.twilio_api import TwilioSender
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
from bot.messaging import Button
from bot.playground import CHANNEL as PLAYGROUND
from bot.playground import with_playground
from bot.settings import Settings

_runtimes: dict[str, HandoffRuntime] = {}
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
        return await send_to_person(pseudonym, text, list(buttons), settings=settings)

    return send


def build_runtime(settings: Settings, engine: Engine, clock: Clock | None = None) -> HandoffRuntime:
    """A runtime from settings (senders to the configured platforms)."""
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
        person_sender_from_settings(settings),
        senders_from_settings(settings),
        clock=clock,
        elsewhere=elsewhere,
    )
    return HandoffRuntime(handoff, flusher, registry_file)


def runtime_for(settings: Settings, engine: Engine) -> HandoffRuntime:
    """The process's runtime for this database, shared by every channel and action.

    Rasa builds the input channels from credentials.yml and the action server loads the
    actions by name: neither can be handed a runtime, so this is the one process-wide
    registry, and it lives here, at the composition root. Tests build their own runtime.
    """
    url = engine.url.render_as_string(hide_password=False)
    with _lock:
        runtime = _runtimes.get(url)
        if runtime is None:
            runtime = _runtimes[url] = build_runtime(settings, engine)
        return runtime


def install_runtime(engine: Engine, runtime: HandoffRuntime) -> None:
    """Make ``runtime`` the process's runtime for ``engine`` (a test's own, for the actions)."""
    with _lock:
        _runtimes[engine.url.render_as_string(hide_password=False)] = runtime


def interceptors(settings: Settings, engine: Engine) -> list[Interceptor]:
    """The interceptors of a deployment, in order: a person in danger first
    (bot/channels/safety.py), then the mediator hand-off (bot/handoff)."""
    from bot.channels.safety import SafetyInterceptor, warm
    from bot.directory import DirectoryStore

    warm()
    runtime = runtime_for(settings, engine)
    directory = DirectoryStore(settings.directory_path)
    return [SafetyInterceptor(runtime, directory.current), HandoffInterceptor(runtime)]
