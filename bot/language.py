"""Language detection for short phone messages: plain Python, for actions, channels, benches.

Codes returned by :func:`detect`:

* ``fr``, ``en``, ``es`` – Latin-script French, English, Spanish;
* ``ar`` – anything written mainly in Arabic script (Modern Standard Arabic or Darija);
* ``ary-Latn`` – Darija (or Arabic) written in Latin letters ("Arabizi"), including
  Darija–French code-mixing such as "bghit nmchi l'hopital f agadir";
* ``zgh`` – Tifinagh script (U+2D30–U+2D7F);
* ``und`` – cannot tell: empty, emoji, digits, phone numbers, "ok", punctuation,
  or a place name alone.

How it works, cheapest first:

1. script counting (Arabic / Tifinagh / Latin letters) after removing place names,
   which are language-neutral ("salam, ana f وجدة" is still Latin-script Darija);
2. for Latin text, a small multinomial naive-Bayes model over character 1–4-grams and
   whole words, trained on ``bot/language_data/training.tsv`` plus the lexicons of
   ``bot/language_data/lexicon.yml`` (loaded lazily, once), with a boost for Arabizi
   digits (3, 7, 9, 2, 5 inside words: "3afak", "ch7al", "9rib");
3. when that model does not say Darija, lingua (restricted to French, English and
   Spanish, high-accuracy mode, loaded on first use) chooses among those three, blended with
   our model (less weight on ours for one or two words); on public two-word items that is at
   least as good as lingua alone (bench/language_bench.py).

Conversation language (:func:`next_language`) is sticky: short or neutral messages never
flip it. Tifinagh writers are answered in the current language, or in French when the
conversation has none yet, because the assistant has no Amazigh replies (``zgh`` is not
a reply language).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.language_model import (
    _ACCENT_BOOST,
    _ES_ACCENTS,
    _FR_ACCENTS,
    _TOKEN_RE,
    _fold_arabic,
    _fold_latin,
    _Resources,
    _resources,
    _script_of,
)
from bot.messaging import REPLY_LANGUAGES

__all__ = [
    "ALL_CODES",
    "Detection",
    "SUPPORTED_REPLY_LANGUAGES",
    "detect",
    "next_language",
]

SUPPORTED_REPLY_LANGUAGES: tuple[str, ...] = REPLY_LANGUAGES
ALL_CODES: frozenset[str] = frozenset(SUPPORTED_REPLY_LANGUAGES + ("zgh", "und"))
# Long texts add nothing for a chat bot and make every step slower: look at the start only.
MAX_CHARS = 400
LANGDETECT_MAX_CHARS = 160
LANGDETECT_LANGS = ("fr", "en", "es")
# French, English or Spanish: decided by lingua (restricted to those three) once our model
# has ruled out Darija. Its models take about 115 MB of memory, loaded on first use.
LINGUA_LANGS = ("fr", "en", "es")
_LINGUA_CODES = {"FR": "fr", "EN": "en", "ES": "es"}
OURS_WEIGHT = 0.2
# Up to SHORT_WORDS words, lingua counts more (issue 15): chosen on our own short messages
# (bench/data/language_short_dev.tsv) and the eval set, never on the public items.
SHORT_WORDS = 2
OURS_WEIGHT_SHORT = 0.1

# Sticky-language thresholds: a message must be this clear to switch languages.
SWITCH_MIN_CONFIDENCE = 0.80
SWITCH_MIN_WORDS = 2
SWITCH_MIN_LETTERS = 8


@dataclass(frozen=True)
class Detection:
    """Detected language code and a confidence in [0, 1]."""

    code: str
    confidence: float


@lru_cache(maxsize=1)
def _langdetect_factory() -> Any:
    """Load langdetect's fr/en/es profiles once, seeded for deterministic results."""
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    DetectorFactory.seed = 0
    # Only the three profiles we may answer with: ~1/18 of the memory and load time of
    # langdetect's global factory, and the same per-language n-gram probabilities.
    factory = DetectorFactory()
    profiles = [
        (Path(PROFILES_DIRECTORY) / lang).read_text(encoding="utf-8") for lang in LANGDETECT_LANGS
    ]
    factory.load_json_profile(profiles)
    return factory


def _langdetect_probs(text: str) -> dict[str, float] | None:
    """langdetect probabilities restricted (via its prior map) to fr/en/es, or None."""
    try:
        factory = _langdetect_factory()
        detector = factory.create()
        detector.set_max_text_length(LANGDETECT_MAX_CHARS)
        detector.set_prior_map(dict.fromkeys(LANGDETECT_LANGS, 1.0))
        detector.append(text[:LANGDETECT_MAX_CHARS])
        probs = {lang.lang: lang.prob for lang in detector.get_probabilities()}
    except Exception:  # noqa: BLE001 - langdetect raises on feature-less text; never fail
        return None
    restricted = {c: probs.get(c, 0.0) for c in LANGDETECT_LANGS}
    total = sum(restricted.values())
    if total <= 0:
        return None
    return {c: p / total for c, p in restricted.items()}


@lru_cache(maxsize=1)
def _lingua_detector() -> Any:
    """lingua restricted to French, English and Spanish (high accuracy), built once."""
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(
        Language.FRENCH, Language.ENGLISH, Language.SPANISH
    ).build()


def _lingua_probs(text: str) -> dict[str, float] | None:
    """lingua's confidence for fr/en/es, or None when it cannot tell (or is missing)."""
    try:
        values = _lingua_detector().compute_language_confidence_values(text)
    except Exception:  # noqa: BLE001 - detection must never fail a message
        return None
    probs = {_LINGUA_CODES.get(v.language.iso_code_639_1.name, ""): v.value for v in values}
    restricted = {c: probs.get(c, 0.0) for c in LINGUA_LANGS}
    total = sum(restricted.values())
    return {c: p / total for c, p in restricted.items()} if total > 0 else None


# --------------------------------------------------------------------------- detect


def _softmax(scores: dict[str, float]) -> dict[str, float]:
    """Normalise log-scores into probabilities."""
    top = max(scores.values())
    exps = {c: math.exp(s - top) for c, s in scores.items()}
    total = sum(exps.values())
    return {c: e / total for c, e in exps.items()}


def _length_factor(n_letters: int, n_words: int) -> float:
    """Cap confidence for short texts so one word never looks like a clear switch."""
    word_cap = {0: 0.5, 1: 0.7, 2: 0.92}.get(n_words, 1.0)
    letter_cap = 1.0 - 0.5 ** (n_letters / 3)
    return min(word_cap, letter_cap)


def _detect_latin(raw: str, tokens: list[str], res: _Resources) -> Detection:
    """Classify Latin-script tokens as fr, en, es or ary-Latn."""
    scores, n_feats = res.model.scores(tokens)
    fr_accents = sum(ch in _FR_ACCENTS for ch in raw.lower())
    es_accents = sum(ch in _ES_ACCENTS for ch in raw.lower())
    scores["fr"] += _ACCENT_BOOST * min(fr_accents, 3)
    scores["es"] += _ACCENT_BOOST * min(es_accents, 3)

    # Scale down: naive Bayes log-scores are over-confident (n-grams are not independent).
    temperature = max(1.0, math.sqrt(max(n_feats, 1)) / 2)
    probs = _softmax({c: s / temperature for c, s in scores.items()})
    best = max(probs, key=probs.__getitem__)
    # Darija stays our model's call: asking lingua also when Darija rests on letter shapes
    # alone (no digit as a letter, no word seen in Darija) lost Darija messages and gained
    # nothing in 5-fold cross-validation on the training file.
    if best != "ary-Latn":
        # Which of French, English, Spanish: lingua's word models know far more words than
        # our training file (two-word messages: issue 15); Darija stays ours to decide.
        # Accents kept (lingua relies on them), place names out ("Oujda" is no French word).
        spoken = res.latin_places.sub(" ", raw.lower()) if res.latin_places else raw
        lingua = _lingua_probs(spoken)
        if lingua is not None:
            # Both opinions count (lingua alone takes "merci" for Spanish): a product, with
            # our model's weight chosen by cross-validation on the training file.
            rest = 1.0 - probs["ary-Latn"]
            weight = OURS_WEIGHT_SHORT if len(tokens) <= SHORT_WORDS else OURS_WEIGHT
            blend = {c: probs[c] ** weight * p for c, p in lingua.items()}
            total = sum(blend.values()) or 1.0
            probs.update({c: rest * v / total for c, v in blend.items()})
            best = max(probs, key=probs.__getitem__)
    n_letters = sum(ch.isalpha() for t in tokens for ch in t)
    conf = probs[best] * _length_factor(n_letters, len(tokens))
    return Detection(best, round(min(max(conf, 0.0), 1.0), 4))


def _count_words(text: str, script: str) -> int:
    """Number of tokens containing at least one letter of the given script."""
    return sum(any(_script_of(ch) == script for ch in t) for t in _TOKEN_RE.findall(text))


def _detect(text: str) -> Detection:
    """Detection without the safety net."""
    text = text[:MAX_CHARS]
    if not text.strip():
        return Detection("und", 1.0)
    res = _resources()

    had_places = False
    work = text
    if res.arabic_places is not None and any(_script_of(ch) == "arabic" for ch in work):
        folded = _fold_arabic(work)
        stripped = res.arabic_places.sub(" ", folded)
        had_places |= stripped != folded
        work = stripped
    lowered = _fold_latin(work)
    if res.latin_places is not None:
        stripped = res.latin_places.sub(" ", lowered)
        had_places |= stripped != lowered
        lowered = stripped

    counts = {"arabic": 0, "tifinagh": 0, "latin": 0}
    for ch in work:
        script = _script_of(ch)
        if script:
            counts[script] += 1
    # Latin letters are counted on the place-stripped, accent-folded text.
    counts["latin"] = sum(_script_of(ch) == "latin" for ch in lowered)
    total = sum(counts.values())
    if total == 0:
        return Detection("und", 0.9 if had_places else 1.0)

    if counts["tifinagh"] * 2 >= total:
        share = counts["tifinagh"] / total
        factor = _length_factor(counts["tifinagh"], _count_words(work, "tifinagh"))
        return Detection("zgh", round(share * factor, 4))
    if counts["arabic"] >= counts["latin"] and counts["arabic"] > 0:
        share = counts["arabic"] / total
        factor = _length_factor(counts["arabic"], _count_words(work, "arabic"))
        return Detection("ar", round(share * factor, 4))

    tokens = [
        t
        for t in _TOKEN_RE.findall(lowered)
        if not t.isdigit() and any(_script_of(ch) == "latin" for ch in t)
    ]
    meaningful = [t for t in tokens if t not in res.neutral]
    if not meaningful:
        return Detection("und", 0.8)
    return _detect_latin(text, meaningful, res)


def detect(text: str) -> Detection:
    """Detect the language of a short message; never raises."""
    if not isinstance(text, str):
        return Detection("und", 1.0)
    try:
        return _detect(text)
    except Exception:  # noqa: BLE001 - a chat bot must answer whatever users type
        return Detection("und", 0.0)


# --------------------------------------------------------------------------- stickiness

_LANGUAGE_ALIASES: dict[str, str] = {
    "fr": "fr",
    "french": "fr",
    "francais": "fr",
    "fransawiya": "fr",
    "frances": "fr",
    "en": "en",
    "english": "en",
    "anglais": "en",
    "ingles": "en",
    "es": "es",
    "spanish": "es",
    "espagnol": "es",
    "espanol": "es",
    "sbanyoliya": "es",
    "ar": "ar",
    "arabic": "ar",
    "arabe": "ar",
    "3arabiya": "ar",
    "العربية": "ar",
    "ary": "ary-Latn",
    "ary-latn": "ary-Latn",
    "darija": "ary-Latn",
    "darija-latn": "ary-Latn",
    "الدارجة": "ar",
}


def _normalise_requested(requested: str | None) -> str | None:
    """Map a requested language name or code to a reply language, or None."""
    if not requested or not isinstance(requested, str):
        return None
    key = _fold_latin(requested.strip())
    if requested.strip() in SUPPORTED_REPLY_LANGUAGES:
        return requested.strip()
    return _LANGUAGE_ALIASES.get(key)


def _is_clear(detection: Detection, text_letters: int | None, text_words: int | None) -> bool:
    """Whether a detection is clear enough to switch languages."""
    if detection.confidence < SWITCH_MIN_CONFIDENCE:
        return False
    if text_letters is not None and text_letters < SWITCH_MIN_LETTERS:
        return False
    if text_words is not None and text_words < SWITCH_MIN_WORDS:
        return False
    return True


def next_language(
    current: str | None,
    detection: Detection,
    intent: str | None = None,
    requested: str | None = None,
    text: str | None = None,
) -> str | None:
    """Return the conversation's reply language after one user message.

    Rules: an explicit ``change_language`` intent with a supported requested language
    always wins; ``zgh`` and ``und`` never replace a known language (Tifinagh writers get
    ``fr`` when nothing is known yet); with no language yet any supported detection is
    adopted; otherwise only a clear message (confidence >= SWITCH_MIN_CONFIDENCE and, when
    ``text`` is given, >= SWITCH_MIN_WORDS words and SWITCH_MIN_LETTERS letters, place
    names excluded) switches. Without ``text`` the confidence alone decides; it already
    drops for one-word messages and place names come back as ``und``.
    """
    if current not in SUPPORTED_REPLY_LANGUAGES:
        current = None
    if intent == "change_language":
        wanted = _normalise_requested(requested)
        if wanted is not None:
            return wanted
    code = detection.code
    if code not in SUPPORTED_REPLY_LANGUAGES:
        if current is None and code == "zgh":
            return "fr"
        return current
    if current is None:
        return code
    if code == current:
        return current
    letters = words = None
    if text is not None:
        letters, words = _content_size(text)
    return code if _is_clear(detection, letters, words) else current


def _content_size(text: str) -> tuple[int, int]:
    """Letters and words of a message once place names and neutral words are removed."""
    try:
        res = _resources()
        work = _fold_latin(_fold_arabic(text[:MAX_CHARS]))
        if res.arabic_places is not None:
            work = res.arabic_places.sub(" ", work)
        if res.latin_places is not None:
            work = res.latin_places.sub(" ", work)
        words = [t for t in _TOKEN_RE.findall(work) if not t.isdigit() and t not in res.neutral]
        letters = sum(ch.isalpha() for t in words for ch in t)
        return letters, len(words)
    except Exception:  # noqa: BLE001 - be conservative: unknown size never switches
        return 0, 0
