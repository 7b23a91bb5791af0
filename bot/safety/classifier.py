"""A learned second opinion for :func:`bot.safety.assess`: does this message read like danger?

Patterns (``patterns.yml``) catch what is said plainly; people in danger often say it another
way ("the door is locked from outside", "bghit nghber"). This linear classifier, trained on
the hand-written messages of ``training/*.tsv`` (danger messages of every kind in the five
languages, and ordinary messages with frightening words), catches the wording patterns miss.

Features are read off the same views as the patterns (folded text with idioms removed and
typos corrected, and the Arabizi skeleton): words, pairs of words, and 3 to 5 letter pieces
of words, so a new spelling or a glued clitic still shares most of its pieces.

Training is a logistic regression (scikit-learn, already required by Rasa) run once per
process, in about a second, from the committed data: no trained file is stored. Scoring is
plain Python over a dictionary of weights: tens of microseconds per message.

How the threshold and regularisation were chosen: bench/safety_tune.py on the tuning sets
and by cross-validation (heldout.tsv is never read while tuning); see docs/safety.md.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import os
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

TRAINING_DIR = Path(__file__).with_name("training")
# The assistant's NLU examples: ordinary requests in the five languages, taught as "none"
# (except the emergency intent's). Absent in an installed package: training/ is enough.
NLU_DIR = Path(__file__).resolve().parents[2] / "nlu_data" / "nlu"
DANGER_INTENTS = frozenset({"ask_emergency"})
_ANNOTATION = re.compile(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}")
NONE = "none"
# Regularisation strength (inverse) and decision threshold, chosen on the tuning sets and
# 5-fold cross-validation (bench/safety_tune.py; 2026-12-07): against C=4 and 0.5, C=32 and
# 0.4 find more dangers on every tuning set (+0.5 to +1.9 points) with no more false alarms.
C = 32.0
THRESHOLD = 0.4
_PIECES = (3, 4, 5)
MIN_MESSAGES = 2


def features(folded: str, skel: str = "") -> set[str]:
    """The features of a message, given its folded text and its skeleton."""
    words = folded.split()
    found = {"w " + w for w in words}
    found.update(f"b {a} {b}" for a, b in zip(words, words[1:], strict=False))
    for word in words:
        padded = f"<{word}>"
        for n in _PIECES:
            found.update("c " + padded[i : i + n] for i in range(len(padded) - n + 1))
    # A French, English or Spanish word stands as "_word" in the skeleton: a word already.
    found.update("s " + s for s in skel.split() if not s.startswith("_") and s not in words)
    return found


@dataclass(frozen=True)
class Classifier:
    """Weights of the danger-or-not model, and of the kind model for danger messages."""

    weights: dict[str, float]
    bias: float
    kinds: tuple[str, ...]
    kind_weights: dict[str, tuple[float, ...]]
    kind_bias: tuple[float, ...]

    def probability(self, found: set[str]) -> float:
        """How likely the message with these features is a danger (0 to 1)."""
        if not found:
            return 0.0
        scale = 1 / math.sqrt(len(found))
        z = self.bias + scale * sum(self.weights.get(f, 0.0) for f in found)
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))

    def kind(self, found: set[str]) -> str:
        """The most likely kind of danger for a message with these features."""
        rows = [self.kind_weights[f] for f in found if f in self.kind_weights]
        sums = [sum(column) for column in zip(*rows, strict=True)] or [0.0] * len(self.kinds)
        scale = 1 / math.sqrt(len(found)) if found else 0.0
        totals = [bias + scale * total for bias, total in zip(self.kind_bias, sums, strict=True)]
        return self.kinds[max(range(len(totals)), key=totals.__getitem__)]


def read_rows(paths: Iterable[Path]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            # A broken line is left out here; bench/safety_data_check.py names it.
            rows += (row for row in reader if row.get("text") and row.get("kind"))
    return rows


def nlu_examples(directory: Path = NLU_DIR) -> list[dict[str, str]]:
    """The NLU training examples of every intent but the emergency one, as "none" rows."""
    rows: list[dict[str, str]] = []
    for path in sorted(directory.glob("*.yml")) if directory.is_dir() else ():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or ():
            if "intent" not in block or block["intent"] in DANGER_INTENTS:
                continue
            for line in str(block.get("examples") or "").splitlines():
                text = _ANNOTATION.sub(lambda m: m.group(1) or m.group(2) or "", line)
                text = text.strip().removeprefix("- ").strip()
                if text:
                    rows.append({"kind": NONE, "text": text})
    return rows


def training_rows() -> list[dict[str, str]]:
    """What the classifier learns from: training/*.tsv and the NLU examples."""
    return read_rows(sorted(TRAINING_DIR.glob("*.tsv"))) + nlu_examples()


def train(rows: Sequence[dict[str, str]], c: float = C) -> Classifier:
    """A classifier trained on rows with ``kind`` (a danger kind or "none") and ``text``."""
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    from bot.safety.assess import views

    every = [features(*views(row["text"])) for row in rows]
    # A feature seen in one message only teaches that message: left out (half the weights).
    seen = Counter(f for found in every for f in found)
    vocabulary: dict[str, int] = {}
    indptr, indices, values = [0], [], []
    for found in every:
        scale = 1 / math.sqrt(len(found)) if found else 0.0
        for feature in sorted(found):
            if seen[feature] >= MIN_MESSAGES:
                indices.append(vocabulary.setdefault(feature, len(vocabulary)))
                values.append(scale)
        indptr.append(len(indices))
    matrix = csr_matrix((values, indices, indptr), shape=(len(rows), len(vocabulary)))
    names = sorted(vocabulary, key=vocabulary.__getitem__)
    danger = [row["kind"] != NONE for row in rows]
    binary = LogisticRegression(C=c, solver="liblinear", max_iter=1000, class_weight="balanced")
    binary.fit(matrix, danger)
    which = [i for i, d in enumerate(danger) if d]
    kinds_model = LogisticRegression(C=c, solver="liblinear", max_iter=1000)
    kinds_model.fit(matrix[which], [rows[i]["kind"] for i in which])
    coef = binary.coef_[0]
    kind_coef = kinds_model.coef_.T
    return Classifier(
        weights={n: float(w) for n, w in zip(names, coef, strict=True) if w},
        bias=float(binary.intercept_[0]),
        kinds=tuple(str(k) for k in kinds_model.classes_),
        kind_weights={n: tuple(float(w) for w in kind_coef[i]) for i, n in enumerate(names)},
        kind_bias=tuple(float(b) for b in kinds_model.intercept_),
    )


# --- trained once, cached on disk -----------------------------------------------------------
# Everything the trained weights depend on: a change to any of these retrains.
_INPUTS = (
    "classifier.py",
    "assess.py",
    "compiler.py",
    "text.py",
    "patterns.yml",
    "latin_words.txt",
)
# Beside the Rasa model (models/ is never committed); content-keyed, so every process of a
# deployment or a test run shares one file.
DEFAULT_CACHE_DIR = Path(__file__).resolve().parents[2] / "models"
_lock = threading.Lock()
_loaded: Classifier | None = None


def training_paths() -> list[Path]:
    here = Path(__file__).parent
    paths = [here / name for name in _INPUTS] + sorted(TRAINING_DIR.glob("*.tsv"))
    return paths + (sorted(NLU_DIR.glob("*.yml")) if NLU_DIR.is_dir() else [])


def _key() -> str:
    digest = hashlib.sha256()
    for path in training_paths():
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def _cache_path(cache_dir: Path) -> Path:
    return cache_dir / f"safety-classifier-{_key()}.json"


def _to_json(model: Classifier) -> dict[str, Any]:
    return {
        "weights": {f: round(w, 5) for f, w in model.weights.items()},
        "bias": model.bias,
        "kinds": list(model.kinds),
        "kind_weights": {f: [round(w, 4) for w in ws] for f, ws in model.kind_weights.items()},
        "kind_bias": list(model.kind_bias),
    }


def _from_json(data: dict[str, Any]) -> Classifier:
    return Classifier(
        weights=data["weights"],
        bias=data["bias"],
        kinds=tuple(data["kinds"]),
        kind_weights={f: tuple(ws) for f, ws in data["kind_weights"].items()},
        kind_bias=tuple(data["kind_bias"]),
    )


def load(cache_dir: Path | None = None) -> Classifier:
    """The classifier for this process: from the cache when its inputs are unchanged, else
    trained (a few seconds) and cached. A cache that cannot be written is not an error."""
    global _loaded
    with _lock:
        if _loaded is not None:
            return _loaded
        cache = _cache_path(cache_dir or DEFAULT_CACHE_DIR)
        try:
            _loaded = _from_json(json.loads(cache.read_text(encoding="utf-8")))
            return _loaded
        except (OSError, ValueError, KeyError, TypeError):
            pass
        _loaded = train(training_rows())
        try:
            cache.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            for old in cache.parent.glob("safety-classifier-*.json"):
                old.unlink(missing_ok=True)
            temporary = cache.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(_to_json(_loaded)), encoding="utf-8")
            temporary.replace(cache)
        except OSError as error:
            log.warning("safety classifier not cached (%s): it trains again next start", error)
        return _loaded


def classifier() -> Classifier:
    """The classifier trained on training/*.tsv and the NLU examples, once per process."""
    return _loaded or load()


def is_cached() -> bool:
    """Whether the weights for today's inputs are already cached."""
    return _cache_path(DEFAULT_CACHE_DIR).is_file()
