"""Rendering: language and fallbacks, channel limits, whole entries only, links and labels."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.directory import LANGS, load_directory, render, render_with_count
from bot.directory.model import Entry
from bot.directory.render import (
    FALLBACKS,
    TELEGRAM_MAX,
    WHATSAPP_MAX,
    load_labels,
    message_length,
    osm_link,
    render_entry,
)
from bot.directory.search import SearchResult
from tests.directory.conftest import REAL_DIRECTORY, entry

TODAY = dt.date(2026, 12, 7)  # the day the newest entries were verified


@pytest.fixture(scope="module")
def real():
    return load_directory(REAL_DIRECTORY, today=TODAY)


def make_entry(index: int, description_length: int) -> Entry:
    text = ("x" * description_length) or "x"
    return Entry(
        id=f"long-{index}",
        name={"fr": f"Nom {index}", "ar": f"اسم {index}"},
        description={"fr": text, "ar": text, "en": text},
        category="health",
        region="national",
        source=("https://example.org",),
        confidence="high",
        verified=TODAY,
        phones=("+212537545400",),
    )


def result_of(entries: list[Entry], has_more: bool = False) -> SearchResult:
    return SearchResult(
        entries=tuple(entries),
        scope="national",
        total=len(entries) + (5 if has_more else 0),
        has_more=has_more,
        category="health",
    )


def test_labels_exist_in_all_five_languages_with_the_same_keys():
    labels = load_labels()
    assert set(labels) == set(LANGS)
    keys = set(labels["fr"])
    for lang in LANGS:
        assert set(labels[lang]) == keys, lang
        assert set(labels[lang]["weekdays"]) == {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("channel_max", [WHATSAPP_MAX, TELEGRAM_MAX])
def test_every_language_renders_within_the_channel_limit(real, lang, channel_max):
    for category in ("residence", "health", "emergency", "orientation", "social"):
        for city in ("nador", "agadir", "oujda", "tata"):
            text = render(real.search(category, city=city), lang, channel_max)
            assert 0 < message_length(text) <= channel_max


def test_arabic_uses_arabic_text_and_address(real):
    text = render(real.search("residence", city="oujda"), "ar")
    assert "المفوضية السامية للاجئين" in text
    assert "10 شارع المهدي بن بركة" in text


def test_phones_are_tappable_e164_and_whatsapp_link(real):
    text = render(real.search("residence", city="oujda"), "en")
    assert "📞 +212537545400" in text
    assert "💬 https://wa.me/212666045606" in text
    assert "🕒 Mon–Fri 09:00–15:00" in text


def test_spanish_and_darija_fall_back_as_documented():
    item = make_entry(1, 10)
    item = Entry(
        **{
            **item.__dict__,
            "name": {"fr": "Nom fr", "ar": "اسم", "en": "Name en"},
            "description": {"fr": "Texte fr", "ar": "نص", "en": "Text en", "es": "Texto es"},
        }
    )
    # es: own description, then French for the missing name.
    assert "*Nom fr*" in render_entry(item, "es") and "Texto es" in render_entry(item, "es")
    # ary-Latn: French (Latin letters, the words on the office's sign), never Arabic script first.
    block = render_entry(item, "ary-Latn")
    assert "*Nom fr*" in block and "Texte fr" in block and "نص" not in block
    assert FALLBACKS["ary-Latn"] == ("ary-Latn", "fr", "en", "ar")


def test_darija_latin_text_is_used_when_the_entry_has_it():
    item = make_entry(1, 10)
    item = Entry(**{**item.__dict__, "name": {**item.name, "ary-Latn": "Sbitar"}})
    assert "*Sbitar*" in render_entry(item, "ary-Latn")
    assert "*Nom 1*" in render_entry(item, "fr")


def test_map_link_when_geo_is_known(real):
    foo = real.get("or-foo-oujda")
    assert osm_link(foo.geo.lat, foo.geo.lon) == (
        "https://www.openstreetmap.org/?mlat=34.66293&mlon=-1.86820#map=17/34.66293/-1.86820"
    )
    assert "🗺️ https://www.openstreetmap.org/?mlat=34.66293" in render_entry(foo, "fr")
    assert "🗺️" not in render_entry(real.get("ma-gadem"), "fr")


def test_location_results_show_distance(real):
    text = render(real.search("social", near=(34.67, -1.87)), "fr")
    assert "(0.8 km)" in text


def test_at_most_three_results_and_a_more_hint(real):
    result = real.search("health", city="agadir")
    text = render(result, "fr")
    assert len(result.entries) == 3 and result.has_more
    assert text.count("\n\n1. ") + text.count("\n\n2. ") + text.count("\n\n3. ") == 3
    assert "4. " not in text
    assert text.endswith(load_labels()["fr"]["more"])


def test_nothing_found_says_so(small_directory: Path):
    (small_directory / "a.yml").write_text(entry(), encoding="utf-8")
    directory = load_directory(small_directory, today=TODAY)
    text, shown = render_with_count(directory.search("work", city="nador"), "en")
    assert shown == 0 and text == load_labels()["en"]["none"]


def test_drops_whole_entries_and_says_there_are_more():
    entries = [make_entry(i, 700) for i in range(3)]
    text, shown = render_with_count(result_of(entries), "fr", WHATSAPP_MAX)
    assert message_length(text) <= WHATSAPP_MAX
    assert shown == 2
    assert text.endswith(load_labels()["fr"]["more"])
    assert "Nom 2" not in text
    text, shown = render_with_count(result_of(entries), "fr", TELEGRAM_MAX)
    assert shown == 3 and not text.endswith(load_labels()["fr"]["more"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lengths=st.lists(st.integers(min_value=0, max_value=2500), min_size=1, max_size=3),
    max_chars=st.integers(min_value=120, max_value=5000),
    has_more=st.booleans(),
    lang=st.sampled_from(LANGS),
)
def test_never_cuts_an_entry(lengths, max_chars, has_more, lang):
    entries = [make_entry(i, n) for i, n in enumerate(lengths)]
    text, shown = render_with_count(result_of(entries, has_more), lang, max_chars)
    assert message_length(text) <= max_chars
    assert shown >= 1
    for index, item in enumerate(entries[:shown]):
        full = render_entry(item, lang, index + 1)
        if index == 0:
            compact = render_entry(item, lang, 1, compact=True)
            assert full in text or compact in text or text.startswith(f"*{item.name['fr']}")
        else:
            assert full in text
    for item in entries[shown:]:
        assert f"*{item.name['fr']}*" not in text
    more = load_labels()[lang]["more"]
    full_first = render_entry(entries[0], lang, 1) in text
    if (shown < len(entries) or has_more) and full_first:
        assert text.endswith(more)


def test_length_counts_emoji_as_two_units():
    assert message_length("📍") == 2
    assert message_length("abc") == 3
    assert message_length("مجاني") == 5


def test_national_and_emergency_entries_render_in_darija_not_french():
    """Issue 15.6: someone writing Arabizi must not get French names and descriptions."""
    directory = load_directory(REAL_DIRECTORY, today=TODAY)
    national = [e for e in directory.entries if e.region == "national"]
    assert national
    for item in national:
        text = render_entry(item, "ary-Latn")
        assert item.name.get("ary-Latn") and item.description.get("ary-Latn"), item.id
        assert item.description["fr"] not in text, item.id
        assert f"*{item.name['fr']}*" not in text, item.id
    answer = render(directory.search("emergency", city="tiznit"), "ary-Latn")
    assert "Numéro d'urgence" not in answer and "Urgence en zone rurale" not in answer
