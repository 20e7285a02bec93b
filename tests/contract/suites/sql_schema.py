"""What only the SQL adapter promises: the migrations build exactly ``tables.metadata``,
the journal refuses edits, driver errors are translated, the database refuses to edit,
delete or hide audit records, and tampering by someone who bypasses that refusal is still
caught by verification."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy import exc as sa_exc

from adapters.sql.engine import ping
from adapters.sql.errors import StorageFault
from adapters.sql.mappers import from_document
from adapters.sql.migrations import alembic_config, current_revision, head_revision, upgrade
from adapters.sql.tables import metadata
from core.ledger.domain import AccountKind, apply_entry
from core.shared.audit import GENESIS_HASH, AuditRecord

from ..builders import EUR, T0, a_draft, a_wallet, an_entry
from ..harness import MakeUow
from .audit import append, verify
from .outbox import some_events


def _execute(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as connection:
        connection.execute(text(sql), params)


AUDIT_TABLES = ("audit_records", "audit_chain_heads")
_AUDIT_COLUMNS = (
    'id, chain, seq, prev_hash, hash, at, actor, action, target, outcome, correlation_id, reason, "before", "after"'
)


def _copy_of_third(
    *, insert: str = "INSERT", new_id: str = "'aud_forged'", seq: str = "seq", actor: str = "actor"
) -> str:
    """INSERT a copy of the chain's third record, with the columns given replaced."""
    columns = _AUDIT_COLUMNS.replace("id, chain, seq", f"{new_id}, chain, {seq}").replace("actor,", f"{actor},")
    return f"{insert} INTO audit_records ({_AUDIT_COLUMNS}) SELECT {columns} FROM audit_records WHERE id = :third"


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

    def test_downgrading_removes_the_schema_and_upgrading_again_rebuilds_it(self, engine: Engine) -> None:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
            assert _functions(connection) == []
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []

    # --- the database refuses to let audit records go --------------------------------

    @pytest.fixture
    def chain(self, make_uow: MakeUow) -> list[AuditRecord]:
        """Three committed records in chain 1, and one in chain 2."""
        records = append(make_uow, a_draft(chain=1), a_draft(chain=1, after={"balance_minor": 500}))
        records += append(make_uow, a_draft(chain=1), a_draft(chain=2))
        assert verify(make_uow).ok
        return records[:3]

    @pytest.mark.parametrize(
        ("statements", "refusal"),
        [
            pytest.param(
                ["UPDATE audit_records SET actor = 'user:usr_someone_else' WHERE id = :second"],
                "audit_records is append-only: UPDATE",
                id="edit-a-record",
            ),
            pytest.param(
                ["DELETE FROM audit_records WHERE id = :second"],
                "audit_records is append-only: DELETE",
                id="delete-a-record",
            ),
            pytest.param(
                ["DELETE FROM audit_chain_heads WHERE chain = 1"],
                "audit_chain_heads only advances by one record: DELETE",
                id="delete-a-head",
            ),
            pytest.param(
                [
                    "DELETE FROM audit_records WHERE id = :third",
                    "UPDATE audit_chain_heads SET last_seq = 2, last_hash = :second_hash WHERE chain = 1",
                ],
                "audit_records is append-only: DELETE",
                id="drop-the-tail-and-move-the-head-back",
            ),
            pytest.param(
                [
                    "UPDATE audit_chain_heads SET last_seq = 2, last_hash = :second_hash WHERE chain = 1",
                    "DELETE FROM audit_records WHERE id = :third",
                ],
                "audit_chain_heads only advances by one record: UPDATE",
                id="move-the-head-back-and-drop-the-tail",
            ),
            pytest.param(
                [
                    "DELETE FROM audit_records WHERE chain = 1",
                    "UPDATE audit_chain_heads SET last_seq = 0, last_hash = :genesis WHERE chain = 1",
                ],
                "audit_records is append-only: DELETE",
                id="drop-a-chain-and-reset-its-head",
            ),
            pytest.param(
                [_copy_of_third(seq="0")],
                "ck_audit_records_seq_positive",
                id="forge-a-record-numbered-0",
            ),
            pytest.param(
                [_copy_of_third(seq="-1")],
                "ck_audit_records_seq_positive",
                id="forge-a-record-numbered-below-0",
            ),
        ],
    )
    def test_the_database_refuses_to_remove_or_hide_audit_records(
        self, engine: Engine, make_uow: MakeUow, chain: list[AuditRecord], statements: list[str], refusal: str
    ) -> None:
        stored = _audit_rows(engine)
        with pytest.raises(sa_exc.DBAPIError, match=refusal), engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement), _params(statement, chain))
        assert _audit_rows(engine) == stored
        assert verify(make_uow).ok

    @pytest.mark.parametrize("table", ["audit_records", "audit_chain_heads"])
    def test_the_audit_tables_cannot_be_emptied_at_once(
        self, engine: Engine, make_uow: MakeUow, chain: list[AuditRecord], table: str
    ) -> None:
        stored = _audit_rows(engine)
        # SQLite has no TRUNCATE: its DELETE without WHERE is the same shortcut, and
        # triggers switch that shortcut off.
        statement = f"TRUNCATE {table}" if engine.dialect.name == "postgresql" else f"DELETE FROM {table}"
        with pytest.raises(sa_exc.DBAPIError, match="refused"):
            _execute(engine, statement)
        assert _audit_rows(engine) == stored
        assert verify(make_uow).ok

    @pytest.mark.parametrize(
        "assignment",
        [
            pytest.param("last_seq = 2, last_hash = :second_hash", id="back-onto-the-previous-record"),
            pytest.param("last_seq = 0, last_hash = :genesis", id="back-to-genesis"),
            pytest.param("last_seq = last_seq + 2, last_hash = :forged_hash", id="ahead-by-two"),
            pytest.param("last_seq = last_seq + 1", id="ahead-by-one-with-the-same-hash"),
            pytest.param("last_hash = :forged_hash", id="same-seq-other-hash"),
            pytest.param("chain = 300, last_seq = last_seq + 1, last_hash = :forged_hash", id="to-another-chain"),
        ],
    )
    def test_a_chain_head_refuses_every_change_but_advancing_by_one(
        self, engine: Engine, make_uow: MakeUow, chain: list[AuditRecord], assignment: str
    ) -> None:
        stored = _audit_rows(engine)
        statement = f"UPDATE audit_chain_heads SET {assignment} WHERE chain = 1"
        with pytest.raises(sa_exc.DBAPIError, match="audit_chain_heads only advances by one record: UPDATE"):
            _execute(engine, statement, **_params(statement, chain))
        assert _audit_rows(engine) == stored
        assert verify(make_uow).ok

    def test_a_head_advanced_by_hand_is_allowed_but_verification_reports_it(
        self, engine: Engine, make_uow: MakeUow, chain: list[AuditRecord]
    ) -> None:
        # The one change the trigger lets through is the adapter's own append; without the
        # record that belongs to it, the chain no longer matches its head.
        _execute(
            engine,
            "UPDATE audit_chain_heads SET last_seq = last_seq + 1, last_hash = :h WHERE chain = 1",
            h="f" * 64,
        )
        [broken] = verify(make_uow).broken
        assert (broken.chain, broken.record_id) == (1, None)
        assert "head says 4" in broken.reason

    @pytest.mark.parametrize("key", ["id", "chain-and-seq", "head"])
    def test_an_insert_over_an_existing_audit_row_is_refused(
        self, engine: Engine, make_uow: MakeUow, chain: list[AuditRecord], key: str
    ) -> None:
        """SQLite's INSERT OR REPLACE deletes the row in its way without firing DELETE
        triggers; PostgreSQL's upsert updates it. Either would edit past the guards."""
        stored = _audit_rows(engine)
        statement = _replacing(engine.dialect.name, key)
        with pytest.raises(sa_exc.DBAPIError, match="refused"):
            _execute(engine, statement, **_params(statement, chain))
        assert _audit_rows(engine) == stored
        assert verify(make_uow).ok

    # --- tampering by someone who can also drop the triggers ---------------------------
    # The guards above bind every connection, but not the database's owner, who can drop
    # or disable triggers (or, on SQLite, anyone who can write the file). These tests model
    # that attacker: each bypasses the guards first, then shows the hash chains still name
    # the damage.

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
        _bypass_audit_guards(engine)
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
        _bypass_audit_guards(engine)
        _execute(engine, "DELETE FROM audit_records WHERE id = :id", id=chain[1].draft.id)
        [broken] = verify(make_uow).broken
        assert (broken.chain, broken.seq, broken.record_id) == (1, 2, None)
        assert "missing" in broken.reason

    def test_a_deleted_last_record_is_reported_by_the_chain_head(
        self, engine: Engine, make_uow: MakeUow, chain: list[AuditRecord]
    ) -> None:
        _bypass_audit_guards(engine)
        _execute(engine, "DELETE FROM audit_records WHERE id = :id", id=chain[2].draft.id)
        [broken] = verify(make_uow).broken
        assert (broken.chain, broken.seq, broken.record_id) == (1, 3, None)
        assert "head says 3" in broken.reason

    def test_a_deleted_chain_head_is_reported(
        self, engine: Engine, make_uow: MakeUow, chain: list[AuditRecord]
    ) -> None:
        _bypass_audit_guards(engine)
        _execute(engine, "DELETE FROM audit_chain_heads WHERE chain = 1")
        result = verify(make_uow)
        [broken] = result.broken
        assert broken.chain == 1
        assert "head says -1" in broken.reason
        assert result.records == 4  # every record was still read and checked


def _params(statement: str, chain: list[AuditRecord]) -> dict[str, object]:
    """The values a tampering statement may name (only those it names are bound)."""
    values: dict[str, object] = {
        "second": chain[1].draft.id,
        "third": chain[2].draft.id,
        "second_hash": chain[1].hash,
        "genesis": GENESIS_HASH,
        "forged_hash": "f" * 64,
    }
    return {name: value for name, value in values.items() if f":{name}" in statement}


def _replacing(dialect: str, key: str) -> str:
    """An insert that meets an existing ``key`` and, if allowed, would overwrite that row:
    SQLite's INSERT OR REPLACE, PostgreSQL's upsert."""
    insert = "INSERT" if dialect == "postgresql" else "INSERT OR REPLACE"
    if key == "head":
        statement = f"{insert} INTO audit_chain_heads (chain, last_seq, last_hash) VALUES (1, 0, :genesis)"
        upsert = " ON CONFLICT (chain) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash"
    else:
        statement = _copy_of_third(
            insert=insert, new_id="id" if key == "id" else "'aud_forged'", actor="'user:usr_someone_else'"
        )
        conflict = "(id)" if key == "id" else "(chain, seq)"
        upsert = f" ON CONFLICT {conflict} DO UPDATE SET id = excluded.id, actor = excluded.actor"
    return statement + upsert if dialect == "postgresql" else statement


def _audit_rows(engine: Engine) -> list[list[tuple[object, ...]]]:
    with engine.connect() as connection:
        return [
            [tuple(row) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))]
            for table in AUDIT_TABLES
        ]


def _bypass_audit_guards(engine: Engine) -> None:
    """Do what an attacker who owns the database would do first: take the audit tables'
    triggers out of the way (drop them on SQLite, disable them on PostgreSQL)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            for table in AUDIT_TABLES:
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            return
        tables = ", ".join(f"'{table}'" for table in AUDIT_TABLES)
        listed = text(f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({tables})")
        triggers = connection.execute(listed).scalars().all()
        assert triggers, "no audit triggers to bypass"
        for name in triggers:
            connection.execute(text(f'DROP TRIGGER "{name}"'))


def _functions(connection: Connection) -> list[str]:
    """Functions in the current schema (PostgreSQL's trigger functions); none on SQLite."""
    if connection.dialect.name != "postgresql":
        return []
    query = "SELECT proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace ORDER BY proname"
    return list(connection.execute(text(query)).scalars())
