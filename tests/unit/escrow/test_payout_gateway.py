"""The PayoutGateway contract: what every adapter must do (the sandbox now; real
gateways later, against their test environments). Base class without a Test prefix,
one subclass per adapter, as in tests/contract."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.memory import SandboxPayoutGateway
from core.escrow.ports import PayoutGateway
from core.shared.gateways import GatewayDeclined, GatewayUnavailable
from core.shared.money import Money

EUR = Money.of(1_000, "EUR")


class PayoutGatewayContract:
    """Subclasses supply ``make_gateway`` and ``force_decline``/``force_outage`` hooks
    that make the next payment fail the way a real gateway's test environment can."""

    @pytest.fixture
    def gateway(self) -> PayoutGateway:
        raise NotImplementedError

    @pytest.fixture
    def force_decline(self, gateway: PayoutGateway) -> Callable[[], None]:
        raise NotImplementedError

    @pytest.fixture
    def force_outage(self, gateway: PayoutGateway) -> Callable[[bool], None]:
        raise NotImplementedError

    def test_a_payment_returns_a_reference(self, gateway: PayoutGateway) -> None:
        assert gateway.send("pay_1", "usr_a", EUR, idempotency_key="pay_1")

    def test_the_same_key_pays_once_and_answers_the_same_reference(self, gateway: PayoutGateway) -> None:
        first = gateway.send("pay_1", "usr_a", EUR, idempotency_key="pay_1")
        assert gateway.send("pay_1", "usr_a", EUR, idempotency_key="pay_1") == first

    def test_different_keys_are_different_payments(self, gateway: PayoutGateway) -> None:
        a = gateway.send("pay_1", "usr_a", EUR, idempotency_key="pay_1")
        b = gateway.send("pay_2", "usr_a", EUR, idempotency_key="pay_2")
        assert a != b

    def test_a_decline_is_final_for_its_key(self, gateway: PayoutGateway, force_decline: Callable[[], None]) -> None:
        force_decline()
        with pytest.raises(GatewayDeclined) as first:
            gateway.send("pay_1", "usr_a", EUR, idempotency_key="pay_1")
        with pytest.raises(GatewayDeclined) as again:
            gateway.send("pay_1", "usr_a", EUR, idempotency_key="pay_1")
        assert first.value == again.value
        assert first.value.gateway == gateway.name

    @pytest.mark.parametrize("after_processing", [False, True])
    def test_after_an_outage_a_retry_with_the_same_key_pays_once(
        self, gateway: PayoutGateway, force_outage: Callable[[bool], None], after_processing: bool
    ) -> None:
        force_outage(after_processing)
        with pytest.raises(GatewayUnavailable):
            gateway.send("pay_1", "usr_a", EUR, idempotency_key="pay_1")
        reference = gateway.send("pay_1", "usr_a", EUR, idempotency_key="pay_1")
        assert gateway.send("pay_1", "usr_a", EUR, idempotency_key="pay_1") == reference


class TestSandboxPayoutGateway(PayoutGatewayContract):
    @pytest.fixture
    def gateway(self) -> SandboxPayoutGateway:
        return SandboxPayoutGateway()

    @pytest.fixture
    def force_decline(self, gateway: SandboxPayoutGateway) -> Callable[[], None]:
        return gateway.decline_next

    @pytest.fixture
    def force_outage(self, gateway: SandboxPayoutGateway) -> Callable[[bool], None]:
        return lambda after: gateway.fail_next(1, after_processing=after)

    def test_each_key_is_paid_once(self, gateway: SandboxPayoutGateway) -> None:
        gateway.fail_next(1, after_processing=True)
        with pytest.raises(GatewayUnavailable):
            gateway.send("pay_1", "usr_a", EUR, idempotency_key="pay_1")
        gateway.send("pay_1", "usr_a", EUR, idempotency_key="pay_1")
        gateway.send("pay_2", "usr_b", EUR, idempotency_key="pay_2")
        assert [(p.payout_id, p.payee) for p in gateway.payments] == [("pay_1", "usr_a"), ("pay_2", "usr_b")]
        assert gateway.calls == 3

    def test_a_declined_payee_stays_declined(self, gateway: SandboxPayoutGateway) -> None:
        gateway.decline_payee("usr_a", "closed")
        for n in range(2):
            with pytest.raises(GatewayDeclined):
                gateway.send(f"pay_{n}", "usr_a", EUR, idempotency_key=f"pay_{n}")
        assert gateway.send("pay_9", "usr_b", EUR, idempotency_key="pay_9")
