"""Turn a topic and a place into the answer the bot gives: which response, with what text.

Plain Python (no Rasa): the actions only read slots, call these functions and dispatch
the response they name. Words stay in domain.yml; entries carry their own translations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.directory import DirectoryStore, UnknownPlaceError, render, render_with_count
from bot.messaging import MAX_UNITS, TELEGRAM_MAX_UNITS

# Platform limits on one message; other channels (REST, playground) use Telegram's.
CHANNEL_MAX_CHARS = MAX_UNITS
DEFAULT_MAX_CHARS = TELEGRAM_MAX_UNITS
RESULTS_PER_MESSAGE = 3
# Fallback turns in a row after which a person takes over.
MISUNDERSTOOD_TURNS_BEFORE_HANDOFF = 2


@dataclass(frozen=True)
class Answer:
    """A response name from domain.yml and the variables it needs."""

    response: str
    variables: dict[str, Any] = field(default_factory=dict)
    # Whether the person should also be offered a mediator afterwards.
    offer_mediator: bool = False
    # Directory entries shown so far in this list (where "more" continues from).
    shown_until: int = 0


def max_chars_for(channel: str | None) -> int:
    """Longest message the person's channel accepts."""
    return CHANNEL_MAX_CHARS.get(channel or "", DEFAULT_MAX_CHARS)


def place_label(names: dict[str, str], city: str | None, lang: str) -> str:
    """A place's name in the person's language (Latin letters for Latin-script languages)."""
    if not names:
        return city or ""
    if lang == "ar":
        return names.get("ar") or names.get("fr") or city or ""
    return names.get(lang) or names.get("fr") or next(iter(names.values()))


def answer_topic(
    store: DirectoryStore,
    topic: str | None,
    city: str | None,
    lang: str,
    *,
    channel: str | None = None,
    audience: str | None = None,
    offset: int = 0,
) -> Answer:
    """Search the directory for ``topic`` around ``city`` and choose the response."""
    if not topic:
        return Answer("utter_ask_topic")
    if not city:
        return Answer("utter_ask_city")
    directory = store.current()
    try:
        result = directory.search(
            topic, city=city, audience=audience, limit=RESULTS_PER_MESSAGE, offset=offset
        )
    except UnknownPlaceError:
        # A town outside the gazetteer: national services still apply.
        result = directory.search(
            topic, audience=audience, limit=RESULTS_PER_MESSAGE, offset=offset
        )
    place = place_label(result.place_name, city, lang)
    if not result.entries:
        if offset:
            return Answer("utter_no_more_results", {"place": place}, shown_until=offset)
        return Answer("utter_no_service", {"place": place}, offer_mediator=True)
    # Leave room for the response's own sentence around the results.
    text, shown = render_with_count(result, lang, max_chars=max_chars_for(channel) - 200)
    response = (
        "utter_directory_results" if result.scope == "city" else "utter_directory_results_wider"
    )
    if offset:
        response = "utter_more_results"
    return Answer(response, {"place": place, "results": text}, shown_until=offset + shown)


def answer_emergency(
    store: DirectoryStore, city: str | None, lang: str, *, channel: str | None = None
) -> Answer:
    """Emergency numbers at once (national ones always apply, local ones first when known)."""
    directory = store.current()
    try:
        result = directory.search("emergency", city=city, limit=RESULTS_PER_MESSAGE)
    except UnknownPlaceError:
        result = directory.search("emergency", limit=RESULTS_PER_MESSAGE)
    text = render(result, lang, max_chars=max_chars_for(channel) - 200)
    return Answer("utter_emergency", {"results": text}, offer_mediator=True)


def misunderstood_in_a_row(intents: list[str | None]) -> int:
    """How many of the most recent user turns (newest last) were not understood."""
    count = 0
    for intent in reversed(intents):
        if intent != "nlu_fallback":
            break
        count += 1
    return count


def should_hand_off(intents: list[str | None]) -> bool:
    """Two misunderstood turns in a row: a person should take over."""
    return misunderstood_in_a_row(intents) >= MISUNDERSTOOD_TURNS_BEFORE_HANDOFF


# What a shared location answers when no topic was asked yet: general orientation services.
LOCATION_DEFAULT_CATEGORY = "orientation"


def answer_location(
    store: DirectoryStore,
    topic: str | None,
    latitude: float,
    longitude: float,
    lang: str,
    *,
    channel: str | None = None,
    audience: str | None = None,
) -> Answer:
    """The services nearest to a shared location, for the current topic (or orientation)."""
    from bot.directory import CATEGORIES

    category = topic if topic in CATEGORIES else LOCATION_DEFAULT_CATEGORY
    result = store.current().search(
        category, near=(latitude, longitude), audience=audience, limit=RESULTS_PER_MESSAGE
    )
    if not result.entries:
        place = place_label(result.place_name, result.city, lang)
        return Answer("utter_no_service", {"place": place}, offer_mediator=True)
    text = render(result, lang, max_chars=max_chars_for(channel) - 200)
    return Answer("utter_location_results", {"results": text})
