"""Drill e: ``/health/ready`` turns 503 within a few seconds when PostgreSQL or RabbitMQ
goes away and back to 200 when it returns. The services are taken away from this app
only, by a TCP proxy in front of each (the real servers stay up for the other tests)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from litestar.testing import TestClient

from entrypoints.container import build
from entrypoints.http.app import create_app
from tests.drills.conftest import producer_settings
from tests.support.tcp_proxy import TcpProxy, tcp_proxy

WITHIN = 5.0  # seconds: "within a few seconds"


def _via(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{credentials}127.0.0.1:{proxy.port}"))


@pytest.fixture
def proxied(database_url: str, broker_url: str) -> Iterator[tuple[Any, TcpProxy, TcpProxy]]:
    pg, amqp = urlsplit(database_url), urlsplit(broker_url)
    with (
        tcp_proxy(pg.hostname or "127.0.0.1", pg.port or 5432) as db_proxy,
        tcp_proxy(amqp.hostname or "127.0.0.1", amqp.port or 5672) as broker_proxy,
    ):
        runtime = build(producer_settings(_via(database_url, db_proxy), _via(broker_url, broker_proxy)))
        with TestClient(create_app(runtime)) as client:
            yield client, db_proxy, broker_proxy


def _ready_becomes(client: Any, status: int, *, check: str, check_status: str) -> tuple[float, dict[str, Any]]:
    """Poll until /health/ready answers ``status`` with ``check`` in ``check_status``;
    returns how long that took and the answer. Each answer itself must come within 2.5 s."""
    started = time.monotonic()
    while True:
        asked = time.monotonic()
        answer = client.get("/health/ready")
        assert time.monotonic() - asked < 2.5, "a readiness answer took longer than its bound"
        body = answer.json()
        if answer.status_code == status and body["checks"][check]["status"] == check_status:
            return time.monotonic() - started, body
        if time.monotonic() - started > WITHIN + 5:
            raise AssertionError(f"/health/ready never became {status} with {check} {check_status}: {body}")
        time.sleep(0.2)


@pytest.mark.parametrize("hang", [False, True], ids=["refused", "hanging"])
def test_readiness_follows_the_database_and_the_broker(proxied: tuple[Any, TcpProxy, TcpProxy], hang: bool) -> None:
    client, db_proxy, broker_proxy = proxied
    took, body = _ready_becomes(client, 200, check="database", check_status="up")
    assert body["status"] == "ready" and body["checks"]["broker"]["status"] == "up"

    db_proxy.down(hang=hang)
    took, body = _ready_becomes(client, 503, check="database", check_status="down")
    assert took < WITHIN, took
    assert body["status"] == "not_ready" and body["checks"]["database"]["required"] is True
    assert "127.0.0.1" not in str(body) and "postgres" not in str(body)  # no addresses, no URLs
    db_proxy.up()
    took, _ = _ready_becomes(client, 200, check="database", check_status="up")
    assert took < WITHIN, took

    broker_proxy.down(hang=hang)
    took, body = _ready_becomes(client, 503, check="broker", check_status="down")
    assert took < WITHIN, took
    assert body["checks"]["database"]["status"] == "up"
    broker_proxy.up()
    took, body = _ready_becomes(client, 200, check="broker", check_status="up")
    assert took < WITHIN, took
    assert body["checks"]["worker"]["required"] is False  # no worker runs here: informational only
