"""Search: category and place with fallbacks, audience filter, paging and shared locations."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.directory import UnknownPlaceError, load_directory
from bot.directory.model import CATEGORIES
from tests.directory.conftest import REAL_DIRECTORY, entry

TODAY = dt.date(2026, 12, 7)  # the day the newest entries were verified


@pytest.fixture
def directory(small_directory: Path):
    """A small Souss-Massa directory where every fallback level has exactly known entries."""
    text = "".join(
        [
            entry(
                id="h-agadir",
                region="souss-massa",
                city="agadir",
                extra="geo: {lat: 30.4200, lon: -9.5900}\n",
            ),
            entry(id="h-agadir-women", region="souss-massa", city="agadir", audience="women"),
            entry(
                id="h-inezgane",
                region="souss-massa",
                city="inezgane",
                extra="geo: {lat: 30.3600, lon: -9.5400}\n",
            ),
            entry(
                id="h-iam-province",
                region="souss-massa",
                city=None,
                province="inezgane-ait-melloul",
            ),
            entry(id="h-tiznit", region="souss-massa", city="tiznit", confidence="low"),
            entry(id="h-tiznit-better", region="souss-massa", city="tiznit", confidence="medium"),
            entry(id="h-national", region="national", city=None),
            entry(
                id="h-oujda",
                region="oriental",
                city="oujda",
                extra="geo: {lat: 34.6600, lon: -1.8700}\n",
            ),
            entry(id="e-national", category="emergency", region="national", city=None),
        ]
    )
    (small_directory / "entries.yml").write_text(text, encoding="utf-8")
    return load_directory(small_directory, today=TODAY)


def ids(result) -> list[str]:
    return [e.id for e in result.entries]


def test_city_first_then_nearby_province_region_national(directory):
    result = directory.search("health", city="agadir", limit=20)
    assert result.scope == "city"
    # Region-wide fallbacks come nearest town first, entries without a town last.
    assert ids(result) == [
        "h-agadir",
        "h-agadir-women",
        "h-inezgane",
        "h-tiznit-better",
        "h-tiznit",
        "h-iam-province",
        "h-national",
    ]
    assert result.scopes == ("city", "city", "nearby", "region", "region", "region", "national")
    assert result.total == 7 and not result.has_more


def test_other_regions_are_never_mixed_in(directory):
    result = directory.search("health", city="tiznit", limit=20)
    assert "h-oujda" not in ids(result)


def test_nearby_town_has_its_distance(directory):
    result = directory.search("health", city="inezgane", limit=20)
    assert ids(result)[:3] == ["h-inezgane", "h-agadir", "h-agadir-women"]
    assert result.scopes[1] == "nearby"
    assert result.distances_km[1] is not None and 5 < result.distances_km[1] < 15


def test_falls_back_to_province_when_town_has_nothing(directory):
    # Temsia has no entry and no cited coordinates: its province comes first.
    result = directory.search("health", city="temsia", limit=20)
    assert result.scope == "province"
    assert set(ids(result)[:2]) == {"h-inezgane", "h-iam-province"}


def test_falls_back_to_region_then_national(directory):
    result = directory.search("health", city="massa", limit=20)
    assert result.scope == "region"
    assert ids(result)[-1] == "h-national"
    emergency = directory.search("emergency", city="massa")
    assert emergency.scope == "national" and ids(emergency) == ["e-national"]


def test_no_place_gives_national_entries(directory):
    result = directory.search("health")
    assert result.scope == "national" and ids(result) == ["h-national"]


def test_audience_filter(directory):
    women = ids(directory.search("health", city="agadir", audience="women", limit=20))
    assert "h-agadir-women" in women
    mre = ids(directory.search("health", city="agadir", audience="mre", limit=20))
    assert "h-agadir-women" not in mre and "h-agadir" in mre


def test_audience_specific_entries_rank_first(directory):
    result = directory.search("health", city="agadir", audience="women")
    assert ids(result)[0] == "h-agadir-women"


def test_paging(directory):
    first = directory.search("health", city="agadir", limit=3)
    assert len(first.entries) == 3 and first.has_more and first.total == 7
    second = directory.search("health", city="agadir", limit=3, offset=3)
    assert not set(ids(first)) & set(ids(second))
    last = directory.search("health", city="agadir", limit=3, offset=6)
    assert ids(last) == ["h-national"] and not last.has_more
    beyond = directory.search("health", city="agadir", offset=50)
    assert beyond.entries == () and not beyond.has_more


def test_location_search_orders_by_distance(directory):
    # A point in Inezgane: the Inezgane service is closer than the Agadir one.
    result = directory.search("health", near=(30.365, -9.538), limit=20)
    assert result.scope == "location"
    assert ids(result)[:2] == ["h-inezgane", "h-agadir"]
    assert result.distances_km[0] < result.distances_km[1]
    assert result.scopes[:2] == ("location", "location")
    # Services without coordinates follow, as for the nearest town; nothing twice.
    assert len(ids(result)) == len(set(ids(result)))
    assert "h-agadir-women" in ids(result) and "h-oujda" not in ids(result)


def test_location_far_from_any_located_service_uses_nearest_town(directory):
    # Near Tiznit: no located service within 50 km, so the answer is Tiznit's.
    result = directory.search("health", near=(29.70, -9.72))
    assert result.scope == "city" and result.city == "tiznit"
    assert ids(result)[0] == "h-tiznit-better"


def test_unknown_city_and_category(directory):
    with pytest.raises(UnknownPlaceError):
        directory.search("health", city="atlantis")
    with pytest.raises(ValueError):
        directory.search("hospital", city="agadir")


def test_real_directory_answers_for_every_canonical_city_and_category():
    real = load_directory(REAL_DIRECTORY, today=TODAY)
    for city in real.places.cities:
        for category in CATEGORIES:
            result = real.search(category, city=city)
            assert result.entries, (city, category)


def test_real_directory_nador_health_starts_in_nador():
    real = load_directory(REAL_DIRECTORY, today=TODAY)
    result = real.search("health", city="nador")
    assert result.scope == "city"
    assert result.entries[0].id == "or-hopital-hassani-nador"


def test_reach_town_and_province_keep_where_to_ask_entries_at_home(small_directory: Path):
    (small_directory / "entries.yml").write_text(
        "".join(
            [
                entry(
                    id="c-tiznit",
                    category="civil_status",
                    region="souss-massa",
                    city="tiznit",
                    extra="reach: town\n",
                ),
                entry(
                    id="c-inezgane",
                    category="civil_status",
                    region="souss-massa",
                    city="inezgane",
                    extra="reach: province\n",
                ),
                entry(id="c-national", category="civil_status", region="national", city=None),
            ]
        ),
        encoding="utf-8",
    )
    directory = load_directory(small_directory, today=TODAY)
    assert ids(directory.search("civil_status", city="tiznit", limit=9)) == [
        "c-tiznit",
        "c-national",
    ]
    # Aït Melloul is in Inezgane's province: a province-reach entry still shows there.
    assert ids(directory.search("civil_status", city="ait-melloul", limit=9)) == [
        "c-inezgane",
        "c-national",
    ]
    # Agadir is 10 km from Inezgane but in another province: neither local entry shows.
    assert ids(directory.search("civil_status", city="agadir", limit=9)) == ["c-national"]


def test_reach_town_needs_a_city(small_directory: Path):
    from bot.directory import validate_paths

    bad = small_directory / "bad.yml"
    bad.write_text(
        entry(id="bad", region="souss-massa", city=None, province="tiznit", extra="reach: town\n"),
        encoding="utf-8",
    )
    problems = validate_paths([bad], places_path=small_directory / "places.yml", today=TODAY)
    assert any(p.field == "reach" and "needs a city" in p.message for p in problems)
