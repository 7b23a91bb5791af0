"""Hot reload while the assistant runs (issue 10): admins edit the YAML, the running action
server answers from the new version; a broken edit is refused, logged, and the last good
directory keeps answering."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.runner import Assistant
from bot.settings import ROOT, load_settings
from tests.conftest import RestClient, model_and_ports, require_model, serving

pytestmark = pytest.mark.e2e

OLD_NAME = "Hôpital provincial Hassani – Nador"
NEW_NAME = "Hôpital provincial Hassani (nouveau nom) – Nador"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Assistant, Path]]:
    require_model()
    tmp = tmp_path_factory.mktemp("hot")
    directory = tmp / "directory"
    shutil.copytree(ROOT / "directory", directory)
    settings = replace(
        load_settings(environ={}, env_file=None),
        var_dir=tmp / "var",
        **model_and_ports(),
        directory_path=directory,
    )
    with serving(settings, tmp / "servers.log") as assistant:
        yield assistant, tmp


def _answer(assistant: Assistant, sender: str) -> str:
    person = RestClient(assistant.rasa_url, sender)
    return "\n".join(m.get("text", "") for m in person.say("je cherche un médecin à nador"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_good_then_bad_edit_while_running(running: tuple[Assistant, Path]) -> None:
    assistant, tmp = running
    health = tmp / "directory" / "oriental" / "health.yml"
    assert OLD_NAME in _answer(assistant, "hot-1")

    _edit(health, f"fr: {OLD_NAME},", f"fr: {NEW_NAME},")
    time.sleep(2.5)  # the store looks at the files at most every 2 s
    after_good = _answer(assistant, "hot-2")
    assert NEW_NAME in after_good, after_good

    # A broken edit: YAML that does not parse. Refused, logged, last good version served.
    health.write_text(health.read_text(encoding="utf-8") + "\n  - id: [broken\n", "utf-8")
    time.sleep(2.5)
    after_bad = _answer(assistant, "hot-3")
    assert NEW_NAME in after_bad, after_bad
    log = (tmp / "servers.log").read_text(encoding="utf-8", errors="replace")
    assert "directory reloaded" in log, log[-3000:]
    assert "directory edit refused" in log and "health.yml" in log, log[-3000:]
