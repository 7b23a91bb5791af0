"""The learned second opinion: its features, its cache, its part in assess(), and its data."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.safety import assess
from bot.safety import classifier as learned
from bot.safety.assess import KINDS, views

ROOT = Path(__file__).resolve().parents[2]

ROWS = [
    {"kind": "suicide", "text": "je veux mourir ce soir"},
    {"kind": "suicide", "text": "I want to end it all tonight"},
    {"kind": "violence", "text": "mon mari me frappe tous les jours"},
    {"kind": "violence", "text": "my husband beats me every day"},
    {"kind": "none", "text": "je cherche un médecin à Agadir"},
    {"kind": "none", "text": "where can I register a birth"},
    {"kind": "none", "text": "horaires de la mairie"},
    {"kind": "none", "text": "job offer in Nador"},
]


def test_features_share_pieces_across_spellings() -> None:
    one = learned.features(*views("kaydrbni rajli"))
    other = learned.features(*views("kaydarbni rajli"))
    assert "w rajli" in one and "c <ra" in one
    assert len(one & other) > len(one) / 2  # a new spelling still shares most pieces
    assert learned.features("") == set()


def test_the_nlu_examples_are_ordinary_requests_without_the_emergency_ones() -> None:
    rows = learned.nlu_examples()
    assert len(rows) > 1000 and {r["kind"] for r in rows} == {"none"}
    texts = {r["text"] for r in rows}
    assert not any("[" in t or "](" in t for t in texts)  # entity annotations removed
    emergency = learned.nlu_examples(ROOT / "nlu_data" / "nlu")
    assert len(emergency) == len(rows)


def test_trained_once_then_read_from_the_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(learned, "_loaded", None)
    monkeypatch.setattr(learned, "training_rows", lambda: ROWS)
    first = learned.load(tmp_path)
    cached = list(tmp_path.glob("safety-classifier-*.json"))
    assert len(cached) == 1
    monkeypatch.setattr(learned, "_loaded", None)

    def no_training(rows):  # noqa: ANN001, ANN202
        raise AssertionError("the cache should have been read")

    monkeypatch.setattr(learned, "train", no_training)
    second = learned.load(tmp_path)
    signs = learned.features(*views("je veux mourir"))
    assert second.probability(signs) == pytest.approx(first.probability(signs), abs=1e-3)
    assert second.kind(signs) == first.kind(signs) == "suicide"


def test_changed_training_data_trains_again(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(learned, "_loaded", None)
    monkeypatch.setattr(learned, "training_rows", lambda: ROWS)
    monkeypatch.setattr(learned, "_key", lambda: "one")
    learned.load(tmp_path)
    monkeypatch.setattr(learned, "_loaded", None)
    monkeypatch.setattr(learned, "_key", lambda: "two")
    learned.load(tmp_path)
    # The new weights replace the old ones: one file only.
    assert [p.name for p in tmp_path.glob("*.json")] == ["safety-classifier-two.json"]


def test_a_cache_that_cannot_be_written_is_not_an_error(
    tmp_path: Path, monkeypatch, caplog
) -> None:
    monkeypatch.setattr(learned, "_loaded", None)
    monkeypatch.setattr(learned, "training_rows", lambda: ROWS)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    with caplog.at_level(logging.WARNING, logger="bot.safety.classifier"):
        model = learned.load(blocked)
    assert model.probability(learned.features(*views("my husband beats me"))) > 0.5
    assert "not cached" in caplog.text


def test_the_cache_key_covers_the_training_data_and_the_code() -> None:
    names = {p.name for p in learned.training_paths()}
    assert {"classifier.py", "assess.py", "patterns.yml", "fr.tsv", "ary-Latn.tsv"} <= names
    # The views the features are read off (split out of assess.py): a change retrains.
    assert {"compiler.py", "text.py"} <= names
    assert {"en.yml", "fr.yml"} <= names  # the NLU examples


# Fresh indirect wording, not in any data file: the classifier's part.
INDIRECT = [
    ("I have been saving my pills for weeks and tonight I will take them all", "suicide"),
    ("le patron garde nos papiers et on dort enfermés dans le hangar", "trafficking"),
    ("ma voisine est tombée, elle ne bouge plus et ses lèvres sont bleues", "medical"),
]


@pytest.mark.parametrize(("text", "kind"), INDIRECT)
def test_indirect_wording_is_recognised(text: str, kind: str) -> None:
    danger = assess(text, "en")
    assert danger is not None, text
    assert danger.kind in KINDS


def test_the_classifier_adds_what_the_patterns_miss() -> None:
    alone = [assess(t, "en", learned=False) for t, _ in INDIRECT]
    together = [assess(t, "en") for t, _ in INDIRECT]
    assert sum(d is not None for d in together) > sum(d is not None for d in alone)
    caught = [d for d in together if d is not None and d.rule.startswith("classifier:")]
    assert caught and all(d.kind in KINDS for d in caught)


def test_the_training_data_holds_no_test_item() -> None:
    """No training message is a near copy of a benchmark message (bench/safety_data_check)."""
    import bench.safety_data_check as check

    tests = [row for name in check.SPLITS for row in check.read(check.DATA / f"{name}.tsv")[0]]
    assert len(tests) >= 8463  # dev to dev-9, and the held-out set
    for path in sorted(check.TRAINING.glob("*.tsv")):
        rows, problems = check.read(path)
        assert not problems, problems[:3]
        assert len(rows) >= 200, path.name  # a file cut short by mistake
        assert not check.near_copies(rows, tests), path.name
        assert len({r[4] for r in rows}) == len(rows), path.name


def test_staff_can_check_a_message_from_the_command_line(capsys) -> None:
    from bot.cli import main

    assert main(["safety", "check", "mon mari me frappe"]) == 0
    assert capsys.readouterr().out.startswith("violence, urgent; decided by violence/")
    assert main(["safety", "check", "je suis mort de fatigue"]) == 0
    assert capsys.readouterr().out == "no danger found\n"
    assert main(["safety", "prepare"]) == 0  # cached by make train: nothing to do
