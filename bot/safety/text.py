"""The views of a text the danger patterns read: folded (lower case, no accents, Arabic
letters unified) and, for Darija in Latin letters, the consonant skeleton. No Rasa import.
"""

from __future__ import annotations

import re
import unicodedata

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


# --- the views of a text --------------------------------------------------------------
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
