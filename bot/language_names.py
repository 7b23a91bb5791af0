"""Find which reply language a person asks for ("parle moi en anglais", "hder m3aya b darija").

A closed list of words is more reliable than a statistical entity extractor for this (the
names are few; the sentences around them vary endlessly). Plain Python, no Rasa.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Language words, folded (lowercase, no accents), to the reply language they ask for.
_NAMES: dict[str, str] = {
    # French
    "francais": "fr",
    "french": "fr",
    "frances": "fr",
    "fransawiya": "fr",
    "fransawia": "fr",
    "fransaouia": "fr",
    "lfrancais": "fr",
    "lfransawiya": "fr",
    "fransiya": "fr",
    "الفرنسية": "fr",
    "فرنسية": "fr",
    "الفرنساوية": "fr",
    "فرنساوية": "fr",
    "الفرنسي": "fr",
    "الفرنسيه": "fr",
    # English
    "anglais": "en",
    "english": "en",
    "ingles": "en",
    "inglish": "en",
    "nglizia": "en",
    "nglizya": "en",
    "nglisia": "en",
    "lanjliziya": "en",
    "langlais": "en",
    "engl": "en",
    "الإنجليزية": "en",
    "الانجليزية": "en",
    "انجليزية": "en",
    "إنجليزية": "en",
    "الانكليزية": "en",
    "النجليزية": "en",
    "الإنجليزيه": "en",
    "الانجليزيه": "en",
    # Spanish
    "espagnol": "es",
    "spanish": "es",
    "espanol": "es",
    "castellano": "es",
    "sbanyoliya": "es",
    "sbanyolia": "es",
    "sbanyola": "es",
    "sbanyol": "es",
    "lespagnol": "es",
    "spanyol": "es",
    "الإسبانية": "es",
    "الاسبانية": "es",
    "اسبانية": "es",
    "السبانيولية": "es",
    "الإسبانيه": "es",
    "الاسبانيه": "es",
    "سبانيولية": "es",
    # Arabic (script)
    "arabe": "ar",
    "arabic": "ar",
    "larabe": "ar",
    "3arbiya": "ar",
    "l3arbiya": "ar",
    "3arabiya": "ar",
    "arabiya": "ar",
    "العربية": "ar",
    "عربية": "ar",
    "العربي": "ar",
    "العربيه": "ar",
    "الفصحى": "ar",
    # Darija: in Latin letters when asked in Latin letters, in Arabic script otherwise.
    "darija": "ary-Latn",
    "daarija": "ary-Latn",
    "darija?": "ary-Latn",
    "ddarija": "ary-Latn",
    "derija": "ary-Latn",
    "marocain": "ary-Latn",
    "moroccan": "ary-Latn",
    "marroqui": "ary-Latn",
    "الدارجة": "ar",
    "دارجة": "ar",
    "الدارجه": "ar",
}
# Clitics glued to the word: Arabic bi-/wa-/fa- (+ article), Latin "b", "bl", "l'".
_AR_PREFIXES = ("بال", "وبال", "فال", "وال", "ب", "و", "ف")
_LATIN_PREFIXES = ("bl", "b", "l'", "l")
_TOKEN_RE = re.compile(r"[^\s.,;:!?¿¡()\"]+")


@dataclass(frozen=True)
class RequestedLanguage:
    """A language word in a message: where it is and which reply language it asks for."""

    start: int
    end: int
    text: str
    value: str


def _fold(word: str) -> str:
    nfkd = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in nfkd if not unicodedata.combining(c)).strip("'’")


def _lookup(token: str) -> str | None:
    folded = _fold(token)
    if folded in _NAMES:
        return _NAMES[folded]
    for prefix in _AR_PREFIXES:
        if token.startswith(prefix) and len(token) > len(prefix) + 2:
            rest = token[len(prefix) :]
            for candidate in (rest, "ال" + rest):
                if candidate in _NAMES:
                    return _NAMES[candidate]
    for prefix in _LATIN_PREFIXES:
        if folded.startswith(prefix) and _fold(folded[len(prefix) :]) in _NAMES:
            return _NAMES[_fold(folded[len(prefix) :])]
    return None


def find_requested_language(text: str) -> RequestedLanguage | None:
    """The last language word of ``text`` ("pas en arabe, en francais" asks for French)."""
    if not isinstance(text, str):
        return None
    found: RequestedLanguage | None = None
    for match in _TOKEN_RE.finditer(text[:500]):
        value = _lookup(match.group(0))
        if value:
            found = RequestedLanguage(match.start(), match.end(), match.group(0), value)
    return found
