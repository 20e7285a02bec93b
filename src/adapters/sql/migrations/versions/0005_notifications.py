"""Notifications: one row per (event, recipient), listed newest first per recipient.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
ID = 64
# SQLite numbers only an INTEGER PRIMARY KEY itself (as in 0001).
AUTO_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("seq", AUTO_BIGINT, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("recipient_id", sa.String(ID), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("contract_id", sa.String(ID), nullable=True),
        sa.Column("milestone_id", sa.String(ID), nullable=True),
        sa.Column("payout_id", sa.String(ID), nullable=True),
        sa.Column("event_id", sa.String(ID), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("read_at", UTC_DATETIME, nullable=True),
        sa.UniqueConstraint("id", name="uq_notifications_id"),
        sa.UniqueConstraint("event_id", "recipient_id", name="uq_notifications_event_recipient"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_notifications_recipient_seq", "notifications", ["recipient_id", "seq"])
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["recipient_id", "seq"],
        postgresql_where=sa.text("read_at IS NULL"),
        sqlite_where=sa.text("read_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_unread", table_name="notifications")
    op.drop_index("ix_notifications_recipient_seq", table_name="notifications")
    op.drop_table("notifications")
