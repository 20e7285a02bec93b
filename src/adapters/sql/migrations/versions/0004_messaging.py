"""Messaging: the per-consumer inbox, dead letters, worker heartbeats and leases; the
outbox's indexes for the relay (pending rows in outbox order) and for consumers (an
aggregate's earlier events).

Dead letters are append-only, as audit records are: triggers refuse UPDATE and DELETE
(and TRUNCATE on PostgreSQL; INSERT OR REPLACE on SQLite, which deletes in its way).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
ID = 64
CONSUMER = 64


def upgrade() -> None:
    # The relay reads pending rows in outbox order; the ready probe counts them and takes
    # the oldest time from this index alone.
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id", "occurred_at"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(CONSUMER), nullable=False),
        sa.Column("event_id", sa.String(ID), nullable=False),
        sa.Column("handled_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("consumer", sa.String(CONSUMER), nullable=False),
        sa.Column("event_id", sa.String(ID), nullable=False),
        sa.Column("event_name", sa.Text, nullable=False),
        sa.Column("aggregate_id", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error_code", sa.String(64), nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("failed_at", UTC_DATETIME, nullable=False),
        sa.UniqueConstraint("consumer", "event_id", name="uq_dead_letters_consumer_event"),
    )
    op.create_index("ix_dead_letters_consumer_id", "dead_letters", ["consumer", "id"])
    op.create_table(
        "worker_heartbeats",
        sa.Column("worker_id", sa.Text, primary_key=True),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", UTC_DATETIME, nullable=False),
        sa.Column("beat_at", UTC_DATETIME, nullable=False),
    )
    op.create_index("ix_worker_heartbeats_beat_at", "worker_heartbeats", ["beat_at"])
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
    )
    _refuse_dead_letter_changes()


def _refuse_dead_letter_changes() -> None:
    """A dead letter is a record of what was given up on; it is never edited or removed
    quietly (the adapter only ever inserts, skipping a pair already recorded)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION refuse_dead_letter_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'restrict_violation';
            END
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER dead_letters_append_only BEFORE UPDATE OR DELETE ON dead_letters "
            "FOR EACH ROW EXECUTE FUNCTION refuse_dead_letter_change()"
        )
        op.execute(
            "CREATE TRIGGER dead_letters_no_truncate BEFORE TRUNCATE ON dead_letters "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_dead_letter_change()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER dead_letters_no_{verb.lower()} BEFORE {verb} ON dead_letters "
            f"BEGIN SELECT RAISE(ABORT, 'dead_letters is append-only: {verb} refused'); END"
        )
    # INSERT OR REPLACE deletes the row in its way without firing DELETE triggers. A letter
    # that meets an existing one is skipped (the adapter's ON CONFLICT DO NOTHING keeps
    # its meaning: the first letter stays).
    op.execute(
        "CREATE TRIGGER dead_letters_no_replace BEFORE INSERT ON dead_letters "
        "WHEN EXISTS (SELECT 1 FROM dead_letters WHERE id = NEW.id "
        "OR (consumer = NEW.consumer AND event_id = NEW.event_id)) "
        "BEGIN SELECT RAISE(IGNORE); END"
    )


def downgrade() -> None:
    # Dropping a table drops its triggers too.
    op.drop_table("leases")
    op.drop_index("ix_worker_heartbeats_beat_at", table_name="worker_heartbeats")
    op.drop_table("worker_heartbeats")
    op.drop_index("ix_dead_letters_consumer_id", table_name="dead_letters")
    op.drop_table("dead_letters")
    op.drop_table("inbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION refuse_dead_letter_change()")
