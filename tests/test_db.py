"""Our database: migrations run on SQLite and (when available) PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from bot.db import make_engine, migrate


def test_migrate_creates_the_version_table_and_is_idempotent(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'a.db'}")
    migrate(engine)
    migrate(engine)
    assert "alembic_version" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


@pytest.mark.services
def test_migrate_on_postgresql(pg_url: str) -> None:
    engine = make_engine(pg_url)
    migrate(engine)
    migrate(engine)
    assert "alembic_version" in inspect(engine).get_table_names()
    engine.dispose()
