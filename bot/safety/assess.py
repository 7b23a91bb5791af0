"""Is this person in danger? ``assess(text, language) -> Danger | None``, on every message.

Method (chosen by measurement, see bench/results/safety.json and docs/safety.md): patterns
written per language and kind (``patterns.yml``), and a learned classifier
(``classifier.py``) for the wording no pattern foresaw; a danger is what either finds (the
classifier never overrules a pattern). Both read these views of the text:

* the *folded* text: lower case, Latin accents and Arabic diacritics removed, Arabic letter
  variants unified, letters repeated for emphasis reduced ("aideeeez" -> "aidez"), and each
  misspelt danger word replaced by the word it is one typo away from ("suicde");
* the *skeleton* of Darija in Latin letters (Arabizi): digits read as the letters they stand
  for (3 7 9 5 8 2), vowels and doubled letters dropped, so "kaydrebni", "kaydarbni" and
  "kidrbni" meet on one form whatever the spelling;
* for Arabic script, stems inside words, since clitics glue to them ("وكيضربني").

Idioms that only sound dangerous ("je suis mort de fatigue", "ce boulot me tue") are
removed before matching. Every language's patterns run on every message, so code-switching
("mon mari kaydrebni") is caught; ``language`` only names the language of the reply.

Plain Python, no Rasa import; compiled and loaded once, well under a millisecond per message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.safety.classifier import THRESHOLD, classifier, features

PATTERNS_PATH = Path(__file__).with_name("patterns.yml")
# French, English and Spanish words of our NLU data (bench/safety_words.py writes it).
LATIN_WORDS_PATH = Path(__file__).with_name("latin_words.txt")

VIOLENCE = "violence"
SUICIDE = "suicide"
MEDICAL = "medical"
CHILD = "child"
TRAFFICKING = "trafficking"
THREAT = "threat"
DETENTION = "detention"
FIRE_ACCIDENT = "fire_accident"
# In order of precedence when one message shows several dangers: the first names the help.
KINDS: tuple[str, ...] = (
    SUICIDE,
    MEDICAL,
    VIOLENCE,
    CHILD,
    FIRE_ACCIDENT,
    TRAFFICKING,
    THREAT,
    DETENTION,
)
IMMINENT = "imminent"
URGENT = "urgent"
SEVERITIES = (IMMINENT, URGENT)

MAX_CHARS = 1200  # longest text read: a danger is said early, the time stays bounded
LAUGHING = re.compile("[\U0001f602\U0001f923\U0001f605\U0001f606\U0001f639\U0001f61c\U0001f61d]")
# Words shorter than this are never "corrected" (one typo from a short word is anything).
MIN_TYPO_LENGTH = 5

_ARABIC_MARKS = re.compile(r"[\u064B-\u065F\u0670\u0640\u06D6-\u06ED]")
_ARABIC_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ة": "ه",
        "ؤ": "و",
        "ئ": "ي",
        "ڭ": "ك",
        "گ": "ك",
        "ک": "ك",
        "ی": "ي",
        "ڤ": "ف",
        "پ": "ب",
    }
)
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_REPEATS = re.compile(r"(\D)\1{2,}")
_HAS_LATIN = re.compile(r"[a-z]")
# Arabizi: a digit inside a word stands for a letter.
# 3 (ayn) stays a consonant of its own: Arabizi writers use it consistently.
_ARABIZI_DIGITS = {"2": "", "7": "h", "9": "q", "5": "kh", "8": "gh", "4": "gh", "6": "t"}
_VOWELS = re.compile(r"[aeiouy]")


@dataclass(frozen=True)
class Danger:
    """What :func:`assess` found: the kind of danger, how severe, and why."""

    kind: str
    severity: str
    language: str | None = None
    # The pattern that decided (for logs and tests; never the person's words).
    rule: str = ""
    # Other kinds also seen in the message (the help covers the first; mediators see all).
    also: tuple[str, ...] = ()

    @property
    def imminent(self) -> bool:
        """Risk to life now: a mediator is alerted at once."""
        return self.severity == IMMINENT


# --- the three views of a text --------------------------------------------------------------
def fold(text: str) -> str:
    """Lower case, no Latin accents, no Arabic marks, unified letters, single spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in decomposed if not unicodedata.combining(c))
    text = unicodedata.normalize("NFKC", _ARABIC_MARKS.sub("", text)).translate(_ARABIC_FOLD)
    text = text.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    text = _NON_WORD.sub(" ", text.replace("_", " "))
    return _REPEATS.sub(r"\1", text).strip()


def skeleton_word(word: str) -> str:
    """Arabizi word to its consonant skeleton ("kaydrebni" -> "kydrbn" -> "kdrbn")."""
    if not _HAS_LATIN.search(word):
        return word
    out = []
    for ch in word:
        out.append(_ARABIZI_DIGITS.get(ch, ch) if ch.isdigit() else ch)
    word = "".join(out)
    word = word.replace("sh", "ch").replace("ou", "u").replace("kh", "x").replace("gh", "g")
    word = word.replace("dj", "j").replace("q", "k")
    head, rest = word[:1], word[1:]
    rest = _VOWELS.sub("", rest)
    if head in "aeiouy":
        head = ""
    word = head + rest
    return re.sub(r"(.)\1+", r"\1", word)


def skeleton(folded: str) -> str:
    """The skeleton of every word of a folded text."""
    return " ".join(w for w in (skeleton_word(t) for t in folded.split()) if w)


# --- patterns -------------------------------------------------------------------------------
# Arabic clitics glued to a word: and, so, with, for, like, the (وبالدار, فالزنقة).
_ARABIC_CLITICS = r"(?:وال|بال|فال|كال|لل|ال|و|ف|ب|ل|ك)?"
_ARABIC_LETTER = re.compile(r"[\u0600-\u06FF]")


def _literal(word: str, view: str) -> str:
    """A pattern's word as it appears in the text of ``view`` (folded, or its skeleton)."""
    if view == "skeleton":
        return " ".join(skeleton_word(w) for w in fold(word).split())
    return fold(word)


def _word_regex(word: str, view: str) -> str:
    """One word: "~" for any ending, "=" for anywhere inside a word.

    An Arabic word also takes the clitics before it and any ending after it.
    """
    prefix = word.endswith("~")
    exact = word.endswith(".") and len(word) > 1
    inside = word.startswith("=")
    word = _literal(word.rstrip("~").rstrip(".").lstrip("="), view)
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


def _phrase_regex(phrase: str, view: str) -> str:
    """Words in a row; a word written ?word may be missing."""
    out = ""
    for index, word in enumerate(phrase.split()):
        optional = word.startswith("?") and len(word) > 1
        regex = _word_regex(word[1:] if optional else word, view)
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


def compile_pattern(source: str, view: str = "folded") -> str:
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
        parts.append("(?:" + "|".join(_phrase_regex(p, view) for p in phrases) + ")")
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
    from bot.language import LEXICON_FILE, TRAINING_FILE

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


def _anchors(source: str, view: str) -> list[str] | None:
    """Words one of which must be in a message for the pattern to match: the first words
    of the phrases of one of its slots (folded or skeleton text); None: cannot tell."""
    if source.startswith("re:"):
        return None
    slots: list[list[str]] = [[]]
    for token in source.split():
        if token in _GAPS:
            slots.append([])
        else:
            slots[-1].append(token)
    for slot in slots:
        anchors = _slot_anchors(slot, view)
        if anchors:
            return anchors
    return None


def _needs(source: str, view: str) -> tuple[frozenset[str], ...]:
    """The 3-letter pieces of each slot's first words (slots that cannot tell are left out)."""
    if source.startswith("re:"):
        return ()
    slots: list[list[str]] = [[]]
    for token in source.split():
        if token in _GAPS:
            slots.append([])
        else:
            slots[-1].append(token)
    found = []
    for slot in slots:
        anchors = _slot_anchors(slot, view)
        if anchors:
            found.append(frozenset(a[:ANCHOR] for a in anchors))
    return tuple(found)


def _slot_anchors(slot: list[str], view: str) -> list[str] | None:
    """One word per phrase of a slot that a matching message must hold: the longest of the
    phrase's words that may not be missing (None: a phrase has no word long enough)."""
    anchors = []
    for phrase in " ".join(slot).split("|"):
        words = []
        for word in phrase.split():
            if word.startswith("?"):
                continue
            literal = _literal(word.lstrip("=").rstrip("~").rstrip("."), view)
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


@lru_cache(maxsize=4)
def compiled(path: Path = PATTERNS_PATH) -> _Compiled:  # noqa: C901 (docs/architecture.md)
    """Read and compile patterns.yml once."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    rules: list[_Rule] = []
    for kind, by_lang in data["kinds"].items():
        if kind not in KINDS:
            raise ValueError(f"{path.name}: unknown kind {kind!r}")
        for lang, sources in by_lang.items():
            view = _views_of(lang)
            for index, source in enumerate(sources or []):
                imminent = source.startswith("!")
                source = source.lstrip("!").strip()
                expression = compile_pattern(source, view)
                regex = re.compile(expression)
                name = f"{kind}/{lang}/{index}"
                needs = _needs(source, view)
                rules.append(_Rule(kind, imminent, source, name, regex, view, needs))
    index_sets: dict[tuple[str, str], set[int]] = {}
    unindexed: list[int] = []
    for number, rule in enumerate(rules):
        anchors = _anchors(rule.source, rule.view)
        if anchors is None:
            unindexed.append(number)
            continue
        for anchor in anchors:
            index_sets.setdefault((rule.view, anchor[:ANCHOR]), set()).add(number)
    idioms = []
    for lang, items in data["idioms"].items():
        if lang == "ary-Latn":
            continue
        for source in items or []:
            anchors = _anchors(source, "folded")
            pieces = frozenset(a[:ANCHOR] for a in anchors) if anchors else None
            idioms.append((pieces, re.compile(compile_pattern(source))))
    idiom_skeleton = [compile_pattern(s, "skeleton") for s in data["idioms"].get("ary-Latn", [])]
    cue_sources = [
        compile_pattern(s)
        for lang, items in data["imminent_cues"].items()
        if lang != "ary-Latn"
        for s in items or []
    ]
    cue_skeleton = [
        compile_pattern(s, "skeleton") for s in data["imminent_cues"].get("ary-Latn", [])
    ]
    keywords = frozenset(fold(w) for w in data.get("typo_keywords", []) if w)
    keyword_deletions: dict[str, str] = {}
    for word in sorted(keywords):
        if len(word) >= MIN_TYPO_LENGTH:
            for deletion in _deletions(word) | {word}:
                keyword_deletions.setdefault(deletion, word)
    by_language = _language_words()
    common = set().union(*by_language.values()) if by_language else set()
    known = frozenset(fold(w) for w in data.get("not_typos", []) if w) | common
    # French, English and Spanish words are not Arabizi: "another" must not be read as the
    # skeleton of "ntahr", nor "food" as "fidya".
    latin = _pattern_words(
        s
        for section in ("kinds", "idioms")
        for kind_or_lang, value in data[section].items()
        for s in (
            [x for lang, xs in value.items() if lang in ("fr", "en", "es") for x in xs or []]
            if section == "kinds"
            else (value or [] if kind_or_lang in ("fr", "en", "es") else [])
        )
    )
    for code in ("fr", "en", "es"):
        latin |= by_language.get(code, set())
    if LATIN_WORDS_PATH.is_file():
        lines = LATIN_WORDS_PATH.read_text(encoding="utf-8").splitlines()
        latin |= {w for w in lines if w and not w.startswith("#")}
    not_arabizi = frozenset(w for w in latin - by_language.get("ary-Latn", set()) if len(w) >= 3)
    cancels = {
        kind: re.compile("|".join(compile_pattern(x) for x in items))
        for kind, items in (data.get("cancel") or {}).items()
        if items
    }
    return _Compiled(
        rules=tuple(rules),
        index={key: tuple(sorted(v)) for key, v in index_sets.items()},
        unindexed=tuple(unindexed),
        idioms=tuple(idioms),
        idioms_skeleton=re.compile("|".join(idiom_skeleton)) if idiom_skeleton else None,
        imminent_cues=re.compile("|".join(cue_sources)) if cue_sources else None,
        imminent_cues_skeleton=re.compile("|".join(cue_skeleton)) if cue_skeleton else None,
        keywords=keywords,
        keyword_deletions=keyword_deletions,
        known_words=known,
        not_arabizi=not_arabizi,
        cancels=cancels,
        defaults=dict(data["default_severity"]),
        upgradable=frozenset(data.get("upgradable", [])),
    )


def _correct(word: str, patterns: _Compiled) -> str:
    """The danger word ``word`` is one typo away from, else ``word``."""
    if len(word) < MIN_TYPO_LENGTH or word in patterns.keywords or word in patterns.known_words:
        return word
    if not word.isalpha():
        return word
    candidates = {patterns.keyword_deletions.get(d) for d in _deletions(word) | {word}}
    for candidate in sorted(c for c in candidates if c):
        if _distance_at_most_one(word, candidate):
            return candidate
    return word


def views(text: str, patterns: _Compiled | None = None) -> tuple[str, str]:
    """(folded text with idioms removed and typos corrected, its Arabizi skeleton)."""
    patterns = patterns or compiled()
    folded = fold(LAUGHING.sub(" lol ", text[:MAX_CHARS]))  # laughing emoji: a joke
    pieces = _pieces(folded)
    for anchors, idiom in patterns.idioms:
        if anchors is None or not anchors.isdisjoint(pieces):
            folded, removed = idiom.subn(" ", folded)
            if removed:  # single spaces again, for the idioms after this one
                folded = " ".join(folded.split())
    corrected = " ".join(_correct(w, patterns) for w in folded.split())
    skel = " ".join(
        w
        for w in ("_" if t in patterns.not_arabizi else skeleton_word(t) for t in folded.split())
        if w
    )
    if patterns.idioms_skeleton is not None:
        skel = " ".join(patterns.idioms_skeleton.sub(" ", skel).split())
    return corrected, skel


def assess(text: str, language: str | None = None, *, learned: bool = True) -> Danger | None:  # noqa: C901 (docs/architecture.md)
    """The danger this message shows, or None. Never raises on odd input.

    ``learned=False`` leaves the classifier out: the patterns alone (for the benchmark)."""
    if not isinstance(text, str) or not text.strip():
        return None
    patterns = compiled()
    folded, skel = views(text, patterns)
    texts = {"folded": folded, "skeleton": skel}
    found: dict[str, tuple[bool, str]] = {}
    candidates = set(patterns.unindexed)
    seen = {view: _pieces(content) for view, content in texts.items()}
    for view, pieces in seen.items():
        for piece in pieces:
            candidates.update(patterns.index.get((view, piece), ()))
    for number in sorted(candidates):
        rule = patterns.rules[number]
        previous = found.get(rule.kind)
        if previous is not None and (previous[0] or not rule.imminent):
            continue
        if any(need.isdisjoint(seen[rule.view]) for need in rule.needs):
            continue  # a slot none of whose words is in the message
        if rule.regex.search(texts[rule.view]):
            found[rule.kind] = (rule.imminent, rule.name)
    cancelled = False
    for kind in list(found):
        cancel = patterns.cancels.get(kind)
        if cancel is not None and cancel.search(folded):
            del found[kind]
            cancelled = True
    # A cancel explained the danger words away (a joke, a film, news): the classifier, which
    # reads the same words, is not asked to find them again.
    if learned and not found and not cancelled:
        # What no pattern foresaw: the classifier's opinion (it never overrules a pattern).
        model = classifier()
        signs = features(folded, skel)
        likely = model.probability(signs)
        if likely >= THRESHOLD:
            found[model.kind(signs)] = (False, f"classifier:{likely:.2f}")
    if not found:
        return None
    kinds = [k for k in KINDS if k in found]
    first = kinds[0]
    imminent = found[first][0] or patterns.defaults.get(first) == IMMINENT
    if not imminent and first in patterns.upgradable:
        imminent = bool(
            (patterns.imminent_cues and patterns.imminent_cues.search(folded))
            or (patterns.imminent_cues_skeleton and patterns.imminent_cues_skeleton.search(skel))
        )
    return Danger(
        kind=first,
        severity=IMMINENT if imminent else URGENT,
        language=language,
        rule=found[first][1],
        also=tuple(kinds[1:]),
    )
