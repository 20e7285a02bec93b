"""Issue 3's "done when", tried as a new user would over HTTP: a client hires a provider
for two milestones, funds, approves one and sends the other back; the money lands exactly
in the client's wallet, the provider's pending and then available earnings, escrow and
fee revenue; the clock drives clearing, auto-release and both deadline outcomes; and a
payout above the band needs two distinct finance approvers, never its payee."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from core.escrow.ports import PLATFORM, AccountKinds
from core.escrow.use_cases.fire_due_timers import FireDueTimersCommand, FireDueTimersResult
from core.ledger.domain import AccountKind
from core.shared.actor import Actor, Persona
from core.shared.ids import correlation_id
from core.shared.money import Currency
from core.shared.time import ManualClock
from entrypoints.container import Runtime, build_in_memory
from entrypoints.settings import Settings
from tests.unit.http.conftest import Api, assert_problem, serve

TIMERS = Actor.system("timers")
Auth = dict[str, str]


def eur(minor: int) -> dict[str, Any]:
    return {"minor": minor, "currency": "EUR"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def escrow_api(clock: ManualClock) -> Iterator[Api]:
    # The embedded timer scheduler is off: the test fires timers itself, after each jump.
    runtime = build_in_memory(Settings(timer_interval_seconds=0), clock=clock)
    with serve(runtime) as api:
        yield api


class Journey:
    """The API plus the clock, and reads of what no HTTP route shows (platform accounts)."""

    def __init__(self, api: Api, clock: ManualClock) -> None:
        self.api, self.clock = api, clock

    @property
    def runtime(self) -> Runtime:
        return self.api.runtime

    def user_id(self, auth: Auth) -> str:
        return str(self.api.get("/v1/me", auth).json()["id"])

    def jump(self, delta: timedelta) -> FireDueTimersResult:
        """Time passes; the scheduler's work is done at once, as the system."""
        self.clock.advance(delta)
        result: FireDueTimersResult = self.runtime.use_cases.fire_due_timers()(
            FireDueTimersCommand(by=TIMERS, correlation_id=correlation_id(None))
        )
        assert result.failed == ()
        return result

    def post_ok(self, path: str, auth: Auth, body: Any = None, *, status: int = 200, key: str | None = None) -> Any:
        answer = self.api.post(path, auth, body, key=key)
        assert answer.status_code == status, answer.text
        return answer.json()

    def contract(self, auth: Auth, contract_id: str) -> Any:
        answer = self.api.get(f"/v1/contracts/{contract_id}", auth)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def earnings(self, auth: Auth) -> dict[str, int]:
        answer = self.api.get("/v1/earnings", auth, params={"currency": "EUR"})
        assert answer.status_code == 200, answer.text
        return {stage: answer.json()[stage]["minor"] for stage in ("pending", "available", "in_transit")}

    def escrow(self, milestone_id: str) -> int:
        with self.runtime.new_unit_of_work() as uow:
            account = uow.book.find_account(
                owner_id=PLATFORM, kind=AccountKinds.ESCROW, currency=Currency("EUR"), label=milestone_id
            )
            return 0 if account is None else int(uow.book.balance(account).minor)

    def fee_revenue(self) -> int:
        with self.runtime.new_unit_of_work() as uow:
            return sum(b.balance.minor for b in uow.accounts.balances() if b.kind is AccountKind.FEE_REVENUE)

    def ledger_total(self) -> int:
        with self.runtime.new_unit_of_work() as uow:
            return sum(b.balance.minor for b in uow.accounts.balances())

    def due(self, days: int) -> str:
        return (self.clock.now() + timedelta(days=days)).isoformat()


def milestone_path(contract_id: str, milestone_id: str, action: str) -> str:
    return f"/v1/contracts/{contract_id}/milestones/{milestone_id}/{action}"


def test_a_client_hires_a_provider_for_two_milestones_and_the_money_lands_exactly(
    escrow_api: Api, clock: ManualClock
) -> None:
    j, api = Journey(escrow_api, clock), escrow_api
    client, provider, stranger = api.user("carla"), api.user("pete", Persona.PROVIDER), api.user("sam")
    wallet = api.wallet(client)
    api.deposit(client, wallet, 2_000_000)  # 20,000.00 EUR

    # The client proposes; the fee (10 %, the default tier) shows before anything is funded.
    proposed = j.post_ok(
        "/v1/contracts",
        client,
        {
            "provider_id": j.user_id(provider),
            "currency": "EUR",
            "milestones": [
                {"title": "Design", "amount": eur(1_200_000), "due_at": j.due(60)},
                {"title": "Build", "amount": eur(300_000), "due_at": j.due(60)},
            ],
        },
        status=201,
    )
    contract_id = proposed["contract_id"]
    design, build = (m["milestone_id"] for m in proposed["milestones"])
    assert proposed["status"] == "proposed"
    assert proposed["fee"] == {"tier": "default", "bps": 1_000, "min_minor": 50, "max_minor": None}
    assert [(m["fee_preview"], m["net_preview"]) for m in proposed["milestones"]] == [
        (eur(120_000), eur(1_080_000)),
        (eur(30_000), eur(270_000)),
    ]
    assert_problem(api.get(f"/v1/contracts/{contract_id}", stranger), 404, "contract_not_found")

    assert j.post_ok(f"/v1/contracts/{contract_id}/accept", provider)["status"] == "active"
    for milestone in (design, build):
        funded = j.post_ok(milestone_path(contract_id, milestone, "fund"), client)
        assert funded["status"] == "funded"
        assert j.post_ok(milestone_path(contract_id, milestone, "submit"), provider)["status"] == "submitted"
    assert j.earnings(client)["available"] == 500_000

    # One approved, one sent back.
    key = "approve-design-0001"
    approved = j.post_ok(milestone_path(contract_id, design, "approve"), client, {}, key=key)
    assert (approved["status"], approved["gross"], approved["fee"], approved["net"]) == (
        "released",
        eur(1_200_000),
        eur(120_000),
        eur(1_080_000),
    )
    assert j.post_ok(milestone_path(contract_id, design, "approve"), client, {}, key=key) == approved  # a replay
    assert_problem(api.post(milestone_path(contract_id, design, "approve"), client, {}), 409, "illegal_transition")
    changes = j.post_ok(milestone_path(contract_id, build, "request-changes"), client)
    assert (changes["status"], changes["held"]) == ("funded", eur(300_000))

    assert j.earnings(client) == {"pending": 0, "available": 500_000, "in_transit": 0}
    assert j.earnings(provider) == {"pending": 1_080_000, "available": 0, "in_transit": 0}
    assert (j.escrow(design), j.escrow(build)) == (0, 300_000)
    assert j.fee_revenue() == 120_000
    milestones = j.contract(client, contract_id)["milestones"]
    assert [(m["status"], m["held"]["minor"], m["changes_requested"]) for m in milestones] == [
        ("released", 0, 0),
        ("funded", 300_000, 1),
    ]

    # Clearing: pending becomes available after five days, not before.
    j.jump(timedelta(days=4, hours=23))
    assert j.earnings(provider)["pending"] == 1_080_000
    j.jump(timedelta(hours=1))
    assert j.earnings(provider) == {"pending": 0, "available": 1_080_000, "in_transit": 0}

    # Auto-release: the provider submits again and the client stays silent for 14 days.
    # The timers armed by the first submissions fall due first and do nothing.
    j.post_ok(milestone_path(contract_id, build, "submit"), provider)
    early = j.jump(timedelta(days=13, hours=23))
    assert [(t.kind, t.outcome) for t in early.fired] == [("escrow.auto_release", "obsolete")] * 2
    assert j.escrow(build) == 300_000
    released = j.jump(timedelta(hours=1))
    assert [(t.kind, t.outcome) for t in released.fired] == [("escrow.auto_release", "released")]
    assert j.contract(provider, contract_id)["milestones"][1]["status"] == "released"
    assert j.escrow(build) == 0
    assert j.fee_revenue() == 150_000
    assert j.earnings(provider) == {"pending": 270_000, "available": 1_080_000, "in_transit": 0}
    assert j.earnings(client)["available"] == 500_000
    assert j.ledger_total() == 0


def test_deadlines_expire_refund_or_release_as_each_milestone_says(escrow_api: Api, clock: ManualClock) -> None:
    j, api = Journey(escrow_api, clock), escrow_api
    client, provider = api.user("carla"), api.user("pete", Persona.PROVIDER)
    api.deposit(client, api.wallet(client), 100_000)
    contract = j.post_ok(
        "/v1/contracts",
        client,
        {
            "provider_id": j.user_id(provider),
            "currency": "EUR",
            "milestones": [
                {"title": "Never funded", "amount": eur(10_000), "due_at": j.due(10)},
                {"title": "Refund on timeout", "amount": eur(20_000), "due_at": j.due(10), "timeout_outcome": "refund"},
                {"title": "Pay on timeout", "amount": eur(30_000), "due_at": j.due(10), "timeout_outcome": "release"},
            ],
        },
        status=201,
    )
    contract_id = contract["contract_id"]
    unfunded, refunded, released = (m["milestone_id"] for m in contract["milestones"])
    j.post_ok(f"/v1/contracts/{contract_id}/accept", provider)
    for milestone in (refunded, released):
        j.post_ok(milestone_path(contract_id, milestone, "fund"), client)
    assert j.earnings(client)["available"] == 50_000

    assert j.jump(timedelta(days=9)).fired == ()
    fired = j.jump(timedelta(days=1))

    assert sorted(t.outcome for t in fired.fired) == ["expired", "refunded", "released"]
    statuses = [m["status"] for m in j.contract(client, contract_id)["milestones"]]
    assert statuses == ["expired", "refunded", "released"]
    assert (j.escrow(unfunded), j.escrow(refunded), j.escrow(released)) == (0, 0, 0)
    assert j.earnings(client)["available"] == 70_000  # the refunded 200.00 came back
    assert j.earnings(provider)["pending"] == 27_000  # 300.00 less the 10 % fee
    assert j.fee_revenue() == 3_000
    assert j.ledger_total() == 0


def test_a_payout_above_the_band_needs_two_distinct_approvers_and_never_its_payee(
    escrow_api: Api, clock: ManualClock
) -> None:
    j, api = Journey(escrow_api, clock), escrow_api
    provider = api.user("pete", Persona.PROVIDER)
    first, second = api.user("fiona", Persona.FINANCE), api.user("frank", Persona.FINANCE)
    wallet = api.wallet(provider)
    api.deposit(provider, wallet, 1_200_000)

    payout = j.post_ok("/v1/payouts", provider, {"amount": eur(1_050_000)}, status=201)  # 10,500.00 EUR
    path = f"/v1/payouts/{payout['payout_id']}"
    assert (payout["status"], payout["required_approvals"]) == ("requested", 2)
    assert j.earnings(provider) == {"pending": 0, "available": 150_000, "in_transit": 1_050_000}

    assert_problem(api.post(f"{path}/approvals", provider), 403, "forbidden")  # the payee
    once = j.post_ok(f"{path}/approvals", first)
    assert (once["status"], once["approvals"]) == ("requested", [j.user_id(first)])
    assert_problem(api.post(f"{path}/approvals", first), 409, "payout_already_approved")
    assert_problem(api.post(f"{path}/execution", first), 409, "illegal_transition")  # one approval is not enough
    twice = j.post_ok(f"{path}/approvals", second)
    assert (twice["status"], twice["approvals"]) == ("approved", [j.user_id(first), j.user_id(second)])

    paid = j.post_ok(f"{path}/execution", first)
    assert paid["status"] == "paid"
    assert paid["reference"]
    assert api.get(path, provider).json() == paid
    assert_problem(api.post(f"{path}/execution", second), 409, "illegal_transition")  # paid once
    assert j.earnings(provider) == {"pending": 0, "available": 150_000, "in_transit": 0}
    assert j.ledger_total() == 0

    # Finance may request for a payee, but then may not approve it: maker is not checker.
    on_behalf = j.post_ok("/v1/payouts", first, {"amount": eur(150_000), "payee_id": j.user_id(provider)}, status=201)
    assert on_behalf["required_approvals"] == 1
    assert_problem(api.post(f"/v1/payouts/{on_behalf['payout_id']}/approvals", first), 403, "payout_self_approval")


def test_support_refunds_and_settles_with_a_reason_the_parties_cannot(escrow_api: Api, clock: ManualClock) -> None:
    j, api = Journey(escrow_api, clock), escrow_api
    client, provider = api.user("carla"), api.user("pete", Persona.PROVIDER)
    support = api.user("sue", Persona.SUPPORT)
    api.deposit(client, api.wallet(client), 100_000)
    contract = j.post_ok(
        "/v1/contracts",
        client,
        {
            "provider_id": j.user_id(provider),
            "currency": "EUR",
            "milestones": [
                {"title": "One", "amount": eur(40_000), "due_at": j.due(30)},
                {"title": "Two", "amount": eur(60_000), "due_at": j.due(30)},
            ],
        },
        status=201,
    )
    contract_id = contract["contract_id"]
    one, two = (m["milestone_id"] for m in contract["milestones"])
    j.post_ok(f"/v1/contracts/{contract_id}/accept", provider)
    for milestone in (one, two):
        j.post_ok(milestone_path(contract_id, milestone, "fund"), client)

    refund = {"reason": "never delivered", "amount": eur(15_000)}
    assert_problem(api.post(milestone_path(contract_id, one, "refund"), client, refund), 403, "forbidden")
    part = j.post_ok(milestone_path(contract_id, one, "refund"), support, refund)
    assert (part["status"], part["held"], part["refunded"]) == ("funded", eur(25_000), eur(15_000))

    hold = j.post_ok(milestone_path(contract_id, two, "dispute-hold"), provider, {"reason": "scope changed"})
    assert hold["status"] == "disputed"
    assert_problem(api.post(milestone_path(contract_id, two, "approve"), client, {}), 409, "illegal_transition")
    uneven = {"release": eur(30_000), "refund": eur(20_000), "reason": "mediated"}
    resolution = milestone_path(contract_id, two, "dispute-hold/resolution")
    assert_problem(api.post(resolution, support, uneven), 422, "settlement_does_not_match_held")
    settled = j.post_ok(resolution, support, {"release": eur(40_000), "refund": eur(20_000), "reason": "mediated"})
    assert (settled["status"], settled["net"], settled["refunded"]) == ("settled", eur(36_000), eur(20_000))

    assert j.earnings(client)["available"] == 100_000 - 100_000 + 15_000 + 20_000
    assert j.earnings(provider)["pending"] == 36_000
    assert (j.escrow(one), j.escrow(two), j.fee_revenue(), j.ledger_total()) == (25_000, 0, 4_000, 0)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {
                "provider_id": "usr_x",
                "currency": "EUR",
                "milestones": [
                    {"title": "t", "amount": {"minor": 1.5, "currency": "EUR"}, "due_at": "2026-03-01T00:00:00+00:00"}
                ],
            },
            "malformed_request",
        ),
        ({"provider_id": "usr_x", "currency": "EUR", "milestones": [], "extra": 1}, "malformed_request"),
        (
            {
                "provider_id": "usr_x",
                "currency": "EUR",
                "milestones": [
                    {
                        "title": "t",
                        "amount": {"minor": 100, "currency": "EUR"},
                        "due_at": "2026-03-01T00:00:00+00:00",
                        "timeout_outcome": "shrug",
                    }
                ],
            },
            "malformed_request",
        ),
    ],
)
def test_a_contract_body_that_does_not_fit_the_schema_is_a_400(
    escrow_api: Api, body: dict[str, Any], code: str
) -> None:
    assert_problem(escrow_api.post("/v1/contracts", escrow_api.user("carla"), body), 400, code)


def test_an_unknown_field_inside_a_milestone_is_a_400(escrow_api: Api, clock: ManualClock) -> None:
    j = Journey(escrow_api, clock)
    client, provider = escrow_api.user("carla"), escrow_api.user("pete", Persona.PROVIDER)
    body = {
        "provider_id": j.user_id(provider),
        "currency": "EUR",
        "milestones": [{"title": "t", "amount": eur(100), "due_at": j.due(3), "auto_release": 3}],
    }
    problem = assert_problem(escrow_api.post("/v1/contracts", client, body), 400, "malformed_request")
    assert problem["errors"] == [{"field": "milestones[0].auto_release", "reason": "unknown field"}]


def test_a_naive_due_date_is_refused_by_the_domain(escrow_api: Api, clock: ManualClock) -> None:
    j = Journey(escrow_api, clock)
    client, provider = escrow_api.user("carla"), escrow_api.user("pete", Persona.PROVIDER)
    naive = datetime(2027, 1, 1).isoformat()
    body = {
        "provider_id": j.user_id(provider),
        "currency": "EUR",
        "milestones": [{"title": "t", "amount": eur(100), "due_at": naive}],
    }
    problem = assert_problem(escrow_api.post("/v1/contracts", client, body), 422, "invalid_input")
    assert problem["errors"][0]["field"] == "milestones[0].due_at"
