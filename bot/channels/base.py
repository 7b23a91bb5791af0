"""What the people's channels add to bot.messaging: numbered menus, typed replies, the
channels' message catalogue. The Rasa adapters are in bot/rasa/."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

# The shared vocabulary lives in bot.messaging; the channels' modules reach it here too.
from bot.messaging import (  # noqa: F401 (re-exported)
    CALLBACK,
    DEFAULT_LANGUAGE,
    DOCUMENT,
    ERASE_PAYLOAD,
    IMAGE,
    KINDS,
    LOCATION,
    MAX_INPUT_CHARS,
    MEDIA_KINDS,
    REPLY_LANGUAGES,
    STICKER,
    TELEGRAM_MAX_UNITS,
    TEXT,
    UNSUPPORTED,
    VIDEO,
    VOICE,
    WHATSAPP_MAX_UNITS,
    Button,
    IncomingMessage,
    OutgoingMessage,
    clean_text,
    guess_language,
    split_message,
    truncate_input,
    typed_text,
    utcnow,
    utf16_units,
)

MESSAGES_PATH = Path(__file__).with_name("messages.yml")
# How long one call to a platform's API may take.
API_TIMEOUT_S = 10.0


@dataclass(kw_only=True)
class Retried:
    """How a sender calls its platform's API: each call waits at most ``timeout`` s, and a
    failed one is tried ``attempts`` times in all, ``backoff``, 2 x ``backoff``... s apart
    (keyword fields, after the sender's own)."""

    timeout: float = API_TIMEOUT_S
    attempts: int = 3
    backoff: float = 0.5

    def retry_delay(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (from 1)."""
        return self.backoff * 2 ** (attempt - 1)


def buttons_from_rasa(raw: Any) -> list[Button]:
    """Buttons as Rasa gives them ([{title, payload}]), skipping malformed ones."""
    result: list[Button] = []
    for item in raw or []:
        if not isinstance(item, dict):
            continue
        title = str(item.get("title") or "").strip()
        payload = str(item.get("payload") or title).strip()
        if title and payload:
            result.append(Button(title, payload))
    return result


def numbered_menu(text: str, buttons: Sequence[Button]) -> str:
    """The text followed by "1. title" lines (WhatsApp has no buttons for free messages)."""
    if not buttons:
        return text
    lines = [f"{number}. {button.title}" for number, button in enumerate(buttons, start=1)]
    return (text.rstrip() + "\n\n" if text.strip() else "") + "\n".join(lines)


def payload_for_reply(text: str, payloads: Sequence[str] | None) -> str | None:
    """The payload of the button whose number the person typed ("2", " 2. "), if any."""
    if not payloads:
        return None
    candidate = text.strip().rstrip(".)").strip()
    if not candidate.isascii() or not candidate.isdigit() or len(candidate) > 3:
        return None
    number = int(candidate)
    if 1 <= number <= len(payloads):
        return payloads[number - 1]
    return None


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, dict[str, str]]:
    with MESSAGES_PATH.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return data["messages"]


def catalogue_text(key: str, lang: str | None) -> str:
    """A message of the channels' catalogue (messages.yml) in ``lang``, French by default."""
    variants = _catalogue()[key]
    return variants.get(lang or DEFAULT_LANGUAGE) or variants[DEFAULT_LANGUAGE]
