"""The payments HTTP routes over an in-memory runtime with all three providers enabled
(credentials in a secrets directory; PayPal's webhook verification posts back to a local
fake), served by the app the composition root builds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from attrs import define
from litestar.testing import TestClient

from core.identity.use_cases.create_user import CreateUserCommand
from core.identity.use_cases.issue_api_token import IssueApiTokenCommand
from core.shared.actor import Actor, Persona
from core.shared.ids import correlation_id, idempotency_key
from entrypoints.container import Runtime, build
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.fakes.providers import FakePayPal
from tests.fakes.providers.adyen import MERCHANT_ACCOUNT, TEST_HMAC_KEY
from tests.fakes.providers.paypal import CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID
from tests.fakes.providers.stripe import TEST_WEBHOOK_SECRET

SYSTEM = Actor.system("test")
SECRETS = {
    "GIGCORE_STRIPE_API_KEY": "sk_test_unit_http_Vb7nQ2xC",
    "GIGCORE_STRIPE_WEBHOOK_SECRETS": TEST_WEBHOOK_SECRET,
    "GIGCORE_ADYEN_API_KEY": "AQE_unit_http_adyen_Kp4sD8",
    "GIGCORE_ADYEN_MERCHANT_ACCOUNT": MERCHANT_ACCOUNT,
    "GIGCORE_ADYEN_HMAC_KEYS": TEST_HMAC_KEY,
    "GIGCORE_PAYPAL_CLIENT_ID": CLIENT_ID,
    "GIGCORE_PAYPAL_CLIENT_SECRET": CLIENT_SECRET,
    "GIGCORE_PAYPAL_WEBHOOK_ID": WEBHOOK_ID,
}


@define
class PaymentsApi:
    runtime: Runtime
    client: TestClient[Any]
    paypal: FakePayPal

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

    def post(self, path: str, auth: dict[str, str], json: Any = None, **kw: Any) -> Any:
        headers = {**auth, "Idempotency-Key": uuid.uuid4().hex, **kw.pop("headers", {})}
        return self.client.post(path, json=json, headers=headers, **kw)

    def stored_events(self) -> int:
        return len(self.runtime.persistence.store().payments_tables.events)


def write_secrets(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, value in SECRETS.items():
        (directory / name).write_text(value, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def payments_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PaymentsApi]:
    secrets = write_secrets(tmp_path_factory.mktemp("payments-http") / "secrets")
    with FakePayPal.running() as paypal:
        settings = Settings(
            database_url="memory://",
            payment_providers="stripe,adyen,paypal",
            paypal_base_url=paypal.base_url,
            stripe_base_url="http://127.0.0.1:9",  # never called by these tests
            adyen_base_url="http://127.0.0.1:9",
            secrets_dir=str(secrets),
            timer_interval_seconds=0,
        )
        runtime = build(settings)
        runtime.start()
        try:
            yield PaymentsApi(runtime, TestClient(create_app(runtime)), paypal)
        finally:
            runtime.stop()
