from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from attrs import frozen

from core.ledger.domain import Actions, JournalEntry
from core.ledger.ports import EntryCursor, LedgerUnitOfWork, StoredSnapshot
from core.shared.actor import Actor
from core.shared.authorization import Authorizer, Forbidden
from core.shared.errors import InvalidInput

MAX_PERIOD = timedelta(days=366)
DEFAULT_PAGE = 500
MAX_PAGE = 5000


@frozen(kw_only=True)
class ExportJournalQuery:
    by: Actor
    from_at: datetime
    to_at: datetime
    page_size: int = DEFAULT_PAGE


@frozen(kw_only=True)
class CurrencyTotals:
    currency: str
    debits_minor: int  # the sum of the negative postings, as a positive number
    credits_minor: int  # the sum of the positive postings

    @property
    def balanced(self) -> bool:
        return self.debits_minor == self.credits_minor


@frozen(kw_only=True)
class ExportTotals:
    entries: int
    postings: int
    currencies: tuple[CurrencyTotals, ...]

    @property
    def balanced(self) -> bool:
        return all(c.balanced for c in self.currencies)


class JournalExport:
    """The entries of one period, streamed page by page (each page in its own read-only
    unit of work), in (occurred_at, id) order. Iterate ``entries()`` once; ``totals()``
    then gives the per-currency debits and credits of everything streamed, and
    ``closing_snapshot()`` the balances at period end."""

    def __init__(
        self, new_uow: Callable[[], LedgerUnitOfWork], from_at: datetime, to_at: datetime, page_size: int
    ) -> None:
        self.from_at, self.to_at = from_at, to_at
        self._new_uow, self._page_size = new_uow, page_size
        self._debits: dict[str, int] = defaultdict(int)
        self._credits: dict[str, int] = defaultdict(int)
        self._entries = self._postings = 0
        self._started = self._finished = False

    def entries(self) -> Iterator[JournalEntry]:
        if self._started:
            raise RuntimeError("a journal export streams once")
        self._started = True
        after: EntryCursor | None = None
        while True:
            with self._new_uow() as uow:
                page = uow.journal.entries_between(self.from_at, self.to_at, after=after, limit=self._page_size)
            for entry in page:
                self._count(entry)
                yield entry
            if len(page) < self._page_size:
                break
            after = EntryCursor(occurred_at=page[-1].occurred_at, entry_id=page[-1].id)
        self._finished = True

    def _count(self, entry: JournalEntry) -> None:
        self._entries += 1
        for posting in entry.postings:
            self._postings += 1
            code = posting.amount.currency.code
            if posting.amount.minor < 0:
                self._debits[code] += -posting.amount.minor
                self._credits[code] += 0
            else:
                self._credits[code] += posting.amount.minor
                self._debits[code] += 0

    def closing_snapshot(self) -> StoredSnapshot | None:
        """The wallet and account balances at period end: the latest balance snapshot
        taken at or before ``to_at`` (``take_balance_snapshots``), if any was."""
        with self._new_uow() as uow:
            return uow.snapshots.latest_at_or_before(self.to_at)

    def totals(self) -> ExportTotals:
        """The totals of the whole period. Raises RuntimeError before ``entries()`` ran out."""
        if not self._finished:
            raise RuntimeError("the totals are known once every entry was streamed")
        return ExportTotals(
            entries=self._entries,
            postings=self._postings,
            currencies=tuple(
                CurrencyTotals(currency=c, debits_minor=self._debits[c], credits_minor=self._credits[c])
                for c in sorted(self._debits)
            ),
        )


def _utc(name: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() != timedelta(0):
        raise InvalidInput(name, "a UTC date and time")
    return value


class ExportJournal:
    """The journal entries of the half-open period [from_at, to_at) with their postings,
    for finance, admin or the system. The period is at most 366 days. Raises Forbidden,
    InvalidInput. Nothing is read until the export's entries are iterated."""

    def __init__(self, new_uow: Callable[[], LedgerUnitOfWork], authorizer: Authorizer) -> None:
        self._new_uow, self._authorizer = new_uow, authorizer

    def __call__(self, query: ExportJournalQuery) -> JournalExport:
        from_at, to_at = _utc("from_at", query.from_at), _utc("to_at", query.to_at)
        if to_at <= from_at:
            raise InvalidInput("to_at", "must be after from_at")
        if to_at - from_at > MAX_PERIOD:
            raise InvalidInput("to_at", f"a period is at most {MAX_PERIOD.days} days")
        size = query.page_size
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PAGE:
            raise InvalidInput("page_size", f"must be an integer from 1 to {MAX_PAGE}")
        if not self._authorizer.allows(query.by, Actions.EXPORT_JOURNAL):
            raise Forbidden(Actions.EXPORT_JOURNAL)
        return JournalExport(self._new_uow, from_at, to_at, size)
