"""PROFILE=prod: Rasa replicas share conversations in PostgreSQL and lock them in Redis."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from bot.settings import load_settings
from tests.conftest import RestClient, model_and_ports, require_model, started
from tests.domain_texts import prefix

pytestmark = [pytest.mark.e2e, pytest.mark.services]


@contextmanager
def replica(database_url: str, redis_url: str, var_dir: Path):
    """One Rasa server + action server of the production profile."""
    settings = replace(
        load_settings(
            environ={
                "PROFILE": "prod",
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "PSEUDONYM_KEY": "test-key-" + "x" * 24,
            },
            env_file=None,
        ),
        var_dir=var_dir,
        **model_and_ports(),
        # This test talks through Rasa's REST channel, off by default in prod.
        rest_channel="on",
    )
    with started(settings, "replica", timeout=240) as running:
        yield running


def test_conversation_survives_a_replica_change(
    pg_database_url: str, redis_url: str, tmp_path: Path
) -> None:
    require_model()
    sender = "prod-profile-person"
    with replica(pg_database_url, redis_url, tmp_path / "a") as first:
        replies = RestClient(first.rasa_url, sender).say("hello, i need a doctor in nador")
        assert replies, "no answer from the first replica"
        lock_clients = [
            c for c in redis.Redis.from_url(redis_url).client_list() if c.get("db") == "15"
        ]
        assert lock_clients, "Rasa did not connect to the Redis lock store"

    engine = create_engine(pg_database_url, future=True)
    with engine.connect() as conn:
        stored = conn.execute(
            text("select count(*) from events where sender_id = :s"), {"s": sender}
        ).scalar()
    engine.dispose()
    assert stored and stored > 5, "the conversation is not in the PostgreSQL tracker store"

    # Another replica picks the conversation up: language and place are remembered.
    with replica(pg_database_url, redis_url, tmp_path / "b") as second:
        replies = RestClient(second.rasa_url, sender).say("and where can i find a job")
        text_ = replies[0].get("text", "") if replies else ""
        assert text_.startswith(prefix("utter_directory_results", "en")) or text_.startswith(
            prefix("utter_directory_results_wider", "en")
        ), text_
