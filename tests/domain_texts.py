"""Read response texts from domain.yml so tests do not copy the wording."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from bot.settings import ROOT

REPLY_LANGUAGES = ("fr", "en", "es", "ar", "ary-Latn")


@lru_cache(maxsize=1)
def domain() -> dict[str, Any]:
    """The parsed domain.yml."""
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def variation_language(variation: dict[str, Any]) -> str | None:
    """The language a response variation is for (None for the default variation)."""
    for cond in variation.get("condition") or []:
        if cond.get("name") == "language":
            return str(cond.get("value"))
    return None


def texts(response: str, lang: str) -> list[str]:
    """Every text of ``response`` for ``lang``."""
    return [v["text"] for v in domain()["responses"][response] if variation_language(v) == lang]


def prefix(response: str, lang: str, chars: int = 20) -> str:
    """The first words of a response in ``lang`` (before any {variable})."""
    return texts(response, lang)[0].split("{")[0][:chars]
