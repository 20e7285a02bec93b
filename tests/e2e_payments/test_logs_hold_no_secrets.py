"""No secret and no card data in the logs: the whole sandbox journey (top-ups, declines,
an unavailable provider, forged and valid webhooks, refunds, payouts) runs with logging
configured as in production at debug level, SDK loggers included, and the captured output
is scanned for every configured secret and for anything that looks like a card number."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator

import pytest
import structlog

from core.shared.actor import Persona
from core.shared.money import Money
from entrypoints.logging_setup import configure_logging
from entrypoints.payments_setup import ProviderPayoutGateway
from entrypoints.settings import Settings
from tests.fakes.providers import Fault
from tests.fakes.providers.stripe import sign
from tests.unit.core.world import key
from tests.unit.escrow.world import TIMERS, EscrowWorld

from .conftest import SECRETS, Sandbox, now_ts

PAN = "4111111111111111"  # a client pasting a card number where a token belongs
OTHER_PAN = "5555555555554444"
# A run of digits standing alone: digits inside a random hex id (evt_…, a UUID) are not a
# card number, and a Luhn-valid run turns up there by chance now and then.
_CARD_LIKE = re.compile(r"(?<![0-9A-Za-z_])[3-6](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z_])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_like(text: str) -> list[str]:
    found = []
    for match in _CARD_LIKE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append(digits)
    return found


def test_the_scanner_finds_what_it_looks_for() -> None:
    assert card_like(f"x {PAN} y 4111-1111-1111-1111 z") == [PAN, PAN]
    assert card_like("psp 8815000000010 ts 1764280000000 id 4111111111111112") == []


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    out = io.StringIO()
    configure_logging(Settings(log_format="json", log_level="debug"), stream=out)
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def test_logs_hold_no_configured_secret_and_no_card_number(
    make_sandbox: Callable[..., Sandbox], log_stream: io.StringIO
) -> None:
    sb = make_sandbox(payment_routes="EUR/NL=stripe,adyen;EUR/DE=adyen;EUR/GB=paypal", payout_gateway="stripe")
    client = sb.user("lou")
    finance = sb.user("fin", Persona.FINANCE)

    paid = sb.top_up(client, 1_000, payment_token="pm_card_visa")
    sb.top_up(client, 1_000, country="DE", payment_token="stored_1")
    sb.top_up(client, 1_000, country="GB", method="paypal", payment_token="vault_1")
    sb.top_up(client, 1_000, payment_token="pm_card_chargeDeclined")  # declined
    sb.top_up(client, 1_000, country="DE", payment_token="declined")
    sb.top_up(client, 1_000, country="GB", method="paypal", payment_token="declined")
    sb.top_up(client, 1_000, payment_token=PAN)  # card data where a token belongs
    sb.fakes.stripe.fail_next(Fault.RATE_LIMITED)
    sb.top_up(client, 1_000, payment_token="pm_card_visa")  # rerouted to Adyen
    sb.fakes.stripe.fail_next(Fault.UNAVAILABLE)
    sb.top_up(client, 1_000, payment_token="pm_card_visa")  # a 503: unknown, never rerouted
    sb.fakes.adyen.fail_next(Fault.SERVER_ERROR)
    sb.top_up(client, 1_000, country="DE", payment_token="stored_1")  # answer lost

    # Webhooks: forged ones carrying card data, and a valid one.
    forged = json.dumps({"id": "evt_forged", "type": "payment_intent.succeeded", "card": PAN}).encode()
    assert sb.webhook("stripe", forged, {"Stripe-Signature": sign(forged, "whsec_wrong", now_ts())}).status_code == 400
    adyen_forged = json.dumps({"notificationItems": [{"NotificationRequestItem": {"cardNumber": OTHER_PAN}}]})
    assert sb.webhook("adyen", adyen_forged.encode(), {}).status_code == 400
    assert sb.webhook("paypal", forged, {"PAYPAL-TRANSMISSION-SIG": PAN}).status_code == 400
    [intent] = [i for i in sb.fakes.stripe.intents.values() if i["metadata"]["payment_id"] == paid["payment_id"]]
    valid = json.dumps(sb.fakes.stripe.event("payment_intent.succeeded", intent)).encode()
    secret = SECRETS["GIGCORE_STRIPE_WEBHOOK_SECRETS"]
    assert sb.webhook("stripe", valid, {"Stripe-Signature": sign(valid, secret, now_ts())}).status_code == 200
    sb.settle()

    refund = {"amount": {"minor": 100, "currency": "EUR"}, "reason": "test"}
    assert sb.post(f"/v1/payments/{paid['payment_id']}/refunds", finance, refund).status_code == 201

    assert isinstance(sb.runtime.use_cases.payout_gateway(), ProviderPayoutGateway)  # paying through Stripe
    world = EscrowWorld.over(sb.runtime, sb.clock)
    earner_auth = sb.user("earner", Persona.PROVIDER)
    earner = sb.actor(earner_auth)
    registered = sb.put("/v1/payout-destinations/stripe", earner_auth, {"destination": "acct_1EarnerConnected"})
    assert registered.status_code == 200, registered.text
    world.deposit(earner, world.wallet(earner).wallet_id, Money.of(5_000, "EUR"))
    payout = world.request_payout(earner, Money.of(1_000, "EUR"))
    world.execute_payout(TIMERS, payout.payout_id, key())

    logged = log_stream.getvalue()
    assert "http_request" in logged and "webhook rejected" in logged  # the scan saw real output
    leaked = [name for name, value in SECRETS.items() if value in logged]
    assert leaked == [], f"secrets in the logs: {leaked}"
    assert card_like(logged) == []
