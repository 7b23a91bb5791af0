"""The hand-off's message catalogue (messages.yml): people in five languages, mediators in two."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.messaging import REPLY_LANGUAGES

PATH = Path(__file__).with_name("messages.yml")
PERSON_LANGUAGES = REPLY_LANGUAGES
MEDIATOR_LANGUAGES = ("fr", "en")
DEFAULT = "fr"


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, dict[str, str]]]:
    """The whole catalogue: {"person": {key: {lang: text}}, "mediator": {...}}."""
    with PATH.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _text(audience: str, key: str, lang: str | None, values: dict[str, Any]) -> str:
    variants = catalogue()[audience][key]
    template = variants.get(lang or DEFAULT) or variants[DEFAULT]
    return template.format(**values)


def person_text(key: str, lang: str | None, **values: Any) -> str:
    """A text for a person in ``lang`` (French when unknown)."""
    return _text("person", key, lang, values)


def mediator_text(key: str, lang: str | None = DEFAULT, **values: Any) -> str:
    """A text for a mediator (French, or English)."""
    return _text("mediator", key, lang, values)
