"""The mediators' registry: a YAML file kept by admins (``MEDIATORS_FILE``), validated.

Errors read ``file:line: mediator-id: field: problem``, like the directory's. Addresses
are personal data: the file lives under var/ by default and is never committed (see
docs/mediators.example.yml). No Rasa import.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bot.messaging import REPLY_LANGUAGES

TIMEZONE = ZoneInfo("Africa/Casablanca")
CHANNELS = ("telegram", "whatsapp")
LANGUAGES = REPLY_LANGUAGES
REGIONS = ("souss-massa", "oriental", "all")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FIELDS = ("id", "name", "channel", "address", "regions", "languages", "hours", "admin")

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_RANGE_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_PHONE_RE = re.compile(r"^\+[1-9]\d{6,14}$")


class MediatorsError(ValueError):
    """The registry file has problems; ``problems`` lists them, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Mediator:
    """One registered mediator."""

    id: str
    name: str
    channel: str
    address: str
    regions: tuple[str, ...]
    languages: tuple[str, ...]
    # weekday (0 = Monday) -> ((start, end), ...) in Africa/Casablanca time.
    hours: dict[int, tuple[tuple[time, time], ...]] = field(hash=False, compare=False)
    # An admin sees and may take every waiting request (each such use is logged).
    admin: bool = False

    def on_duty(self, now: datetime) -> bool:
        """True when ``now`` (aware) falls within the mediator's working hours."""
        local = now.astimezone(TIMEZONE)
        moment = local.time()
        return any(
            start <= moment < end or (end == time(0) and moment >= start)
            for start, end in self.hours.get(local.weekday(), ())
        )

    def next_start(self, now: datetime) -> datetime | None:
        """The next beginning of a shift after ``now`` (aware, local time), within a week."""
        local = now.astimezone(TIMEZONE)
        for days in range(0, 8):
            day = (local + timedelta(days=days)).date()
            for start, _end in sorted(self.hours.get(day.weekday(), ())):
                candidate = datetime.combine(day, start, tzinfo=TIMEZONE)
                if candidate > local:
                    return candidate
        return None

    def serves(self, region: str | None, language: str | None) -> bool:
        """True when the mediator covers the region and speaks the language (unknown = yes)."""
        region_ok = region is None or "all" in self.regions or region in self.regions
        language_ok = language is None or language in self.languages
        return region_ok and language_ok


@dataclass(frozen=True)
class Registry:
    """Every registered mediator, by id and by channel address."""

    mediators: tuple[Mediator, ...] = ()

    def get(self, mediator_id: str) -> Mediator | None:
        """The mediator with this id, if registered."""
        return next((m for m in self.mediators if m.id == mediator_id), None)

    def by_address(self, channel: str, address: str) -> Mediator | None:
        """The mediator writing from ``address`` on ``channel`` (telegram or whatsapp)."""
        wanted = normalise_address(channel, address)
        return next(
            (m for m in self.mediators if m.channel == channel and m.address == wanted), None
        )

    def on_duty(self, now: datetime) -> list[Mediator]:
        """Mediators at work at ``now``."""
        return [m for m in self.mediators if m.on_duty(now)]

    def next_opening(self, now: datetime) -> datetime | None:
        """When the first mediator starts work after ``now``."""
        starts = [s for m in self.mediators if (s := m.next_start(now)) is not None]
        return min(starts) if starts else None


def normalise_address(channel: str, address: str) -> str:
    """``+212...`` for WhatsApp (without ``whatsapp:``), the numeric id for Telegram."""
    address = str(address).strip()
    if channel == "whatsapp":
        address = address.removeprefix("whatsapp:").replace(" ", "")
    return address


class _LineLoader(yaml.SafeLoader):
    """Safe loader that remembers the line of every mapping and of each of its keys."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    lines = {str(k.value): k.start_mark.line + 1 for k, _v in node.value}
    return {**mapping, "__line__": node.start_mark.line + 1, "__lines__": lines}


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _days(spec: str) -> list[int] | None:
    result: list[int] = []
    for part in spec.split(","):
        part = part.strip().lower()
        if "-" in part:
            first, _, last = part.partition("-")
            if first not in DAYS or last not in DAYS:
                return None
            a, b = DAYS.index(first), DAYS.index(last)
            if b < a:
                return None
            result.extend(range(a, b + 1))
        elif part in DAYS:
            result.append(DAYS.index(part))
        else:
            return None
    return result


def _ranges(raw: Any) -> list[tuple[time, time]] | None:
    items = raw if isinstance(raw, list) else [raw]
    ranges: list[tuple[time, time]] = []
    for item in items:
        match = _RANGE_RE.match(str(item).strip()) if isinstance(item, str) else None
        if not match:
            return None
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
            return None
        start, end = time(h1, m1), time(0) if h2 == 24 else time(h2, m2)
        if end != time(0) and end <= start:
            return None
        ranges.append((start, end))
    return ranges


def _known_list(
    raw: dict, name: str, noun: str, known: Sequence[str], bad: Callable[[str, str], None]
) -> list:
    """The non-empty list ``raw[name]`` of values among ``known``; each problem goes to
    ``bad`` (an empty list when it is not a list)."""
    values = raw.get(name)
    if not isinstance(values, list) or not values:
        bad(name, f"a non-empty list of {', '.join(known)}")
        values = []
    for value in values:
        if value not in known:
            bad(name, f"unknown {noun} {value!r} (known: {', '.join(known)})")
    return values


def _address(raw: dict, channel: Any, seen: set[tuple[str, str]], bad: Callable) -> str:
    """The mediator's address on their channel, checked (a problem is reported with bad)."""
    address = normalise_address(str(channel), str(raw.get("address") or ""))
    if not address:
        bad("address", "required (Telegram user id or WhatsApp number)")
    elif channel == "telegram" and not address.lstrip("-").isdigit():
        bad(
            "address",
            "a Telegram user id is a number (the mediators' bot tells anyone not "
            "registered yet their id: ask the mediator to write to it)",
        )
    elif channel == "whatsapp" and not _PHONE_RE.match(address):
        bad("address", "a WhatsApp number is international, e.g. +212600000000")
    elif (str(channel), address) in seen:
        bad("address", "already used by another mediator")
    seen.add((str(channel), address))
    return address


def _hours(raw: dict, bad: Callable) -> dict[int, list[tuple[time, time]]]:
    """Working hours by weekday, from ``mon-fri: "09:00-17:00"`` and the like."""
    hours: dict[int, list[tuple[time, time]]] = {}
    raw_hours = raw.get("hours")
    if not isinstance(raw_hours, dict) or not [k for k in raw_hours if not k.startswith("__")]:
        bad("hours", 'a mapping of days to ranges, e.g. mon-fri: "09:00-17:00"')
        raw_hours = {}
    for spec, value in raw_hours.items():
        if spec.startswith("__"):
            continue
        days = _days(str(spec))
        ranges = _ranges(value)
        if days is None:
            bad("hours", f"{spec!r}: days are mon..sun, ranges like mon-fri or sat,sun")
        elif ranges is None:
            bad("hours", f"{spec}: {value!r}: expected HH:MM-HH:MM (or a list of them)")
        else:
            for day in days:
                hours.setdefault(day, []).extend(ranges)
    return hours


def parse_registry(text: str, source: str = "<mediators>") -> Registry:
    """Validate the YAML ``text``; raise MediatorsError listing every problem."""
    problems: list[str] = []
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise MediatorsError([f"{source}:{line}: invalid YAML: {exc}"]) from None
    if data is None:
        return Registry()
    if not isinstance(data, dict) or not isinstance(data.get("mediators"), list):
        raise MediatorsError([f"{source}:1: expected a mapping with a 'mediators' list"])
    mediators: list[Mediator] = []
    seen: tuple[set[str], set[tuple[str, str]]] = (set(), set())
    for index, raw in enumerate(data["mediators"]):
        if not isinstance(raw, dict):
            problems.append(f"{source}:?: mediator #{index + 1}: expected a mapping")
            continue
        mediator = _mediator(raw, index, source, problems, seen)
        if mediator is not None:
            mediators.append(mediator)
    if problems:
        raise MediatorsError(problems)
    return Registry(tuple(mediators))


def _mediator(
    raw: dict,
    index: int,
    source: str,
    problems: list[str],
    seen: tuple[set[str], set[tuple[str, str]]],
) -> Mediator | None:
    """One entry of the registry, or None when it has a problem (added to ``problems``)."""
    seen_ids, seen_addresses = seen
    line, lines = raw["__line__"], raw["__lines__"]
    before = len(problems)
    mid = str(raw.get("id") or f"#{index + 1}")

    def bad(name: str, problem: str) -> None:
        problems.append(f"{source}:{lines.get(name, line)}: {mid}: {name}: {problem}")

    for key in raw:
        if key not in FIELDS and not key.startswith("__"):
            bad(key, f"unknown field (known: {', '.join(FIELDS)})")
    if not isinstance(raw.get("id"), str) or not _ID_RE.match(raw["id"]):
        bad("id", "required: lower-case letters, digits, - or _")
    elif raw["id"] in seen_ids:
        bad("id", "duplicate id")
    seen_ids.add(str(raw.get("id")))
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        bad("name", "required (the name people and colleagues see)")
    channel = raw.get("channel")
    if channel not in CHANNELS:
        bad("channel", f"must be one of {', '.join(CHANNELS)}")
    address = _address(raw, channel, seen_addresses, bad)
    regions = _known_list(raw, "regions", "region", REGIONS, bad)
    languages = _known_list(raw, "languages", "language", LANGUAGES, bad)
    admin = raw.get("admin", False)
    if not isinstance(admin, bool):
        bad("admin", "true or false")
    hours = _hours(raw, bad)
    if len(problems) > before:
        return None
    return Mediator(
        id=str(raw["id"]),
        name=str(name).strip(),
        channel=str(channel),
        address=address,
        regions=tuple(regions),
        languages=tuple(languages),
        hours={day: tuple(sorted(r)) for day, r in hours.items()},
        admin=admin is True,
    )


def load_registry(path: Path) -> Registry:
    """The registry in ``path``; an absent file means no mediator (hand-off still queues)."""
    if not path.is_file():
        return Registry()
    return parse_registry(path.read_text(encoding="utf-8"), str(path))


@dataclass
class RegistryFile:
    """A registry reloaded when its file changes; the last valid one is kept on errors."""

    path: Path
    _mtime: float | None = None
    _registry: Registry = field(default_factory=Registry)

    def current(self) -> Registry:
        """The registry as the file says now (or as it last said when valid)."""
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            mtime = None
        if mtime != self._mtime:
            import logging

            try:
                self._registry = load_registry(self.path)
            except MediatorsError as exc:
                logging.getLogger(__name__).error(
                    "mediators file invalid, keeping the previous list:\n%s", exc
                )
            self._mtime = mtime
        return self._registry
