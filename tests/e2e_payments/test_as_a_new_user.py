"""Issue 5, tried as a new user would: the sandbox switches on, the local fakes as the
providers, everything through the HTTP API the composition root builds.

- a client tops up through each of Stripe, Adyen and PayPal; the provider's answer is lost
  (it charged, then answered 500), so the webhook does the crediting: it arrives three
  times and out of order, and the wallet is credited exactly once; a forged webhook first
  changes nothing; the janitor's later look-up changes nothing either;
- a refund and a payout go through each provider;
- provider A unavailable (it refused the request before processing it, refused the
  connection, or its circuit is open) -> the charge goes through B, never charged twice;
  a 503 to a charge is an unknown outcome: never taken elsewhere, settled by the janitor;
- reconciliation over a period with one planted discrepancy reports exactly it (a payout
  made through the provider in that period is matched too).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from core.escrow.domain import PayoutStatus
from core.payments.domain import ChargeRequest, PaymentId, PaymentMethod, charge_key
from core.shared.actor import Persona
from core.shared.money import Money
from entrypoints.payments_setup import ProviderPayoutGateway
from entrypoints.timer_scheduler import scheduler_for
from tests.fakes.providers import Fault
from tests.fakes.providers.base import a_free_port
from tests.fakes.providers.stripe import TEST_WEBHOOK_SECRET, sign
from tests.unit.core.world import key
from tests.unit.escrow.world import TIMERS, EscrowWorld

from .conftest import ADYEN_API_KEY, Sandbox, day_window, now_ts

# Each country routes to a different provider first (GIGCORE_PAYMENT_ROUTES).
ROUTES = "EUR/NL=stripe,adyen,paypal;EUR/DE=adyen,stripe,paypal;EUR/GB=paypal,stripe,adyen"
COUNTRY = {"stripe": "NL", "adyen": "DE", "paypal": "GB"}
TOKEN = {"stripe": "pm_card_visa", "adyen": "stored_card_1", "paypal": "vault_1"}
METHOD = {"stripe": "card", "adyen": "card", "paypal": "paypal"}
# Payees' accounts at each provider, as they register them (PUT /v1/payout-destinations).
DESTINATION = {
    "stripe": "acct_1EarnerConnected",
    "adyen": "SE322JV223222F5GKQZN8Q4NR",
    "paypal": "earner@payees.example",
}


# ---- each provider's deliveries, built the way the provider signs them -----------------


def stripe_delivery(sb: Sandbox, payment_id: str, event_type: str, status: str) -> Callable[..., Any]:
    [intent] = [i for i in sb.fakes.stripe.intents.values() if i["metadata"].get("payment_id") == payment_id]
    event = sb.fakes.stripe.event(event_type, {**intent, "status": status})
    body = json.dumps(event).encode()

    def deliver(secret: str = TEST_WEBHOOK_SECRET) -> Any:
        headers = {"Stripe-Signature": sign(body, secret, now_ts()), "Content-Type": "application/json"}
        return sb.webhook("stripe", body, headers)

    return deliver


def adyen_delivery(sb: Sandbox, payment_id: str, minor: int, code: str = "AUTHORISATION") -> Callable[..., Any]:
    [psp] = [psp for psp, p in sb.fakes.adyen.payments.items() if p["merchantReference"] == payment_id]
    item = sb.fakes.adyen.item(code, psp=psp, reference=payment_id, value=minor, currency="EUR")

    def deliver(hmac_key: str | None = None) -> Any:
        batch = sb.fakes.adyen.batch(item) if hmac_key is None else sb.fakes.adyen.batch(item, hmac_key=hmac_key)
        return sb.webhook("adyen", json.dumps(batch).encode(), {"Content-Type": "application/json"})

    return deliver


def paypal_delivery(sb: Sandbox, payment_id: str, event_type: str, status: str) -> Callable[..., Any]:
    [order] = [o for o in sb.fakes.paypal.orders.values() if o["purchase_units"][0]["custom_id"] == payment_id]
    [capture] = order["purchase_units"][0]["payments"]["captures"]
    event = sb.fakes.paypal.event(event_type, {**capture, "status": status})

    def deliver(**kwargs: Any) -> Any:
        return sb.webhook("paypal", json.dumps(event).encode(), sb.fakes.paypal.signed_headers(event, **kwargs))

    return deliver


def deliveries(sb: Sandbox, provider: str, payment_id: str, minor: int) -> tuple[Any, Any, Any]:
    """(the capture webhook, a lower-ranked one that arrives late, a forged capture)."""
    if provider == "stripe":
        captured = stripe_delivery(sb, payment_id, "payment_intent.succeeded", "succeeded")
        late = stripe_delivery(sb, payment_id, "payment_intent.processing", "processing")
        return captured, late, lambda: captured(secret="whsec_forged_by_someone")
    if provider == "adyen":
        captured = adyen_delivery(sb, payment_id, minor)
        late = adyen_delivery(sb, payment_id, minor, code="PENDING")
        forged_key = "00" * 32
        return captured, late, lambda: captured(hmac_key=forged_key)
    captured = paypal_delivery(sb, payment_id, "PAYMENT.CAPTURE.COMPLETED", "COMPLETED")
    late = paypal_delivery(sb, payment_id, "PAYMENT.CAPTURE.PENDING", "PENDING")
    return captured, late, lambda: captured(webhook_id="WH-NOT-OURS")


def acknowledged(answer: Any, provider: str) -> None:
    assert answer.status_code == 200, answer.text
    if provider == "adyen":
        assert answer.text == "[accepted]"


# ---- top-ups, webhooks, refunds ----------------------------------------------------


@pytest.mark.parametrize("provider", ["stripe", "adyen", "paypal"])
def test_a_top_up_is_credited_once_by_webhooks_delivered_three_times_out_of_order_and_refunded(
    make_sandbox: Callable[..., Sandbox], provider: str
) -> None:
    sb = make_sandbox(payment_routes=ROUTES)
    client = sb.user("carla")
    finance = sb.user("fin", Persona.FINANCE)
    fake = sb.fakes.by_name(provider)

    # The provider charges, then its answer is lost: the payment is unknown, nothing credited.
    fake.fail_next(Fault.SERVER_ERROR)
    started = sb.top_up(
        client, 2_500, country=COUNTRY[provider], method=METHOD[provider], payment_token=TOKEN[provider]
    )
    payment_id = started["payment_id"]
    assert (started["status"], started["provider"]) == ("unknown", provider)
    assert started["credited"] == {"minor": 0, "currency": "EUR"}
    assert len(fake.charges) == 1
    assert sb.balance(client) == 0

    captured, late, forged = deliveries(sb, provider, payment_id, 2_500)

    # A forged delivery is refused and changes nothing.
    refused = forged()
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "webhook_rejected"
    sb.settle()
    assert sb.payment(client, payment_id)["status"] == "unknown"
    assert sb.balance(client) == 0

    # The real one three times, with a lower-ranked event arriving after it.
    acknowledged(captured(), provider)
    acknowledged(late(), provider)
    acknowledged(captured(), provider)
    sb.settle()
    acknowledged(captured(), provider)
    sb.settle()
    payment = sb.payment(client, payment_id)
    assert payment["status"] == "captured"
    assert payment["credited"] == {"minor": 2_500, "currency": "EUR"}
    assert sb.balance(client) == 2_500

    # The janitor's look-up, when its timer falls due, finds it settled: no second credit.
    sb.clock.advance(timedelta(minutes=2))
    scheduler_for(sb.runtime.use_cases, interval_seconds=60).tick()
    sb.settle()
    assert sb.balance(client) == 2_500
    assert len(fake.charges) == 1

    # A partial refund by finance, through the same provider.
    answer = sb.post(
        f"/v1/payments/{payment_id}/refunds",
        finance,
        {"amount": {"minor": 1_000, "currency": "EUR"}, "reason": "customer asked"},
    )
    assert answer.status_code == 201, answer.text
    refund = answer.json()
    assert sb.balance(client) == 1_500
    assert [m.amount_minor for m in fake.refunds] == [1_000]
    if refund["status"] == "pending":  # Adyen answers "received": its REFUND webhook finishes it
        psp = refund["payment"]["provider_reference"]
        item = sb.fakes.adyen.item(
            "REFUND",
            psp=fake.refunds[0].provider_id,
            reference=refund["refund_id"],
            original=psp,
            value=1_000,
            currency="EUR",
        )
        acknowledged(sb.webhook("adyen", json.dumps(sb.fakes.adyen.batch(item)).encode(), {}), "adyen")
        sb.settle()
    final = sb.payment(client, payment_id)
    assert final["status"] == "partially_refunded"
    assert [(r["amount"]["minor"], r["status"]) for r in final["refunds"]] == [(1_000, "succeeded")]
    assert sb.balance(client) == 1_500


def test_a_paypal_top_up_the_payer_approves_is_captured_by_us_once_and_credited_once(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sb = make_sandbox(payment_routes=ROUTES)
    client = sb.user("pat")
    paypal = sb.fakes.paypal
    started = sb.top_up(client, 1_200, country="GB", method="paypal")  # no vaulted instrument
    assert started["status"] == "requires_action"
    assert started["client_action"]["url"].startswith("https://www.sandbox.paypal.com/")
    payment_id, order_id = started["payment_id"], started["provider_reference"]
    assert paypal.charges == []  # nothing taken until the payer approves and we capture

    # The payer approves on PayPal's page; PayPal tells us, twice.
    approved = paypal.event("CHECKOUT.ORDER.APPROVED", paypal.approve(order_id))
    for _ in range(2):
        acknowledged(sb.webhook("paypal", json.dumps(approved).encode(), paypal.signed_headers(approved)), "paypal")
    sb.settle()
    assert sb.payment(client, payment_id)["status"] == "authorized"
    assert sb.balance(client) == 0

    # Its capture timer is due at once: the next tick captures the order, with our key.
    scheduler = scheduler_for(sb.runtime.use_cases, interval_seconds=60)
    scheduler.tick()
    sb.settle()
    assert sb.payment(client, payment_id)["status"] == "captured"
    assert sb.balance(client) == 1_200
    [taken] = paypal.charges
    assert taken.idempotency_key == f"{payment_id}:capture"

    # PayPal's capture webhook follows (three times); the payer's page asks to capture too.
    [capture] = paypal.orders[order_id]["purchase_units"][0]["payments"]["captures"]
    completed = paypal.event("PAYMENT.CAPTURE.COMPLETED", capture)
    for _ in range(3):
        acknowledged(sb.webhook("paypal", json.dumps(completed).encode(), paypal.signed_headers(completed)), "paypal")
    sb.settle()
    back = sb.post(f"/v1/payments/{payment_id}/capture", client)
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "captured"
    scheduler.tick()
    sb.settle()
    assert len(paypal.charges) == 1
    assert sum(1 for r in paypal.requests if r.path.endswith("/capture")) == 1
    assert sb.balance(client) == 1_200


def test_a_paypal_payer_back_before_the_webhook_gets_the_capture_at_once(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sb = make_sandbox(payment_routes=ROUTES)
    client = sb.user("pia")
    paypal = sb.fakes.paypal
    started = sb.top_up(client, 900, country="GB", method="paypal")
    payment_id, order_id = started["payment_id"], started["provider_reference"]

    # Asking before approving changes nothing and captures nothing.
    early = sb.post(f"/v1/payments/{payment_id}/capture", client)
    assert early.status_code == 200, early.text
    assert early.json()["status"] == "requires_action"
    assert paypal.charges == []
    # Someone else cannot capture it.
    assert sb.post(f"/v1/payments/{payment_id}/capture", sb.user("mal")).status_code == 404

    paypal.approve(order_id)
    back = sb.post(f"/v1/payments/{payment_id}/capture", client)
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "captured"
    assert sb.balance(client) == 900

    # The approval webhook, arriving late, and the timer change nothing.
    approved = paypal.event("CHECKOUT.ORDER.APPROVED", {**paypal.orders[order_id], "status": "APPROVED"})
    acknowledged(sb.webhook("paypal", json.dumps(approved).encode(), paypal.signed_headers(approved)), "paypal")
    sb.settle()
    scheduler_for(sb.runtime.use_cases, interval_seconds=60).tick()
    sb.settle()
    assert len(paypal.charges) == 1 and sb.balance(client) == 900


# ---- payouts -----------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["stripe", "adyen", "paypal"])
def test_a_payout_goes_through_the_configured_provider_once(
    make_sandbox: Callable[..., Sandbox], provider: str
) -> None:
    sb = make_sandbox(payout_gateway=provider)
    configured = sb.runtime.use_cases.payout_gateway()
    assert isinstance(configured, ProviderPayoutGateway) and configured.name == provider
    world = EscrowWorld.over(sb.runtime, sb.clock)
    auth = sb.user("earner", Persona.PROVIDER)
    earner = sb.actor(auth)
    # The payee tells the platform where this provider pays them.
    registered = sb.put(f"/v1/payout-destinations/{provider}", auth, {"destination": DESTINATION[provider]})
    assert registered.status_code == 200, registered.text
    listed = sb.get("/v1/payout-destinations", auth)
    assert listed.status_code == 200, listed.text
    assert [(d["provider"], d["destination"]) for d in listed.json()["destinations"]] == [
        (provider, DESTINATION[provider])
    ]
    world.deposit(earner, world.wallet(earner).wallet_id, Money.of(50_000, "EUR"))

    payout = world.request_payout(earner, Money.of(30_000, "EUR"))
    retry_key = key()
    paid = world.execute_payout(TIMERS, payout.payout_id, retry_key)
    again = world.execute_payout(TIMERS, payout.payout_id, retry_key)  # a retry: answered, not paid again

    assert paid.status is PayoutStatus.PAID and paid.reference is not None
    assert again.reference == paid.reference
    fake = sb.fakes.by_name(provider)
    assert [(m.amount_minor, m.currency) for m in fake.payouts] == [(30_000, "EUR")]
    assert fake.payouts[0].idempotency_key is not None
    assert DESTINATION[provider].encode() in b"".join(r.body for r in fake.requests)  # the registered one


@pytest.mark.parametrize("provider", ["stripe", "paypal"])
def test_a_payee_without_a_destination_is_declined_before_the_provider_and_keeps_the_money(
    make_sandbox: Callable[..., Sandbox], provider: str
) -> None:
    sb = make_sandbox(payout_gateway=provider)
    world = EscrowWorld.over(sb.runtime, sb.clock)
    auth = sb.user("earner", Persona.PROVIDER)
    earner = sb.actor(auth)
    # A destination at another provider does not count.
    other = "adyen"
    assert sb.put(f"/v1/payout-destinations/{other}", auth, {"destination": DESTINATION[other]}).status_code == 200
    world.deposit(earner, world.wallet(earner).wallet_id, Money.of(50_000, "EUR"))
    asked = len(sb.fakes.by_name(provider).requests)

    payout = world.request_payout(earner, Money.of(30_000, "EUR"))
    failed = world.execute_payout(TIMERS, payout.payout_id, key())

    assert failed.status is PayoutStatus.FAILED
    assert failed.failure_reason == f"no payout destination registered for {provider}"
    assert len(sb.fakes.by_name(provider).requests) == asked and sb.fakes.by_name(provider).payouts == []
    assert sb.balance(auth) == 50_000  # back in the wallet


def test_a_destination_in_the_wrong_format_or_from_a_client_is_refused(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox()
    earner = sb.user("earner", Persona.PROVIDER)
    wrong = sb.put("/v1/payout-destinations/stripe", earner, {"destination": "SE322JV223222F5GKQZN8Q4NR"})
    assert wrong.status_code == 422, wrong.text
    assert sb.put("/v1/payout-destinations/bank", earner, {"destination": "x"}).status_code == 422
    assert sb.put("/v1/payout-destinations/stripe", earner, {"destination": 12}).status_code == 400
    extra = sb.put("/v1/payout-destinations/stripe", earner, {"destination": "acct_1A", "payee_id": "usr_x"})
    assert extra.status_code == 400, extra.text  # unknown fields are refused, never bound
    missing_key = sb.client.put("/v1/payout-destinations/stripe", json={"destination": "acct_1A"}, headers=earner)
    assert missing_key.status_code == 400
    client = sb.user("clara", Persona.CLIENT)
    assert sb.put("/v1/payout-destinations/stripe", client, {"destination": "acct_1A"}).status_code == 403
    assert sb.get("/v1/payout-destinations", earner).json() == {"destinations": []}


# ---- routing around an unavailable provider ----------------------------------------


def test_an_unavailable_provider_is_skipped_and_nothing_is_charged_twice(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox(payment_routes="EUR=stripe,adyen", payments_breaker_failures=2)
    client = sb.user("uma")

    # Stripe refuses the request before processing it (429): the charge moves on to Adyen, once.
    sb.fakes.stripe.fail_next(Fault.RATE_LIMITED)
    first = sb.top_up(client, 700, payment_token="stored_card_1")
    assert (first["status"], first["provider"]) == ("captured", "adyen")
    assert sb.fakes.stripe.charges == [] and len(sb.fakes.adyen.charges) == 1

    # A second refusal opens Stripe's circuit ...
    sb.fakes.stripe.fail_next(Fault.RATE_LIMITED)
    second = sb.top_up(client, 800, payment_token="stored_card_1")
    assert second["provider"] == "adyen"
    # ... so the next charge goes straight to Adyen without asking Stripe at all.
    asked = len(sb.fakes.stripe.requests)
    third = sb.top_up(client, 900, payment_token="stored_card_1")
    assert (third["status"], third["provider"]) == ("captured", "adyen")
    assert len(sb.fakes.stripe.requests) == asked
    assert sb.fakes.stripe.charges == []
    assert sorted(m.amount_minor for m in sb.fakes.adyen.charges) == [700, 800, 900]
    assert sb.balance(client) == 2_400


def test_a_provider_that_refuses_connections_is_skipped(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox(payment_routes="EUR=stripe,adyen", stripe_base_url=f"http://127.0.0.1:{a_free_port()}")
    client = sb.user("ugo")
    paid = sb.top_up(client, 600, payment_token="stored_card_1")
    assert (paid["status"], paid["provider"]) == ("captured", "adyen")
    assert len(sb.fakes.adyen.charges) == 1 and sb.balance(client) == 600


def test_a_503_to_a_charge_is_never_taken_elsewhere_the_janitor_settles_it(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    """A 503 may come from behind the part that charged: it is an unknown outcome. The
    payment waits for the janitor, which finds no charge and fails it; Adyen is never asked."""
    sb = make_sandbox(payment_routes="EUR=stripe,adyen")
    client = sb.user("una")
    sb.fakes.stripe.fail_next(Fault.UNAVAILABLE)
    started = sb.top_up(client, 700, payment_token="stored_card_1")
    assert (started["status"], started["provider"]) == ("unknown", "stripe")
    assert sb.fakes.adyen.requests == [] and sb.fakes.stripe.charges == []

    scheduler = scheduler_for(sb.runtime.use_cases, interval_seconds=60)
    for _ in range(4):  # the janitor's look-ups, until the grace for "never reached it" has passed
        sb.clock.advance(timedelta(minutes=16))
        scheduler.tick()
    sb.settle()
    settled = sb.payment(client, started["payment_id"])
    assert settled["status"] == "failed"
    assert sb.fakes.adyen.requests == [] and sb.fakes.stripe.charges == []
    assert sb.balance(client) == 0


def test_with_every_provider_unavailable_the_top_up_fails_and_charges_nothing(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sb = make_sandbox(payment_routes="EUR=stripe,adyen")
    client = sb.user("vic")
    sb.fakes.stripe.fail_next(Fault.RATE_LIMITED)
    sb.fakes.adyen.fail_next(Fault.RATE_LIMITED)
    failed = sb.top_up(client, 700, payment_token="stored_card_1")
    assert failed["status"] == "failed"
    assert sb.fakes.stripe.charges == [] and sb.fakes.adyen.charges == []
    assert sb.balance(client) == 0


# ---- reconciliation ----------------------------------------------------------------


def test_reconciliation_reports_exactly_the_planted_discrepancy(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox(payment_providers="stripe", payment_routes="EUR=stripe", payout_gateway="stripe")
    client = sb.user("rita")
    finance = sb.user("fiona", Persona.FINANCE)
    paid = [sb.top_up(client, minor, payment_token="pm_card_visa") for minor in (1_000, 2_000, 3_000)]
    # A payee is paid out through Stripe in the same period (a transfer to their account).
    world = EscrowWorld.over(sb.runtime, sb.clock)
    payee_auth = sb.user("paula", Persona.PROVIDER)
    payee = sb.actor(payee_auth)
    registered = sb.put("/v1/payout-destinations/stripe", payee_auth, {"destination": DESTINATION["stripe"]})
    assert registered.status_code == 200, registered.text
    world.deposit(payee, world.wallet(payee).wallet_id, Money.of(20_000, "EUR"))
    payout = world.execute_payout(TIMERS, world.request_payout(payee, Money.of(12_500, "EUR")).payout_id, key())
    assert payout.status is PayoutStatus.PAID and (payout.reference or "").startswith("tr_")
    assert [p["status"] for p in paid] == ["captured"] * 3
    refunded = sb.post(
        f"/v1/payments/{paid[0]['payment_id']}/refunds",
        finance,
        {"amount": {"minor": 400, "currency": "EUR"}, "reason": "goodwill"},
    )
    assert refunded.status_code == 201, refunded.text
    # Planted: Stripe settled a charge our books never saw.
    stray = PaymentId("pay_not_in_our_books")
    planted = sb.runtime.use_cases.payment_gateways()["stripe"].charge(
        ChargeRequest(
            payment_id=stray,
            amount=Money.of(999, "EUR"),
            method=PaymentMethod.CARD,
            country="NL",
            payer_id="usr_stranger",
            payment_token="pm_card_visa",
            idempotency_key=charge_key(stray),
        )
    )

    start, end = day_window(sb.clock)
    answer = sb.post("/v1/reconciliations", finance, {"provider": "stripe", "start": start, "end": end})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    discrepancies = [i for i in report["items"] if i["kind"] != "matched"]
    assert discrepancies == [
        {
            "kind": "missing_ours",
            "settlement_kind": "charge",
            "provider_reference": planted.provider_reference,
            "payment_id": "pay_not_in_our_books",
            "currency": "EUR",
            "ours_minor": None,
            "theirs_minor": 999,
            "payout_id": None,
        }
    ]
    assert [i for i in report["items"] if i["settlement_kind"] == "payout"] == [
        {
            "kind": "matched",
            "settlement_kind": "payout",
            "provider_reference": payout.reference,
            "payment_id": None,
            "currency": "EUR",
            "ours_minor": 12_500,
            "theirs_minor": 12_500,
            "payout_id": payout.payout_id,
        }
    ]
    assert report["counts"] == {
        "matched": 5,  # three charges, the refund and the payout
        "missing_ours": 1,
        "missing_theirs": 0,
        "amount_mismatch": 0,
        "discrepancies": 1,
    }

    as_csv = sb.post(
        "/v1/reconciliations",
        finance,
        {"provider": "stripe", "start": start, "end": end},
        headers={"Accept": "text/csv"},
    )
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["kind"], r["provider_reference"]) for r in rows if r["kind"] != "matched"] == [
        ("missing_ours", planted.provider_reference)
    ]

    # A client may not reconcile; nobody may without naming an enabled provider.
    assert sb.post("/v1/reconciliations", client, {"provider": "stripe", "start": start, "end": end}).status_code == 403
    unknown = sb.post("/v1/reconciliations", finance, {"provider": "adyen", "start": start, "end": end})
    assert unknown.status_code == 422, unknown.text


def test_adyen_reconciliation_reads_the_settled_batches_and_reports_exactly_the_planted_discrepancy(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sb = make_sandbox(payment_providers="adyen", payment_routes="EUR=adyen", payout_gateway="adyen")
    client = sb.user("ada")
    finance = sb.user("frank", Persona.FINANCE)
    paid = [sb.top_up(client, minor, country="DE", payment_token=TOKEN["adyen"]) for minor in (1_000, 2_000)]
    assert sb.fakes.adyen.close_batch() == 1  # Adyen pays out the first two in batch 1
    paid.append(sb.top_up(client, 3_000, country="DE", payment_token=TOKEN["adyen"]))
    assert [(p["status"], p["provider"]) for p in paid] == [("captured", "adyen")] * 3
    refunded = sb.post(
        f"/v1/payments/{paid[0]['payment_id']}/refunds",
        finance,
        {"amount": {"minor": 400, "currency": "EUR"}, "reason": "goodwill"},
    )
    assert refunded.status_code == 201, refunded.text
    refund = refunded.json()
    item = sb.fakes.adyen.item(
        "REFUND",
        psp=sb.fakes.adyen.refunds[0].provider_id,
        reference=refund["refund_id"],
        original=refund["payment"]["provider_reference"],
        value=400,
        currency="EUR",
    )
    acknowledged(sb.webhook("adyen", json.dumps(sb.fakes.adyen.batch(item)).encode(), {}), "adyen")
    sb.settle()
    # Planted: Adyen settled a charge our books never saw (in batch 2, with the rest).
    stray = PaymentId("pay_not_in_adyen_books")
    planted = sb.runtime.use_cases.payment_gateways()["adyen"].charge(
        ChargeRequest(
            payment_id=stray,
            amount=Money.of(999, "EUR"),
            method=PaymentMethod.CARD,
            country="DE",
            payer_id="usr_stranger",
            payment_token=TOKEN["adyen"],
            idempotency_key=charge_key(stray),
        )
    )
    # A payout through Adyen in the period: a balance-platform transfer, which the
    # settlement details report never lists, so it is left out (not "missing theirs").
    world = EscrowWorld.over(sb.runtime, sb.clock)
    payee_auth = sb.user("pia", Persona.PROVIDER)
    payee = sb.actor(payee_auth)
    registered = sb.put("/v1/payout-destinations/adyen", payee_auth, {"destination": DESTINATION["adyen"]})
    assert registered.status_code == 200, registered.text
    world.deposit(payee, world.wallet(payee).wallet_id, Money.of(20_000, "EUR"))
    payout = world.execute_payout(TIMERS, world.request_payout(payee, Money.of(12_500, "EUR")).payout_id, key())
    assert payout.status is PayoutStatus.PAID

    start, end = day_window(sb.clock)
    answer = sb.post("/v1/reconciliations", finance, {"provider": "adyen", "start": start, "end": end})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    discrepancies = [i for i in report["items"] if i["kind"] != "matched"]
    assert discrepancies == [
        {
            "kind": "missing_ours",
            "settlement_kind": "charge",
            "provider_reference": planted.provider_reference,
            "payment_id": "pay_not_in_adyen_books",
            "currency": "EUR",
            "ours_minor": None,
            "theirs_minor": 999,
            "payout_id": None,
        }
    ]
    assert [i for i in report["items"] if i["settlement_kind"] == "payout"] == []
    assert report["counts"] == {
        "matched": 4,
        "missing_ours": 1,
        "missing_theirs": 0,
        "amount_mismatch": 0,
        "discrepancies": 1,
    }
    # Both batch files were read (and the walk stopped at the first missing one), with our key.
    downloads = [r for r in sb.fakes.adyen.requests if r.method == "GET"]
    assert [r.path.rsplit("/", 1)[-1] for r in downloads] == [
        f"settlement_detail_report_batch_{n}.csv" for n in (1, 2, 3)
    ]
    assert {r.header("x-api-key") for r in downloads} == {ADYEN_API_KEY}
