"""Turn a SearchResult into one chat message in the person's language."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from bot.directory.model import LANGS, WEEKDAYS, Entry, OpeningPeriod
from bot.directory.search import SearchResult
from bot.messaging import MAX_UNITS, TELEGRAM_MAX_UNITS, WHATSAPP_MAX_UNITS

LABELS_PATH = Path(__file__).with_name("labels.yml")
WHATSAPP_MAX = WHATSAPP_MAX_UNITS
TELEGRAM_MAX = TELEGRAM_MAX_UNITS
CHANNEL_LIMITS = MAX_UNITS
# Language to fall back to, in order, when an entry lacks a translation.
# ary-Latn (Darija in Latin letters) falls back to French, not Arabic script: the person has shown
# they read Latin letters but not that they read Arabic script (MRE schooled abroad, migrants who
# learned Darija by ear); French is required in every entry and is what the office's sign and
# forms say. Every national, emergency and provincial-capital entry carries its own ary-Latn text.
FALLBACKS: dict[str, tuple[str, ...]] = {
    "fr": ("fr", "en", "ar"),
    "en": ("en", "fr", "ar"),
    "es": ("es", "fr", "en", "ar"),
    "ar": ("ar", "fr", "en"),
    "ary-Latn": ("ary-Latn", "fr", "en", "ar"),
}


def message_length(text: str) -> int:
    """Length in UTF-16 code units, how Twilio and Telegram count (an emoji counts as 2)."""
    return len(text.encode("utf-16-le")) // 2


@functools.lru_cache(maxsize=1)
def load_labels(path: Path = LABELS_PATH) -> dict[str, dict[str, Any]]:
    """Read the label file once; every language must define the same keys."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def labels_for(lang: str) -> dict[str, Any]:
    """Return the labels of a language (French when the language is unknown)."""
    labels = load_labels()
    return labels.get(lang) or labels["fr"]


def pick(texts: dict[str, str], lang: str) -> str:
    """Return the text in ``lang`` or its documented fallback; empty when none exists."""
    for candidate in FALLBACKS.get(lang, (lang, "fr", "en", "ar")):
        if texts.get(candidate):
            return texts[candidate]
    return next(iter(texts.values()), "")


def osm_link(lat: float, lon: float) -> str:
    """Return an OpenStreetMap link centred on the point."""
    return (
        f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=17/{lat:.5f}/{lon:.5f}"
    )


def _days(days: tuple[str, ...], names: dict[str, str]) -> str:
    # Collapse consecutive weekdays into a range ("Mon–Fri") to keep the line short.
    indexes = sorted(WEEKDAYS.index(d) for d in days)
    runs: list[list[int]] = []
    for i in indexes:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    parts = []
    for run in runs:
        first, last = names[WEEKDAYS[run[0]]], names[WEEKDAYS[run[-1]]]
        parts.append(first if len(run) == 1 else f"{first}–{last}")
    return ", ".join(parts)


def _hours(periods: tuple[OpeningPeriod, ...], names: dict[str, str]) -> str:
    return "; ".join(f"{_days(p.days, names)} {p.open}–{p.close}" for p in periods)


def render_entry(  # noqa: C901 (docs/architecture.md)
    entry: Entry,
    lang: str,
    number: int | None = None,
    distance_km: float | None = None,
    compact: bool = False,
    place: dict[str, str] | None = None,
) -> str:
    """Render one entry as a block of lines; ``compact`` keeps only name, contact and place."""
    labels = labels_for(lang)
    head = f"*{pick(entry.name, lang)}*"
    if number is not None:
        head = f"{number}. {head}"
    if distance_km is not None:
        head += f" ({labels['km'].format(n=distance_km)})"
    lines = [head]
    if not compact:
        lines.append(pick(entry.description, lang))
    if entry.address:
        # Addresses exist in fr and ar only: street names are written that way on the spot.
        address_lang = "ar" if lang == "ar" else "fr"
        lines.append(f"📍 {entry.address.get(address_lang) or pick(entry.address, lang)}")
    elif place:
        lines.append(f"📍 {pick(place, lang)}")
    if entry.phones:
        lines.append("📞 " + " · ".join(entry.phones))
    if entry.whatsapp:
        lines.append(f"💬 https://wa.me/{entry.whatsapp.lstrip('+')}")
    if entry.hours and not compact:
        lines.append("🕒 " + _hours(entry.hours, labels["weekdays"]))
    if entry.hours_note and not compact:
        prefix = "" if entry.hours else "🕒 "
        lines.append(prefix + pick(entry.hours_note, lang))
    if entry.cost and not compact:
        lines.append(f"💶 {labels[entry.cost]}")
    docs = next(
        (entry.documents[c] for c in FALLBACKS.get(lang, ("fr",)) if entry.documents.get(c)), None
    )
    if docs and not compact:
        lines.append(f"📄 {labels['documents']}: " + ", ".join(docs))
    if entry.email and not compact:
        lines.append(f"✉️ {entry.email}")
    if entry.website:
        lines.append(f"🌐 {entry.website}")
    if entry.geo is not None:
        lines.append(f"🗺️ {osm_link(entry.geo.lat, entry.geo.lon)}")
    return "\n".join(line for line in lines if line.strip())


def _header(result: SearchResult, lang: str) -> str:
    labels = labels_for(lang)
    place = pick(result.place_name, lang) if result.place_name else ""
    key = f"scope_{result.scope}"
    if result.scope in ("city", "nearby", "province") and not place:
        key = "scope_region"
    text = labels.get(key, "")
    return text.format(place=place) if text else ""


def render_with_count(
    result: SearchResult, lang: str, max_chars: int = WHATSAPP_MAX
) -> tuple[str, int]:
    """Render as many whole entries as fit in ``max_chars``; return (message, entries shown)."""
    if lang not in LANGS:
        lang = "fr"
    labels = labels_for(lang)
    if not result.entries:
        return labels["none"], 0
    header = _header(result, lang)
    more = labels["more"]
    blocks: list[str] = []
    for index, entry in enumerate(result.entries):
        distance = result.distances_km[index] if index < len(result.distances_km) else None
        place = result.entry_places[index] if index < len(result.entry_places) else None
        number = result.offset + index + 1
        candidates = [render_entry(entry, lang, number, distance, place=place)]
        if index == 0:
            # The first entry must be sent: degrade it to name, contact and place if needed.
            candidates.append(
                render_entry(entry, lang, number, distance, compact=True, place=place)
            )
        remaining = index + 1 < len(result.entries) or result.has_more
        placed = False
        for block in candidates:
            # Room for the "more" line is kept whenever something could follow this entry.
            tail = [more] if remaining else []
            if message_length("\n\n".join([header, *blocks, block, *tail])) <= max_chars:
                blocks.append(block)
                placed = True
                break
        if not placed:
            # Drop this entry and the rest whole; the "more" line was reserved for them.
            break
    shown = len(blocks)
    if shown == 0:
        # Not even a compact entry fits: send its name and phones only, never half a block.
        entry = result.entries[0]
        minimal = f"*{pick(entry.name, lang)}*"
        if entry.phones:
            minimal += "\n📞 " + " · ".join(entry.phones)
        while minimal and message_length(minimal) > max_chars:
            minimal = minimal[:-1]
        return minimal, 1
    parts = [header, *blocks]
    if shown < len(result.entries) or result.has_more:
        parts.append(more)
    message = "\n\n".join(p for p in parts if p)
    return message, shown


def render(result: SearchResult, lang: str, max_chars: int = WHATSAPP_MAX) -> str:
    """Render a search result as a message of at most ``max_chars`` characters."""
    return render_with_count(result, lang, max_chars)[0]
