"""The gazetteer: canonical ids, provinces, regions, coordinates and nearest town."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.directory import DirectoryError, Geo, haversine_km, load_places
from tests.directory.conftest import REAL_DIRECTORY

SOUSS_MASSA = [
    "agadir",
    "inezgane",
    "ait-melloul",
    "dcheira",
    "tiznit",
    "taroudant",
    "biougra",
    "ait-amira",
    "belfaa",
    "sidi-bibi",
    "tata",
    "ait-baha",
    "taliouine",
    "oulad-teima",
    "massa",
    "drarga",
    "temsia",
    "tafraout",
    "amskroud",
]
ORIENTAL = [
    "oujda",
    "nador",
    "berkane",
    "taourirt",
    "jerada",
    "figuig",
    "driouch",
    "guercif",
    "zaio",
    "ahfir",
    "selouane",
    "saidia",
    "bouarfa",
    "el-aioun",
    "beni-ansar",
    "al-aroui",
    "midar",
    "ain-beni-mathar",
]
PROVINCES = [
    "agadir-ida-ou-tanane",
    "inezgane-ait-melloul",
    "chtouka-ait-baha",
    "taroudant",
    "tiznit",
    "tata",
    "oujda-angad",
    # The other provinces of the Oriental are named after their main town.
    *ORIENTAL[1:8],
]


@pytest.fixture(scope="module")
def places():
    return load_places(REAL_DIRECTORY / "places.yml")


def test_canonical_ids_are_all_there(places):
    assert set(SOUSS_MASSA + ORIENTAL) <= set(places.cities)
    assert set(PROVINCES) == set(places.provinces)
    assert set(places.regions) == {"souss-massa", "oriental", "national"}
    for city in SOUSS_MASSA:
        assert places.region_of(city) == "souss-massa", city
    for city in ORIENTAL:
        assert places.region_of(city) == "oriental", city


def test_every_city_has_fr_and_ar_names_and_a_known_province(places):
    for city in places.cities.values():
        assert city.name["fr"] and city.name["ar"], city.id
        assert places.provinces[city.province].region == city.region, city.id


def test_province_lookups(places):
    assert places.province_of("belfaa") == "chtouka-ait-baha"
    assert places.province_of("zaio") == "nador"
    assert places.province_of("atlantis") is None
    assert places.get("atlantis") is None


def test_cited_coordinates_lie_in_their_region(places):
    located = [c for c in places.cities.values() if c.geo is not None]
    assert len(located) >= 8
    for city in located:
        assert city.source, city.id
        assert places.bbox(city.region).contains(city.geo), city.id


def test_nearest_town(places):
    # A point in central Nador and one on the Agadir seafront.
    assert places.nearest(35.17, -2.93).id == "nador"
    assert places.nearest(30.42, -9.60).id == "agadir"
    assert places.nearest(35.17, -2.93, exclude="nador").id == "zaio"


def test_haversine_matches_a_known_distance():
    # Oujda to Nador is about 110 km as the crow flies.
    km = haversine_km(Geo(34.68667, -1.91139), Geo(35.16667, -2.93333))
    assert 100 < km < 120
    assert haversine_km(Geo(30.0, -9.0), Geo(30.0, -9.0)) == 0


def test_by_distance_is_sorted(places):
    distances = [km for _, km in places.by_distance("oujda")]
    assert distances == sorted(distances)
    assert places.by_distance("massa") == []  # no cited coordinates for Massa


def test_bad_places_file_raises_with_problems(tmp_path: Path):
    path = tmp_path / "places.yml"
    path.write_text(
        "regions:\n"
        "  oriental:\n"
        "    name: {fr: Oriental, ar: الشرق}\n"
        "    bbox: {min_lat: 31.0, max_lat: 35.5, min_lon: -4.2, max_lon: -0.9}\n"
        "provinces:\n"
        "  nador: {region: oriental, name: {fr: Nador, ar: الناظور}}\n"
        "cities:\n"
        "  nador:\n"
        "    name: {fr: Nador}\n"
        "    region: oriental\n"
        "    province: nador\n"
        "    geo: {lat: 30.4, lon: -9.6}\n",
        encoding="utf-8",
    )
    with pytest.raises(DirectoryError) as caught:
        load_places(path)
    fields = {(p.entry_id, p.field) for p in caught.value.problems}
    assert ("nador", "name.ar") in fields
    assert ("nador", "geo") in fields
    assert ("nador", "source") in fields


def test_empty_places_file(tmp_path: Path):
    path = tmp_path / "places.yml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(DirectoryError) as caught:
        load_places(path)
    assert caught.value.problems[0].line == 1
