"""The Latin-script model of language detection: character n-grams and words, multinomial
naive Bayes, trained on bot/language_data/ (loaded lazily, once), and the text helpers it
shares with bot.language. No Rasa import.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

LATIN_CLASSES: tuple[str, ...] = ("fr", "en", "es", "ary-Latn")

DATA_DIR = Path(__file__).resolve().parent / "language_data"
TRAINING_FILE = DATA_DIR / "training.tsv"
LEXICON_FILE = DATA_DIR / "lexicon.yml"

_NGRAM_SIZES = (1, 2, 3, 4)
_ALPHA = 0.5
_WORD_WEIGHT = 2.0
_LEXICON_REPEAT = 3
# Digits used as letters are near-certain Darija, worth a few common Darija words.
_ARABIZI_BOOST = 5.0
_ACCENT_BOOST = 1.0

_ARABIC_RANGES = (
    (0x0600, 0x06FF),
    (0x0750, 0x077F),
    (0x08A0, 0x08FF),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFF),
)
_TIFINAGH_RANGE = (0x2D30, 0x2D7F)

_TOKEN_RE = re.compile(r"[^\W_]+")
# Digits used as letters in Arabizi, next to a Latin letter: "3afak", "m3a", "sma7".
_ARABIZI_RE = re.compile(r"[a-z][23579]|[23579][a-z]")
# Digit-letter tokens that are not Arabizi: times, ordinals, units, amounts ("9h30", "2eme").
_NOT_ARABIZI_RE = re.compile(
    r"^\d+(?:h\d*|am|pm|er|ere|eme|e|em|min|mn|km|kg|dh|dhs|mad|eur|euros?|ans?|anos?"
    r"|years?|yrs?|th|st|nd|rd|x\d*|g|gb|mb)$"
)
_FR_ACCENTS = frozenset("éèêëàâçùûîïôœ")
_ES_ACCENTS = frozenset("ñáíóú¿¡")
# Arabic diacritics and tatweel: dropped before matching Arabic place names.
_AR_STRIP_RE = re.compile(r"[\u064B-\u065F\u0670\u0640]")
_AR_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي", "ة": "ه"})


# --------------------------------------------------------------------------- helpers


def _script_of(ch: str) -> str:
    """Return 'arabic', 'tifinagh', 'latin' or '' for one character."""
    cp = ord(ch)
    if _TIFINAGH_RANGE[0] <= cp <= _TIFINAGH_RANGE[1]:
        return "tifinagh"
    for low, high in _ARABIC_RANGES:
        if low <= cp <= high:
            # Arabic-Indic digits and punctuation are not letters.
            return "arabic" if ch.isalpha() else ""
    if ch.isalpha() and cp < 0x0250:
        return "latin"
    if 0x1E00 <= cp <= 0x1EFF and ch.isalpha():
        return "latin"
    return ""


def _fold_latin(text: str) -> str:
    """Lower-case and strip accents, as people type on phones."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _fold_arabic(text: str) -> str:
    """Normalise alef/ya/ta-marbuta variants and drop diacritics."""
    return _AR_STRIP_RE.sub("", text).translate(_AR_FOLD)


def _ngrams(token: str) -> list[str]:
    """Character 1-4-grams of a token padded with spaces."""
    padded = f" {token} "
    grams: list[str] = []
    for n in _NGRAM_SIZES:
        grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


def _is_arabizi(token: str) -> bool:
    """True when a token uses digits as Arabic letters."""
    return bool(_ARABIZI_RE.search(token)) and not _NOT_ARABIZI_RE.match(token)


# --------------------------------------------------------------------------- model


class _LatinModel:
    """Naive Bayes over character n-grams and words for fr/en/es/ary-Latn."""

    def __init__(self, examples: list[tuple[str, str]], lexicon: dict[str, list[str]]) -> None:
        """Count n-grams and words per class from examples and lexicon words."""
        gram_counts: dict[str, dict[str, int]] = {c: {} for c in LATIN_CLASSES}
        word_counts: dict[str, dict[str, int]] = {c: {} for c in LATIN_CLASSES}

        def add(code: str, text: str, repeat: int) -> None:
            for tok in _TOKEN_RE.findall(_fold_latin(text)):
                if tok.isdigit():
                    continue
                wc = word_counts[code]
                wc[tok] = wc.get(tok, 0) + repeat
                gc = gram_counts[code]
                for g in _ngrams(tok):
                    gc[g] = gc.get(g, 0) + repeat

        for code, text in examples:
            add(code, text, 1)
        for code, words in lexicon.items():
            for word in words:
                add(code, word, _LEXICON_REPEAT)

        gram_vocab = set().union(*gram_counts.values())
        self.word_vocab: frozenset[str] = frozenset(set().union(*word_counts.values()))
        self.gram_logp: dict[str, dict[str, float]] = {}
        self.gram_unseen: dict[str, float] = {}
        self.word_logp: dict[str, dict[str, float]] = {}
        self.word_unseen: dict[str, float] = {}
        for c in LATIN_CLASSES:
            total = sum(gram_counts[c].values())
            denom = math.log(total + _ALPHA * (len(gram_vocab) + 1))
            self.gram_logp[c] = {g: math.log(n + _ALPHA) - denom for g, n in gram_counts[c].items()}
            self.gram_unseen[c] = math.log(_ALPHA) - denom
            wtotal = sum(word_counts[c].values())
            wdenom = math.log(wtotal + _ALPHA * (len(self.word_vocab) + 1))
            self.word_logp[c] = {
                w: math.log(n + _ALPHA) - wdenom for w, n in word_counts[c].items()
            }
            self.word_unseen[c] = math.log(_ALPHA) - wdenom

    def scores(self, tokens: list[str]) -> tuple[dict[str, float], int]:
        """Log-scores per class and the number of n-gram features used."""
        scores = {c: 0.0 for c in LATIN_CLASSES}
        n_feats = 0
        for tok in tokens:
            grams = _ngrams(tok)
            n_feats += len(grams)
            known_word = tok in self.word_vocab
            for c in LATIN_CLASSES:
                logp = self.gram_logp[c]
                unseen = self.gram_unseen[c]
                s = 0.0
                for g in grams:
                    s += logp.get(g, unseen)
                if known_word:
                    s += _WORD_WEIGHT * self.word_logp[c].get(tok, self.word_unseen[c])
                scores[c] += s
            if _is_arabizi(tok):
                scores["ary-Latn"] += _ARABIZI_BOOST
        return scores, n_feats


@dataclass(frozen=True)
class _Resources:
    model: _LatinModel
    latin_places: re.Pattern[str] | None
    arabic_places: re.Pattern[str] | None
    neutral: frozenset[str]


def _load_training(path: Path) -> list[tuple[str, str]]:
    """Read `code<TAB>text` lines, skipping comments and the header."""
    examples: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or "\t" not in line:
            continue
        code, text = line.split("\t", 1)
        code = code.strip()
        if code in LATIN_CLASSES:
            examples.append((code, text.strip()))
    return examples


def _alternation(names: list[str]) -> re.Pattern[str] | None:
    """Compile a whole-word alternation, longest names first."""
    names = sorted({n for n in names if n}, key=len, reverse=True)
    if not names:
        return None
    body = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in names)
    return re.compile(rf"(?<![^\W_])(?:{body})(?![^\W_])")


@lru_cache(maxsize=1)
def _resources() -> _Resources:
    """Load data files and train the Latin model once, on first use."""
    lexicon_doc: dict[str, Any] = yaml.safe_load(LEXICON_FILE.read_text(encoding="utf-8"))
    words_by_code = lexicon_doc.get("lexicon", {})
    lexicon = {c: [str(w) for w in words_by_code.get(c, [])] for c in LATIN_CLASSES}
    places = lexicon_doc.get("place_names", {})
    latin_places = _alternation([_fold_latin(str(p)) for p in places.get("latin", [])])
    # Arabic names may carry a one-letter proclitic: "فوجدة" (in Oujda), "للناظور".
    arabic_names = [_fold_arabic(str(p)) for p in places.get("arabic", [])]
    arabic_places = None
    if arabic_names:
        ordered = sorted(arabic_names, key=len, reverse=True)
        body = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in ordered)
        arabic_places = re.compile(rf"(?<![^\W_])[وفبل]?(?:{body})(?![^\W_])")
    neutral = frozenset(_fold_latin(str(w)) for w in lexicon_doc.get("neutral_tokens", []))
    model = _LatinModel(_load_training(TRAINING_FILE), lexicon)
    return _Resources(model, latin_places, arabic_places, neutral)
