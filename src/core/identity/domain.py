"""Users, API tokens and the authorisation policy (as data)."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import ClassVar

from attrs import define, field, frozen

from core.shared.actor import Actor, ActorKind, Persona
from core.shared.errors import DomainError, ErrorCategory, InvalidInput
from core.shared.events import DomainEvent
from core.shared.ids import TokenId, UserId


class Actions:
    CREATE_USER = "identity.user.create"
    ISSUE_TOKEN = "identity.token.issue"
    REVOKE_TOKEN = "identity.token.revoke"
    VERIFY_AUDIT = "audit.verify"


_USER = frozenset({Persona.CLIENT, Persona.PROVIDER, Persona.AGENCY, Persona.MENTOR})
_SUPPORT, _FINANCE, _ADMIN = Persona.SUPPORT, Persona.FINANCE, Persona.ADMIN
_PROVIDING = frozenset({Persona.PROVIDER, Persona.AGENCY, Persona.MENTOR})  # who delivers work and is paid

# The policy, as data: which personas may take which action. Object-level rules (whose
# wallet?) are checked by the use case that loads the object. An action missing here is
# allowed to nobody. The system actor has its own list below.
PERMISSIONS: Mapping[str, frozenset[Persona]] = MappingProxyType(
    {
        "ledger.wallet.open": _USER,
        "ledger.wallet.open_any": frozenset({_SUPPORT, _ADMIN}),
        "ledger.wallet.read": _USER | {_SUPPORT, _FINANCE, _ADMIN},
        "ledger.wallet.read_any": frozenset({_SUPPORT, _FINANCE, _ADMIN}),
        "ledger.deposit.sandbox": _USER | {_FINANCE},
        "ledger.deposit.sandbox_any": frozenset({_FINANCE}),
        "ledger.transfer": _USER,
        "ledger.snapshots.take": frozenset({_FINANCE, _ADMIN}),
        "ledger.journal.export": frozenset({_FINANCE, _ADMIN}),
        Actions.CREATE_USER: frozenset({_ADMIN}),
        Actions.ISSUE_TOKEN: frozenset({_ADMIN}),
        Actions.REVOKE_TOKEN: frozenset({_ADMIN}),
        Actions.VERIFY_AUDIT: frozenset({_ADMIN, _FINANCE}),
        # Escrow. Object-level rules (the contract's client, its provider) live in the
        # use cases; support acts on any contract, always with a reason.
        "escrow.contract.create": frozenset({Persona.CLIENT}),
        "escrow.contract.accept": _PROVIDING,
        "escrow.contract.decline": _PROVIDING,
        "escrow.contract.cancel": frozenset({Persona.CLIENT}),
        "escrow.contract.read": _USER | {_SUPPORT, _FINANCE, _ADMIN},
        "escrow.contract.read_any": frozenset({_SUPPORT, _FINANCE, _ADMIN}),
        "escrow.milestone.fund": frozenset({Persona.CLIENT}),
        "escrow.milestone.submit": _PROVIDING,
        "escrow.milestone.approve": frozenset({Persona.CLIENT}),
        "escrow.milestone.request_changes": frozenset({Persona.CLIENT}),
        "escrow.refund.propose": frozenset({Persona.CLIENT}),
        "escrow.refund.agree": _PROVIDING,
        "escrow.refund.support": frozenset({_SUPPORT}),
        "escrow.dispute_hold.open": frozenset({Persona.CLIENT}) | _PROVIDING,
        "escrow.dispute_hold.resolve": frozenset({_SUPPORT}),
        "escrow.earnings.read": _USER | {_SUPPORT, _FINANCE, _ADMIN},
        "escrow.earnings.read_any": frozenset({_SUPPORT, _FINANCE, _ADMIN}),
        "escrow.payout.request": _PROVIDING,
        "escrow.payout.request_any": frozenset({_FINANCE}),
        "escrow.payout.approve": frozenset({_FINANCE}),
        "escrow.payout.execute": frozenset({_FINANCE}),
        "escrow.payout.complete": frozenset({_FINANCE}),
        "escrow.payout.read": _USER | {_SUPPORT, _FINANCE, _ADMIN},
        "escrow.payout.read_any": frozenset({_SUPPORT, _FINANCE, _ADMIN}),
        # Timers fire as the system only (see SYSTEM_ACTIONS).
        "escrow.timers.fire": frozenset(),
        "escrow.milestone.auto_release": frozenset(),
        "escrow.milestone.time_out": frozenset(),
        "escrow.earnings.clear": frozenset(),
        # Notifications: everyone reads and marks their own (the use cases pin the
        # recipient to the actor); support and admin may read a member's to help them.
        "notifications.read": _USER | {_SUPPORT, _FINANCE, _ADMIN},
        "notifications.mark_read": _USER | {_SUPPORT, _FINANCE, _ADMIN},
        "notifications.read_any": frozenset({_SUPPORT, _ADMIN}),
        # Payments. A client tops up their own wallet; support and finance refund; finance
        # reconciles. Recording gateway answers, webhook events, the janitor and the hold
        # deadline guard are the system's (see SYSTEM_ACTIONS).
        "payments.top_up": frozenset({Persona.CLIENT}),
        "payments.capture": frozenset({Persona.CLIENT}),  # their own approved payment (the use case checks)
        "payments.payment.read": _USER | {_SUPPORT, _FINANCE, _ADMIN},
        "payments.payment.read_any": frozenset({_SUPPORT, _FINANCE, _ADMIN}),
        "payments.refund": frozenset({_SUPPORT, _FINANCE}),
        "payments.reconcile": frozenset({_FINANCE}),
        # What the provider's dashboard shows for a refund or payment it never answered.
        "payments.outcome.record_by_hand": frozenset({_FINANCE}),
        "payments.charge.record": frozenset(),
        "payments.events.receive": frozenset(),
        "payments.events.apply": frozenset(),
        "payments.unknown.resolve": frozenset(),
        "payments.hold_deadline.check": frozenset(),
        # Payout destinations: those who are paid register and read their own; support,
        # finance and admin read anyone's (to help them).
        "payments.payout_destination.register": _PROVIDING,
        "payments.payout_destination.read": _PROVIDING | {_SUPPORT, _FINANCE, _ADMIN},
        "payments.payout_destination.read_any": frozenset({_SUPPORT, _FINANCE, _ADMIN}),
        # Messaging: dead letters and the relay's status, for staff.
        "messaging.dead_letters.read": frozenset({_SUPPORT, _FINANCE, _ADMIN}),
        "messaging.status.read": frozenset({_SUPPORT, _FINANCE, _ADMIN}),
    }
)

SYSTEM_ACTIONS: frozenset[str] = frozenset(
    {
        "ledger.snapshots.take",
        "ledger.journal.export",
        "ledger.wallet.read_any",
        Actions.CREATE_USER,
        Actions.ISSUE_TOKEN,
        Actions.REVOKE_TOKEN,
        Actions.VERIFY_AUDIT,
        "escrow.timers.fire",
        "escrow.milestone.auto_release",
        "escrow.milestone.time_out",
        "escrow.earnings.clear",
        "escrow.payout.execute",
        "escrow.payout.complete",
        "escrow.payout.read",
        "escrow.payout.read_any",
        "payments.payment.read_any",
        "payments.charge.record",
        "payments.capture",
        "payments.events.receive",
        "payments.events.apply",
        "payments.unknown.resolve",
        "payments.reconcile",
        "payments.hold_deadline.check",
    }
)


class PolicyAuthorizer:
    """The ``Authorizer`` port over a persona x action table."""

    def __init__(
        self,
        permissions: Mapping[str, frozenset[Persona]] = PERMISSIONS,
        system_actions: frozenset[str] = SYSTEM_ACTIONS,
    ) -> None:
        self._permissions = permissions
        self._system_actions = system_actions

    def allows(self, actor: Actor, action: str) -> bool:
        if actor.kind is ActorKind.SYSTEM:
            return action in self._system_actions
        allowed = self._permissions.get(action, frozenset())
        return not allowed.isdisjoint(actor.personas)


_HANDLE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")


def _valid_handle(_inst: object, _attr: object, value: str) -> None:
    if not isinstance(value, str) or not _HANDLE.match(value):
        raise InvalidInput("handle", "3-40 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit")
    if value.startswith("usr_"):  # user ids look like this; a handle must never be taken for one
        raise InvalidInput("handle", "must not start with 'usr_'")


def _valid_personas(_inst: object, _attr: object, value: frozenset[Persona]) -> None:
    if not value:
        raise InvalidInput("personas", "at least one persona")
    staff = {p for p in value if p.is_staff}
    if staff and staff != value:
        raise InvalidInput("personas", "staff personas (support, finance, admin) are not mixed with marketplace ones")


@define(eq=False)
class User:
    id: UserId
    handle: str = field(validator=_valid_handle)
    display_name: str = field()
    personas: frozenset[Persona] = field(validator=_valid_personas)
    created_at: datetime = field()

    @display_name.validator
    def _name(self, _attr: object, value: str) -> None:
        if not isinstance(value, str) or not 1 <= len(value.strip()) <= 120:
            raise InvalidInput("display_name", "1-120 characters")

    def as_actor(self) -> Actor:
        staff = any(p.is_staff for p in self.personas)
        return Actor(ActorKind.OPERATOR if staff else ActorKind.USER, self.id, self.personas)


TOKEN_PREFIX = "gct_"


def new_token_secret() -> str:
    """256 random bits: above ASVS 6.5.2's 112-bit line, so a plain SHA-256 is a proper
    way to store it (no salt or slow hash needed) and the hash is indexable."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@define(eq=False)
class ApiToken:
    id: TokenId
    user_id: UserId
    label: str
    token_hash: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at


@frozen
class UserNotFound(DomainError):
    code: ClassVar[str] = "user_not_found"
    title: ClassVar[str] = "No such user"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND
    user: str

    @property
    def detail(self) -> str:
        return f"user {self.user} does not exist"


@frozen
class HandleTaken(DomainError):
    code: ClassVar[str] = "handle_taken"
    title: ClassVar[str] = "The handle is taken"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT
    handle: str

    @property
    def detail(self) -> str:
        return f"the handle {self.handle!r} is taken"


@frozen
class TokenNotFound(DomainError):
    code: ClassVar[str] = "token_not_found"
    title: ClassVar[str] = "No such token"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND
    token_id: str

    @property
    def detail(self) -> str:
        return f"token {self.token_id} does not exist"


@frozen(kw_only=True)
class UserCreated(DomainEvent):
    name: ClassVar[str] = "identity.user_created"
    user_id: UserId
    personas: tuple[str, ...]


@frozen(kw_only=True)
class ApiTokenIssued(DomainEvent):
    name: ClassVar[str] = "identity.api_token_issued"
    token_id: TokenId
    user_id: UserId


@frozen(kw_only=True)
class ApiTokenRevoked(DomainEvent):
    name: ClassVar[str] = "identity.api_token_revoked"
    token_id: TokenId
    user_id: UserId
