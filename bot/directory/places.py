"""The gazetteer: canonical city ids shared with the NLU ``city`` entity, and region boxes."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.directory.model import REGIONS, BBox, DirectoryError, Geo, Problem
from bot.directory.paths import default_places_path
from bot.directory.yamlio import clean, line_of, read_yaml

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
EARTH_RADIUS_KM = 6371.0088


def haversine_km(a: Geo, b: Geo) -> float:
    """Great-circle distance between two points in kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class City:
    """A town known to the bot."""

    id: str
    name: dict[str, str]
    region: str
    province: str
    geo: Geo | None = None
    source: str | None = None


@dataclass(frozen=True)
class Province:
    """A province or prefecture."""

    id: str
    name: dict[str, str]
    region: str


@dataclass(frozen=True)
class Region:
    """A region with the box used to check coordinates."""

    id: str
    name: dict[str, str]
    bbox: BBox | None


@dataclass
class Places:
    """Lookup of cities, provinces and regions."""

    regions: dict[str, Region] = field(default_factory=dict)
    provinces: dict[str, Province] = field(default_factory=dict)
    cities: dict[str, City] = field(default_factory=dict)

    def get(self, city_id: str) -> City | None:
        """Return the city with this canonical id, or None."""
        return self.cities.get(city_id)

    def province_of(self, city_id: str) -> str | None:
        """Return the province id of a city, or None when unknown."""
        city = self.cities.get(city_id)
        return city.province if city else None

    def region_of(self, city_id: str) -> str | None:
        """Return the region id of a city, or None when unknown."""
        city = self.cities.get(city_id)
        return city.region if city else None

    def nearest(
        self, lat: float, lon: float, *, exclude: str | None = None, region: str | None = None
    ) -> City | None:
        """Return the city with coordinates closest to the point (optionally within a region)."""
        point = Geo(lat, lon)
        candidates = [
            c
            for c in self.cities.values()
            if c.geo is not None and c.id != exclude and (region is None or c.region == region)
        ]
        if not candidates:
            return None
        return min(candidates, key=lambda c: (haversine_km(point, c.geo), c.id))  # type: ignore[arg-type]

    def by_distance(self, city_id: str) -> list[tuple[City, float]]:
        """Return the other cities with coordinates, nearest first, with distances in km."""
        origin = self.cities.get(city_id)
        if origin is None or origin.geo is None:
            return []
        others = [
            (c, haversine_km(origin.geo, c.geo))
            for c in self.cities.values()
            if c.id != city_id and c.geo is not None
        ]
        return sorted(others, key=lambda pair: (pair[1], pair[0].id))

    def bbox(self, region: str) -> BBox | None:
        """Return the bounding box declared for a region."""
        found = self.regions.get(region)
        return found.bbox if found else None


def _localized_name(
    raw: Any, where: str, line: int, item: str, problems: list[Problem]
) -> dict[str, str]:
    if not isinstance(raw, dict):
        problems.append(Problem(where, line, item, "name", "expected a mapping with fr and ar"))
        return {}
    names = {k: v for k, v in clean(raw).items() if isinstance(v, str) and v.strip()}
    for lang in ("fr", "ar"):
        if lang not in names:
            problems.append(
                Problem(where, line, item, f"name.{lang}", "missing (fr and ar needed)")
            )
    return names


def _geo(raw: Any, where: str, line: int, item: str, problems: list[Problem]) -> Geo | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(Problem(where, line, item, "geo", "expected a mapping with lat and lon"))
        return None
    lat, lon = raw.get("lat"), raw.get("lon")
    if lat is None and lon is None:
        return None
    ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lon))
    if not ok or not (-90 <= lat <= 90 and -180 <= lon <= 180):  # type: ignore[operator]
        problems.append(
            Problem(where, line, item, "geo", f"expected numbers lat/lon, got {lat!r}, {lon!r}")
        )
        return None
    return Geo(float(lat), float(lon))  # type: ignore[arg-type]


def parse_places(data: Any, where: str) -> tuple[Places, list[Problem]]:
    """Build Places from loaded YAML, collecting every problem instead of stopping."""
    problems: list[Problem] = []
    places = Places()
    if not isinstance(data, dict):
        problems.append(
            Problem(where, 1, None, None, "expected a mapping with regions, provinces and cities")
        )
        return places, problems
    for section in ("regions", "provinces", "cities"):
        if not isinstance(data.get(section), dict):
            problems.append(
                Problem(where, line_of(data, section), None, section, "missing or not a mapping")
            )
    for key in clean(data):
        if key not in ("regions", "provinces", "cities"):
            problems.append(Problem(where, line_of(data, key), None, str(key), "unknown key"))
    # Regions first: provinces name a region, cities a region and a province.
    _parse_regions(_section(data, "regions"), where, places, problems)
    _parse_provinces(_section(data, "provinces"), where, places, problems)
    _parse_cities(_section(data, "cities"), where, places, problems)
    return places, problems


def _section(data: dict, name: str) -> dict:
    return data.get(name) if isinstance(data.get(name), dict) else {}


def _parse_regions(regions: dict, where: str, places: Places, problems: list[Problem]) -> None:
    for rid, raw in clean(regions).items():
        line = line_of(regions, rid)
        if rid not in REGIONS:
            problems.append(Problem(where, line, rid, None, f"unknown region; expected {REGIONS}"))
        if not isinstance(raw, dict):
            problems.append(Problem(where, line, rid, None, "expected a mapping"))
            continue
        bbox = None
        box = raw.get("bbox")
        keys = ("min_lat", "max_lat", "min_lon", "max_lon")
        if isinstance(box, dict) and all(isinstance(box.get(k), (int, float)) for k in keys):
            bbox = BBox(*(float(box[k]) for k in keys))
            if bbox.min_lat >= bbox.max_lat or bbox.min_lon >= bbox.max_lon:
                problems.append(Problem(where, line_of(raw, "bbox"), rid, "bbox", "min >= max"))
        else:
            problems.append(
                Problem(where, line_of(raw, "bbox", line), rid, "bbox", f"expected numbers {keys}")
            )
        name = _localized_name(raw.get("name"), where, line, rid, problems)
        places.regions[rid] = Region(rid, name, bbox)


def _parse_provinces(provinces: dict, where: str, places: Places, problems: list[Problem]) -> None:
    for pid, raw in clean(provinces).items():
        line = line_of(provinces, pid)
        if not isinstance(raw, dict):
            problems.append(Problem(where, line, pid, None, "expected a mapping"))
            continue
        region = raw.get("region")
        if region not in places.regions:
            problems.append(Problem(where, line, pid, "region", f"unknown region {region!r}"))
        name = _localized_name(raw.get("name"), where, line, pid, problems)
        places.provinces[pid] = Province(pid, name, str(region))


def _parse_cities(cities: dict, where: str, places: Places, problems: list[Problem]) -> None:
    for cid, raw in clean(cities).items():
        line = line_of(cities, cid)
        if not isinstance(cid, str) or not SLUG.match(cid):
            problems.append(
                Problem(where, line, str(cid), None, "city id must be a lowercase slug")
            )
        if not isinstance(raw, dict):
            problems.append(Problem(where, line, str(cid), None, "expected a mapping"))
            continue
        for key in clean(raw):
            if key not in ("name", "region", "province", "geo", "source"):
                problems.append(Problem(where, line_of(raw, key), cid, str(key), "unknown key"))
        region, province = raw.get("region"), raw.get("province")
        _check_city_region(where, line, cid, region, province, places, problems)
        geo = _geo(raw.get("geo"), where, line_of(raw, "geo", line), cid, problems)
        source = raw.get("source")
        if geo is not None:
            geo_line = line_of(raw, "geo", line)
            _check_city_geo(where, geo_line, line, cid, geo, source, str(region), places, problems)
        name = _localized_name(raw.get("name"), where, line, cid, problems)
        places.cities[cid] = City(
            cid, name, str(region), str(province), geo, source if isinstance(source, str) else None
        )


def _check_city_region(
    where: str,
    line: int,
    cid: str,
    region: Any,
    province: Any,
    places: Places,
    problems: list[Problem],
) -> None:
    if region not in places.regions:
        problems.append(Problem(where, line, cid, "region", f"unknown region {region!r}"))
    if province not in places.provinces:
        problems.append(Problem(where, line, cid, "province", f"unknown province {province!r}"))
    elif places.provinces[province].region != region:
        problems.append(
            Problem(
                where,
                line,
                cid,
                "province",
                f"province {province!r} is in {places.provinces[province].region!r}, "
                f"not {region!r}",
            )
        )


def _check_city_geo(
    where: str,
    geo_line: int,
    line: int,
    cid: str,
    geo: Geo,
    source: Any,
    region: str,
    places: Places,
    problems: list[Problem],
) -> None:
    if not (isinstance(source, str) and source.strip()):
        problems.append(
            Problem(where, line, cid, "source", "geo needs a source (page it came from)")
        )
    box = places.bbox(region)
    if box is not None and not box.contains(geo):
        problems.append(
            Problem(
                where,
                geo_line,
                cid,
                "geo",
                f"({geo.lat}, {geo.lon}) is outside the {region} bounding box",
            )
        )


def check_places(path: Path) -> tuple[Places, list[Problem]]:
    """Read and check a places file; return what could be built and every problem."""
    data, problems = read_yaml(path)
    if data is None and not problems:
        problems = [Problem(str(path), 1, None, None, "file is empty: expected regions, cities")]
    if problems and data is None:
        return Places(), problems
    places, more = parse_places(data, str(path))
    return places, problems + more


def load_places(path: str | Path | None = None) -> Places:
    """Load the gazetteer (default ``directory/places.yml``); raise DirectoryError if invalid."""
    resolved = Path(path) if path is not None else default_places_path()
    places, problems = check_places(resolved)
    if any(p.severity == "error" for p in problems):
        raise DirectoryError(problems)
    return places
