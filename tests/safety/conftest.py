"""The hand-off fixtures (a migrated database, a clock, mediators, recording senders) and
the hand-off tests' running assistant (people's channels and the mediators' bot on fakes)."""

from tests.handoff.conftest import clock, engine, recorder, registry, runtime  # noqa: F401
from tests.handoff.test_e2e_handoff import running  # noqa: F401 (one assistant, with mediators)
