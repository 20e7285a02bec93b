"""Small builders for contract tests: valid domain objects with fresh ids."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from core.escrow.domain import (
    Contract,
    ContractId,
    ContractStatus,
    FeeSchedule,
    Milestone,
    MilestoneId,
    Payout,
    PayoutId,
    PayoutStatus,
    TimeoutOutcome,
)
from core.identity.domain import ApiToken, User, hash_token, new_token_secret
from core.ledger.domain import Account, AccountKind, EntryKind, JournalEntry, Posting
from core.shared.actor import Actor, ActorKind, Persona
from core.shared.audit import AuditDraft, Outcome, chain_for
from core.shared.ids import AccountId, AuditRecordId, CorrelationId, EntryId, TokenId, UserId, new_id
from core.shared.money import Currency, Money

AUDIT_CHAINS = 4
EUR = Currency("EUR")
JPY = Currency("JPY")
# Microseconds on purpose: they must survive every round trip.
T0 = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
SYSTEM = Actor.system("tests")

_handles = itertools.count(1)


def a_wallet(owner_id: str | None = None, currency: Currency = EUR, *, label: str = "") -> Account:
    return Account.open(
        id=AccountId(new_id("wal")),
        owner_id=owner_id or new_id("usr"),
        kind=AccountKind.WALLET,
        currency=currency,
        label=label,
        at=T0,
    )


def an_entry(
    *moves: tuple[AccountId, int], currency: Currency = EUR, memo: str = "", at: datetime = T0
) -> JournalEntry:
    return JournalEntry(
        id=EntryId(new_id("ent")),
        kind=EntryKind.TRANSFER,
        occurred_at=at,
        initiated_by="user:usr_tests",
        memo=memo,
        postings=tuple(Posting(account_id, Money(minor, currency)) for account_id, minor in moves),
    )


def a_user(handle: str | None = None, personas: frozenset[Persona] = frozenset({Persona.CLIENT})) -> User:
    return User(
        UserId(new_id("usr")),
        handle or f"user-{next(_handles)}-{new_id('h')[-6:]}",
        "Ada Lovelace",
        personas,
        T0,
    )


def a_token(user: User, *, expires_at: datetime | None = T0 + timedelta(days=90)) -> ApiToken:
    return ApiToken(TokenId(new_id("tok")), user.id, "ci", hash_token(new_token_secret()), T0, expires_at)


def a_draft(
    *,
    chain: int | None = None,
    before: Mapping[str, object] | None = None,
    after: Mapping[str, object] | None = None,
    at: datetime = T0,
) -> AuditDraft:
    """A draft whose (random) id lands in ``chain`` when one is asked for."""
    while True:
        record_id = new_id("aud")
        if chain is None or chain_for(record_id, AUDIT_CHAINS) == chain:
            break
    return AuditDraft(
        id=AuditRecordId(record_id),
        at=at,
        actor="user:usr_tests",
        action="tests.act",
        target="thing:1",
        outcome=Outcome.SUCCEEDED,
        correlation_id=CorrelationId("corr-1"),
        before=before or {},
        after=after or {},
    )


def a_member(user_id: str, *personas: Persona) -> Actor:
    return Actor(ActorKind.USER, user_id, frozenset(personas or {Persona.CLIENT}))


def an_operator(*personas: Persona) -> Actor:
    return Actor(ActorKind.OPERATOR, new_id("usr"), frozenset(personas or {Persona.ADMIN}))


# --- escrow ---------------------------------------------------------------------------


def a_contract(*amounts: int, client_id: str | None = None, provider_id: str | None = None) -> Contract:
    """A proposed contract with one milestone per amount (EUR minor units)."""
    return Contract(
        id=ContractId(new_id("ctr")),
        client_id=client_id or new_id("usr"),
        provider_id=provider_id or new_id("usr"),
        currency=EUR,
        fee=FeeSchedule(bps=1_000, min_minor=50, max_minor=None),
        fee_tier="provider",
        status=ContractStatus.PROPOSED,
        milestones=tuple(
            Milestone(
                id=MilestoneId(new_id("mil")),
                position=i + 1,
                title=f"Milestone {i + 1}: ünïcode",
                amount=Money(minor, EUR),
                due_at=T0 + timedelta(days=30 + i),
                timeout_outcome=TimeoutOutcome.RELEASE if i % 2 else TimeoutOutcome.REFUND,
                auto_release_days=14,
            )
            for i, minor in enumerate(amounts or (10_000,))
        ),
        created_at=T0,
    )


def a_payout(payee_id: str, wallet: AccountId, transit: AccountId, minor: int = 150_000) -> Payout:
    return Payout(
        id=PayoutId(new_id("pay")),
        payee_id=payee_id,
        requested_by=payee_id,
        amount=Money(minor, EUR),
        status=PayoutStatus.REQUESTED,
        required_approvals=2,
        approvals=(),
        wallet_account_id=wallet,
        transit_account_id=transit,
        requested_at=T0,
    )
