"""Privacy and analytics: consent decisions, pending erasures, anonymous events.

Revision ID: 0004_privacy
Revises: 0003_handoff
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_privacy"
down_revision = "0003_handoff"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pseudonym", name="pk_consents"),
    )
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_erasure_requests"),
    )
    op.create_index(
        "ix_erasure_requests_pseudonym", "erasure_requests", ["pseudonym"], unique=False
    )
    op.create_table(
        "analytics_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("person_key", sa.String(64), nullable=True),
        sa.Column("intent", sa.String(64)),
        sa.Column("topic", sa.String(64)),
        sa.Column("language", sa.String(16)),
        sa.Column("region", sa.String(64)),
        sa.Column("city", sa.String(64)),
        sa.Column("profile", sa.String(16)),
        sa.Column("sex", sa.String(24)),
        sa.Column("channel", sa.String(16)),
        sa.Column("wait_seconds", sa.Integer()),
        sa.Column("outcome", sa.String(32)),
        sa.Column("rating", sa.Integer()),
        sa.Column("unmet_category", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_events"),
    )
    op.create_index(
        "ix_analytics_events_occurred_at", "analytics_events", ["occurred_at"], unique=False
    )
    op.create_index(
        "ix_analytics_events_person_key", "analytics_events", ["person_key"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_analytics_events_person_key", table_name="analytics_events")
    op.drop_index("ix_analytics_events_occurred_at", table_name="analytics_events")
    op.drop_table("analytics_events")
    op.drop_index("ix_erasure_requests_pseudonym", table_name="erasure_requests")
    op.drop_table("erasure_requests")
    op.drop_table("consents")
