"""Refunds remember when a call for them may have reached the provider (its answer was
lost): the janitor resends it only while the provider surely keeps the key's answer.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("payment_refunds", sa.Column("maybe_sent_at", UTC_DATETIME, nullable=True))


def downgrade() -> None:
    op.drop_column("payment_refunds", "maybe_sent_at")
