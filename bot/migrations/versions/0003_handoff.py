"""Hand-off: tickets, relayed messages, notes, offers, mediator state and the outbox.

Revision ID: 0003_handoff
Revises: 0002_channels
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_handoff"
down_revision = "0002_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoff_tickets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("intent", sa.String(64), nullable=True),
        sa.Column("city", sa.String(64), nullable=True),
        sa.Column("region", sa.String(64), nullable=True),
        sa.Column("profile", sa.String(16), nullable=True),
        sa.Column("first_name", sa.String(128), nullable=True),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("mediator_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(), nullable=True),
        sa.Column("widened_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("expired_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_asked_at", sa.DateTime(), nullable=True),
        sa.Column("rated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_tickets"),
    )
    op.create_index("ix_handoff_tickets_pseudonym", "handoff_tickets", ["pseudonym"])
    op.create_index("ix_handoff_tickets_state", "handoff_tickets", ["state"])
    op.create_index("ix_handoff_tickets_mediator_id", "handoff_tickets", ["mediator_id"])
    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("mediator_id", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("media_url", sa.Text(), nullable=True),
        sa.Column("media_type", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("relayed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["handoff_tickets.id"],
            ondelete="CASCADE",
            name="fk_handoff_messages_ticket_id_handoff_tickets",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_messages"),
    )
    op.create_index("ix_handoff_messages_ticket_id", "handoff_messages", ["ticket_id"])
    op.create_table(
        "handoff_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("mediator_id", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["handoff_tickets.id"],
            ondelete="CASCADE",
            name="fk_handoff_notes_ticket_id_handoff_tickets",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_notes"),
    )
    op.create_index("ix_handoff_notes_ticket_id", "handoff_notes", ["ticket_id"])
    op.create_table(
        "handoff_offers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("mediator_id", sa.String(64), nullable=False),
        sa.Column("offered_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["handoff_tickets.id"],
            ondelete="CASCADE",
            name="fk_handoff_offers_ticket_id_handoff_tickets",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_offers"),
        sa.UniqueConstraint("ticket_id", "mediator_id", name="uq_handoff_offers_ticket_mediator"),
    )
    op.create_table(
        "handoff_mediator_state",
        sa.Column("mediator_id", sa.String(64), nullable=False),
        sa.Column("current_ticket_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("mediator_id", name="pk_handoff_mediator_state"),
    )
    op.create_table(
        "handoff_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("buttons", sa.Text(), nullable=True),
        sa.Column("media_url", sa.Text(), nullable=True),
        sa.Column("media_type", sa.String(100), nullable=True),
        sa.Column("media_channel", sa.String(16), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_outbox"),
    )
    op.create_index("ix_handoff_outbox_target", "handoff_outbox", ["target"])
    op.create_index("ix_handoff_outbox_sent_at", "handoff_outbox", ["sent_at"])


def downgrade() -> None:
    op.drop_index("ix_handoff_outbox_sent_at", table_name="handoff_outbox")
    op.drop_index("ix_handoff_outbox_target", table_name="handoff_outbox")
    op.drop_table("handoff_outbox")
    op.drop_table("handoff_mediator_state")
    op.drop_table("handoff_offers")
    op.drop_index("ix_handoff_notes_ticket_id", table_name="handoff_notes")
    op.drop_table("handoff_notes")
    op.drop_index("ix_handoff_messages_ticket_id", table_name="handoff_messages")
    op.drop_table("handoff_messages")
    op.drop_index("ix_handoff_tickets_mediator_id", table_name="handoff_tickets")
    op.drop_index("ix_handoff_tickets_state", table_name="handoff_tickets")
    op.drop_index("ix_handoff_tickets_pseudonym", table_name="handoff_tickets")
    op.drop_table("handoff_tickets")
