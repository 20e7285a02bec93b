"""What only the SQL adapter promises for escrow: every escrow event is stored in the
outbox as JSON that reads back equal, and the database itself refuses money rules that
were broken past the domain (a negative running balance, a milestone whose amounts do not
add up)."""

from __future__ import annotations

import inspect
import json
import types
import typing
from datetime import datetime
from typing import Any

import attrs
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc

from adapters.sql.mappers import from_document
from adapters.sql.migrations import current_revision, downgrade, head_revision, upgrade
from adapters.sql.tables import metadata
from core.escrow import domain
from core.escrow.ports import PLATFORM, AccountKinds
from core.shared.events import DomainEvent
from core.shared.ids import new_id
from core.shared.money import Money

from ..builders import EUR, T0, a_contract
from ..harness import MakeUow
from .contracts import add, fund


def escrow_events() -> list[type[DomainEvent]]:
    """Every event escrow emits (the classes with their own name)."""
    return [
        cls
        for _, cls in inspect.getmembers(domain, inspect.isclass)
        if issubclass(cls, DomainEvent) and cls.__module__ == domain.__name__ and "name" in vars(cls)
    ]


def an_example(cls: type[Any], *, with_optionals: bool) -> Any:
    """An instance with a value of the right type in every field (optional ones set or
    not), so that a new event is covered the day it is added."""
    attrs.resolve_types(cls)
    values: dict[str, Any] = {}
    for field in attrs.fields(cls):
        tp = field.type
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            if not with_optionals:
                values[field.name] = None
                continue
            tp = next(arg for arg in typing.get_args(tp) if arg is not type(None))
        values[field.name] = _value_of(tp, field.name)
    return cls(**values)


def _value_of(tp: Any, name: str) -> Any:
    while getattr(tp, "__supertype__", None) is not None:  # NewType ids
        tp = tp.__supertype__
    if tp is Money:
        return Money.of(123_456_789_012, "EUR")
    if tp is datetime:
        return T0
    if tp is bool:
        return True
    if tp is int:
        return 3
    if tp is str:
        return f"{name} ünïcode"
    raise AssertionError(f"no example value for {name}: {tp!r}")


class EscrowSqlContract:
    """Subclasses supply ``engine`` (migrated) and ``make_uow`` over it."""

    def test_every_escrow_event_is_known(self) -> None:
        assert len(escrow_events()) >= 18

    @pytest.mark.parametrize("with_optionals", [True, False], ids=["optionals-set", "optionals-none"])
    def test_every_escrow_event_reads_back_equal_from_the_outbox(
        self, engine: Engine, make_uow: MakeUow, with_optionals: bool
    ) -> None:
        events = [an_example(cls, with_optionals=with_optionals) for cls in escrow_events()]
        events = [attrs.evolve(e, event_id=new_id("evt")) for e in events]
        with make_uow() as uow:
            uow.outbox.add(events)
            uow.commit()
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT name, payload FROM outbox ORDER BY id")).all()
        assert [name for name, _ in rows] == [type(e).name for e in events]
        assert [from_document(json.loads(p), type(e)) for (_, p), e in zip(rows, events, strict=True)] == events

    @pytest.mark.parametrize(
        "kind", [AccountKinds.WALLET, AccountKinds.WALLET_PENDING, AccountKinds.ESCROW, AccountKinds.PAYOUT_IN_TRANSIT]
    )
    def test_the_database_refuses_a_negative_running_balance(
        self, engine: Engine, make_uow: MakeUow, kind: str
    ) -> None:
        owner = PLATFORM if kind == AccountKinds.ESCROW else new_id("usr")
        with make_uow() as uow:
            account = uow.book.account(owner_id=owner, kind=kind, currency=EUR, label=new_id("l"), at=T0)
            uow.commit()
        refused = pytest.raises(sa_exc.IntegrityError, match=r"ck_accounts_running_balance_not_negative")
        with refused, engine.begin() as connection:
            connection.execute(text("UPDATE accounts SET balance_minor = -1 WHERE id = :id"), {"id": account})

    def test_a_platform_account_without_a_running_balance_may_go_below_zero(
        self, engine: Engine, make_uow: MakeUow
    ) -> None:
        with make_uow() as uow:
            account = uow.book.account(owner_id=PLATFORM, kind=AccountKinds.FEE_REVENUE, currency=EUR, at=T0)
            uow.commit()
        with engine.begin() as connection:
            connection.execute(text("UPDATE accounts SET balance_minor = -1 WHERE id = :id"), {"id": account})

    @pytest.mark.parametrize(
        "assignment",
        [
            "held_minor = held_minor - 1",
            "released_minor = released_minor + 1",
            "held_minor = -1",
            "fees_minor = released_minor + 1",
        ],
    )
    def test_the_database_refuses_milestone_amounts_that_do_not_add_up(
        self, engine: Engine, make_uow: MakeUow, assignment: str
    ) -> None:
        contract = add(make_uow, a_contract(10_000))
        with make_uow() as uow:
            stored = uow.contracts.lock(contract.id)
            fund(uow, stored.milestones[0])
            uow.contracts.save(stored)
            uow.commit()
        refused = pytest.raises(sa_exc.IntegrityError, match=r"ck_milestones_(amounts|money_conserved)")
        with refused, engine.begin() as connection:
            connection.execute(
                text(f"UPDATE milestones SET {assignment} WHERE id = :id"), {"id": stored.milestones[0].id}
            )

    def test_the_escrow_revision_goes_down_and_up_again_over_ledger_data(
        self, engine: Engine, make_uow: MakeUow
    ) -> None:
        """SQLite rebuilds ``accounts`` to change its CHECK, while postings refer to it."""
        owner = new_id("usr")
        with make_uow() as uow:
            wallet = uow.book.account(owner_id=owner, kind=AccountKinds.WALLET, currency=EUR, at=T0)
            clearing = uow.book.account(
                owner_id=PLATFORM, kind=AccountKinds.GATEWAY_CLEARING, currency=EUR, label="sandbox", at=T0
            )
            uow.book.post(
                kind="deposit",
                memo="",
                initiated_by="tests",
                legs=[(wallet, Money(700, EUR)), (clearing, Money(-700, EUR))],
                at=T0,
            )
            uow.commit()
        downgrade(engine, "0001")
        assert current_revision(engine) == "0001"
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
        with make_uow() as uow:
            assert uow.book.balance(wallet) == Money(700, EUR)
            assert [line.amount.minor for line in uow.journal.statement(wallet, before_seq=None, limit=5)] == [700]
