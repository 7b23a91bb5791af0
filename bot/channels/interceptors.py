"""Hook for code that must see a message before Rasa does (danger, the mediator hand-off).

The pipeline calls every interceptor in order; the first that returns True consumes the
message and Rasa never sees it (e.g. a person talking to a mediator). ``bot.app`` builds
a deployment's interceptors. No Rasa import.
"""

from __future__ import annotations

from typing import Protocol

from bot.channels.base import IncomingMessage


class Interceptor(Protocol):
    """Something that may take a message before Rasa does."""

    async def intercept(self, message: IncomingMessage) -> bool:
        """True when the message was consumed and must not reach Rasa."""
        ...
