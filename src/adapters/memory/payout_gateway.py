"""``SandboxPayoutGateway``: a payout gateway that moves no real money, for the sandbox
installation, demos and tests. It behaves as a real one must: idempotent per key (a
repeated key answers what the first call did, and pays once), declines that are final
for their key, and outages with an unknown outcome, including the nasty one where the
payment went through but the answer was lost.
"""

from __future__ import annotations

import threading

import attrs

from core.shared.gateways import GatewayDeclined, GatewayUnavailable
from core.shared.money import Money

SANDBOX = "sandbox"


@attrs.frozen
class SandboxPayment:
    reference: str
    payout_id: str
    payee: str
    amount: Money


@attrs.define
class _Outage:
    calls: int
    after_processing: bool


class SandboxPayoutGateway:
    """Thread-safe. Configure behaviour with ``decline_payee``, ``decline_next``,
    ``fail_next`` and ``clear_faults``; inspect ``payments`` (each paid key once) and
    ``calls``."""

    def __init__(self, name: str = SANDBOX) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._answers: dict[str, SandboxPayment | GatewayDeclined] = {}
        self._declined_payees: dict[str, str] = {}
        self._declines_next: list[str] = []
        self._outage: _Outage | None = None
        self._calls = 0

    @property
    def name(self) -> str:
        return self._name

    def decline_payee(self, payee: str, reason: str = "account closed") -> None:
        """Every new payment to ``payee`` is declined from now on."""
        with self._lock:
            self._declined_payees[payee] = reason

    def decline_next(self, reason: str = "declined by the sandbox") -> None:
        """The next new payment is declined."""
        with self._lock:
            self._declines_next.append(reason)

    def fail_next(self, calls: int = 1, *, after_processing: bool = False) -> None:
        """The next ``calls`` calls raise GatewayUnavailable. ``after_processing``: the
        payment is made (and remembered under its key) but the answer is lost, as when a
        connection drops after the gateway committed."""
        with self._lock:
            self._outage = _Outage(calls, after_processing)

    def clear_faults(self) -> None:
        """Forget declines and outages not used up yet (declined payees stay declined)."""
        with self._lock:
            self._declines_next.clear()
            self._outage = None

    @property
    def calls(self) -> int:
        with self._lock:
            return self._calls

    @property
    def payments(self) -> list[SandboxPayment]:
        with self._lock:
            return [a for a in self._answers.values() if isinstance(a, SandboxPayment)]

    def send(self, payout_id: str, payee: str, amount: Money, *, idempotency_key: str) -> str:
        with self._lock:
            self._calls += 1
            outage = self._outage
            if outage is not None and outage.calls > 0:
                outage.calls -= 1
                if outage.after_processing:
                    self._answer(idempotency_key, payout_id, payee, amount)
                raise GatewayUnavailable(self._name)
            answer = self._answer(idempotency_key, payout_id, payee, amount)
        if isinstance(answer, GatewayDeclined):
            raise answer
        return answer.reference

    def _answer(self, key: str, payout_id: str, payee: str, amount: Money) -> SandboxPayment | GatewayDeclined:
        known = self._answers.get(key)
        if known is not None:
            return known  # idempotent: the first answer, whatever it was
        answer: SandboxPayment | GatewayDeclined
        if payee in self._declined_payees:
            answer = GatewayDeclined(self._name, self._declined_payees[payee])
        elif self._declines_next:
            answer = GatewayDeclined(self._name, self._declines_next.pop(0))
        else:
            answer = SandboxPayment(f"sbx_{len(self._answers) + 1:08d}_{key[-8:]}", payout_id, payee, amount)
        self._answers[key] = answer
        return answer
