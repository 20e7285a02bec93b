"""``gigcore audit verify`` against a real SQLite file, before and after tampering."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from .conftest import Cli


def stored_records(database: Path) -> int:
    with sqlite3.connect(database) as db:
        (count,) = db.execute("SELECT count(*) FROM audit_records").fetchone()
    return int(count)


def bypass_audit_guards(db: sqlite3.Connection) -> None:
    """The schema refuses edits of the audit tables (triggers); someone who can write the
    file can drop those triggers first. Tampering tests model that attacker, to show the
    hash chains still name the damage."""
    triggers = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('audit_records', 'audit_chain_heads')"
    ).fetchall()
    assert triggers, "no audit triggers to bypass"
    for (name,) in triggers:
        db.execute(f'DROP TRIGGER "{name}"')


def test_an_untouched_log_verifies(cli: Cli, wallet: str, database_path: Path) -> None:
    result = cli("audit", "verify")

    match = re.fullmatch(r"OK: (\d+) records in (\d+) chains intact\n", result.stdout)
    assert result.exit_code == 0
    assert match is not None, result.stdout
    assert int(match[1]) == stored_records(database_path)


def test_the_database_refuses_an_edit_of_the_log(cli: Cli, wallet: str, database_path: Path) -> None:
    with sqlite3.connect(database_path) as db, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit_records SET target = 'wallet:wal_elsewhere' WHERE seq = 1")

    result = cli("audit", "verify")

    assert result.exit_code == 0
    assert result.stdout.startswith("OK: ")


def test_an_edited_record_is_named(cli: Cli, wallet: str, database_path: Path) -> None:
    with sqlite3.connect(database_path) as db:
        record_id, chain, seq = db.execute(
            "SELECT id, chain, seq FROM audit_records WHERE action = 'ledger.deposit.sandbox' ORDER BY chain, seq"
        ).fetchone()
        bypass_audit_guards(db)
        db.execute("UPDATE audit_records SET target = 'wallet:wal_elsewhere' WHERE id = ?", (record_id,))

    result = cli("audit", "verify")

    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith(
        f"BROKEN: chain {chain}, record seq {seq} ({record_id}): content was changed"
    )


def test_run_verify_audit_log_reports_the_break_as_json(cli: Cli, wallet: str, database_path: Path) -> None:
    with sqlite3.connect(database_path) as db:
        bypass_audit_guards(db)
        db.execute("UPDATE audit_records SET actor = 'someone-else' WHERE seq = 1")

    report = cli.ok("run", "verify-audit-log", "--as", "fin")

    assert report["ok"] is False
    assert report["broken"]
    assert json.dumps(report)  # plain JSON all the way down
