"""The use cases over each adapter, wired as the composition root wires them (the
policy authorizer, a clock, a unit-of-work factory)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from attrs import frozen

from core.identity.domain import PolicyAuthorizer
from core.identity.use_cases.authenticate_token import AuthenticateToken
from core.identity.use_cases.create_user import CreateUser, CreateUserCommand
from core.identity.use_cases.issue_api_token import IssueApiToken, IssueApiTokenCommand
from core.identity.use_cases.revoke_api_token import RevokeApiToken, RevokeApiTokenCommand
from core.identity.use_cases.verify_audit_log import AuditVerification, VerifyAuditLog, VerifyAuditLogQuery
from core.ledger.domain import InsufficientFunds
from core.ledger.use_cases.deposit_sandbox_funds import DepositSandboxFunds, DepositSandboxFundsCommand
from core.ledger.use_cases.get_balance import GetBalance, GetBalanceQuery
from core.ledger.use_cases.get_statement import GetStatement, GetStatementQuery
from core.ledger.use_cases.open_wallet import OpenWallet, OpenWalletCommand
from core.ledger.use_cases.take_balance_snapshots import (
    CurrencyTotal,
    TakeBalanceSnapshots,
    TakeBalanceSnapshotsCommand,
)
from core.ledger.use_cases.transfer_funds import TransferFunds, TransferFundsCommand, TransferFundsResult
from core.shared.actor import Actor, Persona
from core.shared.authorization import Unauthenticated
from core.shared.ids import AccountId, CorrelationId, IdempotencyKey, new_id
from core.shared.money import Money
from core.shared.time import Clock, ManualClock

from ..builders import EUR, SYSTEM, a_member
from ..harness import MakeUow, Probe


def a_key() -> IdempotencyKey:
    return IdempotencyKey(new_id("key"))


def a_correlation() -> CorrelationId:
    return CorrelationId(new_id("corr"))


@frozen
class Gigcore:
    """Every use case over one store, as ``entrypoints.container`` wires them."""

    create_user: CreateUser
    open_wallet: OpenWallet
    deposit: DepositSandboxFunds
    transfer: TransferFunds
    get_balance: GetBalance
    get_statement: GetStatement
    take_snapshots: TakeBalanceSnapshots
    issue_token: IssueApiToken
    revoke_token: RevokeApiToken
    authenticate: AuthenticateToken
    verify_audit: VerifyAuditLog

    @classmethod
    def wire(cls, new_uow: Any, clock: Clock) -> Gigcore:
        policy = PolicyAuthorizer()
        return cls(
            create_user=CreateUser(new_uow, policy, clock),
            open_wallet=OpenWallet(new_uow, policy, clock),
            deposit=DepositSandboxFunds(new_uow, policy, clock, enabled=True),
            transfer=TransferFunds(new_uow, policy, clock),
            get_balance=GetBalance(new_uow, policy, clock),
            get_statement=GetStatement(new_uow, policy),
            take_snapshots=TakeBalanceSnapshots(new_uow, policy, clock),
            issue_token=IssueApiToken(new_uow, policy, clock),
            revoke_token=RevokeApiToken(new_uow, policy, clock),
            authenticate=AuthenticateToken(new_uow, clock),
            verify_audit=VerifyAuditLog(new_uow, policy),
        )

    def member(self, handle: str) -> Actor:
        view = self.create_user(
            CreateUserCommand(
                by=SYSTEM,
                idempotency_key=a_key(),
                correlation_id=a_correlation(),
                handle=handle,
                display_name=handle.title(),
                personas=frozenset({Persona.CLIENT}),
            )
        )
        return a_member(view.user_id, Persona.CLIENT)

    def funded_wallet(self, owner: Actor, minor: int) -> AccountId:
        wallet = self.open_wallet(
            OpenWalletCommand(by=owner, idempotency_key=a_key(), correlation_id=a_correlation(), currency=EUR)
        )
        if minor:
            self.deposit(
                DepositSandboxFundsCommand(
                    by=owner,
                    idempotency_key=a_key(),
                    correlation_id=a_correlation(),
                    wallet_id=wallet.wallet_id,
                    amount=Money(minor, EUR),
                )
            )
        return wallet.wallet_id

    def move(self, by: Actor, source: AccountId, target: AccountId, minor: int, **kw: Any) -> TransferFundsResult:
        return self.transfer(
            TransferFundsCommand(
                by=by,
                idempotency_key=kw.pop("key", None) or a_key(),
                correlation_id=a_correlation(),
                from_wallet_id=source,
                to_wallet_id=target,
                amount=Money(minor, EUR),
                **kw,
            )
        )

    def balance(self, by: Actor, wallet: AccountId) -> Money:
        return self.get_balance(GetBalanceQuery(by=by, wallet_id=wallet)).available

    def audit(self) -> AuditVerification:
        return self.verify_audit(VerifyAuditLogQuery(by=SYSTEM))


class UseCasesContract:
    """The use cases behave the same over every adapter. Subclasses supply ``make_uow``
    and ``probe``."""

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock()

    @pytest.fixture
    def gigcore(self, make_uow: MakeUow, clock: ManualClock) -> Gigcore:
        return Gigcore.wire(make_uow, clock)

    def test_members_deposit_transfer_and_read_their_statements(
        self, gigcore: Gigcore, clock: ManualClock, probe: Probe
    ) -> None:
        ada, bob = gigcore.member("ada"), gigcore.member("bob")
        ada_wallet, bob_wallet = gigcore.funded_wallet(ada, 10_000), gigcore.funded_wallet(bob, 0)
        clock.advance(timedelta(minutes=5))
        result = gigcore.move(ada, ada_wallet, bob_wallet, 2_500, memo="invoice 7")
        assert result.from_balance == Money(7_500, EUR)
        assert gigcore.balance(bob, bob_wallet) == Money(2_500, EUR)
        page = gigcore.get_statement(GetStatementQuery(by=ada, wallet_id=ada_wallet, limit=1))
        assert [(line.amount.minor, line.balance_after, line.memo) for line in page.lines] == [
            (-2_500, Money(7_500, EUR), "invoice 7")
        ]
        assert page.lines[0].occurred_at == clock.now()
        rest = gigcore.get_statement(GetStatementQuery(by=ada, wallet_id=ada_wallet, cursor=page.next_cursor))
        assert [line.amount.minor for line in rest.lines] == [10_000]
        assert rest.next_cursor is None
        snapshot = gigcore.take_snapshots(
            TakeBalanceSnapshotsCommand(by=SYSTEM, idempotency_key=a_key(), correlation_id=a_correlation())
        )
        assert snapshot.totals == (CurrencyTotal(currency="EUR", accounts=3, total_minor=0),)
        assert [name for name, _, _ in probe.outbox()] == [
            "identity.user_created",
            "identity.user_created",
            "ledger.wallet_opened",
            "ledger.funds_deposited",
            "ledger.wallet_opened",
            "ledger.funds_transferred",
            "ledger.balance_snapshot_taken",
        ]
        verification = gigcore.audit()
        assert verification.ok, verification.broken
        assert verification.records == 7

    def test_a_replayed_transfer_returns_the_first_result_and_moves_money_once(self, gigcore: Gigcore) -> None:
        ada, bob = gigcore.member("ada"), gigcore.member("bob")
        ada_wallet, bob_wallet = gigcore.funded_wallet(ada, 1_000), gigcore.funded_wallet(bob, 0)
        key = a_key()
        first = gigcore.move(ada, ada_wallet, bob_wallet, 300, key=key)
        again = gigcore.move(ada, ada_wallet, bob_wallet, 300, key=key)
        assert again == first
        assert gigcore.balance(ada, ada_wallet) == Money(700, EUR)

    def test_a_refused_transfer_changes_nothing_is_audited_and_frees_its_key(self, gigcore: Gigcore) -> None:
        ada, bob = gigcore.member("ada"), gigcore.member("bob")
        ada_wallet, bob_wallet = gigcore.funded_wallet(ada, 100), gigcore.funded_wallet(bob, 0)
        key = a_key()
        with pytest.raises(InsufficientFunds):
            gigcore.move(ada, ada_wallet, bob_wallet, 101, key=key)
        assert gigcore.balance(ada, ada_wallet) == Money(100, EUR)
        assert gigcore.balance(bob, bob_wallet) == Money(0, EUR)
        gigcore.deposit(
            DepositSandboxFundsCommand(
                by=ada,
                idempotency_key=a_key(),
                correlation_id=a_correlation(),
                wallet_id=ada_wallet,
                amount=Money(1, EUR),
            )
        )
        assert gigcore.move(ada, ada_wallet, bob_wallet, 101, key=key).from_balance == Money(0, EUR)
        verification = gigcore.audit()
        assert verification.ok, verification.broken
        assert verification.records == 8  # 2 users, 2 wallets, 2 deposits, 1 rejected + 1 done transfer

    def test_an_issued_token_authenticates_until_revoked(self, gigcore: Gigcore) -> None:
        ada = gigcore.member("ada")
        key = a_key()
        issued = gigcore.issue_token(
            IssueApiTokenCommand(by=SYSTEM, idempotency_key=key, correlation_id=a_correlation(), user="ada")
        )
        assert issued.token is not None
        assert gigcore.authenticate(issued.token) == ada
        replay = gigcore.issue_token(
            IssueApiTokenCommand(by=SYSTEM, idempotency_key=key, correlation_id=a_correlation(), user="ada")
        )
        assert (replay.token_id, replay.token) == (issued.token_id, None)  # the secret is shown once
        gigcore.revoke_token(
            RevokeApiTokenCommand(
                by=SYSTEM, idempotency_key=a_key(), correlation_id=a_correlation(), token_id=issued.token_id
            )
        )
        with pytest.raises(Unauthenticated):
            gigcore.authenticate(issued.token)

    def test_a_dry_run_answers_but_writes_nothing(self, make_uow: MakeUow, clock: ManualClock, probe: Probe) -> None:
        gigcore = Gigcore.wire(make_uow, clock)
        dry = Gigcore.wire(lambda: make_uow(dry_run=True), clock)
        ada, bob = gigcore.member("ada"), gigcore.member("bob")
        ada_wallet, bob_wallet = gigcore.funded_wallet(ada, 500), gigcore.funded_wallet(bob, 0)
        events = probe.outbox()
        before = gigcore.audit()
        assert dry.move(ada, ada_wallet, bob_wallet, 200).from_balance == Money(300, EUR)
        assert gigcore.balance(ada, ada_wallet) == Money(500, EUR)
        assert probe.outbox() == events
        assert gigcore.audit() == before
