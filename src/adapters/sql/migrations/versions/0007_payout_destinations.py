"""Payout destinations: where a provider pays a payee, one row per (payee, provider).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
ID = 64
PROVIDER = 64


def upgrade() -> None:
    op.create_table(
        "payout_destinations",
        sa.Column("payee_id", sa.String(ID), nullable=False),
        sa.Column("provider", sa.String(PROVIDER), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("payee_id", "provider", name="pk_payout_destinations"),
    )


def downgrade() -> None:
    op.drop_table("payout_destinations")
