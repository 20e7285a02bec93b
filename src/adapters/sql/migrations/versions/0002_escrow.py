"""Escrow: contracts, milestones, payouts and durable timers; every running balance is
non-negative.

The accounts CHECK grows from wallets to every kind that keeps a running balance
(``wallet_pending``, ``escrow``, ``payout_in_transit``): the domain refuses an overdraft
first, under the row lock; the database refuses one that slipped past it. SQLite cannot
alter a constraint in place, so there the table is rebuilt (Alembic's batch mode; the
migration runner switches foreign keys off around it and checks them before commit).

Revision ID: 0002
Revises: 0001
Create Date: 2026-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
ID = 64

WALLET_CHECK = ("ck_accounts_wallet_not_negative", "kind <> 'wallet' OR balance_minor >= 0")
RUNNING_CHECK = (
    "ck_accounts_running_balance_not_negative",
    "kind NOT IN ('wallet', 'wallet_pending', 'escrow', 'payout_in_transit') OR balance_minor >= 0",
)


def upgrade() -> None:
    _swap_accounts_check(drop=WALLET_CHECK, create=RUNNING_CHECK)
    op.create_table(
        "contracts",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("client_id", sa.String(ID), nullable=False),
        sa.Column("provider_id", sa.String(ID), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("fee_tier", sa.String(32), nullable=False),
        sa.Column("fee_bps", sa.Integer, nullable=False),
        sa.Column("fee_min_minor", sa.BigInteger, nullable=False),
        sa.Column("fee_max_minor", sa.BigInteger, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("decided_at", UTC_DATETIME, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.CheckConstraint("fee_bps BETWEEN 0 AND 10000", name="ck_contracts_fee_bps"),
    )
    op.create_index("ix_contracts_client", "contracts", ["client_id"])
    op.create_index("ix_contracts_provider", "contracts", ["provider_id"])
    op.create_table(
        "milestones",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column(
            "contract_id", sa.String(ID), sa.ForeignKey("contracts.id", name="fk_milestones_contract"), nullable=False
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("timeout_outcome", sa.String(16), nullable=False),
        sa.Column("auto_release_days", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("held_minor", sa.BigInteger, nullable=False),
        sa.Column("released_minor", sa.BigInteger, nullable=False),
        sa.Column("refunded_minor", sa.BigInteger, nullable=False),
        sa.Column("fees_minor", sa.BigInteger, nullable=False),
        sa.Column("submissions", sa.Integer, nullable=False),
        sa.Column("changes_requested", sa.Integer, nullable=False),
        sa.Column(
            "escrow_account_id",
            sa.String(ID),
            sa.ForeignKey("accounts.id", name="fk_milestones_escrow_account"),
            nullable=True,
        ),
        sa.Column("funded_at", UTC_DATETIME, nullable=True),
        sa.Column("submitted_at", UTC_DATETIME, nullable=True),
        sa.Column("refund_proposal_minor", sa.BigInteger, nullable=True),
        sa.Column("dispute_opened_by", sa.String(ID), nullable=True),
        sa.Column("closed_at", UTC_DATETIME, nullable=True),
        sa.UniqueConstraint("contract_id", "position", name="uq_milestones_position"),
        sa.CheckConstraint(
            "amount_minor > 0 AND held_minor >= 0 AND released_minor >= 0 AND refunded_minor >= 0 "
            "AND fees_minor >= 0 AND fees_minor <= released_minor",
            name="ck_milestones_amounts",
        ),
        sa.CheckConstraint(
            "held_minor + released_minor + refunded_minor = "
            "CASE WHEN escrow_account_id IS NULL THEN 0 ELSE amount_minor END",
            name="ck_milestones_money_conserved",
        ),
    )
    op.create_table(
        "payouts",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("payee_id", sa.String(ID), nullable=False),
        sa.Column("requested_by", sa.String(ID), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("required_approvals", sa.Integer, nullable=False),
        sa.Column("approvals", sa.Text, nullable=False),
        sa.Column(
            "wallet_account_id",
            sa.String(ID),
            sa.ForeignKey("accounts.id", name="fk_payouts_wallet_account"),
            nullable=False,
        ),
        sa.Column(
            "transit_account_id",
            sa.String(ID),
            sa.ForeignKey("accounts.id", name="fk_payouts_transit_account"),
            nullable=False,
        ),
        sa.Column("requested_at", UTC_DATETIME, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("gateway", sa.String(64), nullable=True),
        sa.Column("reference", sa.Text, nullable=True),
        sa.Column("failure_reason", sa.Text, nullable=True),
        sa.Column("settled_at", UTC_DATETIME, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.CheckConstraint("amount_minor > 0", name="ck_payouts_amount_positive"),
    )
    op.create_index("ix_payouts_payee", "payouts", ["payee_id"])
    op.create_table(
        "timers",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("fired_at", UTC_DATETIME, nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
    )
    # Pollers read only what is still to fire, oldest first; fired timers stay as history.
    op.create_index(
        "ix_timers_unfired_due",
        "timers",
        ["due_at", "id"],
        postgresql_where=sa.text("fired_at IS NULL"),
        sqlite_where=sa.text("fired_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_timers_unfired_due", table_name="timers")
    op.drop_table("timers")
    op.drop_index("ix_payouts_payee", table_name="payouts")
    op.drop_table("payouts")
    op.drop_table("milestones")
    op.drop_index("ix_contracts_provider", table_name="contracts")
    op.drop_index("ix_contracts_client", table_name="contracts")
    op.drop_table("contracts")
    _swap_accounts_check(drop=RUNNING_CHECK, create=WALLET_CHECK)


def _swap_accounts_check(*, drop: tuple[str, str], create: tuple[str, str]) -> None:
    # On SQLite the batch rebuilds the table (copy, drop, rename), keeping its unique
    # constraint and the reflected, named CHECK it is not told to drop; on PostgreSQL it
    # is two plain ALTER TABLE statements.
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint(drop[0], type_="check")
        batch.create_check_constraint(create[0], create[1])
