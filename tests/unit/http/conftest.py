"""The HTTP API against the in-memory runtime, with users bootstrapped through the use
cases by the system actor, as the CLI would."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from attrs import define
from litestar.testing import TestClient

from core.identity.use_cases.create_user import CreateUserCommand
from core.identity.use_cases.issue_api_token import IssueApiTokenCommand
from core.shared.actor import Actor, Persona
from core.shared.ids import correlation_id, idempotency_key
from entrypoints.container import Runtime, build_in_memory
from entrypoints.http.app import create_app

SYSTEM = Actor.system("test")


def new_key() -> str:
    return uuid.uuid4().hex


@define
class Api:
    """A test client plus the runtime behind it, speaking the API's language."""

    client: TestClient[Any]
    runtime: Runtime

    def user(self, handle: str, *personas: Persona) -> dict[str, str]:
        """Create a user with a fresh token; returns the Authorization header to use."""
        uc = self.runtime.use_cases
        view = uc.create_user()(
            CreateUserCommand(
                by=SYSTEM,
                idempotency_key=idempotency_key(new_key()),
                correlation_id=correlation_id(None),
                handle=handle,
                display_name=handle.title(),
                personas=frozenset(personas or (Persona.CLIENT,)),
            )
        )
        issued = uc.issue_api_token()(
            IssueApiTokenCommand(
                by=SYSTEM,
                idempotency_key=idempotency_key(new_key()),
                correlation_id=correlation_id(None),
                user=view.user_id,
            )
        )
        assert issued.token is not None
        return {"Authorization": f"Bearer {issued.token}"}

    def post(self, path: str, auth: dict[str, str], json: Any = None, *, key: str | None = None, **kw: Any) -> Any:
        headers = {**auth, "Idempotency-Key": key or new_key(), **kw.pop("headers", {})}
        return self.client.post(path, json=json, headers=headers, **kw)

    def get(self, path: str, auth: dict[str, str], **kw: Any) -> Any:
        return self.client.get(path, headers={**auth, **kw.pop("headers", {})}, **kw)

    def wallet(self, auth: dict[str, str], currency: str = "EUR") -> str:
        answer = self.post("/v1/wallets", auth, {"currency": currency})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["wallet_id"])

    def deposit(self, auth: dict[str, str], wallet_id: str, minor: int, currency: str = "EUR") -> Any:
        answer = self.post(
            f"/v1/wallets/{wallet_id}/deposits", auth, {"amount": {"minor": minor, "currency": currency}}
        )
        assert answer.status_code == 201, answer.text
        return answer


@contextmanager
def serve(runtime: Runtime) -> Iterator[Api]:
    """The app over ``runtime``, its lifespan running (started and stopped)."""
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


@pytest.fixture
def runtime() -> Runtime:
    return build_in_memory()


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with serve(runtime) as served:
        yield served


def assert_problem(answer: Any, status: int, code: str) -> dict[str, Any]:
    """The answer is an RFC 9457 problem with this status and code; returns its body."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert {"type", "title", "status", "detail", "code", "instance", "correlation_id"} <= body.keys()
    assert body["correlation_id"] == answer.headers["x-request-id"]
    return dict(body)
