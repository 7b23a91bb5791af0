"""The schema of a directory entry: turn one raw YAML mapping into an Entry, or say why not.

Every problem is reported with its ``file:line``, the entry's id and the field, and a hint
when one helps (a close key, the E.164 form of a local number, swapped coordinates).
:mod:`bot.directory.loader` reads the files and runs these checks on every entry.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from typing import Any

from bot.directory.model import (
    AUDIENCES,
    CATEGORIES,
    CONFIDENCE_LEVELS,
    COSTS,
    LANGS,
    REACHES,
    REGIONS,
    REQUIRED_DESCRIPTION_LANGS,
    REQUIRED_NAME_LANGS,
    SPOKEN_LANGUAGES,
    WEEKDAYS,
    Entry,
    Geo,
    OpeningPeriod,
    Problem,
)
from bot.directory.paths import PLACES_FILE
from bot.directory.places import SLUG, Places
from bot.directory.yamlio import clean, line_of

REQUIRED_KEYS = (
    "id",
    "name",
    "description",
    "category",
    "region",
    "source",
    "confidence",
    "verified",
)
OPTIONAL_KEYS = (
    "tags",
    "audience",
    "province",
    "city",
    "address",
    "geo",
    "phones",
    "whatsapp",
    "email",
    "website",
    "hours",
    "hours_note",
    "languages",
    "cost",
    "documents",
    "mediator_notes",
    "verified_via",
    "priority",
    "reach",
)
ALL_KEYS = REQUIRED_KEYS + OPTIONAL_KEYS
# E.164: "+" then country code and subscriber number, 8 to 15 digits in all.
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
# Moroccan short numbers (19, 15, 177, 141, 8350...) are dialled as they are.
SHORT_NUMBER = re.compile(r"^\d{2,4}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
TIME = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")
STALE_AFTER_DAYS = 365


def _check_phone(value: Any) -> str | None:
    """Return why a phone number is malformed, or None when it is fine."""
    if not isinstance(value, str):
        return f'expected a quoted string like "+212537545400", got {value!r}'
    if SHORT_NUMBER.match(value):
        return None
    if not E164.match(value):
        hint = ""
        digits = re.sub(r"\D", "", value)
        if digits.startswith("0") and len(digits) == 10:
            hint = f" (write +212{digits[1:]})"
        return f"malformed phone {value!r}: expected E.164 like +212537545400{hint}"
    if value.startswith("+212") and len(value) != 13:
        return f"malformed phone {value!r}: Moroccan numbers have 9 digits after +212"
    return None


class EntryChecker:
    """Turns one raw mapping into an Entry while collecting problems."""

    def __init__(self, raw: dict[str, Any], file: str, places: Places, today: dt.date):
        self.raw = raw
        self.file = file
        self.places = places
        self.today = today
        self.problems: list[Problem] = []
        value = raw.get("id")
        self.entry_id = value if isinstance(value, str) else None

    def add(
        self, key: str | None, message: str, severity: str = "error", line: int | None = None
    ) -> None:
        if line is None:
            line = line_of(self.raw, key.split(".")[0] if key else None)
        self.problems.append(Problem(self.file, line, self.entry_id, key, message, severity))

    def unknown_keys(self, key: str, mapping: dict, allowed: tuple[str, ...]) -> None:
        """Report keys of a nested mapping (geo, an hours line) that the schema does not know."""
        for name in clean(mapping):
            if name not in allowed:
                close = difflib.get_close_matches(str(name), allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.add(f"{key}.{name}", f"unknown key{hint}", line=line_of(mapping, name))

    def localized(self, key: str, required: tuple[str, ...], optional: bool = False) -> dict:
        value = self.raw.get(key)
        if value is None:
            if not optional:
                self.add(key, f"missing; expected a mapping with {', '.join(required)}")
            return {}
        if not isinstance(value, dict):
            self.add(key, f"expected a mapping of language to text ({', '.join(required)})")
            return {}
        result: dict[str, str] = {}
        for lang, text in clean(value).items():
            if lang not in LANGS:
                self.add(f"{key}.{lang}", f"unknown language; expected one of {LANGS}")
            elif not isinstance(text, str) or not text.strip():
                self.add(f"{key}.{lang}", "expected non-empty text")
            else:
                result[lang] = text.strip()
        for lang in required:
            if lang not in result and f"{key}.{lang}" not in {p.field for p in self.problems}:
                self.add(f"{key}.{lang}", f"missing required language {lang!r}")
        return result

    def choice(self, key: str, allowed: tuple[str, ...], required: bool = True) -> str | None:
        value = self.raw.get(key)
        if value is None:
            if required:
                self.add(key, f"missing; expected one of {', '.join(allowed)}")
            return None
        if value not in allowed:
            self.add(key, f"{value!r} is not one of {', '.join(allowed)}")
            return None
        return str(value)

    def str_list(self, key: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
        value = self.raw.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.add(key, "expected a list")
            return ()
        items = []
        for item in value:
            if not isinstance(item, str) or not item.strip():
                self.add(key, f"expected text items, got {item!r}")
            elif allowed is not None and item not in allowed:
                self.add(key, f"{item!r} is not one of {', '.join(allowed)}")
            else:
                items.append(item.strip())
        return tuple(items)

    def optional_str(self, key: str) -> str | None:
        value = self.raw.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            self.add(key, f"expected text, got {value!r}")
            return None
        return value.strip()

    def keys_and_id(self) -> None:
        for key in clean(self.raw):
            if key not in ALL_KEYS:
                close = difflib.get_close_matches(str(key), ALL_KEYS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.add(str(key), f"unknown key{hint}")
        if self.entry_id is None:
            self.add("id", "missing; expected a stable slug like oujda-chu-mohammed-vi")
        elif not SLUG.match(self.entry_id):
            self.add("id", "expected lowercase letters, digits and hyphens (a slug)")

    def contacts(self) -> tuple[str | None, str | None, str | None]:
        """WhatsApp number, e-mail and website, each checked."""
        whatsapp = self.optional_str("whatsapp")
        if whatsapp is not None:
            why = _check_phone(whatsapp)
            if why or not whatsapp.startswith("+"):
                self.add("whatsapp", why or f"{whatsapp!r}: expected E.164 like +212666045606")
                whatsapp = None
        email = self.optional_str("email")
        if email is not None and not EMAIL.match(email):
            self.add("email", f"{email!r} is not an e-mail address")
        website = self.optional_str("website")
        if website is not None and not website.startswith(("https://", "http://")):
            self.add("website", f"{website!r}: expected a full address starting with https://")
        return whatsapp, email, website

    def priority_and_reach(self, city: str | None, province: str | None) -> tuple[int, str | None]:
        priority = self.raw.get("priority", 100)
        if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 1000:
            self.add("priority", f"{priority!r}: expected a whole number from 0 to 1000")
            priority = 100
        reach = self.choice("reach", REACHES, required=False)
        if reach == "town" and not city:
            self.add("reach", "'town' needs a city: the entry is shown only for that town")
        if reach == "province" and not (city or province):
            self.add("reach", "'province' needs a city or a province")
        return priority, reach

    def check(self) -> Entry | None:
        raw = self.raw
        self.keys_and_id()
        name = self.localized("name", REQUIRED_NAME_LANGS)
        description = self.localized("description", REQUIRED_DESCRIPTION_LANGS)
        category = self.choice("category", CATEGORIES)
        region = self.choice("region", REGIONS)
        tags = self.str_list("tags")
        audience = self.str_list("audience", AUDIENCES) or ("all",)
        province, city = self.place(region)
        address = self.localized("address", (), optional=True)
        geo = self.geo(region)
        phones = self.phones()
        whatsapp, email, website = self.contacts()
        hours = self.hours()
        hours_note = self.localized("hours_note", (), optional=True)
        languages = self.str_list("languages", SPOKEN_LANGUAGES)
        cost = self.choice("cost", COSTS, required=False)
        documents = self.documents()
        mediator_notes = self.optional_str("mediator_notes")
        source = self.str_list("source")
        if not source:
            self.add("source", "missing; every entry needs a document or public page")
        confidence = self.choice("confidence", CONFIDENCE_LEVELS)
        verified = self.verified()
        verified_via = self.optional_str("verified_via")
        priority, reach = self.priority_and_reach(city, province)
        if any(p.severity == "error" for p in self.problems):
            return None
        return Entry(
            id=self.entry_id or "",
            name=name,
            description=description,
            category=category or "",
            region=region or "",
            source=source,
            confidence=confidence or "low",
            verified=verified or self.today,
            tags=tags,
            audience=audience,
            province=province,
            city=city,
            address=address,
            geo=geo,
            phones=phones,
            whatsapp=whatsapp,
            email=email,
            website=website,
            hours=hours,
            hours_note=hours_note,
            languages=languages,
            cost=cost,
            documents=documents,
            mediator_notes=mediator_notes,
            verified_via=verified_via,
            priority=priority,
            reach=reach,
            file=self.file,
            line=line_of(raw),
        )

    def place(self, region: str | None) -> tuple[str | None, str | None]:
        province = self.optional_str("province")
        city = self.optional_str("city")
        if city is not None:
            known = self.places.get(city)
            if known is None:
                close = difflib.get_close_matches(city, list(self.places.cities), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.add("city", f"unknown city {city!r}{hint}; add it to {PLACES_FILE} first")
                city = None
            else:
                if region and region != "national" and known.region != region:
                    self.add("city", f"{city!r} is in region {known.region!r}, not {region!r}")
                    return province, None
                if province is None:
                    province = known.province
                elif province != known.province:
                    self.add("province", f"{city!r} is in {known.province!r}, not {province!r}")
        if province is not None:
            known_province = self.places.provinces.get(province)
            if known_province is None:
                self.add("province", f"unknown province {province!r}")
                province = None
            elif region and region != "national" and known_province.region != region:
                self.add(
                    "province",
                    f"{province!r} is in region {known_province.region!r}, not {region!r}",
                )
        if region == "national" and (city or province):
            # National entries serve everybody; a town would hide them from other searches.
            self.add("region", "national entries must not have a city or province")
        return province, city

    def geo(self, region: str | None) -> Geo | None:
        value = self.raw.get("geo")
        if value is None:
            return None
        if not isinstance(value, dict):
            self.add("geo", "expected a mapping with lat and lon")
            return None
        self.unknown_keys("geo", value, ("lat", "lon"))
        lat, lon = value.get("lat"), value.get("lon")
        if lat is None and lon is None:
            return None
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lon))
        if not numbers or not (-90 <= lat <= 90 and -180 <= lon <= 180):  # type: ignore[operator]
            self.add("geo", f"expected decimal degrees lat/lon, got {lat!r}, {lon!r}")
            return None
        geo = Geo(float(lat), float(lon))  # type: ignore[arg-type]
        box = self.places.bbox(region) if region else None
        if box is not None and not box.contains(geo):
            hint = " (lat and lon swapped?)" if box.contains(Geo(geo.lon, geo.lat)) else ""
            self.add("geo", f"({geo.lat}, {geo.lon}) is outside the {region} region{hint}")
        return geo

    def phones(self) -> tuple[str, ...]:
        value = self.raw.get("phones")
        if value is None:
            return ()
        if not isinstance(value, list):
            value = [value]
        phones = []
        for item in value:
            why = _check_phone(item)
            if why:
                self.add("phones", why)
            else:
                phones.append(item)
        return tuple(phones)

    def hours(self) -> tuple[OpeningPeriod, ...]:
        value = self.raw.get("hours")
        if value is None:
            return ()
        if not isinstance(value, list):
            self.add("hours", "expected a list of {days, open, close}")
            return ()
        periods = []
        for item in value:
            if not isinstance(item, dict):
                self.add("hours", f"expected a mapping with days, open and close, got {item!r}")
                continue
            where = line_of(item)
            self.unknown_keys("hours", item, ("days", "open", "close"))
            days = item.get("days")
            days = [days] if isinstance(days, str) else days
            bad_days = (
                not isinstance(days, list) or not days or any(d not in WEEKDAYS for d in days)
            )
            if bad_days:
                self.add(
                    "hours", f"days {item.get('days')!r}: expected a list of {WEEKDAYS}", line=where
                )
                continue
            opening, closing = item.get("open"), item.get("close")
            if not (isinstance(opening, str) and TIME.match(opening)) or not (
                isinstance(closing, str) and TIME.match(closing)
            ):
                self.add(
                    "hours",
                    f'open/close {opening!r}-{closing!r}: expected quoted "HH:MM"',
                    line=where,
                )
                continue
            if opening >= closing:
                self.add("hours", f"opens at {opening} but closes at {closing}", line=where)
                continue
            periods.append(OpeningPeriod(tuple(days), opening, closing))
        return tuple(periods)

    def documents(self) -> dict[str, tuple[str, ...]]:
        value = self.raw.get("documents")
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add("documents", "expected a mapping of language to a list of documents")
            return {}
        result = {}
        for lang, items in clean(value).items():
            if lang not in LANGS:
                self.add(f"documents.{lang}", f"unknown language; expected one of {LANGS}")
                continue
            items = [items] if isinstance(items, str) else items
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                self.add(f"documents.{lang}", "expected a list of text items")
                continue
            result[lang] = tuple(items)
        return result

    def verified(self) -> dt.date | None:
        value = self.raw.get("verified")
        if value is None:
            self.add("verified", "missing; the date the source was checked, like 2026-11-22")
            return None
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                self.add("verified", f"{value!r}: expected a date like 2026-11-22")
                return None
        if not isinstance(value, dt.date):
            self.add("verified", f"{value!r}: expected a date like 2026-11-22")
            return None
        if value > self.today:
            self.add("verified", f"{value} is in the future")
        elif (self.today - value).days > STALE_AFTER_DAYS:
            self.add(
                "verified",
                f"last checked {value}, over 12 months ago: check the source again",
                severity="warning",
            )
        return value
