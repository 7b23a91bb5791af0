"""The hand-off fixtures (a migrated database, a clock, mediators, recording senders)."""

from tests.handoff.conftest import clock, engine, recorder, registry, runtime  # noqa: F401
