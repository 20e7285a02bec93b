"""Each provider built from secrets, pointed at its fake: a charge goes through and the
fake's signed webhook for it verifies; a webhook secret rotated in the environment is
picked up without rebuilding anything."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.payments.providers import adyen_provider, paypal_provider, stripe_provider
from adapters.payments.secrets import EnvSecrets, SecretMissing
from core.payments.domain import ChargeRequest, PaymentId, PaymentMethod, ProviderEventKind, charge_key
from core.shared.money import Money
from tests.fakes.providers import FakeAdyen, FakePayPal, FakeStripe
from tests.fakes.providers.adyen import MERCHANT_ACCOUNT, TEST_HMAC_KEY
from tests.fakes.providers.paypal import CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID
from tests.fakes.providers.stripe import TEST_WEBHOOK_SECRET, sign


def a_charge(token: str) -> ChargeRequest:
    pid = PaymentId("pay_provider_test")
    return ChargeRequest(
        payment_id=pid,
        amount=Money.of(700, "EUR"),
        method=PaymentMethod.CARD,
        country="NL",
        payer_id="usr_1",
        payment_token=token,
        idempotency_key=charge_key(pid),
    )


def test_stripe_from_the_environment_charges_and_follows_a_secret_rotation() -> None:
    environ = {"GIGCORE_STRIPE_API_KEY": "sk_test_env", "GIGCORE_STRIPE_WEBHOOK_SECRETS": "whsec_old"}
    with FakeStripe.running() as fake:
        provider = stripe_provider(EnvSecrets(environ), sandbox=True, base_url=fake.base_url)
        charged = provider.gateway.charge(a_charge("pm_card_visa"))
        body = json.dumps(fake.event("payment_intent.succeeded", fake.intents[charged.provider_reference])).encode()
    now = datetime.now(UTC)
    headers = {"Stripe-Signature": sign(body, TEST_WEBHOOK_SECRET, int(now.timestamp()))}
    with pytest.raises(Exception, match="no Stripe signature matches"):
        provider.verifier.verify(headers, body, now)
    environ["GIGCORE_STRIPE_WEBHOOK_SECRETS"] = f"whsec_old,{TEST_WEBHOOK_SECRET}"
    [event] = provider.verifier.verify(headers, body, now)
    assert (event.kind, event.payment_id, event.provider_reference) == (
        ProviderEventKind.PAYMENT_CAPTURED,
        "pay_provider_test",
        charged.provider_reference,
    )


def test_adyen_from_the_environment_charges_and_verifies_its_notification() -> None:
    environ = {
        "GIGCORE_ADYEN_API_KEY": "AQE_env",
        "GIGCORE_ADYEN_MERCHANT_ACCOUNT": MERCHANT_ACCOUNT,
        "GIGCORE_ADYEN_HMAC_KEYS": TEST_HMAC_KEY,
    }
    with FakeAdyen.running() as fake:
        provider = adyen_provider(EnvSecrets(environ), sandbox=True, base_url=fake.base_url)
        charged = provider.gateway.charge(a_charge("stored_1"))
        item = fake.item(
            "AUTHORISATION", psp=charged.provider_reference, reference="pay_provider_test", value=700, currency="EUR"
        )
    [event] = provider.verifier.verify({}, json.dumps(fake.batch(item)).encode(), datetime.now(UTC))
    assert (event.kind, event.payment_id) == (ProviderEventKind.PAYMENT_CAPTURED, "pay_provider_test")


def test_paypal_from_the_environment_charges_and_verifies_its_webhook() -> None:
    environ = {
        "GIGCORE_PAYPAL_CLIENT_ID": CLIENT_ID,
        "GIGCORE_PAYPAL_CLIENT_SECRET": CLIENT_SECRET,
        "GIGCORE_PAYPAL_WEBHOOK_ID": WEBHOOK_ID,
    }
    with FakePayPal.running() as fake:
        provider = paypal_provider(EnvSecrets(environ), sandbox=True, base_url=fake.base_url)
        charged = provider.gateway.charge(a_charge("vault_1"))
        capture = fake.orders[charged.provider_reference]["purchase_units"][0]["payments"]["captures"][0]
        event = fake.event("PAYMENT.CAPTURE.COMPLETED", capture)
        [verified] = provider.verifier.verify(fake.signed_headers(event), json.dumps(event).encode(), datetime.now(UTC))
    assert (verified.kind, verified.payment_id, verified.provider_reference, verified.amount) == (
        ProviderEventKind.PAYMENT_CAPTURED,
        "pay_provider_test",
        charged.provider_reference,
        Money.of(700, "EUR"),
    )


def test_a_missing_credential_is_named() -> None:
    with pytest.raises(SecretMissing, match="GIGCORE_PAYPAL_CLIENT_ID"):
        paypal_provider(EnvSecrets({}), sandbox=True)


@pytest.mark.parametrize(
    ("build", "present", "missing"),
    [
        (stripe_provider, {"GIGCORE_STRIPE_API_KEY": "sk_test_x"}, ["GIGCORE_STRIPE_WEBHOOK_SECRETS"]),
        (
            adyen_provider,
            {"GIGCORE_ADYEN_API_KEY": "k", "GIGCORE_ADYEN_MERCHANT_ACCOUNT": "M"},
            ["GIGCORE_ADYEN_HMAC_KEYS"],
        ),
        (
            paypal_provider,
            {"GIGCORE_PAYPAL_CLIENT_ID": "id"},
            ["GIGCORE_PAYPAL_CLIENT_SECRET", "GIGCORE_PAYPAL_WEBHOOK_ID"],
        ),
    ],
)
def test_a_missing_webhook_secret_is_named_at_start_with_every_other_missing_one(
    build: Any, present: dict[str, str], missing: list[str]
) -> None:
    # Found at start, not by every webhook delivery answering 400.
    with pytest.raises(SecretMissing) as raised:
        build(EnvSecrets(present), sandbox=True)
    assert all(name in str(raised.value) for name in missing)
    assert not any(name in str(raised.value) for name in present)
