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
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.safety.classifier import THRESHOLD, classifier, features
from bot.safety.compiler import (
    ANCHOR,
    LATIN_WORDS_PATH,
    _anchors,
    _Compiled,
    _deletions,
    _distance_at_most_one,
    _language_words,
    _needs,
    _pattern_words,
    _pieces,
    _Rule,
    _views_of,
    compile_pattern,
    latin_mark,
)
from bot.safety.text import (
    fold,
    skeleton_word,
)

PATTERNS_PATH = Path(__file__).with_name("patterns.yml")

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
# A "resolved" marker ("daba mzyan") drops the patterns' findings only when the classifier
# scores the whole message below this: chosen on the tuning sets (bench/safety_tune.py,
# 2026-12-08), well under THRESHOLD, so a message that reads like danger keeps its help.
RESOLVED_BELOW = 0.2
# A cancel (a joke, a film, a paper to renew) does not silence the classifier: it keeps the
# danger when it is at least this sure of the whole message ("I need to renew my card but my
# husband is not breathing": 0.99). Tuning sets, 2026-12-08: 0.9 keeps 1 more danger for 3
# more false alarms of 3,023; 0.8 the same; never asking it (before) keeps neither.
CANCELLED_AT_LEAST = 0.9
# Words shorter than this are never "corrected" (one typo from a short word is anything).
MIN_TYPO_LENGTH = 5


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


def _latin_words(data: dict[str, Any], by_language: dict[str, set[str]]) -> frozenset[str]:
    """French, English and Spanish words: not Arabizi, so never skeletonised."""
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
    return frozenset(w for w in latin - by_language.get("ary-Latn", set()) if len(w) >= 3)


@lru_cache(maxsize=4)
def compiled(path: Path = PATTERNS_PATH) -> _Compiled:  # noqa: C901 (docs/architecture.md)
    """Read and compile patterns.yml once."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    by_language = _language_words()  # read once: the detector's files
    not_arabizi = _latin_words(data, by_language)
    rules: list[_Rule] = []
    for kind, by_lang in data["kinds"].items():
        if kind not in KINDS:
            raise ValueError(f"{path.name}: unknown kind {kind!r}")
        for lang, sources in by_lang.items():
            view = _views_of(lang)
            for index, source in enumerate(sources or []):
                imminent = source.startswith("!")
                source = source.lstrip("!").strip()
                expression = compile_pattern(source, view, not_arabizi)
                regex = re.compile(expression)
                name = f"{kind}/{lang}/{index}"
                needs = _needs(source, view, not_arabizi)
                rules.append(_Rule(kind, imminent, source, name, regex, view, needs))
    index_sets: dict[tuple[str, str], set[int]] = {}
    unindexed: list[int] = []
    for number, rule in enumerate(rules):
        anchors = _anchors(rule.source, rule.view, not_arabizi)
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
    idiom_skeleton = [
        compile_pattern(s, "skeleton", not_arabizi) for s in data["idioms"].get("ary-Latn", [])
    ]
    cue_sources = [
        compile_pattern(s)
        for lang, items in data["imminent_cues"].items()
        if lang != "ary-Latn"
        for s in items or []
    ]
    cue_skeleton = [
        compile_pattern(s, "skeleton", not_arabizi)
        for s in data["imminent_cues"].get("ary-Latn", [])
    ]
    keywords = frozenset(fold(w) for w in data.get("typo_keywords", []) if w)
    keyword_deletions: dict[str, str] = {}
    for word in sorted(keywords):
        if len(word) >= MIN_TYPO_LENGTH:
            for deletion in _deletions(word) | {word}:
                keyword_deletions.setdefault(deletion, word)
    # Words of real messages in any language: never read as a typo of a danger word.
    common = set().union(*by_language.values()) if by_language else set()
    known = frozenset(fold(w) for w in data.get("not_typos", []) if w) | common
    cancels = {
        kind: re.compile("|".join(compile_pattern(x) for x in items))
        for kind, items in (data.get("cancel") or {}).items()
        if items
    }
    resolved = [compile_pattern(x) for xs in (data.get("resolved") or {}).values() for x in xs]
    overrides = [compile_pattern(x) for x in data.get("overrides_cancels") or ()]
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
        resolved=re.compile("|".join(resolved)) if resolved else None,
        overrides=re.compile("|".join(overrides)) if overrides else None,
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
    return corrected, _skeleton(folded, patterns)


def _skeleton(folded: str, patterns: _Compiled) -> str:
    """The Arabizi skeleton of folded text, with the Darija idioms removed."""
    skel = " ".join(
        w
        for w in (
            latin_mark(t) if t in patterns.not_arabizi else skeleton_word(t) for t in folded.split()
        )
        if w
    )
    if patterns.idioms_skeleton is not None:
        skel = " ".join(patterns.idioms_skeleton.sub(" ", skel).split())
    return skel


def _matches(folded: str, skel: str, patterns: _Compiled) -> dict[str, tuple[bool, str]]:
    """The kinds the patterns find: kind -> (imminent, rule name)."""
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
    return found


def assess(text: str, language: str | None = None, *, learned: bool = True) -> Danger | None:  # noqa: C901 (docs/architecture.md)
    """The danger this message shows, or None. Never raises on odd input.

    ``learned=False`` leaves the classifier out: the patterns alone (for the benchmark)."""
    if not isinstance(text, str) or not text.strip():
        return None
    patterns = compiled()
    folded, skel = views(text, patterns)
    found = _matches(folded, skel, patterns)
    cancelled = False
    signs: set[str] | None = None  # the classifier's features, read at most once
    likely: float | None = None  # and its opinion of the whole message
    over = patterns.resolved.search(folded) if patterns.resolved is not None else None
    if over is not None and found and learned:
        # Over, and well now ("je suis gueri maintenant", "i almost drowned as a kid"): the
        # danger words before it are of the past, but only when the classifier, reading the
        # whole message, agrees it reads as ordinary ("mi marido me pega, ahora estoy bien
        # pero tengo miedo" stays a danger). What comes after still counts ("daba mzyana
        # walakin 9al lia ghadi y9tlni had lila"). Without the classifier it drops nothing.
        signs = features(folded, skel)
        likely = classifier().probability(signs)
        if likely < RESOLVED_BELOW:
            tail = folded[over.end() :]
            found = _matches(tail, _skeleton(tail, patterns), patterns)
    # Help asked for now ("au secours", "not joking"): no cancel explains the danger away.
    if found and not (patterns.overrides is not None and patterns.overrides.search(folded)):
        for kind in list(found):
            cancel = patterns.cancels.get(kind)
            if cancel is not None and cancel.search(folded):
                del found[kind]
                cancelled = True
    # A cancel explained the danger words away (a joke, a film, news, a paper to renew): the
    # classifier, which reads the whole message, keeps the danger only when it is very sure
    # ("je dois renouveler ma carte, mon fils ne respire plus").
    if learned and not found:
        # What no pattern foresaw: the classifier's opinion (it never overrules a pattern).
        model = classifier()
        signs = features(folded, skel) if signs is None else signs
        likely = model.probability(signs) if likely is None else likely
        if likely >= (CANCELLED_AT_LEAST if cancelled else THRESHOLD):
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
