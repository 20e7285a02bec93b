"""Top-ups, payments, refunds and reconciliation over HTTP, with an in-memory provider:
who may do what, problems for bad input, and the default installation (no provider) that
answers no_provider_configured and otherwise works as before."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import TestClient

from core.payments.domain import Route, RoutingPolicy
from core.shared.actor import Persona
from core.shared.time import SystemClock
from entrypoints.container import Runtime, build_in_memory
from entrypoints.http.app import create_app
from tests.unit.http.conftest import Api, assert_problem
from tests.unit.payments.fakes import FakePaymentGateway


@pytest.fixture
def gateway() -> FakePaymentGateway:
    return FakePaymentGateway("stripe", SystemClock().now)


@pytest.fixture
def api(gateway: FakePaymentGateway) -> Iterator[Api]:
    runtime: Runtime = build_in_memory()
    runtime.use_cases.payment_gateways.override(providers.Object({"stripe": gateway}))
    runtime.use_cases.routing_policy.override(providers.Object(RoutingPolicy(routes=(Route(provider="stripe"),))))
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


def top_up_body(minor: Any = 1_500, **extra: Any) -> dict[str, Any]:
    return {"amount": {"minor": minor, "currency": "EUR"}, "country": "NL", "payment_token": "pm_card_visa", **extra}


def test_a_client_tops_up_reads_it_and_finance_refunds_it(api: Api, gateway: FakePaymentGateway) -> None:
    client = api.user("cleo")
    finance = api.user("fin", Persona.FINANCE)
    key = uuid.uuid4().hex
    answer = api.post("/v1/payments/top-ups", client, top_up_body(), key=key)
    assert answer.status_code == 201, answer.text
    payment = answer.json()
    assert (payment["status"], payment["provider"], payment["amount"]) == (
        "captured",
        "stripe",
        {"minor": 1_500, "currency": "EUR"},
    )
    replay = api.post("/v1/payments/top-ups", client, top_up_body(), key=key)
    assert replay.json()["payment_id"] == payment["payment_id"]
    assert len(gateway.charges) == 1

    assert api.get(f"/v1/payments/{payment['payment_id']}", client).json()["status"] == "captured"
    assert api.get(f"/v1/payments/{payment['payment_id']}", finance).status_code == 200
    stranger = api.user("stranger")
    assert_problem(api.get(f"/v1/payments/{payment['payment_id']}", stranger), 404, "payment_not_found")

    body = {"amount": {"minor": 500, "currency": "EUR"}, "reason": "duplicate order"}
    assert_problem(api.post(f"/v1/payments/{payment['payment_id']}/refunds", client, body), 403, "forbidden")
    refunded = api.post(f"/v1/payments/{payment['payment_id']}/refunds", finance, body)
    assert refunded.status_code == 201, refunded.text
    assert refunded.json()["payment"]["status"] == "partially_refunded"
    too_much = {"amount": {"minor": 5_000, "currency": "EUR"}, "reason": "again"}
    assert_problem(
        api.post(f"/v1/payments/{payment['payment_id']}/refunds", finance, too_much), 422, "refund_exceeds_captured"
    )


def test_bad_top_ups_are_problems_not_errors(api: Api) -> None:
    client = api.user("bea")
    assert_problem(api.post("/v1/payments/top-ups", client, top_up_body(15.5)), 400, "malformed_request")
    assert_problem(api.post("/v1/payments/top-ups", client, top_up_body("1500")), 400, "malformed_request")
    assert_problem(api.post("/v1/payments/top-ups", client, top_up_body(card="4242")), 400, "malformed_request")
    assert_problem(api.post("/v1/payments/top-ups", client, top_up_body(method="cash")), 422, "invalid_input")
    assert_problem(api.post("/v1/payments/top-ups", client, top_up_body(0)), 422, "invalid_input")
    no_key = api.client.post("/v1/payments/top-ups", json=top_up_body(), headers=client)
    assert_problem(no_key, 400, "idempotency_key_required")
    assert_problem(api.client.post("/v1/payments/top-ups", json=top_up_body()), 401, "unauthenticated")
    provider = api.user("pro", Persona.PROVIDER)
    assert_problem(api.post("/v1/payments/top-ups", provider, top_up_body()), 403, "forbidden")
    assert_problem(api.get("/v1/payments/pay_nope", client), 404, "payment_not_found")


def test_reconciliation_is_for_finance_and_checks_its_period(api: Api) -> None:
    finance = api.user("fin", Persona.FINANCE)
    client = api.user("cid")
    now = datetime.now(UTC)
    period = {"provider": "stripe", "start": (now - timedelta(days=1)).isoformat(), "end": now.isoformat()}
    assert_problem(api.post("/v1/reconciliations", client, period), 403, "forbidden")
    answer = api.post("/v1/reconciliations", finance, period)
    assert answer.status_code == 200, answer.text
    assert answer.json()["counts"]["discrepancies"] == 0
    as_csv = api.post("/v1/reconciliations?format=csv", finance, period)
    assert (
        as_csv.text.splitlines()[0]
        == "kind,settlement_kind,provider_reference,payment_id,currency,ours_minor,theirs_minor,payout_id"
    )
    backwards = {**period, "start": period["end"], "end": period["start"]}
    assert_problem(api.post("/v1/reconciliations", finance, backwards), 422, "invalid_input")
    assert_problem(api.post("/v1/reconciliations", finance, {**period, "start": "yesterday"}), 422, "invalid_input")
    assert_problem(api.post("/v1/reconciliations", finance, {**period, "provider": "adyen"}), 422, "invalid_input")


def test_without_providers_a_top_up_says_so_and_the_rest_works_as_before() -> None:
    runtime = build_in_memory()
    with TestClient(create_app(runtime)) as client:
        api = Api(client, runtime)
        user = api.user("plain")
        assert_problem(api.post("/v1/payments/top-ups", user, top_up_body()), 422, "no_provider_configured")
        wallet = api.wallet(user)
        api.deposit(api.user("fin", Persona.FINANCE), wallet, 700)
        assert api.get(f"/v1/wallets/{wallet}/balance", user).json()["available"]["minor"] == 700


def _pending_refund(
    api: Api, gateway: FakePaymentGateway, client: dict[str, str], finance: dict[str, str]
) -> tuple[str, str]:
    """A captured top-up with a refund the provider was unavailable for: pending."""
    payment = api.post("/v1/payments/top-ups", client, top_up_body()).json()
    gateway.unavailable = True
    body = {"amount": {"minor": 500, "currency": "EUR"}, "reason": "duplicate order"}
    assert_problem(api.post(f"/v1/payments/{payment['payment_id']}/refunds", finance, body), 503, "gateway_unavailable")
    gateway.unavailable = False
    [refund] = api.get(f"/v1/payments/{payment['payment_id']}", finance).json()["refunds"]
    assert refund["status"] == "pending"
    return str(payment["payment_id"]), str(refund["refund_id"])


def test_finance_records_a_pending_refunds_outcome(api: Api, gateway: FakePaymentGateway) -> None:
    client, finance = api.user("cora"), api.user("fin", Persona.FINANCE)
    payment_id, refund_id = _pending_refund(api, gateway, client, finance)
    path = f"/v1/payments/{payment_id}/refunds/{refund_id}/outcome"
    body = {"status": "failed", "reason": "stripe dashboard shows it failed"}
    assert_problem(api.post(path, client, body), 403, "forbidden")
    assert_problem(api.post(path, api.user("sup", Persona.SUPPORT), body), 403, "forbidden")
    # Still sent by the janitor: recording it failed could pay it twice.
    assert_problem(api.post(path, finance, body), 409, "refund_still_sent")
    body = {**body, "provider_reference": "re_dashboard_1"}  # found at the provider, failed
    key = uuid.uuid4().hex
    answer = api.post(path, finance, body, key=key)
    assert answer.status_code == 200, answer.text
    recorded = answer.json()
    assert (recorded["refund_id"], recorded["status"], recorded["payment"]["status"]) == (
        refund_id,
        "failed",
        "captured",
    )
    replay = api.post(path, finance, body, key=key)
    assert replay.status_code == 200 and replay.json() == recorded
    again = {"status": "succeeded", "reason": "changed my mind", "provider_reference": "re_1"}
    problem = assert_problem(api.post(path, finance, again), 409, "refund_not_pending")
    assert refund_id in problem["detail"]
    assert len(gateway.refunds) == 0  # nothing was ever sent to the provider for it


def test_bad_refund_outcomes_are_problems_not_errors(api: Api, gateway: FakePaymentGateway) -> None:
    client, finance = api.user("cody"), api.user("fin", Persona.FINANCE)
    payment_id, refund_id = _pending_refund(api, gateway, client, finance)
    path = f"/v1/payments/{payment_id}/refunds/{refund_id}/outcome"
    ok = {"status": "succeeded", "reason": "seen in the dashboard"}
    assert_problem(api.post(path, finance, {**ok, "amount": 5}), 400, "malformed_request")
    assert_problem(api.post(path, finance, {"status": "succeeded"}), 400, "malformed_request")
    assert_problem(api.post(path, finance, {**ok, "reason": 7}), 400, "malformed_request")
    assert_problem(api.post(path, finance, {**ok, "status": "pending"}), 422, "invalid_input")
    assert_problem(api.post(path, finance, {**ok, "reason": ""}), 422, "invalid_input")
    assert_problem(api.post(path, finance, {**ok, "reason": "x" * 501}), 422, "invalid_input")
    assert_problem(api.post(path, finance, {**ok, "provider_reference": ""}), 422, "invalid_input")
    assert_problem(api.post(f"/v1/payments/{payment_id}/refunds/rfd_nope/outcome", finance, ok), 422, "invalid_input")
    assert_problem(api.post("/v1/payments/pay_nope/refunds/rfd_nope/outcome", finance, ok), 404, "payment_not_found")
    assert_problem(api.client.post(path, json=ok, headers=finance), 400, "idempotency_key_required")
    assert api.get(f"/v1/payments/{payment_id}", finance).json()["refunds"][0]["status"] == "pending"
    answer = api.post(path, finance, {**ok, "provider_reference": "re_dash_1"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["payment"]["refunds"][0]["provider_reference"] == "re_dash_1"


def test_finance_records_an_unknown_payments_outcome(api: Api, gateway: FakePaymentGateway) -> None:
    client, finance = api.user("cyd"), api.user("fin", Persona.FINANCE)
    gateway.lose_answers = 1
    gateway.lookups_unavailable = True
    payment = api.post("/v1/payments/top-ups", client, top_up_body()).json()
    assert payment["status"] == "unknown"
    path = f"/v1/payments/{payment['payment_id']}/outcome"
    captured = {
        "status": "captured",
        "reason": "stripe dashboard: succeeded",
        "amount": {"minor": 1_500, "currency": "EUR"},
        "provider_reference": "stripe_ch_0001",
    }
    assert_problem(api.post(path, client, captured), 403, "forbidden")
    assert_problem(api.post(path, finance, {**captured, "fee": 1}), 400, "malformed_request")
    assert_problem(
        api.post(path, finance, {**captured, "amount": {"minor": 15.0, "currency": "EUR"}}), 400, "malformed_request"
    )
    assert_problem(api.post(path, finance, {**captured, "status": "refunded"}), 422, "invalid_input")
    assert_problem(api.post(path, finance, {**captured, "amount": None}), 422, "invalid_input")
    assert_problem(
        api.post(path, finance, {**captured, "amount": {"minor": 1_500, "currency": "USD"}}), 422, "invalid_input"
    )
    assert_problem(api.post(path, finance, {"status": "failed", "reason": ""}), 422, "invalid_input")
    assert_problem(api.post("/v1/payments/pay_nope/outcome", finance, captured), 404, "payment_not_found")
    key = uuid.uuid4().hex
    answer = api.post(path, finance, captured, key=key)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["provider_reference"], body["credited"]) == (
        "captured",
        "stripe_ch_0001",
        {"minor": 1_500, "currency": "EUR"},
    )
    assert api.post(path, finance, captured, key=key).json() == body
    failed = {"status": "failed", "reason": "changed my mind"}
    assert_problem(api.post(path, finance, failed), 409, "payment_not_unresolved")
    assert len(gateway.charges) == 1
