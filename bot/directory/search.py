"""Search the directory by category and place, with fallbacks from city to national."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.directory.model import CATEGORIES, Entry, Geo, Problem, UnknownPlaceError
from bot.directory.places import Places, haversine_km

# How far a neighbouring town may be before we stop calling it "nearby".
NEARBY_MAX_KM = 60.0
# How far a located service may be from a shared location to be listed by distance first.
LOCATION_MAX_KM = 50.0
SCOPES = ("city", "nearby", "province", "region", "national", "location")
_CONFIDENCE_RANK = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class SearchResult:
    """One page of matches and how far the search had to fall back to find them."""

    entries: tuple[Entry, ...]
    scope: str
    total: int
    has_more: bool
    category: str
    city: str | None = None
    audience: str | None = None
    offset: int = 0
    distances_km: tuple[float | None, ...] = ()
    scopes: tuple[str, ...] = ()  # scope of each entry, same order as entries
    place_name: dict[str, str] = field(default_factory=dict)
    # Localised name of each entry's town (or province), for the 📍 line when it has no address.
    entry_places: tuple[dict[str, str], ...] = ()


def _rank(entry: Entry, audience: str | None) -> tuple:
    # Admin priority first, then better-sourced, then aimed at this audience, then freshest.
    specific = 0 if audience and audience in entry.audience else 1
    return (
        entry.priority,
        _CONFIDENCE_RANK.get(entry.confidence, 3),
        specific,
        -entry.verified.toordinal(),
        entry.id,
    )


def _within_reach(entry: Entry, province: str, places: Places) -> bool:
    if entry.reach == "town":
        return False
    if entry.reach == "province":
        own = entry.province or (places.province_of(entry.city) if entry.city else None)
        return own == province
    return True


class Directory:
    """All valid entries with the gazetteer they refer to."""

    def __init__(self, entries: list[Entry], places: Places, warnings: list[Problem] | None = None):
        self.entries = tuple(entries)
        self.places = places
        self.warnings = list(warnings or [])
        self.by_id = {e.id: e for e in self.entries}
        self.loaded_at = dt.datetime.now(dt.timezone.utc)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, entry_id: str) -> Entry | None:
        """Return one entry by id."""
        return self.by_id.get(entry_id)

    def search(
        self,
        category: str,
        *,
        city: str | None = None,
        near: tuple[float, float] | None = None,
        audience: str | None = None,
        limit: int = 3,
        offset: int = 0,
    ) -> SearchResult:
        """Return matching entries, nearest scope first; see the README for the fallback order."""
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r}; expected one of {CATEGORIES}")
        if city is not None and self.places.get(city) is None:
            raise UnknownPlaceError(f"unknown city {city!r}")
        limit = max(1, limit)
        offset = max(0, offset)
        pool = [e for e in self.entries if e.category == category and e.serves(audience)]
        ranked: list[tuple[Entry, str, float | None]]
        if near is not None:
            point = Geo(*near)
            nearest = self.places.nearest(*near)
            city = nearest.id if nearest else None
            ranked = self._by_location(pool, point, audience)
            used = {e.id for e, _, _ in ranked}
            # Then what the nearest town would get, so services without coordinates still show.
            for entry, scope, _ in self._by_place(pool, city, audience):
                if entry.id not in used:
                    distance = round(haversine_km(point, entry.geo), 1) if entry.geo else None
                    ranked.append((entry, scope, distance))
        else:
            ranked = self._by_place(pool, city, audience)
        page = ranked[offset : offset + limit]
        scope = page[0][1] if page else (ranked[0][1] if ranked else "national")
        place = self.places.get(city) if city else None
        return SearchResult(
            entries=tuple(e for e, _, _ in page),
            scope=scope,
            total=len(ranked),
            has_more=offset + limit < len(ranked),
            category=category,
            city=city,
            audience=audience,
            offset=offset,
            distances_km=tuple(d for _, _, d in page),
            scopes=tuple(s for _, s, _ in page),
            place_name=dict(place.name) if place else {},
            entry_places=tuple(self._place_name(e) for e, _, _ in page),
        )

    def _place_name(self, entry: Entry) -> dict[str, str]:
        if entry.city and (city := self.places.get(entry.city)):
            return dict(city.name)
        if entry.province and (province := self.places.provinces.get(entry.province)):
            return dict(province.name)
        return {}

    def _by_location(
        self, pool: list[Entry], point: Geo, audience: str | None
    ) -> list[tuple[Entry, str, float | None]]:
        located = [(e, haversine_km(point, e.geo)) for e in pool if e.geo is not None]
        located = [(e, d) for e, d in located if d <= LOCATION_MAX_KM]
        located.sort(key=lambda pair: (pair[1], _rank(pair[0], audience)))
        return [(e, "location", round(d, 1)) for e, d in located]

    def _by_place(
        self, pool: list[Entry], city: str | None, audience: str | None
    ) -> list[tuple[Entry, str, float | None]]:
        ranked: list[tuple[Entry, str, float | None]] = []
        used: set[str] = set()

        def take(entries: list[Entry], scope: str, distances: dict[str, float] | None = None):
            # distances=None: rank here; otherwise the caller has already ordered the entries.
            if distances is None:
                entries = sorted(entries, key=lambda e: _rank(e, audience))
            for entry in entries:
                if entry.id not in used:
                    used.add(entry.id)
                    dist = distances.get(entry.id) if distances else None
                    ranked.append((entry, scope, dist))

        known = self.places.get(city) if city else None
        if known is not None:
            take([e for e in pool if e.city == known.id], "city")
            # Entries with a reach are not shown beyond it (another commune's civil-status office).
            pool = [e for e in pool if _within_reach(e, known.province, self.places)]
            km_to = {other.id: km for other, km in self.places.by_distance(known.id)}
            near_ids = {cid: km for cid, km in km_to.items() if km <= NEARBY_MAX_KM}
            nearby = [e for e in pool if e.city in near_ids]
            nearby.sort(key=lambda e: (near_ids[e.city], _rank(e, audience)))  # type: ignore[index]
            take(nearby, "nearby", {e.id: round(near_ids[e.city], 1) for e in nearby})  # type: ignore[index]

            def by_distance(e: Entry) -> tuple:
                # Further fallbacks: the closest towns first, services without a town last.
                km = km_to.get(e.city, float("inf")) if e.city else float("inf")
                return (e.priority, km, _rank(e, audience))

            for scope, attr, value in (
                ("province", "province", known.province),
                ("region", "region", known.region),
            ):
                tier = sorted((e for e in pool if getattr(e, attr) == value), key=by_distance)
                take(tier, scope, {})
        take([e for e in pool if e.region == "national"], "national")
        return ranked
