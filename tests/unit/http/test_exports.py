"""GET /v1/exports/journal: a period's entries as JSON or streamed CSV, for finance and admin."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from core.shared.actor import Persona
from core.shared.time import ManualClock
from entrypoints.container import build_in_memory
from tests.unit.http.conftest import Api, assert_problem, serve

DEPOSITS = 30
PERIOD = {"from": "2026-01-01", "to": "2026-01-02"}


@pytest.fixture
def busy() -> Iterator[tuple[Api, ManualClock]]:
    """Alice's wallet with many deposits, each a millisecond apart, from 2026-01-01 on."""
    clock = ManualClock()
    with serve(build_in_memory(clock=clock)) as api:
        alice = api.user("alice")
        wallet = api.wallet(alice)
        for n in range(1, DEPOSITS + 1):
            clock.advance(timedelta(milliseconds=1))
            api.deposit(alice, wallet, 100 * n)
        yield api, clock


def test_json_has_every_entry_in_order_and_totals_that_balance(busy: tuple[Api, ManualClock]) -> None:
    api, _clock = busy
    finance = api.user("fin", Persona.FINANCE)

    answer = api.get("/v1/exports/journal", finance, params=PERIOD)

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert 'filename="journal-20260101T000000Z-20260102T000000Z.json"' in answer.headers["content-disposition"]
    body: dict[str, Any] = answer.json()
    assert (body["from_at"], body["to_at"]) == ("2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00")
    entries = body["entries"]
    assert [e["kind"] for e in entries] == ["deposit"] * DEPOSITS
    assert [e["occurred_at"] for e in entries] == sorted(e["occurred_at"] for e in entries)
    credited = sorted(p["amount_minor"] for e in entries for p in e["postings"] if p["amount_minor"] > 0)
    assert credited == [100 * n for n in range(1, DEPOSITS + 1)]
    total = sum(credited)
    assert body["totals"] == {
        "entries": DEPOSITS,
        "postings": 2 * DEPOSITS,
        "balanced": True,
        "currencies": [{"currency": "EUR", "debits_minor": total, "credits_minor": total, "balanced": True}],
    }


def test_csv_is_one_row_per_posting(busy: tuple[Api, ManualClock]) -> None:
    api, _clock = busy
    admin = api.user("root", Persona.ADMIN)

    answer = api.get(
        "/v1/exports/journal",
        admin,
        params={"from": "2026-01-01T00:00:00.001Z", "to": "2026-01-01T00:00:00.011+00:00", "format": "csv"},
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert list(rows[0]) == ["entry_id", "occurred_at", "kind", "memo", "account_id", "currency", "amount_minor"]
    assert len({r["entry_id"] for r in rows}) == 10  # the deposits at 1..10 ms; 11 ms is excluded
    sums: dict[str, int] = defaultdict(int)
    for row in rows:
        sums[row["currency"]] += int(row["amount_minor"])
    assert dict(sums) == {"EUR": 0}
    assert sorted(int(r["amount_minor"]) for r in rows if int(r["amount_minor"]) > 0) == [100 * n for n in range(1, 11)]


@pytest.mark.parametrize("persona", [Persona.CLIENT, Persona.PROVIDER, Persona.SUPPORT])
def test_others_are_forbidden(api: Api, persona: Persona) -> None:
    who = api.user("someone", persona)
    answer = api.get("/v1/exports/journal", who, params={**PERIOD, "format": "csv"})
    assert_problem(answer, 403, "forbidden")


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-01-02", "to": "2026-01-01"},
        {"from": "2026-01-01", "to": "2027-01-03"},
        {"from": "2026-01-01T00:00:00", "to": "2026-01-02"},
        {"from": "soon", "to": "2026-01-02"},
    ],
)
def test_bad_periods_are_refused(api: Api, params: dict[str, str]) -> None:
    finance = api.user("fin", Persona.FINANCE)
    assert_problem(api.get("/v1/exports/journal", finance, params=params), 422, "invalid_input")


@pytest.mark.parametrize("params", [{"to": "2026-01-02"}, {**PERIOD, "format": "xml"}])
def test_missing_or_unknown_parameters_are_refused(api: Api, params: dict[str, str]) -> None:
    finance = api.user("fin", Persona.FINANCE)
    answer = api.get("/v1/exports/journal", finance, params=params)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_json_ends_with_the_closing_snapshot(busy: tuple[Api, ManualClock]) -> None:
    api, _clock = busy
    finance = api.user("fin", Persona.FINANCE)
    assert api.get("/v1/exports/journal", finance, params=PERIOD).json()["closing_snapshot"] is None
    taken = api.post("/v1/snapshots", finance)
    assert taken.status_code == 201, taken.text

    body = api.get("/v1/exports/journal", finance, params=PERIOD).json()

    closing = body["closing_snapshot"]
    assert closing["snapshot_id"] == taken.json()["snapshot_id"]
    balances = closing["balances"]
    assert sum(b["balance_minor"] for b in balances) == 0
    assert max(b["balance_minor"] for b in balances) == sum(100 * n for n in range(1, DEPOSITS + 1))
    assert list(body)[-1] == "totals"
