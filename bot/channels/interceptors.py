"""Hook for code that must see a message before Rasa does (the mediator hand-off).

The pipeline calls every interceptor in order; the first that returns True consumes the
message and Rasa never sees it (e.g. a person talking to a mediator). No Rasa import.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.engine import Engine

from bot.channels.base import IncomingMessage
from bot.settings import Settings


class Interceptor(Protocol):
    """Something that may take a message before Rasa does."""

    async def intercept(self, message: IncomingMessage) -> bool:
        """True when the message was consumed and must not reach Rasa."""
        ...


def default_interceptors(settings: Settings, engine: Engine) -> list[Interceptor]:
    """The interceptors of a deployment, in order: a person in danger first
    (bot/channels/safety.py), then the mediator hand-off (bot/handoff)."""
    from bot.channels.safety import SafetyInterceptor, warm
    from bot.directory import DirectoryStore
    from bot.handoff.relay import HandoffInterceptor, runtime_for

    warm()
    runtime = runtime_for(settings, engine)
    directory = DirectoryStore(settings.directory_path)
    return [SafetyInterceptor(runtime, directory.current), HandoffInterceptor(runtime)]
