"""Number each person's incoming messages: the order they reached the service.

``contacts.inbound_seq`` is incremented in the transaction that records a new webhook
(bot/channels/store.py ``accept_inbound``); the channels hand message *n* to the dialogue
only after *n-1* is answered, whichever replica took it (bot/channels/order.py).
``processed_updates.seq`` keeps each message's number (what the load benchmark checks the
replies against). ``contacts.previous_inbound_at`` keeps the time of the message before:
after a pause, the earlier messages are surely answered and the order record need not be
waited for.

Revision ID: 0006_inbound_seq
Revises: 0005_channel_names
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_inbound_seq"
down_revision = "0005_channel_names"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("processed_updates") as batch:
        batch.add_column(sa.Column("seq", sa.Integer()))
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("inbound_seq", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("previous_inbound_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("processed_updates") as batch:
        batch.drop_column("seq")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("previous_inbound_at")
        batch.drop_column("inbound_seq")
