from __future__ import annotations

import threading

import pytest

from core.ledger.domain import InsufficientFunds
from core.ledger.use_cases.get_statement import GetStatementQuery
from core.shared.idempotency import IdempotencyKeyReused, fingerprint
from core.shared.ids import idempotency_key
from tests.unit.core.world import World, eur, key


def entries(world: World, actor, wallet_id) -> int:  # type: ignore[no-untyped-def]
    return len(world.uc.get_statement()(GetStatementQuery(by=actor, wallet_id=wallet_id, limit=200)).lines)


def test_a_replay_returns_the_first_result_without_a_second_effect(world: World) -> None:
    alice = world.user("alice")
    wa = world.wallet(alice)
    k = key()
    first = world.deposit(alice, wa.wallet_id, eur(500), k)
    second = world.deposit(alice, wa.wallet_id, eur(500), k)
    assert second == first
    assert world.balance(alice, wa.wallet_id) == eur(500)
    assert entries(world, alice, wa.wallet_id) == 1


def test_the_same_key_with_another_payload_is_a_conflict(world: World) -> None:
    alice = world.user("alice")
    wa = world.wallet(alice)
    k = key()
    world.deposit(alice, wa.wallet_id, eur(500), k)
    with pytest.raises(IdempotencyKeyReused):
        world.deposit(alice, wa.wallet_id, eur(501), k)
    assert world.balance(alice, wa.wallet_id) == eur(500)


def test_keys_are_scoped_to_the_actor(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    wa, wb = world.wallet(alice), world.wallet(bob)
    k = key()
    world.deposit(alice, wa.wallet_id, eur(5), k)
    world.deposit(bob, wb.wallet_id, eur(7), k)
    assert (world.balance(alice, wa.wallet_id), world.balance(bob, wb.wallet_id)) == (eur(5), eur(7))


def test_a_refused_command_leaves_its_key_free_for_a_corrected_retry(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    wa, wb = world.wallet(alice), world.wallet(bob)
    k = key()
    with pytest.raises(InsufficientFunds):
        world.transfer(alice, wa.wallet_id, wb.wallet_id, eur(50), k)
    world.deposit(alice, wa.wallet_id, eur(100))
    result = world.transfer(alice, wa.wallet_id, wb.wallet_id, eur(50), k)
    assert result.from_balance == eur(50)


def test_concurrent_requests_with_one_key_execute_once(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    wa, wb = world.wallet(alice), world.wallet(bob)
    world.deposit(alice, wa.wallet_id, eur(1_000))
    k = key()
    results, errors = [], []
    start = threading.Barrier(8)

    def send() -> None:
        start.wait()
        try:
            results.append(world.transfer(alice, wa.wallet_id, wb.wallet_id, eur(100), k))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({r.entry_id for r in results}) == 1
    assert world.balance(alice, wa.wallet_id) == eur(900)


@pytest.mark.parametrize("bad", ["", "short", "has space in it", "x" * 201, "é-accented-key"])
def test_malformed_keys_are_refused(bad: str) -> None:
    from core.shared.errors import InvalidInput

    with pytest.raises(InvalidInput):
        idempotency_key(bad)


def test_the_fingerprint_ignores_the_envelope_but_not_the_payload(world: World) -> None:
    from core.ledger.use_cases.transfer_funds import TransferFundsCommand
    from core.shared.ids import AccountId, correlation_id

    alice, bob = world.user("alice"), world.user("bob")

    def cmd(actor, k, amount):  # type: ignore[no-untyped-def]
        return TransferFundsCommand(
            by=actor,
            idempotency_key=k,
            correlation_id=correlation_id(None),
            from_wallet_id=AccountId("a"),
            to_wallet_id=AccountId("b"),
            amount=amount,
        )

    assert fingerprint("t", cmd(alice, key(), eur(1))) == fingerprint("t", cmd(bob, key(), eur(1)))
    assert fingerprint("t", cmd(alice, key(), eur(1))) != fingerprint("t", cmd(alice, key(), eur(2)))
    assert fingerprint("t", cmd(alice, key(), eur(1))) != fingerprint("u", cmd(alice, key(), eur(1)))


def test_an_embedder_cannot_smuggle_a_malformed_key_or_correlation_id(world: World) -> None:
    from core.ledger.use_cases.deposit_sandbox_funds import DepositSandboxFundsCommand
    from core.shared.errors import InvalidInput
    from core.shared.ids import CorrelationId, IdempotencyKey

    alice = world.user("alice")
    wa = world.wallet(alice)
    for key_, corr in [(IdempotencyKey("x" * 500), CorrelationId("ok")), (key(), CorrelationId("bad\x00id"))]:
        with pytest.raises(InvalidInput):
            world.uc.deposit_sandbox_funds()(
                DepositSandboxFundsCommand(
                    by=alice, idempotency_key=key_, correlation_id=corr, wallet_id=wa.wallet_id, amount=eur(1)
                )
            )
    assert world.balance(alice, wa.wallet_id) == eur(0)
