"""Is a message made of words the assistant has ever seen? (No Rasa import.)

The intent classifier always names its best guess, even for a keyboard mash such as
"qsdkjh zzkq wxcv", and on such text the guess can be confident. The vocabulary learnt from
the training data gives a plain, deterministic answer: when not one word of a message looks
like a word of the training data (exactly, or one typo away for words of four letters or
more, which absorbs misspellings such as "medcin" or "tbiib"), the message is not
understood.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

# Letters and digits together: Darija in Latin letters writes ع ح ق as 3 7 9 ("n9ayed").
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_ARABIC_MARKS = re.compile(r"[\u064B-\u065F\u0670\u0640]")  # harakat, superscript alef, tatweel
# One-letter Arabic prefixes and the article, glued to the next word (فالناظور, بالخدمة).
_ARABIC_PREFIXES = ("وال", "فال", "بال", "لل", "ال", "و", "ف", "ب", "ل", "ك")
# Shorter words must be seen exactly: one typo away from a three-letter word is anything.
MIN_LENGTH_FOR_TYPO = 4


def normalise(text: str) -> str:
    """Lower case, Latin accents and Arabic diacritics removed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _ARABIC_MARKS.sub("", unicodedata.normalize("NFKC", stripped))


def words(text: str) -> list[str]:
    """The word-like tokens of a text: at least two letters (numbers and "1" are not words)."""
    found = []
    for token in _TOKEN.findall(normalise(text)):
        if sum(ch.isalpha() for ch in token) >= 2:
            found.append(token)
    return found


def _deletions(word: str) -> set[str]:
    """The word with one character removed, every way (symmetric-delete spelling match)."""
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _arabic_stems(word: str) -> Iterable[str]:
    for prefix in _ARABIC_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            yield word[len(prefix) :]


@dataclass
class Vocabulary:
    """Words seen in training, and the same words with one character removed."""

    words: set[str] = field(default_factory=set)
    deletions: set[str] = field(default_factory=set)

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Vocabulary:
        """Learn the vocabulary of some texts (training examples, lookup tables, synonyms)."""
        vocabulary = cls()
        for text in texts:
            for word in words(text):
                vocabulary.words.add(word)
                if len(word) >= MIN_LENGTH_FOR_TYPO:
                    vocabulary.deletions |= _deletions(word)
        return vocabulary

    def to_dict(self) -> dict[str, list[str]]:
        """Plain JSON-ready form (sorted, so the same data gives the same file)."""
        return {"words": sorted(self.words)}

    @classmethod
    def from_dict(cls, data: dict[str, list[str]]) -> Vocabulary:
        """Inverse of to_dict."""
        return cls.from_texts(data.get("words", []))

    def familiar(self, word: str) -> bool:
        """Seen, seen without an Arabic prefix, or one typo from a seen word.

        One typo: a letter added, removed, replaced, or two neighbours swapped. Two words
        are that close when one, minus a letter, is the other, or both, minus a letter
        each, are the same string.
        """
        if word in self.words or any(stem in self.words for stem in _arabic_stems(word)):
            return True
        if len(word) < MIN_LENGTH_FOR_TYPO:
            return False
        if word in self.deletions:
            return True
        return any(d in self.words or d in self.deletions for d in _deletions(word))

    def unknown(self, text: str) -> bool:
        """True when the text has words and not one of them is familiar.

        Text with no word at all ("👍", "1", a phone number) is not "unknown": the
        classifier and the dialogue know what to do with it.
        """
        found = words(text)
        return bool(found) and not any(self.familiar(word) for word in found)
