"""Typed model of the service directory: entries, places and the problems found in them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.messaging import REPLY_LANGUAGES

# Closed vocabularies; the README documents each value for admins.
CATEGORIES: tuple[str, ...] = (
    "health",
    "civil_status",
    "schooling",
    "work",
    "residence",
    "emergency",
    "social",
    "legal_aid",
    "women",
    "orientation",
)
AUDIENCES: tuple[str, ...] = ("migrants", "mre", "returnees", "women", "children", "all")
REGIONS: tuple[str, ...] = ("souss-massa", "oriental", "national")
# Languages the bot speaks; "ary-Latn" is Moroccan Arabic written in Latin letters.
LANGS: tuple[str, ...] = REPLY_LANGUAGES
REQUIRED_NAME_LANGS: tuple[str, ...] = ("fr", "ar")
REQUIRED_DESCRIPTION_LANGS: tuple[str, ...] = ("fr", "ar", "en")
# Languages a service may speak with visitors (ISO 639 codes; shi = Tachelhit, rif = Tarifit).
SPOKEN_LANGUAGES: tuple[str, ...] = (
    "ar",
    "ary",
    "fr",
    "en",
    "es",
    "de",
    "nl",
    "it",
    "pt",
    "zgh",
    "shi",
    "rif",
    "tzm",
    "wo",
    "ln",
)
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CONFIDENCE_LEVELS: tuple[str, ...] = ("high", "medium", "low")
COSTS: tuple[str, ...] = ("free", "paid")
# How far from its own place an entry is worth showing: "town" = only to people asking about its
# town (a commune's civil-status office), "province" = its town and province; unset = anywhere.
REACHES: tuple[str, ...] = ("town", "province")

Localized = dict[str, str]


@dataclass(frozen=True)
class Geo:
    """A WGS84 point."""

    lat: float
    lon: float


@dataclass(frozen=True)
class BBox:
    """A latitude/longitude box, used as a coarse plausibility check per region."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    def contains(self, geo: Geo) -> bool:
        """Return True when the point lies inside the box (edges included)."""
        return self.min_lat <= geo.lat <= self.max_lat and self.min_lon <= geo.lon <= self.max_lon


@dataclass(frozen=True)
class OpeningPeriod:
    """One line of opening hours: the same times on several weekdays."""

    days: tuple[str, ...]
    open: str
    close: str


@dataclass(frozen=True)
class Entry:
    """One public service, association or number in the directory."""

    id: str
    name: Localized
    description: Localized
    category: str
    region: str
    source: tuple[str, ...]
    confidence: str
    verified: dt.date
    tags: tuple[str, ...] = ()
    audience: tuple[str, ...] = ("all",)
    province: str | None = None
    city: str | None = None
    address: Localized = field(default_factory=dict)
    geo: Geo | None = None
    phones: tuple[str, ...] = ()
    whatsapp: str | None = None
    email: str | None = None
    website: str | None = None
    hours: tuple[OpeningPeriod, ...] = ()
    hours_note: Localized = field(default_factory=dict)
    languages: tuple[str, ...] = ()
    cost: str | None = None
    documents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    mediator_notes: str | None = None
    verified_via: str | None = None
    priority: int = 100
    reach: str | None = None
    file: str = ""
    line: int = 0

    def serves(self, audience: str | None) -> bool:
        """Return True when the entry is meant for this audience (None = anyone)."""
        return (
            audience is None
            or audience == "all"
            or "all" in self.audience
            or (audience in self.audience)
        )


@dataclass(frozen=True)
class Problem:
    """One validation finding, printed as ``file:line: entry-id: field: message``."""

    file: str
    line: int
    entry_id: str | None
    field: str | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return (
            f"{self.file}:{self.line}: {self.entry_id or '-'}: {self.field or '-'}: "
            f"{prefix}{self.message}"
        )


class DirectoryError(Exception):
    """Raised when directory or places data is invalid; ``problems`` lists every finding."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        lines = "\n".join(str(p) for p in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} error(s) in directory data:\n{lines}{more}")


class UnknownPlaceError(ValueError):
    """Raised when a search names a city id the gazetteer does not know."""
