"""Loading and validating directory files: the real data and one malformed file per error."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bot.directory import (
    CATEGORIES,
    DirectoryError,
    Problem,
    load_directory,
    validate_paths,
)
from tests.directory.conftest import REAL_DIRECTORY, entry

TODAY = dt.date(2026, 12, 7)  # the day the newest entries were verified


def problems_for(folder: Path, name: str, text: str) -> list[Problem]:
    """Write one entry file into a folder and validate it."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return validate_paths([path], places_path=folder / "places.yml", today=TODAY)


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


# --- the real directory -------------------------------------------------------------------


def test_real_directory_is_valid_and_large_enough():
    directory = load_directory(REAL_DIRECTORY, today=TODAY)
    assert len(directory) >= 60
    assert errors(validate_paths([REAL_DIRECTORY], today=TODAY)) == []


def test_every_category_is_covered_in_both_regions():
    directory = load_directory(REAL_DIRECTORY, today=TODAY)
    for region in ("souss-massa", "oriental"):
        covered = {e.category for e in directory.entries if e.region in (region, "national")}
        assert covered == set(CATEGORIES), f"{region} misses {set(CATEGORIES) - covered}"


def test_every_entry_is_sourced_dated_and_has_a_confidence():
    directory = load_directory(REAL_DIRECTORY, today=TODAY)
    for e in directory.entries:
        assert e.source and all(s.strip() for s in e.source), e.id
        assert e.verified <= TODAY, e.id
        assert e.confidence in ("high", "medium", "low"), e.id
        assert {"fr", "ar"} <= set(e.name), e.id
        assert {"fr", "ar", "en"} <= set(e.description), e.id


def test_one_file_per_region_and_topic():
    for path in REAL_DIRECTORY.rglob("*.yml"):
        if path.name == "places.yml":
            continue
        assert path.parent.name in ("souss-massa", "oriental", "national"), path
        assert path.stem in CATEGORIES, path
        directory = load_directory(path, places_path=REAL_DIRECTORY / "places.yml", today=TODAY)
        assert {e.category for e in directory.entries} == {path.stem}, path
        assert {e.region for e in directory.entries} == {path.parent.name}, path


def test_known_phone_numbers_are_e164_or_short_codes():
    directory = load_directory(REAL_DIRECTORY, today=TODAY)
    unhcr = directory.get("ma-unhcr-registration")
    assert unhcr is not None
    assert unhcr.phones == ("+212537545400",)
    assert unhcr.whatsapp == "+212666045606"
    assert directory.get("ma-police-19").phones == ("19",)


# --- one malformed file per kind of error ------------------------------------------------


def test_valid_entry_has_no_problem(small_directory: Path):
    assert problems_for(small_directory, "ok.yml", entry()) == []


def test_unknown_key_is_an_error_with_a_suggestion(small_directory: Path):
    text = entry(extra='phone: "+212537545400"\n')
    found = errors(problems_for(small_directory, "typo.yml", text))
    assert len(found) == 1
    problem = found[0]
    assert problem.entry_id == "test-entry"
    assert problem.field == "phone"
    assert "did you mean 'phones'" in problem.message
    assert problem.line == text.splitlines().index('  phone: "+212537545400"') + 1
    where = small_directory / "typo.yml"
    assert str(problem).startswith(f"{where}:{problem.line}: test-entry: phone: unknown key")


def test_duplicate_ids_across_files(small_directory: Path):
    (small_directory / "a.yml").write_text(entry(id="same-id"), encoding="utf-8")
    (small_directory / "b.yml").write_text(entry(id="same-id"), encoding="utf-8")
    found = errors(validate_paths([small_directory], today=TODAY))
    assert len(found) == 1
    assert found[0].field == "id" and "duplicate id" in found[0].message
    assert "a.yml:1" in found[0].message


def test_unknown_city(small_directory: Path):
    found = errors(problems_for(small_directory, "city.yml", entry(city="nadorr")))
    assert [(p.field, p.entry_id) for p in found] == [("city", "test-entry")]
    assert "did you mean 'nador'" in found[0].message


def test_city_in_the_other_region(small_directory: Path):
    found = errors(problems_for(small_directory, "city.yml", entry(city="agadir")))
    assert [p.field for p in found] == ["city"]
    assert "souss-massa" in found[0].message


@pytest.mark.parametrize(
    "phone, hint",
    [("0537545400", "+212537545400"), ("+21253754540", "9 digits"), ("+212 5 37 54", "E.164")],
)
def test_malformed_phone(small_directory: Path, phone: str, hint: str):
    text = entry().replace('phones: ["+212537545400"]', f'phones: ["{phone}"]')
    found = errors(problems_for(small_directory, "phone.yml", text))
    assert [p.field for p in found] == ["phones"]
    assert hint in found[0].message
    assert found[0].line == text.splitlines().index(f'  phones: ["{phone}"]') + 1


def test_unquoted_phone_number_is_explained(small_directory: Path):
    text = entry().replace('phones: ["+212537545400"]', "phones: [212537545400]")
    found = errors(problems_for(small_directory, "phone.yml", text))
    assert [p.field for p in found] == ["phones"]
    assert "quoted" in found[0].message


def test_coordinates_outside_the_region(small_directory: Path):
    # Agadir's coordinates on an Oriental entry.
    found = errors(
        problems_for(small_directory, "geo.yml", entry(extra="geo: {lat: 30.42, lon: -9.58}\n"))
    )
    assert [p.field for p in found] == ["geo"]
    assert "outside the oriental region" in found[0].message


def test_swapped_coordinates_get_a_hint(small_directory: Path):
    found = errors(
        problems_for(
            small_directory,
            "geo.yml",
            entry(region="national", city=None, extra="geo: {lat: -1.9, lon: 34.68}\n"),
        )
    )
    assert [p.field for p in found] == ["geo"]
    assert "outside" in found[0].message


def test_required_languages(small_directory: Path):
    text = (
        entry().replace("    en: Description in English.\n", "").replace(", ar: خدمة تجريبية", "")
    )
    found = errors(problems_for(small_directory, "lang.yml", text))
    assert {p.field for p in found} == {"name.ar", "description.en"}


def test_unknown_language_code(small_directory: Path):
    text = entry().replace("    en: Description in English.\n", "    en: x\n    eng: y\n")
    found = errors(problems_for(small_directory, "lang.yml", text))
    assert [p.field for p in found] == ["description.eng"]


def test_stale_entries_are_warnings_not_errors(small_directory: Path):
    found = problems_for(small_directory, "old.yml", entry(verified="2025-01-10"))
    assert [p.severity for p in found] == ["warning"]
    assert found[0].field == "verified" and "12 months" in found[0].message
    assert "warning:" in str(found[0])


def test_stale_entry_still_loads(small_directory: Path):
    (small_directory / "old.yml").write_text(entry(verified="2025-01-10"), encoding="utf-8")
    directory = load_directory(small_directory, today=TODAY)
    assert len(directory) == 1 and len(directory.warnings) == 1


def test_future_and_malformed_dates(small_directory: Path):
    found = errors(problems_for(small_directory, "f.yml", entry(verified="2027-01-01")))
    assert [p.field for p in found] == ["verified"]
    found = errors(problems_for(small_directory, "f.yml", entry(verified="22/11/2026")))
    assert [p.field for p in found] == ["verified"]


def test_missing_required_fields(small_directory: Path):
    text = "- id: bare\n  name: {fr: Nom, ar: اسم}\n"
    found = errors(problems_for(small_directory, "bare.yml", text))
    required = {"description", "category", "region", "source", "confidence", "verified"}
    assert {p.field for p in found} >= required
    assert all(p.entry_id == "bare" for p in found)


def test_bad_choices(small_directory: Path):
    text = entry(category="hospital", confidence="sure", audience="everyone")
    found = errors(problems_for(small_directory, "bad.yml", text))
    assert {p.field for p in found} == {"category", "confidence", "audience"}


def test_bad_id_slug(small_directory: Path):
    found = errors(problems_for(small_directory, "id.yml", entry(id="Bad Id")))
    assert [p.field for p in found] == ["id"]


def test_bad_hours_email_and_website(small_directory: Path):
    extra = (
        "hours:\n"
        '  - {days: [mon, fri], open: "18:00", close: "09:00"}\n'
        '  - {days: [monday], open: "09:00", close: "12:00"}\n'
        '  - {days: [sat], open: 9, close: "12:00"}\n'
        "email: not-an-email\n"
        "website: www.example.org\n"
    )
    found = errors(problems_for(small_directory, "h.yml", entry(extra=extra)))
    assert sorted(p.field for p in found) == ["email", "hours", "hours", "hours", "website"]


def test_unknown_keys_inside_geo_and_hours(small_directory: Path):
    extra = (
        "geo: {lat: 35.17, lng: -2.93}\n"
        "hours:\n"
        '  - {days: [mon], open: "09:00", close: "12:00"}\n'
        '  - {days: [tue], opens: "09:00", close: "12:00"}\n'
    )
    text = entry(extra=extra)
    found = errors(problems_for(small_directory, "nested.yml", text))
    fields = {p.field: p for p in found}
    assert "did you mean 'lon'" in fields["geo.lng"].message
    assert "did you mean 'open'" in fields["hours.opens"].message
    assert fields["hours.opens"].line == len(text.splitlines())


def test_national_entry_with_a_city_is_refused(small_directory: Path):
    found = errors(problems_for(small_directory, "n.yml", entry(region="national", city="oujda")))
    assert [p.field for p in found] == ["region"]


def test_duplicate_key_inside_an_entry(small_directory: Path):
    text = entry(extra="category: work\n")
    found = errors(problems_for(small_directory, "dup.yml", text))
    assert [p.field for p in found] == ["category"]
    assert "duplicate key" in found[0].message
    assert found[0].line == len(text.splitlines())


def test_empty_file(small_directory: Path):
    found = problems_for(small_directory, "empty.yml", "# only a comment\n")
    assert [(p.line, p.message) for p in found] == [
        (1, "file is empty: expected a list of entries")
    ]


def test_non_mapping_entry(small_directory: Path):
    text = entry() + "- just a string\n"
    found = errors(problems_for(small_directory, "list.yml", text))
    assert len(found) == 1 and "item 2 is str" in found[0].message
    assert found[0].line == len(text.splitlines())


def test_top_level_mapping_instead_of_list(small_directory: Path):
    text = entry().replace("- id:", "  id:").replace("\n  ", "\n  ")
    text = "entry:\n" + text
    found = errors(problems_for(small_directory, "map.yml", text))
    assert len(found) == 1 and "expected a list of entries" in found[0].message


def only_error_on_line(directory: Path, name: str, line: str, instead: str) -> Any:
    """The one error of an entry whose ``line`` reads ``instead``; it is on that line."""
    text = entry().replace(line, instead)
    found = errors(problems_for(directory, name, text))
    assert len(found) == 1
    assert found[0].line == text.splitlines().index(instead) + 1
    return found[0]


def test_tabs_are_reported_with_their_line(small_directory: Path):
    found = only_error_on_line(
        small_directory, "tabs.yml", "  category: health", "\tcategory: health"
    )
    assert "tab" in found.message


def test_yaml_syntax_error_gives_a_line_not_a_traceback(small_directory: Path):
    text = entry().replace("  region: oriental", "  region: [oriental")
    found = errors(problems_for(small_directory, "syntax.yml", text))
    assert len(found) == 1
    assert found[0].message.startswith("YAML syntax error")
    assert found[0].line > 1


def test_colon_in_unquoted_text_gets_a_hint(small_directory: Path):
    found = only_error_on_line(
        small_directory,
        "colon.yml",
        "    fr: Description en français.",
        "    fr: Horaires : le matin",
    )
    assert "quotes" in found.message


def test_binary_file_is_reported(small_directory: Path):
    path = small_directory / "bin.yml"
    path.write_bytes(b"\xff\xfe\x00bad")
    found = validate_paths([path], places_path=small_directory / "places.yml", today=TODAY)
    assert len(found) == 1 and "UTF-8" in found[0].message


def test_missing_path_is_reported(small_directory: Path):
    found = validate_paths([small_directory / "nope.yml"], today=TODAY)
    assert [p.message for p in found] == ["no such file or folder"]


def test_load_directory_raises_with_every_problem(small_directory: Path):
    (small_directory / "a.yml").write_text(entry(city="atlantis"), encoding="utf-8")
    (small_directory / "b.yml").write_text("- [not, an, entry]\n", encoding="utf-8")
    with pytest.raises(DirectoryError) as caught:
        load_directory(small_directory, today=TODAY)
    files = {Path(p.file).name for p in caught.value.problems}
    assert files == {"a.yml", "b.yml"}
    assert "atlantis" in str(caught.value)


def test_invalid_places_file_is_reported(small_directory: Path):
    places = small_directory / "places.yml"
    text = places.read_text(encoding="utf-8")
    places.write_text(text.replace("province: nador\n", "province: berkane-typo\n", 1))
    (small_directory / "a.yml").write_text(entry(), encoding="utf-8")
    found = errors(validate_paths([small_directory], today=TODAY))
    assert any(p.file.endswith("places.yml") and p.field == "province" for p in found)
