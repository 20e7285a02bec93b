"""Journal exports: an index on journal entries by (occurred_at, id), the order in which
an export pages a period.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_journal_entries_occurred_at", "journal_entries", ["occurred_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_journal_entries_occurred_at", table_name="journal_entries")
