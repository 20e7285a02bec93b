"""Which transport failures are an outage (nothing happened) and which an unknown outcome."""

from __future__ import annotations

import http.client

import httpx
import pytest
import requests
import stripe
import urllib3.exceptions

from adapters.payments.transport import failed_before_sending, http_failure, network_failure
from core.shared.gateways import GatewayOutcomeUnknown, GatewayUnavailable


def wrapped_by_requests(reason: Exception) -> requests.exceptions.ConnectionError:
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/v1/x", reason))  # type: ignore[arg-type]


def raised_from(outer: Exception, cause: Exception) -> Exception:
    try:
        raise outer from cause
    except Exception as error:
        return error


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow connect"),
        httpx.PoolTimeout("pool"),
        wrapped_by_requests(urllib3.exceptions.NewConnectionError(None, "Connection refused")),  # type: ignore[arg-type]
        wrapped_by_requests(urllib3.exceptions.NameResolutionError("nowhere.invalid", None, OSError())),  # type: ignore[arg-type]
        requests.exceptions.ConnectTimeout("connect timeout"),
        raised_from(stripe.APIConnectionError("network"), httpx.ConnectError("refused")),
    ],
)
def test_failures_while_connecting_are_an_outage(error: Exception) -> None:
    assert failed_before_sending(error)
    assert isinstance(network_failure("p", error), GatewayUnavailable)


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("no answer"),
        httpx.RemoteProtocolError("server disconnected"),
        httpx.ReadError("reset"),
        requests.exceptions.ReadTimeout("read timeout"),
        wrapped_by_requests(urllib3.exceptions.ProtocolError("Connection aborted.", http.client.RemoteDisconnected())),
        raised_from(stripe.APIConnectionError("network"), httpx.ReadTimeout("no answer")),
        RuntimeError("something nobody classified"),
    ],
)
def test_failures_after_sending_or_unclassified_are_an_unknown_outcome(error: Exception) -> None:
    assert not failed_before_sending(error)
    assert isinstance(network_failure("p", error), GatewayOutcomeUnknown)


@pytest.mark.parametrize(
    ("status", "safely", "expected"),
    [
        (429, False, GatewayUnavailable),
        (503, False, GatewayOutcomeUnknown),  # may come from behind the part that charged
        (503, True, GatewayUnavailable),
        (500, False, GatewayOutcomeUnknown),
        (502, False, GatewayOutcomeUnknown),
        (504, False, GatewayOutcomeUnknown),
        (500, True, GatewayUnavailable),
        (200, False, type(None)),
        (402, False, type(None)),
        (422, False, type(None)),
    ],
)
def test_statuses_map_onto_port_errors(status: int, safely: bool, expected: type) -> None:
    assert isinstance(http_failure("p", status, sent_safely=safely), expected)
