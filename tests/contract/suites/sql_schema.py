"""What only the SQL adapter promises: the migrations build exactly ``tables.metadata``,
the journal refuses edits, driver errors are translated, and tampering with stored audit
rows is caught by verification."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc

from adapters.sql.engine import ping
from adapters.sql.errors import StorageFault
from adapters.sql.mappers import from_document
from adapters.sql.migrations import current_revision, head_revision, upgrade
from adapters.sql.tables import metadata
from core.ledger.domain import AccountKind, apply_entry
from core.shared.audit import AuditRecord

from ..builders import EUR, T0, a_draft, a_wallet, an_entry
from ..harness import MakeUow
from .audit import append, verify
from .outbox import some_events


def _execute(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as connection:
        connection.execute(text(sql), params)


class SqlSchemaContract:
    """Subclasses supply ``engine`` (migrated) and ``make_uow`` over it."""

    def test_migrations_build_exactly_the_declared_tables(self, engine: Engine) -> None:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []

    def test_the_database_is_at_the_newest_revision_and_upgrading_again_changes_nothing(self, engine: Engine) -> None:
        assert current_revision(engine) == head_revision() is not None
        upgrade(engine)
        assert current_revision(engine) == head_revision()

    def test_ping_answers(self, engine: Engine) -> None:
        ping(engine)

    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE postings SET amount_minor = amount_minor + 1",
            "DELETE FROM postings",
            "UPDATE journal_entries SET memo = 'edited'",
            "DELETE FROM journal_entries",
        ],
    )
    def test_the_journal_refuses_edits(self, engine: Engine, make_uow: MakeUow, statement: str) -> None:
        wallet = a_wallet()
        with make_uow() as uow:
            uow.accounts.add(wallet)
            clearing = uow.accounts.ensure_platform(AccountKind.GATEWAY_CLEARING, EUR, "sandbox", at=T0)
            entry = an_entry((wallet.id, 10), (clearing.id, -10))
            uow.journal.append(entry, apply_entry(entry, {wallet.id: wallet, clearing.id: clearing}))
            uow.accounts.save_balances([wallet])
            uow.commit()
        with pytest.raises(sa_exc.DBAPIError, match="append-only"):
            _execute(engine, statement)
        with make_uow() as uow:
            [line] = uow.journal.statement(wallet.id, before_seq=None, limit=10)
        assert (line.entry_id, line.amount.minor, line.memo) == (entry.id, 10, "")

    @pytest.mark.parametrize(
        "moment",
        [datetime(2026, 1, 1), datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2)))],
        ids=["naive", "utc+2"],
    )
    def test_a_datetime_not_in_utc_is_refused_not_converted(self, make_uow: MakeUow, moment: datetime) -> None:
        wallet = a_wallet()
        wallet.opened_at = moment
        with make_uow() as uow, pytest.raises(StorageFault, match=r"naive|not in UTC"):
            uow.accounts.add(wallet)

    def test_outbox_payload_is_the_event_as_json(self, engine: Engine, make_uow: MakeUow) -> None:
        events = some_events()
        with make_uow() as uow:
            uow.outbox.add(events)
            uow.commit()
        with engine.connect() as connection:
            payloads = connection.execute(text("SELECT payload FROM outbox ORDER BY id")).scalars().all()
        assert [from_document(json.loads(p), type(e)) for p, e in zip(payloads, events, strict=True)] == events

    # --- tampering with stored audit rows ----------------------------------------------

    @pytest.fixture
    def chain(self, make_uow: MakeUow) -> list[AuditRecord]:
        """Three committed records in chain 1, and one in chain 2."""
        records = append(make_uow, a_draft(chain=1), a_draft(chain=1, after={"balance_minor": 500}))
        records += append(make_uow, a_draft(chain=1), a_draft(chain=2))
        assert verify(make_uow).ok
        return records[:3]

    @pytest.mark.parametrize(
        ("column", "value"),
        [
            ("actor", "user:usr_someone_else"),
            ("after", '{"balance_minor": 5000}'),
            ("outcome", "rejected"),
            ("seq", 2),  # re-linked: moved into the place of a deleted record
        ],
    )
    def test_an_edited_record_is_named(
        self, engine: Engine, make_uow: MakeUow, chain: list[AuditRecord], column: str, value: object
    ) -> None:
        edited = chain[2] if column == "seq" else chain[1]
        if column == "seq":
            _execute(engine, "DELETE FROM audit_records WHERE id = :id", id=chain[1].draft.id)
        _execute(engine, f"UPDATE audit_records SET {column} = :value WHERE id = :id", value=value, id=edited.draft.id)
        result = verify(make_uow)
        assert not result.ok
        [broken] = result.broken
        assert (broken.chain, broken.seq, broken.record_id) == (1, 2, edited.draft.id)

    def test_a_deleted_middle_record_is_reported_as_a_gap(
        self, engine: Engine, make_uow: MakeUow, chain: list[AuditRecord]
    ) -> None:
        _execute(engine, "DELETE FROM audit_records WHERE id = :id", id=chain[1].draft.id)
        [broken] = verify(make_uow).broken
        assert (broken.chain, broken.seq, broken.record_id) == (1, 2, None)
        assert "missing" in broken.reason

    def test_a_deleted_last_record_is_reported_by_the_chain_head(
        self, engine: Engine, make_uow: MakeUow, chain: list[AuditRecord]
    ) -> None:
        _execute(engine, "DELETE FROM audit_records WHERE id = :id", id=chain[2].draft.id)
        [broken] = verify(make_uow).broken
        assert (broken.chain, broken.seq, broken.record_id) == (1, 3, None)
        assert "head says 3" in broken.reason

    def test_a_deleted_chain_head_is_reported(
        self, engine: Engine, make_uow: MakeUow, chain: list[AuditRecord]
    ) -> None:
        _execute(engine, "DELETE FROM audit_chain_heads WHERE chain = 1")
        result = verify(make_uow)
        [broken] = result.broken
        assert broken.chain == 1
        assert "head says -1" in broken.reason
        assert result.records == 4  # every record was still read and checked
