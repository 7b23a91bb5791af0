"""Widen every channel-name column to 32 characters.

``mediator_telegram`` (17 characters) did not fit the VARCHAR(16) of the processed-updates
table: PostgreSQL refused the insert and the mediators' webhook answered 500 (SQLite
ignores lengths, so only the production profile was hit).

Revision ID: 0005_channel_names
Revises: 0004_privacy
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_channel_names"
down_revision = "0004_privacy"
branch_labels = None
depends_on = None

# (table, column, nullable)
COLUMNS = (
    ("processed_updates", "channel", False),
    ("contacts", "channel", False),
    ("handoff_tickets", "channel", True),
    ("handoff_outbox", "media_channel", True),
)


def _alter(old: int, new: int) -> None:
    for table, column, nullable in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column,
                existing_type=sa.String(old),
                type_=sa.String(new),
                existing_nullable=nullable,
            )


def upgrade() -> None:
    _alter(16, 32)


def downgrade() -> None:
    _alter(32, 16)
