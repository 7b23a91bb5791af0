"""Medium: database errors logged their bound parameters (message texts, first names), and
var/ with its databases, logs and the mediators' file was readable by every local user."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.exc import IntegrityError

from bot.db import make_engine
from bot.runner import secure_var_dir

PRIVATE = "Fatima: mon mari me frappe"


def test_database_errors_do_not_show_bound_values(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("text", String))
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(table).values(id=1, text=PRIVATE))
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(insert(table).values(id=1, text=PRIVATE))
    assert PRIVATE not in str(caught.value)
    assert engine.hide_parameters


def test_rasa_tracker_stores_hide_bound_values(tmp_path: Path) -> None:
    """The dev profile's tracker store is Rasa's own SQLTrackerStore; prod's is ours."""
    from rasa.core.tracker_store import SQLTrackerStore

    from bot.rasa import patches as rasa_patches

    rasa_patches.install()  # done by bot/rasa/common.py when the server starts
    store = SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "tracker.db"))
    assert store.engine.hide_parameters
    from bot.rasa.tracker_store import ResilientSQLTrackerStore

    resilient = ResilientSQLTrackerStore(dialect="sqlite", db=str(tmp_path / "tracker2.db"))
    assert resilient.engine.hide_parameters


def test_var_dir_and_its_files_are_tightened_to_the_owner(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    (var / "assistant.db").write_text("x")
    (var / "assistant.db").chmod(0o644)
    (var / "mediators.yml").write_text("mediators: []")
    (var / "mediators.yml").chmod(0o644)
    (var / "results").mkdir()
    (var / "results").chmod(0o755)
    tightened = secure_var_dir(var)
    assert len(tightened) == 4
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    assert stat.S_IMODE((var / "assistant.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((var / "mediators.yml").stat().st_mode) == 0o600
    assert stat.S_IMODE((var / "results").stat().st_mode) == 0o700
    assert secure_var_dir(var) == []  # nothing left to say the second time
    fresh = tmp_path / "fresh" / "var"
    secure_var_dir(fresh)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700


@pytest.mark.e2e
def test_the_running_assistant_writes_owner_only_files(secured) -> None:  # noqa: ANN001
    """Medium: var/ was 755 and the databases and logs the servers wrote 644. The shared
    assistant (tests/security/conftest.py) has run conversations: every file its servers
    wrote under var/ (tracker, our database, rasa.log, the pseudonym key) is owner-only."""
    import requests

    from tests.security.conftest import TOKEN

    requests.post(
        f"{secured.url}/webhooks/rest/webhook",
        json={"sender": "perm-check", "message": "bonjour"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    var = secured.settings.var_dir
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    # Written by the servers (the test wrote servers.log and mediators.yml itself).
    written = [p for p in var.rglob("*") if p.is_file() and p.name not in ("servers.log",)]
    names = {p.name for p in written}
    assert {"tracker.db", "assistant.db", "rasa.log"} <= names, names
    loose = {
        str(p): oct(stat.S_IMODE(p.stat().st_mode))
        for p in written
        if stat.S_IMODE(p.stat().st_mode) & 0o077
    }
    assert loose == {}
