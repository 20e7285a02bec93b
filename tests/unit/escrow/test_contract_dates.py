from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.escrow.use_cases.create_contract import CreateContractCommand, MilestoneSpec
from core.shared.actor import Persona
from core.shared.errors import InvalidInput
from core.shared.money import Currency, Money
from tests.unit.escrow.world import EscrowWorld


def _create(world: EscrowWorld, due_at: datetime):  # type: ignore[no-untyped-def]
    client, provider = world.funded_client("carla", 10_000), world.user("pete", Persona.PROVIDER)
    spec = MilestoneSpec(title="Design", amount=Money.of(1_000, "EUR"), due_at=due_at)
    return world.uc.create_contract()(
        world.command(
            CreateContractCommand, client, provider_id=provider.id, currency=Currency("EUR"), milestones=(spec,)
        )
    )


def test_a_due_date_with_an_offset_is_kept_as_the_same_instant_in_utc(world: EscrowWorld) -> None:
    local = (world.now() + timedelta(days=30)).astimezone(timezone(timedelta(hours=2)))
    view = _create(world, local)
    due = view.milestones[0].due_at
    assert due == local and due.utcoffset() == timedelta(0)


def test_a_due_date_beyond_the_calendar_in_utc_is_invalid_input(world: EscrowWorld) -> None:
    with pytest.raises(InvalidInput):
        _create(world, datetime(9999, 12, 31, 20, 0, tzinfo=timezone(timedelta(hours=-5))))


def test_sql_stores_a_due_date_given_with_an_offset(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from core.shared.time import ManualClock
    from entrypoints.container import build
    from entrypoints.settings import Settings

    clock = ManualClock(datetime.now(UTC))
    runtime = build(Settings(database_url=f"sqlite:///{tmp_path}/g.sqlite3"), clock=clock)
    runtime.start()
    try:
        world = EscrowWorld.over(runtime, clock)
        local = (clock.now() + timedelta(days=30)).astimezone(timezone(timedelta(hours=2)))
        assert _create(world, local).milestones[0].due_at == local
    finally:
        runtime.stop()
