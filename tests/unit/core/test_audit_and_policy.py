from __future__ import annotations

import attrs
import pytest

from core.identity.domain import PERMISSIONS, SYSTEM_ACTIONS, PolicyAuthorizer
from core.identity.use_cases.issue_api_token import IssueApiTokenCommand
from core.identity.use_cases.verify_audit_log import VerifyAuditLogQuery
from core.ledger.domain import Actions as LedgerActions
from core.ledger.domain import InsufficientFunds
from core.shared.actor import Actor, ActorKind, Persona
from core.shared.audit import Outcome
from core.shared.authorization import Forbidden, Unauthenticated
from core.shared.errors import InvalidInput
from core.shared.ids import correlation_id
from tests.unit.core.world import SYSTEM, World, eur, key


def records(world: World) -> list:  # type: ignore[type-arg]
    """Audit records in writing order (World ticks its clock before every action)."""
    store = world.runtime.persistence.store()
    return sorted((r for chain in store.audit.values() for r in chain), key=lambda r: r.draft.at)


def test_every_ledger_action_is_in_the_policy() -> None:
    assert set(PERMISSIONS) >= LedgerActions.ALL
    assert set(PERMISSIONS) >= SYSTEM_ACTIONS


def test_no_marketplace_persona_holds_a_staff_only_action() -> None:
    policy = PolicyAuthorizer()
    client = Actor(ActorKind.USER, "u", frozenset({Persona.CLIENT, Persona.PROVIDER, Persona.AGENCY, Persona.MENTOR}))
    for action in ("ledger.wallet.read_any", "ledger.deposit.sandbox_any", "identity.user.create", "audit.verify"):
        assert not policy.allows(client, action)


def test_an_unknown_action_is_allowed_to_nobody() -> None:
    admin = Actor(ActorKind.OPERATOR, "a", frozenset({Persona.ADMIN}))
    assert not PolicyAuthorizer().allows(admin, "ledger.burn_money")
    assert not PolicyAuthorizer().allows(SYSTEM, "ledger.burn_money")


def test_staff_and_marketplace_personas_do_not_mix() -> None:
    with pytest.raises(InvalidInput):
        Actor(ActorKind.USER, "u", frozenset({Persona.CLIENT, Persona.SUPPORT}))


def test_every_state_change_writes_one_succeeded_audit_record(world: World) -> None:
    alice = world.user("alice")
    before = len(records(world))
    wa = world.wallet(alice)
    world.deposit(alice, wa.wallet_id, eur(10))
    new = records(world)[before:]
    assert [(r.draft.action, r.draft.outcome) for r in new] == [
        ("ledger.wallet.open", Outcome.SUCCEEDED),
        ("ledger.deposit.sandbox", Outcome.SUCCEEDED),
    ]
    assert new[1].draft.actor == alice.ref
    assert new[1].draft.before == {"balance_minor": 0}
    assert new[1].draft.after["balance_minor"] == 10


def test_a_replay_writes_no_second_audit_record(world: World) -> None:
    alice = world.user("alice")
    wa = world.wallet(alice)
    k = key()
    world.deposit(alice, wa.wallet_id, eur(10), k)
    count = len(records(world))
    world.deposit(alice, wa.wallet_id, eur(10), k)
    assert len(records(world)) == count


def test_rejections_and_denials_are_audited_with_their_reason(world: World) -> None:
    alice, sue = world.user("alice"), world.user("sue", Persona.SUPPORT)
    wa, wb = world.wallet(alice), world.wallet(world.user("bob"))
    with pytest.raises(InsufficientFunds):
        world.transfer(alice, wa.wallet_id, wb.wallet_id, eur(1))
    with pytest.raises(Forbidden):
        world.transfer(sue, wa.wallet_id, wb.wallet_id, eur(1))
    failed = [r for r in records(world) if r.draft.outcome is not Outcome.SUCCEEDED]
    assert sorted((r.draft.outcome.value, r.draft.reason, r.draft.actor) for r in failed) == sorted(
        (o.value, reason, actor)
        for o, reason, actor in [
            (Outcome.REJECTED, "insufficient_funds", alice.ref),
            (Outcome.DENIED, "forbidden", sue.ref),
        ]
    )


def test_the_correlation_id_reaches_the_audit_record(world: World) -> None:
    from core.ledger.use_cases.deposit_sandbox_funds import DepositSandboxFundsCommand

    alice = world.user("alice")
    wa = world.wallet(alice)
    world.uc.deposit_sandbox_funds()(
        DepositSandboxFundsCommand(
            by=alice,
            idempotency_key=key(),
            correlation_id=correlation_id("req-42"),
            wallet_id=wa.wallet_id,
            amount=eur(3),
        )
    )
    assert records(world)[-1].draft.correlation_id == "req-42"


def test_verification_passes_on_an_intact_log(world: World) -> None:
    alice = world.user("alice")
    world.deposit(alice, world.wallet(alice).wallet_id, eur(3))
    report = world.uc.verify_audit_log()(VerifyAuditLogQuery(by=SYSTEM))
    assert report.ok and report.records == len(records(world)) and report.broken == ()


def test_verification_names_an_edited_record(world: World) -> None:
    alice = world.user("alice")
    world.deposit(alice, world.wallet(alice).wallet_id, eur(3))
    store = world.runtime.persistence.store()
    chain = next(c for c, rs in store.audit.items() if len(rs) >= 1)
    victim = store.audit[chain][0]
    store.audit[chain][0] = attrs.evolve(victim, draft=attrs.evolve(victim.draft, actor="user:someone-else"))
    report = world.uc.verify_audit_log()(VerifyAuditLogQuery(by=SYSTEM))
    assert not report.ok
    assert report.first_broken is not None
    assert (report.first_broken.chain, report.first_broken.record_id) == (chain, victim.draft.id)


def test_verification_notices_a_deleted_record(world: World) -> None:
    alice = world.user("alice")
    wallet = world.wallet(alice)
    for _ in range(30):
        world.deposit(alice, wallet.wallet_id, eur(1))
    store = world.runtime.persistence.store()
    chain = max(store.audit, key=lambda c: len(store.audit[c]))
    del store.audit[chain][1]
    report = world.uc.verify_audit_log()(VerifyAuditLogQuery(by=SYSTEM))
    assert report.first_broken is not None and report.first_broken.chain == chain
    assert report.first_broken.seq == 2


def test_only_admin_finance_or_system_verify_the_audit_log(world: World) -> None:
    with pytest.raises(Forbidden):
        world.uc.verify_audit_log()(VerifyAuditLogQuery(by=world.user("alice")))


def test_tokens_are_stored_only_as_hashes_and_shown_once(world: World) -> None:
    world.user("alice")
    k = key()
    cmd = IssueApiTokenCommand(by=SYSTEM, idempotency_key=k, correlation_id=correlation_id(None), user="alice")
    first = world.uc.issue_api_token()(cmd)
    replay = world.uc.issue_api_token()(cmd)
    assert first.token is not None and replay.token is None and replay.token_id == first.token_id
    store = world.runtime.persistence.store()
    assert first.token not in repr(store.tokens) and first.token not in repr(store.idempotency)
    assert world.uc.authenticate_token()(first.token).ref.startswith("user:usr_")


@pytest.mark.parametrize("secret", [None, "", "gct_wrong", "x" * 500])
def test_a_bad_token_is_unauthenticated(world: World, secret: str | None) -> None:
    with pytest.raises(Unauthenticated):
        world.uc.authenticate_token()(secret)


def test_revoked_and_expired_tokens_stop_working(world: World) -> None:
    from datetime import timedelta

    from core.identity.use_cases.revoke_api_token import RevokeApiTokenCommand

    world.user("alice")
    issue = world.uc.issue_api_token()
    short = issue(
        IssueApiTokenCommand(
            by=SYSTEM, idempotency_key=key(), correlation_id=correlation_id(None), user="alice", ttl_days=1
        )
    )
    other = issue(
        IssueApiTokenCommand(by=SYSTEM, idempotency_key=key(), correlation_id=correlation_id(None), user="alice")
    )
    world.uc.revoke_api_token()(
        RevokeApiTokenCommand(
            by=SYSTEM, idempotency_key=key(), correlation_id=correlation_id(None), token_id=other.token_id
        )
    )
    with pytest.raises(Unauthenticated):
        world.uc.authenticate_token()(other.token)
    world.uc.authenticate_token()(short.token)
    world.clock.advance(timedelta(days=1, seconds=1))
    with pytest.raises(Unauthenticated):
        world.uc.authenticate_token()(short.token)


def test_records_appended_after_the_heads_were_read_are_not_a_break() -> None:
    """A live database: a writer commits between reading the heads and the records."""
    from core.identity.ports import ChainHead
    from core.identity.use_cases.verify_audit_log import _verify_chain
    from core.shared.time import ManualClock
    from entrypoints.container import build_in_memory
    from entrypoints.settings import Settings

    clock = ManualClock()
    world = World(build_in_memory(Settings(audit_chains=1), clock=clock), clock)
    alice = world.user("alice")
    world.deposit(alice, world.wallet(alice).wallet_id, eur(3))
    records = world.runtime.persistence.store().audit[0]
    assert len(records) > 2
    stale = ChainHead(chain=0, last_seq=len(records) - 2, last_hash=records[-3].hash)  # read before 2 appends
    with world.runtime.new_unit_of_work() as uow:
        count, problem = _verify_chain(uow.audit_log, stale)
    assert (problem, count) == (None, stale.last_seq)


def test_a_handle_cannot_look_like_a_user_id(world: World) -> None:
    with pytest.raises(InvalidInput):
        world.user("usr_imposter")
