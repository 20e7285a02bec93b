"""Direct PayPal REST calls for what ``paypal-server-sdk`` does not cover (webhook
verification, payouts): an httpx client with short timeouts, an OAuth client-credentials
token cached until shortly before it expires, and failures translated into port errors.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import attrs
import httpx

from core.shared.gateways import GatewayDeclined, GatewayOutcomeUnknown, GatewayUnavailable

from .transport import KEY_REUSED_CODES, failed_before_sending, http_failure

PROVIDER = "paypal"
SANDBOX_URL = "https://api-m.sandbox.paypal.com"
LIVE_URL = "https://api-m.paypal.com"


@attrs.frozen(kw_only=True, repr=False)
class PayPalCredentials:
    client_id: str
    client_secret: str

    def __repr__(self) -> str:  # never print the secret
        return "PayPalCredentials(client_id=…, client_secret=…)"


def default_base_url(*, sandbox: bool) -> str:
    return SANDBOX_URL if sandbox else LIVE_URL


class PayPalRest:
    """A small, thread-safe PayPal REST client. ``transport`` lets tests substitute one."""

    def __init__(
        self,
        *,
        base_url: str,
        credentials: PayPalCredentials,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._credentials = credentials
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            transport=transport,
            follow_redirects=False,
        )
        self._lock = threading.Lock()
        self._token: tuple[str, float] | None = None

    def close(self) -> None:
        self._client.close()

    def _access_token(self, *, renew: bool = False) -> str:
        with self._lock:
            if self._token is not None and not renew and self._token[1] > time.monotonic():
                return self._token[0]
            response = self._send(
                "POST",
                "/v1/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(self._credentials.client_id, self._credentials.client_secret),
                safe_to_retry=True,
            )
            if response.status_code != 200:
                # bad credentials are our configuration, not the payer's fault: an outage for routing
                raise GatewayUnavailable(PROVIDER)
            body = _json(response)
            token = body.get("access_token")
            expires_in = body.get("expires_in", 300)
            if not isinstance(token, str) or not isinstance(expires_in, int):
                raise GatewayUnavailable(PROVIDER)
            self._token = (token, time.monotonic() + max(expires_in - 60, 30))
            return token

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: object = None,
        raw_json: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        safe_to_retry: bool = False,
    ) -> httpx.Response:
        """One authorised call; a 401 renews the token once. ``safe_to_retry`` marks calls
        without side effects (verification, reads): their lost answers are an outage, not an
        unknown outcome. Raises GatewayUnavailable / GatewayOutcomeUnknown; returns any other
        response for the caller to read."""
        for renew in (False, True):
            all_headers = {"Authorization": f"Bearer {self._access_token(renew=renew)}", **(headers or {})}
            if raw_json is not None:
                all_headers["Content-Type"] = "application/json"
                response = self._send(method, path, content=raw_json, headers=all_headers, safe_to_retry=safe_to_retry)
            else:
                response = self._send(method, path, json=json_body, headers=all_headers, safe_to_retry=safe_to_retry)
            if response.status_code != 401:
                return response
        raise GatewayUnavailable(PROVIDER)

    def _send(self, method: str, path: str, *, safe_to_retry: bool, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            if safe_to_retry or failed_before_sending(error):
                raise GatewayUnavailable(PROVIDER) from None
            raise GatewayOutcomeUnknown(PROVIDER) from None
        failure = http_failure(PROVIDER, response.status_code, sent_safely=safe_to_retry)
        if failure is not None:
            raise failure
        return response


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def declined_from(response: httpx.Response) -> GatewayDeclined | GatewayOutcomeUnknown:
    """The port error for a 4xx answer to a POST: a decline, except our key used before
    with another body (DUPLICATE_REQUEST_ID), whose outcome we cannot know."""
    body = _json(response)
    details = body.get("details")
    issue = details[0].get("issue") if isinstance(details, list) and details and isinstance(details[0], dict) else None
    if issue in KEY_REUSED_CODES:
        return GatewayOutcomeUnknown(PROVIDER)
    reason = issue or body.get("name") or f"HTTP {response.status_code}"
    return GatewayDeclined(PROVIDER, str(reason)[:200])


json_of = _json
