"""Checks of the NLU training data (nlu_data/nlu) and the held-out benchmark sets.

Everything is loaded with Rasa's own loader, so a file Rasa cannot read fails here first.
The held-out sets (bench/data/nlu_heldout) measure generalisation in bench/nlu_bench.py:
they must never leak into training.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest
import yaml

pytest.importorskip("rasa")

from rasa.shared.nlu.training_data.loading import load_data  # noqa: E402
from rasa.shared.nlu.training_data.training_data import TrainingData  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TRAIN_DIR = ROOT / "nlu_data" / "nlu"
HELDOUT_DIR = ROOT / "bench" / "data" / "nlu_heldout"
PLACES = ROOT / "directory" / "places.yml"
DOMAIN = ROOT / "domain.yml"

LANGUAGES = ("fr", "en", "es", "ar", "ary_latn")
SMALL_TALK = (
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
    "change_language",
    "inform_location",
)
TOPICS = ("health", "civil_status", "schooling", "work", "residence", "emergency")
TOPICAL = (*(f"ask_{topic}" for topic in TOPICS), "request_mediator")
OUT_OF_SCOPE = "out_of_scope"
REQUIRED_INTENTS = (*SMALL_TALK, OUT_OF_SCOPE, *TOPICAL)

# Minimum examples per intent and language: training data / held-out data.
MIN_TRAIN = {"topical": 40, OUT_OF_SCOPE: 30, "small_talk": 12}
MIN_HELDOUT = {"topical": 12, OUT_OF_SCOPE: 12, "small_talk": 5}

REQUESTED_LANGUAGES = {"fr", "en", "es", "ar", "ary-Latn"}
PROFILES = {"migrant", "mre", "returnee"}

# Used when directory/places.yml is absent or has no `cities` mapping.
FALLBACK_CITY_IDS = frozenset(
    # Souss-Massa
    "agadir inezgane ait-melloul dcheira tiznit taroudant biougra ait-amira belfaa sidi-bibi "
    "tata ait-baha taliouine oulad-teima massa drarga temsia tafraout amskroud "
    # Oriental
    "oujda nador berkane taourirt jerada figuig driouch guercif zaio ahfir selouane saidia "
    "bouarfa el-aioun beni-ansar al-aroui midar ain-beni-mathar".split()
)


def normalise(text: str) -> str:
    """Casefold, drop punctuation and collapse spaces (accents are kept)."""
    text = unicodedata.normalize("NFC", text).casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def same_text(text: str) -> str:
    """Collapse spaces, keep case: Rasa's own duplicate check is on the exact text, and
    case variants are deliberate where a button word is typed in capitals (PLUS, MORE)."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.yml")) if directory.is_dir() else []


@cache
def _load(path: Path) -> TrainingData:
    return load_data(str(path))


@cache
def canonical_city_ids() -> frozenset[str]:
    """City ids of directory/places.yml, or the fallback list."""
    if PLACES.is_file():
        data = yaml.safe_load(PLACES.read_text(encoding="utf-8")) or {}
        cities = data.get("cities") if isinstance(data, dict) else None
        if isinstance(cities, dict) and cities:
            return frozenset(str(k) for k in cities)
    return FALLBACK_CITY_IDS


def _language_file(directory: Path, language: str) -> Path:
    path = directory / f"{language}.yml"
    if not path.is_file():
        pytest.skip(f"{path.relative_to(ROOT)} does not exist yet (another engineer writes it)")
    return path


def _counts(data: TrainingData) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for example in data.intent_examples:
        counts[example.get("intent")] += 1
    return counts


def _minimum(intent: str, table: dict[str, int]) -> int:
    if intent in TOPICAL:
        return table["topical"]
    if intent == OUT_OF_SCOPE:
        return table[OUT_OF_SCOPE]
    return table["small_talk"]


def test_all_files_load_with_rasa() -> None:
    files = _files(TRAIN_DIR) + _files(HELDOUT_DIR)
    assert files, "no NLU data found"
    for path in files:
        _load(path)  # raises on invalid YAML or a bad annotation


@pytest.mark.parametrize("language", LANGUAGES)
def test_training_file_has_every_intent_with_enough_examples(language: str) -> None:
    path = _language_file(TRAIN_DIR, language)
    counts = _counts(_load(path))
    missing = [intent for intent in REQUIRED_INTENTS if intent not in counts]
    assert not missing, f"{path.name}: missing intents {missing}"
    short = {
        intent: f"{counts[intent]} < {_minimum(intent, MIN_TRAIN)}"
        for intent in REQUIRED_INTENTS
        if counts[intent] < _minimum(intent, MIN_TRAIN)
    }
    assert not short, f"{path.name}: too few examples {short}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_heldout_file_has_every_intent_with_enough_examples(language: str) -> None:
    path = _language_file(HELDOUT_DIR, language)
    counts = _counts(_load(path))
    short = {
        intent: f"{counts.get(intent, 0)} < {_minimum(intent, MIN_HELDOUT)}"
        for intent in REQUIRED_INTENTS
        if counts.get(intent, 0) < _minimum(intent, MIN_HELDOUT)
    }
    assert not short, f"held-out {path.name}: too few examples {short}"


def test_no_duplicate_text_in_training() -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    for path in _files(TRAIN_DIR):
        for example in _load(path).intent_examples:
            seen[same_text(example.get("text"))].append(
                f"{path.name}:{example.get('intent')}:{example.get('text')!r}"
            )
    duplicates = {text: where for text, where in seen.items() if len(where) > 1}
    assert not duplicates, f"duplicate training examples: {duplicates}"


def test_no_duplicate_text_within_heldout() -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    for path in _files(HELDOUT_DIR):
        for example in _load(path).intent_examples:
            seen[normalise(example.get("text"))].append(f"{path.name}:{example.get('text')!r}")
    duplicates = {text: where for text, where in seen.items() if len(where) > 1}
    assert not duplicates, f"duplicate held-out examples: {duplicates}"


def test_no_heldout_example_in_training() -> None:
    training = {
        normalise(example.get("text")): path.name
        for path in _files(TRAIN_DIR)
        for example in _load(path).intent_examples
    }
    leaks = [
        f"{path.name}: {example.get('text')!r} (in {training[normalise(example.get('text'))]})"
        for path in _files(HELDOUT_DIR)
        for example in _load(path).intent_examples
        if normalise(example.get("text")) in training
    ]
    assert not leaks, f"held-out examples found in training data: {leaks}"


def _domain_names(key: str) -> set[str]:
    """Intents or entities declared in domain.yml (plain names or one-key mappings)."""
    if not DOMAIN.is_file():
        return set()
    data = yaml.safe_load(DOMAIN.read_text(encoding="utf-8")) or {}
    return {next(iter(i)) if isinstance(i, dict) else str(i) for i in data.get(key) or []}


def test_intents_are_known() -> None:
    known = set(REQUIRED_INTENTS) | _domain_names("intents")
    unknown = {
        f"{path.relative_to(ROOT)}:{example.get('intent')}"
        for path in _files(TRAIN_DIR) + _files(HELDOUT_DIR)
        for example in _load(path).intent_examples
        if example.get("intent") not in known
    }
    assert not unknown, f"intents neither agreed nor in domain.yml: {sorted(unknown)}"


def test_entity_values_are_canonical() -> None:
    allowed = {
        "city": canonical_city_ids(),
        "requested_language": REQUESTED_LANGUAGES,
        "profile": PROFILES,
    }
    # Entities other features add (declared in domain.yml) have their own value checks.
    known = set(allowed) | _domain_names("entities")
    bad = []
    for path in _files(TRAIN_DIR) + _files(HELDOUT_DIR):
        for example in _load(path).intent_examples:
            for entity in example.get("entities") or []:
                name, value = entity["entity"], entity.get("value")
                if name not in known:
                    bad.append(f"{path.name}: unknown entity {name!r} in {example.get('text')!r}")
                elif name in allowed and value not in allowed[name]:
                    bad.append(f"{path.name}: {name}={value!r} in {example.get('text')!r}")
    assert not bad, "non-canonical entity values:\n" + "\n".join(bad)


def test_fallback_city_ids_are_in_the_gazetteer() -> None:
    """The fallback list must not drift from directory/places.yml when that file exists."""
    ids = canonical_city_ids()
    if ids is FALLBACK_CITY_IDS:
        pytest.skip("directory/places.yml has no `cities` mapping yet")
    assert FALLBACK_CITY_IDS <= ids, f"missing from places.yml: {sorted(FALLBACK_CITY_IDS - ids)}"
