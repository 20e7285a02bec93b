from __future__ import annotations

from datetime import UTC, datetime

from core.identity.domain import PolicyAuthorizer
from core.identity.ports import ChainHead
from core.identity.use_cases.verify_audit_log import AuditVerification, VerifyAuditLog, VerifyAuditLogQuery
from core.shared.audit import GENESIS_HASH, AuditRecord, chain_hash

from ..builders import AUDIT_CHAINS, SYSTEM, a_draft
from ..harness import MakeUow


def verify(make_uow: MakeUow) -> AuditVerification:
    return VerifyAuditLog(make_uow, PolicyAuthorizer())(VerifyAuditLogQuery(by=SYSTEM))


def append(make_uow: MakeUow, *drafts: object, commit: bool = True) -> list[AuditRecord]:
    with make_uow() as uow:
        records = [uow.audit.append(d) for d in drafts]
        if commit:
            uow.commit()
    return records


class AuditTrailContract:
    """Behaviour every ``AuditTrail`` + ``AuditLog`` adapter has: chained, gap-free,
    stored exactly as sealed. Subclasses supply ``make_uow``."""

    def test_an_empty_log_has_no_heads_and_verifies(self, make_uow: MakeUow) -> None:
        with make_uow() as uow:
            assert uow.audit_log.heads() == []
        assert verify(make_uow) == AuditVerification(ok=True, chains=0, records=0, broken=())

    def test_the_first_record_of_a_chain_links_to_genesis(self, make_uow: MakeUow) -> None:
        draft = a_draft(chain=2)
        [record] = append(make_uow, draft)
        assert (record.chain, record.seq, record.prev_hash) == (2, 1, GENESIS_HASH)
        assert record.hash == chain_hash(GENESIS_HASH, draft, chain=2, seq=1)
        assert record.draft == draft

    def test_records_of_a_chain_are_numbered_and_linked(self, make_uow: MakeUow) -> None:
        first, second = append(make_uow, a_draft(chain=1), a_draft(chain=1))
        [third] = append(make_uow, a_draft(chain=1))
        assert [r.seq for r in (first, second, third)] == [1, 2, 3]
        assert (second.prev_hash, third.prev_hash) == (first.hash, second.hash)

    def test_records_are_read_back_exactly_as_sealed(self, make_uow: MakeUow) -> None:
        odd_moment = datetime(2026, 12, 31, 23, 59, 59, 1, tzinfo=UTC)
        drafts = [
            a_draft(chain=0),
            a_draft(
                chain=0,
                at=odd_moment,
                before={"balance_minor": 10**15, "flag": True, "none": None, "ratio": 0.5},
                after={"nested": {"list": [1, "two", {"3": []}]}, "text": 'ünï ✓ "quoted"\n', "neg": -1},
            ),
        ]
        sealed = append(make_uow, *drafts)
        with make_uow() as uow:
            stored = uow.audit_log.records(0, after_seq=0, limit=10)
        assert stored == sealed
        assert stored[1].draft.at.isoformat() == odd_moment.isoformat()
        assert dict(stored[1].draft.after) == dict(drafts[1].after)

    def test_heads_name_each_chain_with_records(self, make_uow: MakeUow) -> None:
        records = append(make_uow, a_draft(chain=3), a_draft(chain=1), a_draft(chain=3))
        with make_uow() as uow:
            heads = uow.audit_log.heads()
        assert heads == [
            ChainHead(chain=1, last_seq=1, last_hash=records[1].hash),
            ChainHead(chain=3, last_seq=2, last_hash=records[2].hash),
        ]

    def test_records_page_by_seq(self, make_uow: MakeUow) -> None:
        records = append(make_uow, *[a_draft(chain=2) for _ in range(5)])
        with make_uow() as uow:
            assert uow.audit_log.records(2, after_seq=1, limit=2) == records[1:3]
            assert uow.audit_log.records(2, after_seq=4, limit=10) == records[4:]
            assert uow.audit_log.records(2, after_seq=5, limit=10) == []
            assert uow.audit_log.records(0, after_seq=0, limit=10) == []

    def test_a_rolled_back_append_leaves_no_gap(self, make_uow: MakeUow) -> None:
        append(make_uow, a_draft(chain=1))
        append(make_uow, a_draft(chain=1), a_draft(chain=1), commit=False)
        [kept] = append(make_uow, a_draft(chain=1))
        assert kept.seq == 2
        result = verify(make_uow)
        assert result.ok, result.broken
        assert (result.chains, result.records) == (1, 2)

    def test_records_spread_over_chains_verify(self, make_uow: MakeUow) -> None:
        drafts = [a_draft() for _ in range(24)]
        append(make_uow, *drafts[:12])
        append(make_uow, *drafts[12:])
        result = verify(make_uow)
        assert result.ok, result.broken
        assert result.records == 24
        assert 1 < result.chains <= AUDIT_CHAINS
