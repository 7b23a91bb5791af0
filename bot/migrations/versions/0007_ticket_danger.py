"""A hand-off ticket remembers the danger that made it urgent (bot/safety).

``handoff_tickets.danger`` is the kind of danger the assessment found (violence, suicide,
...): set when a danger message opens the ticket or arrives while it is open. Mediators
see it (🚨 and the kind), the queue puts it first, and it is offered to everyone on duty.

Revision ID: 0007_ticket_danger
Revises: 0006_inbound_seq
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_ticket_danger"
down_revision = "0006_inbound_seq"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoff_tickets") as batch:
        batch.add_column(sa.Column("danger", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoff_tickets") as batch:
        batch.drop_column("danger")
