"""The little language of patterns.yml compiled to regular expressions, with the indexes
that let a message try only the rules whose words it has. No Rasa import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.safety.text import fold, skeleton_word

# French, English and Spanish words of our NLU data (bench/safety_words.py writes it).
LATIN_WORDS_PATH = Path(__file__).with_name("latin_words.txt")


# --- patterns -------------------------------------------------------------------------------
# Arabic clitics glued to a word: and, so, with, for, like, the (وبالدار, فالزنقة).
_ARABIC_CLITICS = r"(?:وال|بال|فال|كال|لل|ال|و|ف|ب|ل|ك)?"
_ARABIC_LETTER = re.compile(r"[\u0600-\u06FF]")


def _literal(word: str, view: str, latin: frozenset[str] = frozenset()) -> str:
    """A pattern's word as it appears in the text of ``view`` (folded, or its skeleton).

    In the skeleton a French, English or Spanish word (``latin``) is kept whole behind a
    "_" ("_pistolet"): a Darija pattern may name one ("3ndo pistolet", "crise cardiaque")."""
    if view == "skeleton":
        return " ".join(
            latin_mark(w) if w in latin else skeleton_word(w) for w in fold(word).split()
        )
    return fold(word)


def latin_mark(word: str) -> str:
    """How a French, English or Spanish word stands in the Arabizi skeleton of a text."""
    return "_" + word


def _word_regex(word: str, view: str, latin: frozenset[str] = frozenset()) -> str:
    """One word: "~" for any ending, "=" for anywhere inside a word.

    An Arabic word also takes the clitics before it and any ending after it.
    """
    prefix = word.endswith("~")
    exact = word.endswith(".") and len(word) > 1
    inside = word.startswith("=")
    word = _literal(word.rstrip("~").rstrip(".").lstrip("="), view, latin)
    if not word:
        raise ValueError("empty word in a pattern")
    body = re.escape(word).replace(r"\ ", " ")
    if inside:
        return r"\S*" + body + r"\S*"
    if _ARABIC_LETTER.search(word):
        return _ARABIC_CLITICS + body + ("" if exact else r"\S*")
    if prefix:
        return body + r"\S*"
    return body


def _phrase_regex(phrase: str, view: str, latin: frozenset[str] = frozenset()) -> str:
    """Words in a row; a word written ?word may be missing."""
    out = ""
    for index, word in enumerate(phrase.split()):
        optional = word.startswith("?") and len(word) > 1
        regex = _word_regex(word[1:] if optional else word, view, latin)
        if index == 0:
            out = f"(?:{regex} )?" if optional else regex
        elif optional:
            out += f"(?: {regex})?"
        elif out.endswith(" )?"):
            out += regex
        else:
            out += " " + regex
    return out


_GAPS = {"+": "", "*": r"(?:\S+ ){0,3}", "**": r"(?:\S+ ){0,8}"}


def compile_pattern(source: str, view: str = "folded", latin: frozenset[str] = frozenset()) -> str:
    """A pattern of the little language of patterns.yml as a regular expression.

    ``+`` (next word), ``*`` (up to 3 other words) and ``**`` (up to 8) separate slots;
    a slot lists phrases separated by ``|``; in a phrase, ``word~`` takes any ending,
    ``word.`` none (Arabic), ``=stem`` stands anywhere inside a word, ``?word`` may be
    missing. ``re:...`` is a raw regular expression on the folded text.
    """
    if source.startswith("re:"):
        return source[3:]
    slots: list[list[str]] = [[]]
    gaps: list[str] = []
    for token in source.split():
        if token in _GAPS:
            gaps.append(_GAPS[token])
            slots.append([])
        else:
            slots[-1].append(token)
    if any(not slot for slot in slots):
        raise ValueError(f"a gap needs words on both sides: {source!r}")
    parts = []
    for slot in slots:
        phrases = [p for p in " ".join(slot).split("|") if p.strip()]
        parts.append("(?:" + "|".join(_phrase_regex(p, view, latin) for p in phrases) + ")")
    regex = parts[0]
    for gap, part in zip(gaps, parts[1:], strict=True):
        regex += " " + gap + part
    return "(?<!\\S)" + regex + "(?!\\S)"


@dataclass(frozen=True)
class _Rule:
    kind: str
    imminent: bool
    source: str
    name: str
    regex: re.Pattern[str]
    view: str
    # For each slot whose words are known: their 3-letter pieces, one of which must be in
    # the message (checked before the regular expression, which costs far more).
    needs: tuple[frozenset[str], ...] = ()


@dataclass(frozen=True)
class _Compiled:
    rules: tuple[_Rule, ...]
    # Which rules a message may match, by the 3-letter pieces of its words (a rule can only
    # match where a word of its first slot is): most rules are never tried on a message.
    index: dict[tuple[str, str], tuple[int, ...]]
    unindexed: tuple[int, ...]
    # Idioms of the folded text: (anchors or None, regex), tried only when an anchor is seen.
    idioms: tuple[tuple[frozenset[str] | None, re.Pattern[str]], ...]
    idioms_skeleton: re.Pattern[str] | None
    imminent_cues: re.Pattern[str] | None
    imminent_cues_skeleton: re.Pattern[str] | None
    keywords: frozenset[str]
    keyword_deletions: dict[str, str]
    known_words: frozenset[str]
    not_arabizi: frozenset[str]
    cancels: dict[str, re.Pattern[str]]
    # Said to be over and well now ("je suis gueri maintenant", "daba mzyan"): every kind.
    resolved: re.Pattern[str] | None
    # Asked for help now ("au secours", "right now", "not joking"): no cancel applies.
    overrides: re.Pattern[str] | None
    defaults: dict[str, str]
    upgradable: frozenset[str]


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _distance_at_most_one(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance <= 1 (one insertion, deletion, change or swap)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and (a[diff[1]] == b[diff[0]])
        )
    if la > lb:
        a, b = b, a
    # b is one longer: removing one character of b gives a.
    return any(b[:i] + b[i + 1 :] == a for i in range(len(b)))


def _language_words() -> dict[str, set[str]]:
    """Words of real messages and lexicons, per language (the language detector's data)."""
    from bot.language_model import LEXICON_FILE, TRAINING_FILE

    words: dict[str, set[str]] = {}
    try:
        for line in TRAINING_FILE.read_text(encoding="utf-8").splitlines():
            code, _, text = line.partition("\t")
            if text and not code.startswith("#"):
                words.setdefault(code, set()).update(fold(text).split())
        lexicon = yaml.safe_load(LEXICON_FILE.read_text(encoding="utf-8")).get("lexicon", {})
        for code, items in lexicon.items():
            for item in items or []:
                words.setdefault(code, set()).update(fold(str(item)).split())
    except (OSError, AttributeError, yaml.YAMLError):
        return {}
    return words


def _pattern_words(sources: Any) -> set[str]:
    """The plain words of some patterns (the French, English and Spanish ones)."""
    found: set[str] = set()
    for source in sources:
        if source.startswith("re:"):
            continue
        for token in re.split(r"[\s|]+", source.lstrip("!")):
            token = token.lstrip("?=").rstrip("~")
            if token.isalpha() and len(token) >= 3:
                found.add(fold(token))
    return found


ANCHOR = 3


def _slots(source: str) -> list[list[str]]:
    """A pattern's words, slot by slot (the gaps * ** + separate the slots)."""
    slots: list[list[str]] = [[]]
    for token in source.split():
        if token in _GAPS:
            slots.append([])
        else:
            slots[-1].append(token)
    return slots


def _anchors(source: str, view: str, latin: frozenset[str] = frozenset()) -> list[str] | None:
    """Words one of which must be in a message for the pattern to match: the first words
    of the phrases of one of its slots (folded or skeleton text); None: cannot tell."""
    if source.startswith("re:"):
        return None
    for slot in _slots(source):
        anchors = _slot_anchors(slot, view, latin)
        if anchors:
            return anchors
    return None


def _needs(
    source: str, view: str, latin: frozenset[str] = frozenset()
) -> tuple[frozenset[str], ...]:
    """The 3-letter pieces of each slot's first words (slots that cannot tell are left out)."""
    if source.startswith("re:"):
        return ()
    found = []
    for slot in _slots(source):
        anchors = _slot_anchors(slot, view, latin)
        if anchors:
            found.append(frozenset(a[:ANCHOR] for a in anchors))
    return tuple(found)


def _slot_anchors(
    slot: list[str], view: str, latin: frozenset[str] = frozenset()
) -> list[str] | None:
    """One word per phrase of a slot that a matching message must hold: the longest of the
    phrase's words that may not be missing (None: a phrase has no word long enough)."""
    anchors = []
    for phrase in " ".join(slot).split("|"):
        words = []
        for word in phrase.split():
            if word.startswith("?"):
                continue
            literal = _literal(word.lstrip("=").rstrip("~").rstrip("."), view, latin)
            words += literal.split(" ") if literal else []
        if not words or len(longest := max(words, key=len)) < ANCHOR:
            return None
        anchors.append(longest)
    return anchors or None


def _pieces(text: str) -> set[str]:
    """Every 3-letter piece of every word of a text."""
    found = set()
    for word in text.split():
        for start in range(max(1, len(word) - ANCHOR + 1)):
            found.add(word[start : start + ANCHOR])
    return found


def _views_of(lang: str) -> str:
    return "skeleton" if lang == "ary-Latn" else "folded"
