"""Fixtures for directory tests: a temporary copy of the real directory and entry builders."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_DIRECTORY = REPO_ROOT / "directory"

VALID_ENTRY = """\
- id: {id}
  name: {{fr: Service test, ar: خدمة تجريبية, en: Test service}}
  description:
    fr: Description en français.
    ar: وصف بالعربية.
    en: Description in English.
  category: {category}
  audience: [{audience}]
  region: {region}
{place}  phones: ["+212537545400"]
  source: [https://example.org/source]
  confidence: {confidence}
  verified: {verified}
"""


def entry(
    id: str = "test-entry",
    category: str = "health",
    region: str = "oriental",
    city: str | None = "nador",
    province: str | None = None,
    audience: str = "all",
    confidence: str = "high",
    verified: str = "2026-11-01",
    extra: str = "",
) -> str:
    """Return the YAML text of one valid entry (one list item), with optional extra lines."""
    place = ""
    if city:
        place += f"  city: {city}\n"
    if province:
        place += f"  province: {province}\n"
    text = VALID_ENTRY.format(
        id=id,
        category=category,
        region=region,
        place=place,
        audience=audience,
        confidence=confidence,
        verified=verified,
    )
    return text + textwrap.indent(textwrap.dedent(extra), "  ") if extra else text


@pytest.fixture
def directory_copy(tmp_path: Path) -> Path:
    """A temporary copy of the real directory (entries and places.yml)."""
    target = tmp_path / "directory"
    shutil.copytree(REAL_DIRECTORY, target)
    return target


@pytest.fixture
def small_directory(tmp_path: Path) -> Path:
    """An empty directory folder that uses the real gazetteer."""
    target = tmp_path / "small"
    target.mkdir()
    shutil.copy(REAL_DIRECTORY / "places.yml", target / "places.yml")
    return target
