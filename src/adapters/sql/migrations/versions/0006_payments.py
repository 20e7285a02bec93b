"""Payments: payments and their refunds (one version per payment), the provider event
inbox (deduplicated by the provider's event id) and the shared circuit breakers.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
ID = 64
CURRENCY = 3
PROVIDER = 64


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("payer_id", sa.String(ID), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(CURRENCY), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("escrow_contract_id", sa.String(ID), nullable=True),
        sa.Column("escrow_milestone_id", sa.String(ID), nullable=True),
        sa.Column("provider", sa.String(PROVIDER), nullable=True),
        sa.Column("provider_reference", sa.Text, nullable=True),
        sa.Column("attempted", sa.Text, nullable=False),
        sa.Column("client_action", sa.Text, nullable=True),
        sa.Column("failure_reason", sa.Text, nullable=False),
        sa.Column("captured_at", UTC_DATETIME, nullable=True),
        sa.Column("captured_currency", sa.String(CURRENCY), nullable=True),
        sa.Column("captured_minor", sa.BigInteger, nullable=True),
        sa.Column("capture_entry_id", sa.String(ID), nullable=True),
        sa.Column("unknown_since", UTC_DATETIME, nullable=True),
        sa.Column("hold_deadline", UTC_DATETIME, nullable=True),
        sa.Column("updated_at", UTC_DATETIME, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.CheckConstraint("amount_minor > 0", name="ck_payments_amount_positive"),
        sa.CheckConstraint("(captured_currency IS NULL) = (captured_minor IS NULL)", name="ck_payments_captured_money"),
        sa.CheckConstraint(
            "(escrow_contract_id IS NULL) = (escrow_milestone_id IS NULL)", name="ck_payments_escrow_both_or_neither"
        ),
    )
    op.create_index(
        "uq_payments_provider_reference",
        "payments",
        ["provider", "provider_reference"],
        unique=True,
        postgresql_where=sa.text("provider_reference IS NOT NULL"),
        sqlite_where=sa.text("provider_reference IS NOT NULL"),
    )
    op.create_index("ix_payments_provider_captured", "payments", ["provider", "captured_at"])
    op.create_index("ix_payments_status_created", "payments", ["status", "created_at"])

    op.create_table(
        "payment_refunds",
        sa.Column(
            "payment_id",
            sa.String(ID),
            sa.ForeignKey("payments.id", name="fk_payment_refunds_payment"),
            nullable=False,
        ),
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(CURRENCY), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(ID), nullable=False),
        sa.Column("requested_at", UTC_DATETIME, nullable=False),
        sa.Column("provider_reference", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("entry_id", sa.String(ID), nullable=True),
        sa.Column("reversal_entry_id", sa.String(ID), nullable=True),
        sa.Column("unfunded", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("payment_id", "id", name="pk_payment_refunds"),
        sa.UniqueConstraint("payment_id", "position", name="uq_payment_refunds_position"),
        sa.CheckConstraint("amount_minor > 0", name="ck_payment_refunds_amount_positive"),
    )
    op.create_index("ix_payment_refunds_requested_at", "payment_refunds", ["requested_at"])

    op.create_table(
        "provider_events",
        sa.Column("provider", sa.String(PROVIDER), nullable=False),
        sa.Column("provider_event_id", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("provider_reference", sa.Text, nullable=True),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.Column("payment_id", sa.Text, nullable=True),
        sa.Column("currency", sa.String(CURRENCY), nullable=True),
        sa.Column("amount_minor", sa.BigInteger, nullable=True),
        sa.Column("refund_reference", sa.Text, nullable=True),
        sa.Column("refund_id", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("applied_at", UTC_DATETIME, nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("provider", "provider_event_id", name="pk_provider_events"),
        sa.CheckConstraint("(currency IS NULL) = (amount_minor IS NULL)", name="ck_provider_events_money"),
    )
    op.create_index(
        "ix_provider_events_unapplied",
        "provider_events",
        ["provider", "provider_reference"],
        postgresql_where=sa.text("applied_at IS NULL"),
        sqlite_where=sa.text("applied_at IS NULL"),
    )

    op.create_table(
        "provider_breakers",
        sa.Column("provider", sa.String(PROVIDER), primary_key=True),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("opened_at", UTC_DATETIME, nullable=True),
        sa.Column("changed_at", UTC_DATETIME, nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.CheckConstraint("consecutive_failures >= 0", name="ck_provider_breakers_failures"),
    )


def downgrade() -> None:
    op.drop_table("provider_breakers")
    op.drop_index("ix_provider_events_unapplied", table_name="provider_events")
    op.drop_table("provider_events")
    op.drop_index("ix_payment_refunds_requested_at", table_name="payment_refunds")
    op.drop_table("payment_refunds")
    op.drop_index("ix_payments_status_created", table_name="payments")
    op.drop_index("ix_payments_provider_captured", table_name="payments")
    op.drop_index("uq_payments_provider_reference", table_name="payments")
    op.drop_table("payments")
