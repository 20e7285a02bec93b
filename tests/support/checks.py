"""What the drills assert about a database after the fact: every committed deposit event
handled exactly once by the drill auditor, the outbox drained, the ledger balanced, the
audit chains intact. Plain SQL over the schema, so a bug in the adapters cannot hide a
broken invariant from its own reads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from core.identity.use_cases.verify_audit_log import VerifyAuditLogQuery
from core.shared.actor import Actor, ActorKind, Persona
from core.shared.ids import UserId
from tests.support.consumers import DRILL_ACTION

DEPOSITED = "ledger.funds_deposited"


def deposit_events(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM outbox WHERE name = :n"), {"n": DEPOSITED}).scalar_one())


def audited(engine: Engine) -> int:
    """Drill audit records (one per handling of a deposit event)."""
    with engine.connect() as c:
        return int(
            c.execute(text("SELECT count(*) FROM audit_records WHERE action = :a"), {"a": DRILL_ACTION}).scalar_one()
        )


def pending(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar_one())


def handled_exactly_once(engine: Engine) -> dict[str, Any]:
    """Per deposit event the number of drill audit records; returns what is wrong
    (``missing``, ``doubled``, ``strays``) with the counts, all empty when every event
    was handled exactly once in effect."""
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT o.event_id, count(a.id) FROM outbox o "
                "LEFT JOIN audit_records a ON a.target = o.event_id AND a.action = :a "
                "WHERE o.name = :n GROUP BY o.event_id"
            ),
            {"a": DRILL_ACTION, "n": DEPOSITED},
        ).all()
        strays = c.execute(
            text(
                "SELECT count(*) FROM audit_records a WHERE a.action = :a "
                "AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = a.target)"
            ),
            {"a": DRILL_ACTION},
        ).scalar_one()
        inbox_rows = c.execute(text("SELECT count(*) FROM inbox WHERE consumer = 'drill_auditor'")).scalar_one()
    return {
        "events": len(rows),
        "missing": [event for event, n in rows if n == 0],
        "doubled": [(event, n) for event, n in rows if n > 1],
        "strays": int(strays),
        "inbox_rows": int(inbox_rows),
    }


def assert_handled_exactly_once(engine: Engine, expected_events: int) -> None:
    report = handled_exactly_once(engine)
    assert report["events"] == expected_events, report
    assert report["missing"] == [] and report["doubled"] == [] and report["strays"] == 0, {
        "missing": len(report["missing"]),
        "doubled": report["doubled"][:5],
        "strays": report["strays"],
    }
    assert report["inbox_rows"] == expected_events
    assert audited(engine) == expected_events


def assert_ledger_consistent(engine: Engine, runtime: Any | None = None) -> None:
    """Double entry holds: every entry's postings sum to zero per currency; every wallet's
    running balance is the sum of its postings; every deposit event has its entry and
    every deposit entry its event (nothing half-written); the audit chains verify."""
    with engine.connect() as c:
        unbalanced = c.execute(
            text("SELECT entry_id, currency FROM postings GROUP BY entry_id, currency HAVING sum(amount_minor) <> 0")
        ).all()
        empty = c.execute(
            text(
                "SELECT count(*) FROM journal_entries e "
                "WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.entry_id = e.id)"
            )
        ).scalar_one()
        drifted = c.execute(
            text(
                "SELECT a.id FROM accounts a WHERE a.kind = 'wallet' AND a.balance_minor <> "
                "(SELECT coalesce(sum(p.amount_minor), 0) FROM postings p WHERE p.account_id = a.id)"
            )
        ).all()
        entries_without_event = c.execute(
            text(
                "SELECT count(*) FROM journal_entries e WHERE e.kind = 'deposit' AND NOT EXISTS "
                "(SELECT 1 FROM outbox o WHERE o.name = :n AND o.payload LIKE '%' || e.id || '%')"
            ),
            {"n": DEPOSITED},
        ).scalar_one()
        deposit_entries = c.execute(text("SELECT count(*) FROM journal_entries WHERE kind = 'deposit'")).scalar_one()
    assert unbalanced == [], f"unbalanced entries: {unbalanced[:5]}"
    assert empty == 0, f"{empty} journal entries without postings"
    assert drifted == [], f"wallet balances differ from their postings: {drifted[:5]}"
    assert deposit_entries == deposit_events(engine), (deposit_entries, deposit_events(engine))
    assert entries_without_event == 0, f"{entries_without_event} deposit entries without their event"
    if runtime is not None:
        auditor = Actor(ActorKind.OPERATOR, UserId("usr_drill_auditor"), frozenset({Persona.FINANCE}))
        verification = runtime.use_cases.verify_audit_log()(VerifyAuditLogQuery(by=auditor))
        assert verification.first_broken is None, verification.first_broken
