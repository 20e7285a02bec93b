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
