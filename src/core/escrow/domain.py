"""Contracts, milestones and their escrow state machine; fees; payouts.

Money rules: amounts are integer minor units; every movement is one balanced journal
entry (posted by the use cases through the ``Book`` port); a milestone's ``held`` always
equals the balance of its escrow account, and ``amount == held + released + refunded``
once funded (``released`` is gross, fees included).

The milestone state machine (``ALLOWED`` is the whole table; anything else is an
``IllegalTransition``, 409, and changes nothing)::

    UNFUNDED  --fund (client)------------------------------> FUNDED
    FUNDED    --submit (provider)--------------------------> SUBMITTED
    SUBMITTED --approve part (client)----------------------> FUNDED     (held > 0 left)
    SUBMITTED --approve rest (client) / auto-release timer-> RELEASED
    SUBMITTED --request_changes (client)-------------------> FUNDED
    FUNDED    --propose_refund (client), agree (provider)--> FUNDED | REFUNDED
    FUNDED, SUBMITTED --support_refund (support)-----------> same | REFUNDED
    FUNDED, SUBMITTED --open_dispute_hold (either party)---> DISPUTED
    DISPUTED  --resolve_dispute_hold (support)-------------> SETTLED
    UNFUNDED  --deadline timer-----------------------------> EXPIRED
    FUNDED    --deadline timer: REFUND | RELEASE-----------> REFUNDED | RELEASED

RELEASED, REFUNDED, SETTLED and EXPIRED are terminal. A DISPUTED milestone accepts
nothing but the resolution: no release, refund, auto-release or timeout acts on it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, ClassVar, NewType

from attrs import Factory, define, field, frozen

from core.shared.actor import Actor, Persona
from core.shared.errors import DomainError, ErrorCategory, InvalidInput
from core.shared.events import DomainEvent
from core.shared.ids import AccountId, CorrelationId, EntryId, IdempotencyKey
from core.shared.money import MAX_MOVEMENT, Currency, CurrencyMismatch, Money

ContractId = NewType("ContractId", str)
MilestoneId = NewType("MilestoneId", str)
PayoutId = NewType("PayoutId", str)
ReleaseId = NewType("ReleaseId", str)


class Actions:
    """The actions of this context, as named in the authorisation policy."""

    CREATE_CONTRACT = "escrow.contract.create"
    ACCEPT_CONTRACT = "escrow.contract.accept"
    DECLINE_CONTRACT = "escrow.contract.decline"
    CANCEL_CONTRACT = "escrow.contract.cancel"
    READ_CONTRACT = "escrow.contract.read"
    READ_ANY_CONTRACT = "escrow.contract.read_any"
    FUND = "escrow.milestone.fund"
    SUBMIT = "escrow.milestone.submit"
    APPROVE = "escrow.milestone.approve"
    REQUEST_CHANGES = "escrow.milestone.request_changes"
    PROPOSE_REFUND = "escrow.refund.propose"
    AGREE_REFUND = "escrow.refund.agree"
    SUPPORT_REFUND = "escrow.refund.support"
    OPEN_DISPUTE_HOLD = "escrow.dispute_hold.open"
    RESOLVE_DISPUTE_HOLD = "escrow.dispute_hold.resolve"
    FIRE_TIMERS = "escrow.timers.fire"
    AUTO_RELEASE = "escrow.milestone.auto_release"
    TIME_OUT = "escrow.milestone.time_out"
    CLEAR_EARNINGS = "escrow.earnings.clear"
    READ_EARNINGS = "escrow.earnings.read"
    READ_ANY_EARNINGS = "escrow.earnings.read_any"
    REQUEST_PAYOUT = "escrow.payout.request"
    REQUEST_PAYOUT_FOR_ANYONE = "escrow.payout.request_any"
    APPROVE_PAYOUT = "escrow.payout.approve"
    EXECUTE_PAYOUT = "escrow.payout.execute"
    COMPLETE_PAYOUT = "escrow.payout.complete"
    READ_PAYOUT = "escrow.payout.read"
    READ_ANY_PAYOUT = "escrow.payout.read_any"

    ALL: ClassVar[frozenset[str]] = frozenset(
        {
            CREATE_CONTRACT,
            ACCEPT_CONTRACT,
            DECLINE_CONTRACT,
            CANCEL_CONTRACT,
            READ_CONTRACT,
            READ_ANY_CONTRACT,
            FUND,
            SUBMIT,
            APPROVE,
            REQUEST_CHANGES,
            PROPOSE_REFUND,
            AGREE_REFUND,
            SUPPORT_REFUND,
            OPEN_DISPUTE_HOLD,
            RESOLVE_DISPUTE_HOLD,
            FIRE_TIMERS,
            AUTO_RELEASE,
            TIME_OUT,
            CLEAR_EARNINGS,
            READ_EARNINGS,
            READ_ANY_EARNINGS,
            REQUEST_PAYOUT,
            REQUEST_PAYOUT_FOR_ANYONE,
            APPROVE_PAYOUT,
            EXECUTE_PAYOUT,
            COMPLETE_PAYOUT,
            READ_PAYOUT,
            READ_ANY_PAYOUT,
        }
    )


class TimerKinds:
    """The durable timers escrow schedules (``core.shared.timers``)."""

    AUTO_RELEASE = "escrow.auto_release"  # payload: contract_id, milestone_id, submission
    DEADLINE = "escrow.deadline"  # payload: contract_id, milestone_id
    CLEARING = "escrow.clearing"  # payload: release_id, payee_id, currency, net_minor, contract_id, milestone_id

    ALL: ClassVar[frozenset[str]] = frozenset({AUTO_RELEASE, DEADLINE, CLEARING})


# --- errors ---------------------------------------------------------------------------


@frozen
class IllegalTransition(DomainError):
    """The subject's state does not allow the action; nothing was changed."""

    code: ClassVar[str] = "illegal_transition"
    title: ClassVar[str] = "The action is not possible in the current state"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT
    subject: str
    state: str
    action: str

    @property
    def detail(self) -> str:
        return f"{self.subject} is {self.state}: {self.action} is not possible now"


@frozen
class ContractNotFound(DomainError):
    """Also raised for a contract the actor is no party to: its existence must not leak."""

    code: ClassVar[str] = "contract_not_found"
    title: ClassVar[str] = "No such contract"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND
    contract_id: str

    @property
    def detail(self) -> str:
        return f"contract {self.contract_id} does not exist"


@frozen
class MilestoneNotFound(DomainError):
    code: ClassVar[str] = "milestone_not_found"
    title: ClassVar[str] = "No such milestone"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND
    contract_id: str
    milestone_id: str

    @property
    def detail(self) -> str:
        return f"contract {self.contract_id} has no milestone {self.milestone_id}"


@frozen
class ProviderNotFound(DomainError):
    code: ClassVar[str] = "provider_not_found"
    title: ClassVar[str] = "No such provider"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND
    provider_id: str

    @property
    def detail(self) -> str:
        return f"{self.provider_id} is not a marketplace user who can take a contract"


@frozen
class PayeeNotFound(DomainError):
    code: ClassVar[str] = "payee_not_found"
    title: ClassVar[str] = "No such payee"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND
    payee_id: str

    @property
    def detail(self) -> str:
        return f"{self.payee_id} is not a marketplace user who can be paid out"


@frozen
class PayoutNotFound(DomainError):
    """Also raised for a payout that is not the actor's to see."""

    code: ClassVar[str] = "payout_not_found"
    title: ClassVar[str] = "No such payout"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND
    payout_id: str

    @property
    def detail(self) -> str:
        return f"payout {self.payout_id} does not exist"


@frozen
class AmountExceedsHeld(DomainError):
    code: ClassVar[str] = "amount_exceeds_held"
    title: ClassVar[str] = "The amount is more than the milestone holds"
    category: ClassVar[ErrorCategory] = ErrorCategory.RULE
    milestone_id: str
    held: Money
    requested: Money

    @property
    def detail(self) -> str:
        return f"milestone {self.milestone_id} holds {self.held}; {self.requested} was requested"


@frozen
class SettlementDoesNotMatchHeld(DomainError):
    code: ClassVar[str] = "settlement_does_not_match_held"
    title: ClassVar[str] = "A dispute settlement must split exactly what is held"
    category: ClassVar[ErrorCategory] = ErrorCategory.RULE
    milestone_id: str
    held: Money
    release: Money
    refund: Money

    @property
    def detail(self) -> str:
        return (
            f"milestone {self.milestone_id} holds {self.held}; release {self.release} plus refund "
            f"{self.refund} must equal it exactly"
        )


@frozen
class RefundNotProposed(DomainError):
    """The provider agreed to a refund the client has not proposed (or to another amount)."""

    code: ClassVar[str] = "refund_not_proposed"
    title: ClassVar[str] = "The client has not proposed this refund"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT
    milestone_id: str
    proposed: Money | None
    agreed: Money

    @property
    def detail(self) -> str:
        proposed = "nothing" if self.proposed is None else str(self.proposed)
        return f"the client proposed {proposed} on milestone {self.milestone_id}, not {self.agreed}"


@frozen
class PayoutSelfApproval(DomainError):
    """Maker-checker: the payee and the requester never approve their own payout."""

    code: ClassVar[str] = "payout_self_approval"
    title: ClassVar[str] = "You may not approve a payout you requested or receive"
    category: ClassVar[ErrorCategory] = ErrorCategory.FORBIDDEN
    payout_id: str

    @property
    def detail(self) -> str:
        return f"payout {self.payout_id} needs an approver other than its payee and its requester"


@frozen
class PayoutAlreadyApproved(DomainError):
    code: ClassVar[str] = "payout_already_approved"
    title: ClassVar[str] = "You approved this payout already"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT
    payout_id: str
    approver: str

    @property
    def detail(self) -> str:
        return f"{self.approver} approved payout {self.payout_id} already; it needs another approver"


# --- small validators -----------------------------------------------------------------

MAX_TITLE = 200
MAX_REASON = 500
MAX_MILESTONES = 50
MAX_AUTO_RELEASE_DAYS = 365


def text(name: str, value: object, *, max_length: int) -> str:
    """A required, single-line, human text field. Raises InvalidInput."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(name, "required")
    if len(value) > max_length:
        raise InvalidInput(name, f"at most {max_length} characters")
    if any(ord(c) < 32 or c == "\x7f" for c in value):
        raise InvalidInput(name, "control characters are not allowed")
    return value.strip()


def positive(name: str, amount: Money, currency: Currency) -> Money:
    """A positive amount in ``currency`` of at most one movement. Raises InvalidInput,
    CurrencyMismatch."""
    if amount.currency != currency:
        raise CurrencyMismatch(currency.code, amount.currency.code)
    if not amount.is_positive:
        raise InvalidInput(name, "must be positive")
    if amount.minor > MAX_MOVEMENT:
        raise InvalidInput(name, f"at most {MAX_MOVEMENT} minor units")
    return amount


def _int_between(low: int, high: int | None) -> Any:
    def check(_inst: object, attribute: Any, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(attribute.name, "must be an integer")
        if value < low or (high is not None and value > high):
            raise InvalidInput(attribute.name, f"must be between {low} and {high}" if high else f"at least {low}")

    return check


# --- fees -----------------------------------------------------------------------------

BPS_SCALE = 10_000


@frozen
class FeeSchedule:
    """The platform's fee on released money: ``bps`` basis points of the gross, with a
    floor and an optional ceiling, in minor units of the contract's currency.

    The one rounding rule (ADR 0002 asks for exactly one): ``fee = (gross * bps + 5000)
    // 10000`` (half up, integers only), then clamped to ``[min_minor, max_minor]``, then
    never above the gross itself. The fee applies per release, so releasing a milestone
    in parts charges the floor once per part.
    """

    bps: int = field(validator=_int_between(0, BPS_SCALE))
    min_minor: int = field(default=0, validator=_int_between(0, MAX_MOVEMENT))
    max_minor: int | None = field(default=None)

    @max_minor.validator
    def _ceiling(self, _attr: object, value: int | None) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < self.min_minor:
            raise InvalidInput("max_minor", "an integer at least min_minor, or none")

    def fee_on(self, gross: Money) -> Money:
        if gross.is_negative:
            raise InvalidInput("gross", "a fee is charged on a non-negative amount")
        fee = (gross.minor * self.bps + BPS_SCALE // 2) // BPS_SCALE
        fee = max(fee, self.min_minor)
        if self.max_minor is not None:
            fee = min(fee, self.max_minor)
        return Money(min(fee, gross.minor), gross.currency)

    def split(self, gross: Money) -> FeeSplit:
        fee = self.fee_on(gross)
        return FeeSplit(gross=gross, fee=fee, net=gross.minus(fee))


@frozen(kw_only=True)
class FeeSplit:
    gross: Money
    fee: Money
    net: Money


DEFAULT_TIER = "default"
DEFAULT_FEE = FeeSchedule(bps=1_000, min_minor=50, max_minor=None)


def _fee_tiers(value: Mapping[str, FeeSchedule]) -> Mapping[str, FeeSchedule]:
    if DEFAULT_TIER not in value:
        raise InvalidInput("fees", f"the fee table needs a {DEFAULT_TIER!r} tier")
    return MappingProxyType(dict(value))


@frozen
class FeeTable:
    """Fee schedules by tier. A provider's tier is the name of their persona (``agency``,
    ``mentor``, ``provider``); a tier missing here pays the ``default`` schedule."""

    tiers: Mapping[str, FeeSchedule] = field(
        factory=lambda: {DEFAULT_TIER: DEFAULT_FEE}, converter=_fee_tiers, hash=False
    )

    def for_provider(self, personas: frozenset[Persona]) -> tuple[str, FeeSchedule]:
        for persona in (Persona.AGENCY, Persona.MENTOR, Persona.PROVIDER):
            if persona in personas and persona.value in self.tiers:
                return persona.value, self.tiers[persona.value]
        return DEFAULT_TIER, self.tiers[DEFAULT_TIER]


# --- payout approval bands --------------------------------------------------------------

Bands = tuple[tuple[int, int], ...]  # (threshold, approvals needed from it upwards)


def _bands(value: Sequence[tuple[int, int]]) -> Bands:
    bands = tuple((int(t), int(n)) for t, n in value)
    if any(t < 0 or not 0 <= n <= 5 for t, n in bands):
        raise InvalidInput("payout_bands", "thresholds are >= 0 and approvals 0..5")
    return tuple(sorted(bands))


def _per_currency(value: Mapping[str, Sequence[tuple[int, int]]]) -> Mapping[str, Bands]:
    return MappingProxyType({Currency(code).code: _bands(bands) for code, bands in value.items()})


@frozen
class PayoutBands:
    """How many distinct finance approvals a payout needs, by amount: the approvals of the
    highest band whose threshold the amount reaches (none below the lowest).

    ``major`` thresholds are whole currency units, scaled by each currency's exponent
    (1,000 means 1,000.00 EUR and 1,000 JPY); a currency listed in ``minor`` uses its own
    thresholds in minor units instead. Default: below 1,000 none (paid automatically),
    from 1,000 one approval, from 10,000 two."""

    major: Bands = field(default=((1_000, 1), (10_000, 2)), converter=_bands)
    minor: Mapping[str, Bands] = field(factory=dict, converter=_per_currency, hash=False)

    def required_approvals(self, amount: Money) -> int:
        if amount.currency.code in self.minor:
            bands = self.minor[amount.currency.code]
        else:
            scale = 10**amount.currency.exponent
            bands = tuple((threshold * scale, approvals) for threshold, approvals in self.major)
        needed = 0
        for threshold, approvals in bands:
            if amount.minor >= threshold:
                needed = approvals
        return needed


@frozen(kw_only=True)
class EscrowPolicy:
    """The configurable rules of escrow, handed to the use cases by the composition root."""

    fees: FeeTable = field(factory=FeeTable)
    auto_release_days: int = field(default=14, validator=_int_between(1, MAX_AUTO_RELEASE_DAYS))
    clearing_period: timedelta = field(default=timedelta(days=5))
    payout_bands: PayoutBands = field(factory=PayoutBands)

    @clearing_period.validator
    def _clearing(self, _attr: object, value: timedelta) -> None:
        if not isinstance(value, timedelta) or value < timedelta(0) or value > timedelta(days=MAX_AUTO_RELEASE_DAYS):
            raise InvalidInput("clearing_period", f"between 0 and {MAX_AUTO_RELEASE_DAYS} days")


# --- the milestone state machine --------------------------------------------------------


class ContractStatus(enum.Enum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class MilestoneStatus(enum.Enum):
    UNFUNDED = "unfunded"
    FUNDED = "funded"
    SUBMITTED = "submitted"
    DISPUTED = "disputed"
    RELEASED = "released"
    REFUNDED = "refunded"
    SETTLED = "settled"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset(
    {MilestoneStatus.RELEASED, MilestoneStatus.REFUNDED, MilestoneStatus.SETTLED, MilestoneStatus.EXPIRED}
)


class TimeoutOutcome(enum.Enum):
    """What the deadline does to a funded milestone that was never approved."""

    REFUND = "refund"  # the money goes back to the client (TigerBeetle's void on timeout)
    RELEASE = "release"  # the money goes to the provider, less the fee (Upwork's default)


class MilestoneAction(enum.Enum):
    FUND = "fund"
    SUBMIT = "submit"
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    PROPOSE_REFUND = "propose_refund"
    AGREE_REFUND = "agree_refund"
    SUPPORT_REFUND = "support_refund"
    OPEN_DISPUTE_HOLD = "open_dispute_hold"
    RESOLVE_DISPUTE_HOLD = "resolve_dispute_hold"
    AUTO_RELEASE = "auto_release"
    TIME_OUT = "time_out"


_S, _A = MilestoneStatus, MilestoneAction

# The whole state machine: the states each action may start from.
ALLOWED: Mapping[MilestoneAction, frozenset[MilestoneStatus]] = MappingProxyType(
    {
        _A.FUND: frozenset({_S.UNFUNDED}),
        _A.SUBMIT: frozenset({_S.FUNDED}),
        _A.APPROVE: frozenset({_S.SUBMITTED}),
        _A.REQUEST_CHANGES: frozenset({_S.SUBMITTED}),
        _A.PROPOSE_REFUND: frozenset({_S.FUNDED}),
        _A.AGREE_REFUND: frozenset({_S.FUNDED}),
        _A.SUPPORT_REFUND: frozenset({_S.FUNDED, _S.SUBMITTED}),
        _A.OPEN_DISPUTE_HOLD: frozenset({_S.FUNDED, _S.SUBMITTED}),
        _A.RESOLVE_DISPUTE_HOLD: frozenset({_S.DISPUTED}),
        _A.AUTO_RELEASE: frozenset({_S.SUBMITTED}),
        _A.TIME_OUT: frozenset({_S.UNFUNDED, _S.FUNDED}),
    }
)


@define(eq=False)
class Milestone:
    """One deliverable of a contract and the money held for it.

    ``held`` mirrors the milestone's escrow account; ``released`` is the gross released
    so far (``fees`` of it went to the platform), ``refunded`` what went back to the
    client. ``submissions`` counts submissions, so an auto-release timer armed by an
    earlier submission knows it is stale."""

    id: MilestoneId
    position: int
    title: str
    amount: Money
    due_at: datetime
    timeout_outcome: TimeoutOutcome
    auto_release_days: int
    status: MilestoneStatus = MilestoneStatus.UNFUNDED
    held: Money = Factory(lambda self: Money.zero(self.amount.currency), takes_self=True)
    released: Money = Factory(lambda self: Money.zero(self.amount.currency), takes_self=True)
    refunded: Money = Factory(lambda self: Money.zero(self.amount.currency), takes_self=True)
    fees: Money = Factory(lambda self: Money.zero(self.amount.currency), takes_self=True)
    submissions: int = 0
    changes_requested: int = 0
    escrow_account_id: AccountId | None = None
    funded_at: datetime | None = None
    submitted_at: datetime | None = None
    refund_proposal: Money | None = None
    dispute_opened_by: str | None = None
    closed_at: datetime | None = None

    def allows(self, action: MilestoneAction) -> bool:
        return self.status in ALLOWED[action]

    def guard(self, action: MilestoneAction) -> None:
        """Raises IllegalTransition unless the current state allows ``action``."""
        if not self.allows(action):
            raise IllegalTransition(self.id, self.status.value, action.value)

    def _within_held(self, amount: Money) -> Money:
        positive("amount", amount, self.amount.currency)
        if amount.exceeds(self.held):
            raise AmountExceedsHeld(self.id, self.held, amount)
        return amount

    def _become(self, status: MilestoneStatus, at: datetime) -> None:
        self.status = status
        self.refund_proposal = None  # a proposal lapses with any other move
        if status.is_terminal:
            self.closed_at = at

    def _after_outflow(self, at: datetime, *, otherwise: MilestoneStatus, when_empty: MilestoneStatus) -> None:
        self._become(when_empty if self.held.minor == 0 else otherwise, at)

    def fund(self, *, escrow_account_id: AccountId, at: datetime) -> Money:
        self.guard(MilestoneAction.FUND)
        self.held = self.amount
        self.escrow_account_id = escrow_account_id
        self.funded_at = at
        self._become(MilestoneStatus.FUNDED, at)
        return self.amount

    def submit(self, *, at: datetime) -> int:
        self.guard(MilestoneAction.SUBMIT)
        self.submissions += 1
        self.submitted_at = at
        self._become(MilestoneStatus.SUBMITTED, at)
        return self.submissions

    def approve(self, amount: Money | None, fee: FeeSchedule, *, at: datetime) -> FeeSplit:
        """Release ``amount`` (default: everything held). What stays held goes back to
        work (FUNDED); an emptied milestone is RELEASED."""
        self.guard(MilestoneAction.APPROVE)
        split = fee.split(self._within_held(self.held if amount is None else amount))
        self._release(split)
        self._after_outflow(at, otherwise=MilestoneStatus.FUNDED, when_empty=MilestoneStatus.RELEASED)
        return split

    def request_changes(self, *, at: datetime) -> None:
        self.guard(MilestoneAction.REQUEST_CHANGES)
        self.changes_requested += 1
        self._become(MilestoneStatus.FUNDED, at)

    def propose_refund(self, amount: Money, *, at: datetime) -> None:
        self.guard(MilestoneAction.PROPOSE_REFUND)
        self._within_held(amount)
        self.refund_proposal = amount

    def agree_refund(self, amount: Money, *, at: datetime) -> Money:
        self.guard(MilestoneAction.AGREE_REFUND)
        if self.refund_proposal is None or self.refund_proposal != amount:
            raise RefundNotProposed(self.id, self.refund_proposal, amount)
        self._refund(self._within_held(amount))
        self._after_outflow(at, otherwise=MilestoneStatus.FUNDED, when_empty=MilestoneStatus.REFUNDED)
        return amount

    def support_refund(self, amount: Money | None, *, at: datetime) -> Money:
        """Support sends back any part of what is held (default: all of it); the rest
        stays where it was (FUNDED or SUBMITTED)."""
        self.guard(MilestoneAction.SUPPORT_REFUND)
        refund = self._within_held(self.held if amount is None else amount)
        self._refund(refund)
        self._after_outflow(at, otherwise=self.status, when_empty=MilestoneStatus.REFUNDED)
        return refund

    def open_dispute_hold(self, *, by: str, at: datetime) -> None:
        self.guard(MilestoneAction.OPEN_DISPUTE_HOLD)
        self.dispute_opened_by = by
        self._become(MilestoneStatus.DISPUTED, at)

    def resolve_dispute_hold(self, *, release: Money, refund: Money, fee: FeeSchedule, at: datetime) -> FeeSplit:
        """Split exactly what is held between the provider (less the fee) and the client."""
        self.guard(MilestoneAction.RESOLVE_DISPUTE_HOLD)
        for name, part in (("release", release), ("refund", refund)):
            if part.currency != self.amount.currency:
                raise CurrencyMismatch(self.amount.currency.code, part.currency.code)
            if part.is_negative:
                raise InvalidInput(name, "must not be negative")
        if release.plus(refund) != self.held:
            raise SettlementDoesNotMatchHeld(self.id, self.held, release, refund)
        split = fee.split(release)
        if release.is_positive:
            self._release(split)
        if refund.is_positive:
            self._refund(refund)
        self._become(MilestoneStatus.SETTLED, at)
        return split

    def auto_release(self, *, submission: int, fee: FeeSchedule, at: datetime) -> FeeSplit | None:
        """Release everything held if the milestone still waits on that submission;
        None (nothing changed) if it moved on, so the timer is obsolete."""
        if not self.allows(MilestoneAction.AUTO_RELEASE) or self.submissions != submission:
            return None
        split = fee.split(self.held)
        self._release(split)
        self._become(MilestoneStatus.RELEASED, at)
        return split

    def time_out(self, fee: FeeSchedule, *, at: datetime) -> TimeoutResult | None:
        """The deadline passed: expire an unfunded milestone, or apply the timeout outcome
        to a funded one. None (nothing changed) in any other state."""
        if not self.allows(MilestoneAction.TIME_OUT):
            return None
        if self.status is MilestoneStatus.UNFUNDED:
            self._become(MilestoneStatus.EXPIRED, at)
            return TimeoutResult(status=self.status, split=None, refund=None)
        if self.timeout_outcome is TimeoutOutcome.RELEASE:
            split = fee.split(self.held)
            self._release(split)
            self._become(MilestoneStatus.RELEASED, at)
            return TimeoutResult(status=self.status, split=split, refund=None)
        refund = self.held
        self._refund(refund)
        self._become(MilestoneStatus.REFUNDED, at)
        return TimeoutResult(status=self.status, split=None, refund=refund)

    def _release(self, split: FeeSplit) -> None:
        self.held = self.held.minus(split.gross)
        self.released = self.released.plus(split.gross)
        self.fees = self.fees.plus(split.fee)

    def _refund(self, amount: Money) -> None:
        self.held = self.held.minus(amount)
        self.refunded = self.refunded.plus(amount)


@frozen(kw_only=True)
class TimeoutResult:
    status: MilestoneStatus
    split: FeeSplit | None
    refund: Money | None


@define(eq=False)
class Contract:
    """An agreement between a client and a provider: ordered milestones in one
    currency, with the fee schedule that applied when it was proposed (a snapshot:
    later changes to the fee table do not touch it). ``version`` guards saves."""

    id: ContractId
    client_id: str
    provider_id: str
    currency: Currency
    fee: FeeSchedule
    fee_tier: str
    status: ContractStatus
    milestones: tuple[Milestone, ...]
    created_at: datetime
    decided_at: datetime | None = None
    version: int = 0

    def milestone(self, milestone_id: str) -> Milestone:
        for milestone in self.milestones:
            if milestone.id == milestone_id:
                return milestone
        raise MilestoneNotFound(self.id, milestone_id)

    def active_milestone(self, milestone_id: str, action: MilestoneAction) -> Milestone:
        """The milestone, if the contract is active. Raises IllegalTransition,
        MilestoneNotFound."""
        milestone = self.milestone(milestone_id)
        if self.status is not ContractStatus.ACTIVE:
            raise IllegalTransition(self.id, self.status.value, action.value)
        return milestone

    def is_party(self, user_id: str) -> bool:
        return user_id in (self.client_id, self.provider_id)

    def accept(self, *, at: datetime) -> None:
        self._decide(ContractStatus.ACTIVE, "accept", at)

    def decline(self, *, at: datetime) -> None:
        self._decide(ContractStatus.DECLINED, "decline", at)

    def cancel(self, *, at: datetime) -> None:
        self._decide(ContractStatus.CANCELLED, "cancel", at)

    def _decide(self, status: ContractStatus, action: str, at: datetime) -> None:
        if self.status is not ContractStatus.PROPOSED:
            raise IllegalTransition(self.id, self.status.value, action)
        self.status = status
        self.decided_at = at


# --- payouts --------------------------------------------------------------------------


class PayoutStatus(enum.Enum):
    REQUESTED = "requested"  # waiting for approvals
    APPROVED = "approved"  # ready to send
    EXECUTING = "executing"  # sent, or being sent, to the gateway (outcome unknown)
    PAID = "paid"
    FAILED = "failed"  # declined: the money went back to the wallet


@define(eq=False)
class Payout:
    """Money leaving the platform to a payee, in three steps: requested (wallet -> in
    transit), approved by enough distinct checkers, executed exactly once through the
    gateway (in transit -> gateway clearing, or back to the wallet if declined)."""

    id: PayoutId
    payee_id: str
    requested_by: str
    amount: Money
    status: PayoutStatus
    required_approvals: int
    approvals: tuple[str, ...]
    wallet_account_id: AccountId
    transit_account_id: AccountId
    requested_at: datetime
    attempts: int = 0
    gateway: str | None = None
    reference: str | None = None
    failure_reason: str | None = None
    settled_at: datetime | None = None
    version: int = 0

    def approve(self, approver: str) -> bool:
        """Count one checker's approval; True when that completes the approvals.
        Raises IllegalTransition, PayoutSelfApproval, PayoutAlreadyApproved."""
        if self.status is not PayoutStatus.REQUESTED:
            raise IllegalTransition(self.id, self.status.value, "approve")
        if approver in (self.payee_id, self.requested_by):
            raise PayoutSelfApproval(self.id)
        if approver in self.approvals:
            raise PayoutAlreadyApproved(self.id, approver)
        self.approvals = (*self.approvals, approver)
        if len(self.approvals) >= self.required_approvals:
            self.status = PayoutStatus.APPROVED
            return True
        return False

    def start_execution(self, *, gateway: str) -> None:
        """APPROVED -> EXECUTING; an EXECUTING payout may be tried again (same gateway
        key), since its outcome is unknown. Raises IllegalTransition."""
        if self.status not in (PayoutStatus.APPROVED, PayoutStatus.EXECUTING):
            raise IllegalTransition(self.id, self.status.value, "execute")
        self.status = PayoutStatus.EXECUTING
        self.gateway = gateway
        self.attempts += 1

    def paid(self, *, reference: str, at: datetime) -> None:
        self._settle(PayoutStatus.PAID, at)
        self.reference = reference

    def failed(self, *, reason: str, at: datetime) -> None:
        self._settle(PayoutStatus.FAILED, at)
        self.failure_reason = reason

    def _settle(self, status: PayoutStatus, at: datetime) -> None:
        if self.status is not PayoutStatus.EXECUTING:
            raise IllegalTransition(self.id, self.status.value, "complete")
        self.status = status
        self.settled_at = at


# --- views (results) ------------------------------------------------------------------


@frozen(kw_only=True)
class MilestoneView:
    milestone_id: MilestoneId
    position: int
    title: str
    amount: Money
    fee_preview: Money  # the fee if the whole amount is released at once
    net_preview: Money
    due_at: datetime
    timeout_outcome: TimeoutOutcome
    auto_release_days: int
    status: MilestoneStatus
    held: Money
    released: Money
    refunded: Money
    fees: Money
    submissions: int
    changes_requested: int
    refund_proposal: Money | None

    @classmethod
    def of(cls, milestone: Milestone, fee: FeeSchedule) -> MilestoneView:
        split = fee.split(milestone.amount)
        return cls(
            milestone_id=milestone.id,
            position=milestone.position,
            title=milestone.title,
            amount=milestone.amount,
            fee_preview=split.fee,
            net_preview=split.net,
            due_at=milestone.due_at,
            timeout_outcome=milestone.timeout_outcome,
            auto_release_days=milestone.auto_release_days,
            status=milestone.status,
            held=milestone.held,
            released=milestone.released,
            refunded=milestone.refunded,
            fees=milestone.fees,
            submissions=milestone.submissions,
            changes_requested=milestone.changes_requested,
            refund_proposal=milestone.refund_proposal,
        )


@frozen(kw_only=True)
class ContractView:
    contract_id: ContractId
    client_id: str
    provider_id: str
    currency: str
    fee_tier: str
    fee_bps: int
    fee_min_minor: int
    fee_max_minor: int | None
    status: ContractStatus
    created_at: datetime
    milestones: tuple[MilestoneView, ...]
    version: int

    @classmethod
    def of(cls, contract: Contract) -> ContractView:
        return cls(
            contract_id=contract.id,
            client_id=contract.client_id,
            provider_id=contract.provider_id,
            currency=contract.currency.code,
            fee_tier=contract.fee_tier,
            fee_bps=contract.fee.bps,
            fee_min_minor=contract.fee.min_minor,
            fee_max_minor=contract.fee.max_minor,
            status=contract.status,
            created_at=contract.created_at,
            milestones=tuple(MilestoneView.of(m, contract.fee) for m in contract.milestones),
            version=contract.version,
        )


@frozen(kw_only=True)
class MilestoneMoved:
    """The result of a milestone command: where it stands now and what money moved."""

    contract_id: ContractId
    milestone_id: MilestoneId
    status: MilestoneStatus
    held: Money
    entry_id: EntryId | None = None
    release_id: ReleaseId | None = None
    gross: Money | None = None  # released, fee included
    fee: Money | None = None
    net: Money | None = None
    refunded: Money | None = None


@frozen(kw_only=True)
class PayoutView:
    payout_id: PayoutId
    payee_id: str
    requested_by: str
    amount: Money
    status: PayoutStatus
    required_approvals: int
    approvals: tuple[str, ...]
    attempts: int
    reference: str | None
    failure_reason: str | None
    requested_at: datetime

    @classmethod
    def of(cls, payout: Payout) -> PayoutView:
        return cls(
            payout_id=payout.id,
            payee_id=payout.payee_id,
            requested_by=payout.requested_by,
            amount=payout.amount,
            status=payout.status,
            required_approvals=payout.required_approvals,
            approvals=payout.approvals,
            attempts=payout.attempts,
            reference=payout.reference,
            failure_reason=payout.failure_reason,
            requested_at=payout.requested_at,
        )


@frozen(kw_only=True)
class FireTimerCommand:
    """Fire one timer (built by ``FireDueTimers``). The key is ``timer:<id>``, so the
    same timer fired twice by the same actor replays the first outcome."""

    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    timer_id: str
    kind: str


@frozen(kw_only=True)
class TimerFired:
    timer_id: str
    kind: str
    outcome: str  # released, refunded, expired, cleared, obsolete, already_fired
    entry_id: EntryId | None = None


# --- events ---------------------------------------------------------------------------


@frozen(kw_only=True)
class ContractCreated(DomainEvent):
    name: ClassVar[str] = "escrow.contract_created"
    contract_id: ContractId
    client_id: str
    provider_id: str
    currency: str
    total: Money
    fee_tier: str


@frozen(kw_only=True)
class ContractDecided(DomainEvent):
    """Accepted, declined (by the provider) or cancelled (by the client)."""

    name: ClassVar[str] = "escrow.contract_decided"
    contract_id: ContractId
    status: str


@frozen(kw_only=True)
class MilestoneEvent(DomainEvent):
    contract_id: ContractId
    milestone_id: MilestoneId


@frozen(kw_only=True)
class MilestoneFunded(MilestoneEvent):
    name: ClassVar[str] = "escrow.milestone_funded"
    amount: Money
    entry_id: EntryId


class FundingRefusals:
    """Why a captured escrow payment did not fund its milestone (the money stays in the
    payer's wallet)."""

    CONTRACT_NOT_FOUND = "contract_not_found"
    MILESTONE_NOT_FOUND = "milestone_not_found"
    PAYER_NOT_CLIENT = "payer_not_client"
    NOT_FUNDABLE = "not_fundable"  # contract not active, or milestone not unfunded
    AMOUNT_MISMATCH = "amount_mismatch"
    INSUFFICIENT_FUNDS = "insufficient_funds"  # the wallet was spent before the hand-off


@frozen(kw_only=True)
class MilestoneFundingRefused(MilestoneEvent):
    """A payment captured for this milestone could not fund it; nothing moved."""

    name: ClassVar[str] = "escrow.milestone_funding_refused"
    payment_id: str
    payer_id: str
    amount: Money
    reason: str


@frozen(kw_only=True)
class MilestoneSubmitted(MilestoneEvent):
    name: ClassVar[str] = "escrow.milestone_submitted"
    submission: int
    auto_release_at: datetime


@frozen(kw_only=True)
class MilestoneChangesRequested(MilestoneEvent):
    name: ClassVar[str] = "escrow.milestone_changes_requested"
    changes_requested: int


@frozen(kw_only=True)
class MilestoneReleased(MilestoneEvent):
    """The client approved: ``gross`` left escrow, ``fee`` to the platform, ``net`` to
    the provider's pending earnings until ``clears_at``."""

    name: ClassVar[str] = "escrow.milestone_released"
    release_id: ReleaseId
    entry_id: EntryId
    gross: Money
    fee: Money
    net: Money
    held_after: Money
    clears_at: datetime


@frozen(kw_only=True)
class MilestoneAutoReleased(MilestoneEvent):
    name: ClassVar[str] = "escrow.milestone_auto_released"
    release_id: ReleaseId
    entry_id: EntryId
    submission: int
    gross: Money
    fee: Money
    net: Money
    clears_at: datetime


@frozen(kw_only=True)
class MilestoneRefundProposed(MilestoneEvent):
    name: ClassVar[str] = "escrow.milestone_refund_proposed"
    amount: Money


@frozen(kw_only=True)
class MilestoneRefunded(MilestoneEvent):
    """Money went back to the client, agreed by both parties or sent by support."""

    name: ClassVar[str] = "escrow.milestone_refunded"
    entry_id: EntryId
    amount: Money
    held_after: Money
    by_support: bool
    reason: str


@frozen(kw_only=True)
class MilestoneDisputeHoldOpened(MilestoneEvent):
    name: ClassVar[str] = "escrow.milestone_dispute_hold_opened"
    opened_by: str
    held: Money
    reason: str


@frozen(kw_only=True)
class MilestoneSettled(MilestoneEvent):
    name: ClassVar[str] = "escrow.milestone_settled"
    entry_id: EntryId
    release_id: ReleaseId | None
    gross: Money
    fee: Money
    net: Money
    refunded: Money
    reason: str


@frozen(kw_only=True)
class MilestoneTimedOut(MilestoneEvent):
    """The deadline passed: ``outcome`` is expired, refunded or released."""

    name: ClassVar[str] = "escrow.milestone_timed_out"
    outcome: str
    entry_id: EntryId | None
    release_id: ReleaseId | None
    gross: Money | None
    fee: Money | None
    net: Money | None
    refunded: Money | None


@frozen(kw_only=True)
class EarningsCleared(DomainEvent):
    name: ClassVar[str] = "escrow.earnings_cleared"
    release_id: ReleaseId
    payee_id: str
    amount: Money
    entry_id: EntryId


@frozen(kw_only=True)
class PayoutRequested(DomainEvent):
    name: ClassVar[str] = "escrow.payout_requested"
    payout_id: PayoutId
    payee_id: str
    amount: Money
    required_approvals: int
    entry_id: EntryId


@frozen(kw_only=True)
class PayoutApprovalRecorded(DomainEvent):
    name: ClassVar[str] = "escrow.payout_approval_recorded"
    payout_id: PayoutId
    approver: str
    approvals: int
    required_approvals: int
    approved: bool


@frozen(kw_only=True)
class PayoutExecutionStarted(DomainEvent):
    name: ClassVar[str] = "escrow.payout_execution_started"
    payout_id: PayoutId
    attempt: int


@frozen(kw_only=True)
class PayoutPaid(DomainEvent):
    name: ClassVar[str] = "escrow.payout_paid"
    payout_id: PayoutId
    payee_id: str
    amount: Money
    reference: str
    entry_id: EntryId


@frozen(kw_only=True)
class PayoutFailed(DomainEvent):
    name: ClassVar[str] = "escrow.payout_failed"
    payout_id: PayoutId
    payee_id: str
    amount: Money
    reason: str
    entry_id: EntryId
