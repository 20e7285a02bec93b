"""Initial schema: ledger, identity, idempotency, audit chains and the outbox.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64
AUDIT_CHAINS = 256  # head rows for every chain count the settings allow
# SQLite numbers only an INTEGER PRIMARY KEY by itself.
AUTO_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime(timezone=True)
APPEND_ONLY = ("journal_entries", "postings")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("opened_at", UTC_DATETIME, nullable=False),
        sa.Column("balance_minor", sa.BigInteger, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("owner_id", "kind", "currency", "label", name="uq_accounts_slot"),
        sa.CheckConstraint("kind <> 'wallet' OR balance_minor >= 0", name="ck_accounts_wallet_not_negative"),
    )
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.Column("initiated_by", sa.Text, nullable=False),
        sa.Column("memo", sa.Text, nullable=False),
    )
    op.create_table(
        "postings",
        sa.Column("id", AUTO_BIGINT, primary_key=True, autoincrement=True),
        sa.Column(
            "entry_id", sa.String(64), sa.ForeignKey("journal_entries.id", name="fk_postings_entry"), nullable=False
        ),
        sa.Column(
            "account_id", sa.String(64), sa.ForeignKey("accounts.id", name="fk_postings_account"), nullable=False
        ),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("balance_after_minor", sa.BigInteger, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_postings_account_seq", "postings", ["account_id", "id"])
    op.create_index("ix_postings_entry", "postings", ["entry_id"])
    op.create_table(
        "balance_snapshots",
        sa.Column("snapshot_id", sa.String(64), nullable=False),
        sa.Column(
            "account_id",
            sa.String(64),
            sa.ForeignKey("accounts.id", name="fk_balance_snapshots_account"),
            nullable=False,
        ),
        sa.Column("taken_at", UTC_DATETIME, nullable=False),
        sa.Column("balance_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.PrimaryKeyConstraint("snapshot_id", "account_id", name="pk_balance_snapshots"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("handle", sa.String(40), nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("personas", sa.Text, nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.UniqueConstraint("handle", name="uq_users_handle"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("users.id", name="fk_api_tokens_user"), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=True),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_hash"),
    )
    op.create_index("ix_api_tokens_user", "api_tokens", ["user_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("command", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_idempotency_keys"),
    )
    op.create_table(
        "audit_records",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("chain", sa.Integer, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("correlation_id", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("before", sa.Text, nullable=False),
        sa.Column("after", sa.Text, nullable=False),
        sa.UniqueConstraint("chain", "seq", name="uq_audit_records_chain_seq"),
        sa.CheckConstraint("seq >= 1", name="ck_audit_records_seq_positive"),
    )
    heads = op.create_table(
        "audit_chain_heads",
        sa.Column("chain", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(heads, [{"chain": c, "last_seq": 0, "last_hash": GENESIS_HASH} for c in range(AUDIT_CHAINS)])
    op.create_table(
        "outbox",
        sa.Column("id", AUTO_BIGINT, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("aggregate_id", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.Column("published_at", UTC_DATETIME, nullable=True),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
        sqlite_autoincrement=True,
    )
    _refuse_journal_changes()
    _refuse_audit_changes()


def _refuse_journal_changes() -> None:
    """The journal is append-only: a mistake is corrected by a reversing entry, never by
    editing one. Even the database owner's ad-hoc UPDATE or DELETE is refused."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION refuse_journal_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'restrict_violation';
            END
            $$
            """
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_journal_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION refuse_journal_change()"
            )
        return
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )
    # SQLite's INSERT OR REPLACE deletes the row in its way without firing DELETE triggers.
    # An entry id inserted twice is skipped (the adapter's ON CONFLICT DO NOTHING keeps its
    # meaning); a posting id inserted twice is refused.
    op.execute(
        "CREATE TRIGGER journal_entries_no_replace BEFORE INSERT ON journal_entries "
        "WHEN EXISTS (SELECT 1 FROM journal_entries WHERE id = NEW.id) BEGIN SELECT RAISE(IGNORE); END"
    )
    op.execute(
        "CREATE TRIGGER postings_no_replace BEFORE INSERT ON postings "
        "WHEN EXISTS (SELECT 1 FROM postings WHERE id = NEW.id) "
        "BEGIN SELECT RAISE(ABORT, 'postings is append-only: REPLACE refused'); END"
    )


def _refuse_audit_changes() -> None:
    """Audit records are append-only and a chain head only ever advances by one record, so
    that records cannot be removed quietly: not the last ones with the head moved back onto
    the new last record, not a whole chain with its head reset to genesis. The hash chains
    still catch someone who drops these triggers first (ADR 0006)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'restrict_violation';
            END
            $$
            """
        )
        # Nested IFs: PL/pgSQL does not promise to short-circuit AND, and a statement-level
        # (TRUNCATE) call has no OLD or NEW row.
        op.execute(
            """
            CREATE FUNCTION refuse_audit_head_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' THEN
                    IF NEW.chain = OLD.chain AND NEW.last_seq = OLD.last_seq + 1
                            AND NEW.last_hash <> OLD.last_hash THEN
                        RETURN NEW;
                    END IF;
                END IF;
                RAISE EXCEPTION '% only advances by one record: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'restrict_violation';
            END
            $$
            """
        )
        for table, function in (
            ("audit_records", "refuse_audit_change"),
            ("audit_chain_heads", "refuse_audit_head_change"),
        ):
            op.execute(
                f"CREATE TRIGGER {table}_guard BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {function}()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_records_no_{verb.lower()} BEFORE {verb} ON audit_records "
            f"BEGIN SELECT RAISE(ABORT, 'audit_records is append-only: {verb} refused'); END"
        )
    op.execute(
        "CREATE TRIGGER audit_chain_heads_no_delete BEFORE DELETE ON audit_chain_heads "
        "BEGIN SELECT RAISE(ABORT, 'audit_chain_heads only advances by one record: DELETE refused'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_chain_heads_advance_only BEFORE UPDATE ON audit_chain_heads "
        "WHEN NOT (NEW.chain = OLD.chain AND NEW.last_seq = OLD.last_seq + 1 AND NEW.last_hash <> OLD.last_hash) "
        "BEGIN SELECT RAISE(ABORT, 'audit_chain_heads only advances by one record: UPDATE refused'); END"
    )
    # INSERT OR REPLACE deletes the row in its way without firing DELETE triggers (unless
    # the connection turned on recursive_triggers), so it would edit a record or rewind a
    # head past the triggers above. An insert that meets an existing key is refused first.
    op.execute(
        "CREATE TRIGGER audit_records_no_replace BEFORE INSERT ON audit_records "
        "WHEN EXISTS (SELECT 1 FROM audit_records WHERE id = NEW.id) "
        "OR EXISTS (SELECT 1 FROM audit_records WHERE chain = NEW.chain AND seq = NEW.seq) "
        "BEGIN SELECT RAISE(ABORT, 'audit_records is append-only: REPLACE refused'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_chain_heads_no_replace BEFORE INSERT ON audit_chain_heads "
        "WHEN EXISTS (SELECT 1 FROM audit_chain_heads WHERE chain = NEW.chain) "
        "BEGIN SELECT RAISE(ABORT, 'audit_chain_heads only advances by one record: REPLACE refused'); END"
    )


def downgrade() -> None:
    # Dropping a table drops its triggers too.
    for table in (
        "outbox",
        "audit_chain_heads",
        "audit_records",
        "idempotency_keys",
        "api_tokens",
        "users",
        "balance_snapshots",
        "postings",
        "journal_entries",
        "accounts",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        for function in ("refuse_audit_head_change", "refuse_audit_change", "refuse_journal_change"):
            op.execute(f"DROP FUNCTION {function}()")
