"""The help a person in danger gets first: caring words, the numbers that fit, what happens.

Plain functions of a :class:`~bot.safety.assess.Danger`, the reply language, the directory
and the hand-off's state; words in messages.yml, numbers from sourced directory entries
only (a test checks every id). No Rasa import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.messaging import DEFAULT_LANGUAGE, REPLY_LANGUAGES
from bot.safety.assess import KINDS, SUICIDE, Danger

MESSAGES_PATH = Path(__file__).with_name("messages.yml")
# How many numbers one help message lists (the first kind's, then the second kind's).
MAX_NUMBERS = 4
# Button payloads the safety interceptor answers itself (never Rasa).
ASK_MEDIATOR = "/safety_mediator"
DECLINE = "/safety_decline"


@dataclass(frozen=True)
class Help:
    """One message: text and at most one button (title, payload)."""

    text: str
    buttons: list[tuple[str, str]] = field(default_factory=list)


@lru_cache(maxsize=1)
def catalogue(path: Path = MESSAGES_PATH) -> dict[str, Any]:
    """messages.yml, read once."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def text(key: str, lang: str | None, **values: str) -> str:
    """A sentence of messages.yml's ``texts`` in ``lang`` (French when missing)."""
    variants = catalogue()["texts"][key]
    return (variants.get(lang or DEFAULT_LANGUAGE) or variants[DEFAULT_LANGUAGE]).format(**values)


def care(kind: str, lang: str | None) -> str:
    """The caring sentence written for ``kind``."""
    variants = catalogue()["care"][kind]
    return variants.get(lang or DEFAULT_LANGUAGE) or variants[DEFAULT_LANGUAGE]


def number_ids(danger: Danger) -> list[str]:
    """Directory ids of the numbers for this danger: its kind's, then the other kinds'."""
    ids: list[str] = []
    for kind in (danger.kind, *danger.also):
        for entry_id in catalogue()["numbers"].get(kind, []):
            if entry_id not in ids:
                ids.append(entry_id)
    return ids[:MAX_NUMBERS]


def _pick(texts: dict[str, str], lang: str) -> str:
    from bot.directory.render import pick

    return pick(texts, lang)


def number_lines(danger: Danger, lang: str, directory: Any) -> list[str]:
    """ "📞 19 — Police" lines, from the directory (entries missing from it are skipped)."""
    lines = []
    for entry_id in number_ids(danger):
        entry = directory.get(entry_id) if directory is not None else None
        if entry is None or not entry.phones:
            continue
        name = _pick(dict(entry.name), lang)
        phone = entry.phones[0]
        lines.append(f"📞 {name}" if phone in name else f"📞 {phone} — {name}")
    return lines


LANGUAGES = REPLY_LANGUAGES


def ask_mediator_payload(kind: str, lang: str) -> str:
    """The offer button's payload: kind and language travel with it (Telegram: 64 bytes)."""
    return ASK_MEDIATOR + json.dumps({"kind": kind, "lang": lang}, separators=(",", ":"))


def parse_ask_mediator(payload: str) -> tuple[str | None, str]:
    """(kind, language) of an offer button's payload; (None, "fr") when malformed."""
    try:
        data = json.loads(payload[len(ASK_MEDIATOR) :] or "{}")
        kind, lang = data.get("kind"), data.get("lang")
    except (ValueError, AttributeError):
        return None, DEFAULT_LANGUAGE
    return (kind if kind in KINDS else None), (lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


def compose(
    danger: Danger,
    lang: str,
    directory: Any,
    *,
    alerted: bool,
    already_open: bool = False,
    on_duty: bool = True,
    opens_at: str | None = None,
) -> Help:
    """The help message for ``danger`` in ``lang``.

    ``alerted``: a mediator was alerted for this message (risk to life); ``already_open``:
    the person already talks with (or waits for) a mediator, now told it is urgent.
    """
    parts = [care(danger.kind, lang)]
    lines = number_lines(danger, lang, directory)
    if lines:
        if not parts[0].rstrip().endswith(":"):  # a caring sentence may lead to the numbers
            parts.append(text("call_now", lang))
        parts.append("\n".join(lines))
    if danger.kind == SUICIDE:
        parts.append(text("no_suicide_line", lang))
    buttons: list[tuple[str, str]] = []
    if already_open:
        parts.append(text("alerted_again", lang))
    elif alerted:
        parts.append(text("alerted", lang))
        if not on_duty:
            parts.append(off_hours(lang, opens_at))
        parts.append(text("decline_hint", lang))
        buttons.append((text("button_decline", lang), DECLINE))
    else:
        if not on_duty:
            parts.append(off_hours(lang, opens_at))
        parts.append(text("offer", lang))
        buttons.append((text("button_mediator", lang), ask_mediator_payload(danger.kind, lang)))
    return Help("\n\n".join(p for p in parts if p), buttons)


def opened(lang: str, on_duty: bool, opens_at: str | None) -> Help:
    """The answer to the offer's button: a mediator was alerted (and when they answer)."""
    parts = [text("alerted", lang)]
    if not on_duty:
        parts.append(off_hours(lang, opens_at))
    return Help("\n\n".join(parts))


def off_hours(lang: str, opens_at: str | None) -> str:
    """When a mediator will answer, outside working hours."""
    if opens_at:
        return text("off_hours", lang, opens_at=opens_at)
    return text("off_hours_unknown", lang)
