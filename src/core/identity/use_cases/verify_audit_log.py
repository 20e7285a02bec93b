from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.identity.domain import Actions
from core.identity.ports import AuditLog, ChainHead, IdentityUnitOfWork
from core.shared.actor import Actor
from core.shared.audit import GENESIS_HASH, chain_hash
from core.shared.authorization import Authorizer, Forbidden

_PAGE = 1000


@frozen(kw_only=True)
class VerifyAuditLogQuery:
    by: Actor


@frozen(kw_only=True)
class BrokenRecord:
    chain: int
    seq: int
    record_id: str | None  # None when the record is missing altogether
    reason: str


@frozen(kw_only=True)
class AuditVerification:
    ok: bool
    chains: int
    records: int
    broken: tuple[BrokenRecord, ...]  # the first break of each broken chain, by chain

    @property
    def first_broken(self) -> BrokenRecord | None:
        return self.broken[0] if self.broken else None


class VerifyAuditLog:
    """Recompute every chain of the audit log and report the first break of each.

    Detects an edited record (its hash no longer matches), a deleted one (a gap in the
    sequence, or a head pointing past the last record) and a re-linked one (prev_hash
    differs from its predecessor's hash). Admin, finance or the system. Raises Forbidden."""

    def __init__(self, new_uow: Callable[[], IdentityUnitOfWork], authorizer: Authorizer) -> None:
        self._new_uow, self._authorizer = new_uow, authorizer

    def __call__(self, query: VerifyAuditLogQuery) -> AuditVerification:
        if not self._authorizer.allows(query.by, Actions.VERIFY_AUDIT):
            raise Forbidden(Actions.VERIFY_AUDIT)
        broken: list[BrokenRecord] = []
        total = 0
        with self._new_uow() as uow:
            heads = uow.audit_log.heads()
            for head in heads:
                count, problem = _verify_chain(uow.audit_log, head)
                total += count
                if problem is not None:
                    broken.append(problem)
        return AuditVerification(ok=not broken, chains=len(heads), records=total, broken=tuple(broken))


def _verify_chain(log: AuditLog, head: ChainHead) -> tuple[int, BrokenRecord | None]:
    """Verify records 1..head.last_seq against each other and against the head.

    Records appended after the heads were read (a live database) are left for the next
    verification, so they never look like a break. A chain whose head row is gone
    (``last_seq == -1``) is read to its end and then reported."""
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    newest = head.last_seq if head.last_seq >= 0 else None
    reading = True
    while reading:
        page = log.records(head.chain, after_seq=expected_seq - 1, limit=_PAGE)
        for record in page:
            if newest is not None and record.seq == expected_seq > newest:
                reading = False  # appended after the heads were read
                break
            count += 1
            rid = record.draft.id
            if record.seq != expected_seq:
                return count, BrokenRecord(
                    chain=head.chain,
                    seq=expected_seq,
                    record_id=None,
                    reason=f"record {expected_seq} is missing (next stored is {record.seq}, id {rid})",
                )
            if record.prev_hash != prev_hash:
                return count, BrokenRecord(
                    chain=head.chain,
                    seq=record.seq,
                    record_id=rid,
                    reason="prev_hash does not match the previous record's hash",
                )
            if chain_hash(prev_hash, record.draft, chain=head.chain, seq=record.seq) != record.hash:
                return count, BrokenRecord(
                    chain=head.chain,
                    seq=record.seq,
                    record_id=rid,
                    reason="content was changed after it was written (hash mismatch)",
                )
            expected_seq, prev_hash = expected_seq + 1, record.hash
        if len(page) < _PAGE:
            reading = False
    last_seq = expected_seq - 1
    if last_seq != head.last_seq or prev_hash != head.last_hash:
        return count, BrokenRecord(
            chain=head.chain,
            seq=last_seq + 1 if last_seq < head.last_seq else last_seq,
            record_id=None,
            reason=f"the chain head says {head.last_seq} records, {last_seq} were found intact",
        )
    return count, None
