"""Rows <-> domain objects, explicitly; one cattrs converter for the JSON documents
(idempotency results, outbox payloads).

The converter writes Currency as its code, Money as ``{"minor", "currency"}``, datetimes
as ISO 8601, enums by value and frozensets as lists, so a stored result structures back
``==`` to the original.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from cattrs.preconf.json import JsonConverter, make_converter
from sqlalchemy.engine import RowMapping

from core.identity.domain import ApiToken, User
from core.ledger.domain import Account, AccountKind, EntryKind, JournalEntry, Posting, StatementLine
from core.shared.actor import Persona
from core.shared.audit import AuditDraft, AuditRecord, Outcome
from core.shared.events import DomainEvent
from core.shared.ids import AccountId, AuditRecordId, CorrelationId, EntryId, TokenId, UserId
from core.shared.money import Currency, Money

T = TypeVar("T")


def _make_documents() -> JsonConverter:
    converter = make_converter(forbid_extra_keys=True)
    converter.register_unstructure_hook(Currency, lambda currency: currency.code)
    converter.register_structure_hook(Currency, lambda value, _type: Currency(value))
    converter.register_unstructure_hook(datetime, lambda moment: moment.isoformat())
    converter.register_structure_hook(datetime, lambda value, _type: datetime.fromisoformat(value))
    return converter


documents = _make_documents()


def to_document(value: object) -> Any:
    """JSON-ready primitives for an attrs object (or any value the converter knows)."""
    return documents.unstructure(value)


def from_document(document: Any, type_: type[T]) -> T:
    return documents.structure(document, type_)


def event_payload(event: DomainEvent) -> Any:
    return documents.unstructure(event, unstructure_as=type(event))


# --- accounts -------------------------------------------------------------------------


def account_to_row(account: Account) -> dict[str, object]:
    return {
        "id": account.id,
        "owner_id": account.owner_id,
        "kind": account.kind.value,
        "currency": account.currency.code,
        "label": account.label,
        "opened_at": account.opened_at,
        "balance_minor": account.balance.minor,
        "version": account.version,
    }


def account_from_row(row: RowMapping) -> Account:
    currency = Currency(row["currency"])
    return Account(
        id=AccountId(row["id"]),
        owner_id=row["owner_id"],
        kind=AccountKind(row["kind"]),
        currency=currency,
        label=row["label"],
        opened_at=row["opened_at"],
        balance=Money(int(row["balance_minor"]), currency),
        version=int(row["version"]),
    )


def statement_line_from_row(row: RowMapping) -> StatementLine:
    currency = Currency(row["currency"])
    after = row["balance_after_minor"]
    return StatementLine(
        seq=int(row["seq"]),
        entry_id=EntryId(row["entry_id"]),
        kind=EntryKind(row["kind"]),
        occurred_at=row["occurred_at"],
        memo=row["memo"],
        amount=Money(int(row["amount_minor"]), currency),
        balance_after=None if after is None else Money(int(after), currency),
    )


def journal_entry_from_rows(row: RowMapping, postings: Iterable[RowMapping]) -> JournalEntry:
    """An entry row and its posting rows (in append order)."""
    return JournalEntry(
        id=EntryId(row["id"]),
        kind=EntryKind(row["kind"]),
        occurred_at=row["occurred_at"],
        initiated_by=row["initiated_by"],
        memo=row["memo"],
        postings=tuple(
            Posting(AccountId(p["account_id"]), Money(int(p["amount_minor"]), Currency(p["currency"])))
            for p in postings
        ),
    )


# --- identity -------------------------------------------------------------------------


def user_to_row(user: User) -> dict[str, object]:
    return {
        "id": user.id,
        "handle": user.handle,
        "display_name": user.display_name,
        "personas": sorted(p.value for p in user.personas),
        "created_at": user.created_at,
    }


def user_from_row(row: RowMapping) -> User:
    return User(
        UserId(row["id"]),
        row["handle"],
        row["display_name"],
        frozenset(Persona(p) for p in row["personas"]),
        row["created_at"],
    )


def token_to_row(token: ApiToken) -> dict[str, object]:
    return {
        "id": token.id,
        "user_id": token.user_id,
        "label": token.label,
        "token_hash": token.token_hash,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }


def token_from_row(row: RowMapping) -> ApiToken:
    return ApiToken(
        TokenId(row["id"]),
        UserId(row["user_id"]),
        row["label"],
        row["token_hash"],
        row["created_at"],
        row["expires_at"],
        row["revoked_at"],
    )


# --- audit ----------------------------------------------------------------------------


def audit_record_to_row(record: AuditRecord) -> dict[str, object]:
    draft = record.draft
    return {
        "id": draft.id,
        "chain": record.chain,
        "seq": record.seq,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
        "at": draft.at,
        "actor": draft.actor,
        "action": draft.action,
        "target": draft.target,
        "outcome": draft.outcome.value,
        "correlation_id": draft.correlation_id,
        "reason": draft.reason,
        "before": dict(draft.before),
        "after": dict(draft.after),
    }


def audit_record_from_row(row: RowMapping) -> AuditRecord:
    draft = AuditDraft(
        id=AuditRecordId(row["id"]),
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        target=row["target"],
        outcome=Outcome(row["outcome"]),
        correlation_id=CorrelationId(row["correlation_id"]),
        reason=row["reason"],
        before=row["before"],
        after=row["after"],
    )
    return AuditRecord(
        draft=draft, chain=int(row["chain"]), seq=int(row["seq"]), prev_hash=row["prev_hash"], hash=row["hash"]
    )
