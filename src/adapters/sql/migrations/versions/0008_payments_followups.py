"""Payments follow-ups: capture corrections, PayPal capture references, pinned payout
destinations.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
ID = 64
CURRENCY = 3
PROVIDER = 64


def upgrade() -> None:
    # -- capture corrections and refunds bounded by what was credited --
    op.add_column("payments", sa.Column("corrected_minor", sa.BigInteger, nullable=True))
    op.add_column("payments", sa.Column("correction_entry_id", sa.String(ID), nullable=True))
    op.add_column("payments", sa.Column("correction_unfunded", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column(
        "payment_refunds", sa.Column("exceeds_credited", sa.Boolean, nullable=False, server_default=sa.false())
    )
    # -- capture references (PayPal refunds name the capture) --
    op.add_column("payments", sa.Column("provider_capture_reference", sa.Text, nullable=True))
    op.create_index(
        "uq_payments_provider_capture_reference",
        "payments",
        ["provider", "provider_capture_reference"],
        unique=True,
        postgresql_where=sa.text("provider_capture_reference IS NOT NULL"),
        sqlite_where=sa.text("provider_capture_reference IS NOT NULL"),
    )
    op.add_column("provider_events", sa.Column("capture_reference", sa.Text, nullable=True))
    # -- pinned payout destinations --
    op.create_table(
        "payout_destination_pins",
        sa.Column("payout_id", sa.String(ID), nullable=False),
        sa.Column("payee_id", sa.String(ID), nullable=False),
        sa.Column("provider", sa.String(PROVIDER), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("pinned_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("payout_id", name="pk_payout_destination_pins"),
    )


def downgrade() -> None:
    # -- pinned payout destinations --
    op.drop_table("payout_destination_pins")
    # -- capture references (PayPal refunds name the capture) --
    op.drop_column("provider_events", "capture_reference")
    op.drop_index("uq_payments_provider_capture_reference", table_name="payments")
    op.drop_column("payments", "provider_capture_reference")
    # -- capture corrections and refunds bounded by what was credited --
    op.drop_column("payment_refunds", "exceeds_credited")
    op.drop_column("payments", "correction_unfunded")
    op.drop_column("payments", "correction_entry_id")
    op.drop_column("payments", "corrected_minor")
