"""The mediators' registry: validation with file:line errors, working hours, matching."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.handoff.mediators import MediatorsError, RegistryFile, load_registry, parse_registry
from tests.handoff.conftest import MEDIATORS_YAML, MONDAY_10


def test_valid_registry_parses(registry) -> None:  # noqa: ANN001
    assert [m.id for m in registry.mediators] == ["amina", "youssef", "grace"]
    assert registry.by_address("whatsapp", "whatsapp:+212611111111").id == "youssef"
    assert registry.by_address("telegram", "1001").id == "amina"
    assert registry.by_address("telegram", "+212611111111") is None


def test_errors_name_file_line_mediator_and_field() -> None:
    text = """\
mediators:
  - id: amina
    name: Amina
    channel: signal
    address: "1001"
    regions: [souss-massa, mars]
    languages: [fr, de]
    hours: {mon-fri: "17:00-09:00"}
    phone: "+2126"
  - id: amina
    name: ""
    channel: whatsapp
    address: "0612"
    regions: [oriental]
    languages: [fr]
    hours: {someday: "09:00-12:00"}
"""
    with pytest.raises(MediatorsError) as caught:
        parse_registry(text, "m.yml")
    problems = caught.value.problems
    assert "m.yml:4: amina: channel: must be one of telegram, whatsapp" in problems
    assert any(p.startswith("m.yml:6: amina: regions: unknown region 'mars'") for p in problems)
    assert any(p.startswith("m.yml:7: amina: languages: unknown language 'de'") for p in problems)
    assert any(p.startswith("m.yml:8: amina: hours: mon-fri: '17:00-09:00'") for p in problems)
    assert any(p.startswith("m.yml:9: amina: phone: unknown field") for p in problems)
    assert "m.yml:10: amina: id: duplicate id" in problems
    assert any(p.startswith("m.yml:11: amina: name: required") for p in problems)
    assert any(
        p.startswith("m.yml:13: amina: address: a WhatsApp number is international")
        for p in problems
    )
    assert any(p.startswith("m.yml:16: amina: hours: 'someday'") for p in problems)


def test_invalid_yaml_and_wrong_shape() -> None:
    with pytest.raises(MediatorsError, match=r"m.yml:\d: invalid YAML"):
        parse_registry("mediators:\n  - id: [unclosed\n", "m.yml")
    with pytest.raises(MediatorsError, match="expected a mapping with a 'mediators' list"):
        parse_registry("- just a list\n", "m.yml")
    assert parse_registry("", "m.yml").mediators == ()


def test_working_hours_in_casablanca_time(registry) -> None:  # noqa: ANN001
    amina = registry.get("amina")
    assert amina.on_duty(MONDAY_10)
    # 08:30 UTC is 09:30 in Casablanca (UTC+1): on duty; 16:30 UTC is 17:30: off.
    assert amina.on_duty(datetime(2026, 11, 23, 8, 30, tzinfo=timezone.utc))
    assert not amina.on_duty(datetime(2026, 11, 23, 16, 30, tzinfo=timezone.utc))
    saturday = datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc)
    assert not amina.on_duty(saturday)
    assert registry.get("youssef").on_duty(saturday)
    assert registry.get("grace").on_duty(datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc))
    friday_evening = datetime(2026, 11, 27, 18, 0, tzinfo=timezone.utc)
    opening = amina.next_start(friday_evening)
    assert opening is not None and (opening.weekday(), opening.hour) == (0, 9)


def test_serves_region_and_language(registry) -> None:  # noqa: ANN001
    amina, grace = registry.get("amina"), registry.get("grace")
    assert amina.serves("souss-massa", "ary-Latn")
    assert not amina.serves("oriental", "fr")
    assert not amina.serves("souss-massa", "en")
    assert amina.serves(None, None)
    assert grace.serves("oriental", "es")


def test_registry_file_reloads_and_keeps_last_valid(tmp_path: Path) -> None:
    path = tmp_path / "mediators.yml"
    source = RegistryFile(path)
    assert source.current().mediators == ()
    path.write_text(MEDIATORS_YAML, encoding="utf-8")
    assert len(source.current().mediators) == 3
    path.write_text("mediators:\n  - id: BAD\n", encoding="utf-8")
    import os

    os.utime(path, (MONDAY_10.timestamp() + 100, MONDAY_10.timestamp() + 100))
    assert len(source.current().mediators) == 3
    assert load_registry(tmp_path / "absent.yml").mediators == ()


def test_example_file_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "docs" / "mediators.example.yml"
    registry = load_registry(example)
    assert registry.mediators
