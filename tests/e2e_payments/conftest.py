"""A sandbox installation as a new user would configure it: the three provider fakes on
the loopback interface, ``GIGCORE_*`` settings pointing each provider's base URL at its
fake, credentials in a secrets directory (one file per name), and the HTTP API over the
runtime built by the one composition root."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from attrs import define
from litestar.testing import TestClient

from core.identity.use_cases.create_user import CreateUserCommand
from core.identity.use_cases.issue_api_token import IssueApiTokenCommand
from core.shared.actor import Actor, Persona
from core.shared.ids import correlation_id, idempotency_key
from core.shared.time import ManualClock
from entrypoints.container import Runtime, build
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.fakes.providers import FakeAdyen, FakePayPal, FakeStripe
from tests.fakes.providers.adyen import MERCHANT_ACCOUNT, TEST_HMAC_KEY
from tests.fakes.providers.paypal import CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID
from tests.fakes.providers.stripe import TEST_WEBHOOK_SECRET

SYSTEM = Actor.system("test")
STRIPE_API_KEY = "sk_test_e2e_Zq8YtR5pWm3kLx9v"  # scanned for in the logs
ADYEN_API_KEY = "AQE_e2e_adyen_api_key_Hj3kL9mN"
SECRETS = {
    "GIGCORE_STRIPE_API_KEY": STRIPE_API_KEY,
    "GIGCORE_STRIPE_WEBHOOK_SECRETS": TEST_WEBHOOK_SECRET,
    "GIGCORE_ADYEN_API_KEY": ADYEN_API_KEY,
    "GIGCORE_ADYEN_MERCHANT_ACCOUNT": MERCHANT_ACCOUNT,
    "GIGCORE_ADYEN_HMAC_KEYS": TEST_HMAC_KEY,
    "GIGCORE_ADYEN_BALANCE_ACCOUNT": "BA_e2e_platform",
    "GIGCORE_PAYPAL_CLIENT_ID": CLIENT_ID,
    "GIGCORE_PAYPAL_CLIENT_SECRET": CLIENT_SECRET,
    "GIGCORE_PAYPAL_WEBHOOK_ID": WEBHOOK_ID,
}


@define
class Fakes:
    stripe: FakeStripe
    adyen: FakeAdyen
    paypal: FakePayPal

    def by_name(self, name: str) -> Any:
        return getattr(self, name)


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    with FakeStripe.running() as stripe, FakeAdyen.running() as adyen, FakePayPal.running() as paypal:
        yield Fakes(stripe, adyen, paypal)


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "secrets"
    directory.mkdir()
    for name, value in SECRETS.items():
        (directory / name).write_text(value + "\n", encoding="utf-8")
    return directory


@define
class Sandbox:
    """The runtime, its HTTP API (lifespan not run: events are dispatched by hand) and
    helpers that speak as a client, a provider and staff would."""

    runtime: Runtime
    client: TestClient[Any]
    clock: ManualClock
    fakes: Fakes

    def user(self, handle: str, *personas: Persona) -> dict[str, str]:
        uc = self.runtime.use_cases
        view = uc.create_user()(
            CreateUserCommand(
                by=SYSTEM,
                idempotency_key=idempotency_key(uuid.uuid4().hex),
                correlation_id=correlation_id(None),
                handle=handle,
                display_name=handle.title(),
                personas=frozenset(personas or (Persona.CLIENT,)),
            )
        )
        issued = uc.issue_api_token()(
            IssueApiTokenCommand(
                by=SYSTEM,
                idempotency_key=idempotency_key(uuid.uuid4().hex),
                correlation_id=correlation_id(None),
                user=view.user_id,
            )
        )
        assert issued.token is not None
        return {"Authorization": f"Bearer {issued.token}"}

    def actor(self, auth: dict[str, str]) -> Actor:
        actor: Actor = self.runtime.use_cases.authenticate_token()(auth["Authorization"].removeprefix("Bearer "))
        return actor

    def post(self, path: str, auth: dict[str, str], json: Any = None, **kw: Any) -> Any:
        headers = {**auth, "Idempotency-Key": kw.pop("key", None) or uuid.uuid4().hex, **kw.pop("headers", {})}
        return self.client.post(path, json=json, headers=headers, **kw)

    def get(self, path: str, auth: dict[str, str]) -> Any:
        return self.client.get(path, headers=auth)

    def put(self, path: str, auth: dict[str, str], json: Any = None, **kw: Any) -> Any:
        headers = {**auth, "Idempotency-Key": kw.pop("key", None) or uuid.uuid4().hex, **kw.pop("headers", {})}
        return self.client.put(path, json=json, headers=headers, **kw)

    def top_up(self, auth: dict[str, str], minor: int, **body: Any) -> dict[str, Any]:
        answer = self.post(
            "/v1/payments/top-ups",
            auth,
            {"amount": {"minor": minor, "currency": "EUR"}, "country": "NL", **body},
        )
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def payment(self, auth: dict[str, str], payment_id: str) -> dict[str, Any]:
        answer = self.get(f"/v1/payments/{payment_id}", auth)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def balance(self, auth: dict[str, str], currency: str = "EUR") -> int:
        """The user's wallet balance in minor units (0 without a wallet)."""
        answer = self.get("/v1/wallets", auth)
        assert answer.status_code == 200, answer.text
        wallets = [w for w in answer.json()["wallets"] if w["currency"] == currency]
        return sum(int(w["balance"]["minor"]) for w in wallets)

    def webhook(self, provider: str, body: bytes, headers: dict[str, str]) -> Any:
        return self.client.post(f"/v1/webhooks/{provider}", content=body, headers=headers)

    def settle(self) -> int:
        """Deliver the committed events to their consumers now (what `gigcore serve` does
        in the background)."""
        return self.runtime.dispatch_events()


def sandbox_settings(fakes: Fakes, secrets: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": "memory://",
        "payment_providers": "stripe,adyen,paypal",
        "stripe_base_url": fakes.stripe.base_url,
        "adyen_base_url": fakes.adyen.base_url,
        "paypal_base_url": fakes.paypal.base_url,
        "secrets_dir": str(secrets),
        "timer_interval_seconds": 0,
        "escrow_clearing_days": 0,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture(params=["memory", "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every journey runs on the in-memory installation and on SQLite (migrated at start)."""
    return "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/gigcore.sqlite3"


@pytest.fixture
def make_sandbox(fakes: Fakes, secrets_dir: Path, database_url: str) -> Iterator[Callable[..., Sandbox]]:
    made: list[Sandbox] = []

    def make(**overrides: Any) -> Sandbox:
        # Real time (the providers sign with it), moved on by hand when a test needs it.
        clock = ManualClock(datetime.now(UTC))
        settings = sandbox_settings(fakes, secrets_dir, database_url=database_url, **overrides)
        runtime = build(settings, clock=clock)
        runtime.start()
        sandbox = Sandbox(runtime, TestClient(create_app(runtime)), clock, fakes)
        made.append(sandbox)
        return sandbox

    yield make
    for sandbox in made:
        sandbox.runtime.stop()


def now_ts() -> int:
    return int(time.time())


def day_window(clock: ManualClock) -> tuple[str, str]:
    now = clock.now()
    return (now - timedelta(hours=12)).isoformat(), (now + timedelta(hours=12)).isoformat()
