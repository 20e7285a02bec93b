"""Members see and mark only their own notifications; pages go newest first by cursor;
marking read is an audited, idempotent command."""

from __future__ import annotations

import pytest

from core.identity.domain import PERMISSIONS, SYSTEM_ACTIONS
from core.notifications.domain import Actions, NotificationId, NotificationNotFound
from core.shared.actor import Actor, Persona
from core.shared.authorization import Forbidden
from core.shared.errors import InvalidInput
from core.shared.idempotency import IdempotencyKeyReused
from core.shared.money import Money
from tests.unit.core.world import key
from tests.unit.notifications.world import NotificationsWorld


def three_transfers_to_bob(world: NotificationsWorld) -> tuple[Actor, Actor]:
    alice = world.funded_client("alice", 10_000)
    bob = world.user("bob", Persona.CLIENT)
    bob_wallet = world.wallet(bob).wallet_id
    for minor in (100, 200, 300):
        world.transfer(alice, world.wallet_of(alice), bob_wallet, Money.of(minor, "EUR"))
    world.handle_all()
    return alice, bob


def test_a_member_lists_their_own_newest_first_with_the_unread_count(world: NotificationsWorld) -> None:
    _, bob = three_transfers_to_bob(world)
    page = world.inbox(bob)
    assert [n.text for n in page.notifications] == [
        "You received 3.00 EUR in your wallet.",
        "You received 2.00 EUR in your wallet.",
        "You received 1.00 EUR in your wallet.",
    ]
    assert {n.recipient_id for n in page.notifications} == {bob.id}
    assert (page.unread, page.next_cursor, page.recipient_id) == (3, None, bob.id)


def test_another_members_notifications_are_invisible(world: NotificationsWorld) -> None:
    alice, bob = three_transfers_to_bob(world)
    assert world.inbox(alice).notifications == ()
    assert world.inbox(alice).unread == 0
    with pytest.raises(Forbidden):
        world.inbox(alice, user_id=bob.id)  # a member may not ask for someone else's


def test_support_may_read_a_members_notifications_finance_may_not(world: NotificationsWorld) -> None:
    _, bob = three_transfers_to_bob(world)
    support = world.user("sam", Persona.SUPPORT)
    finance = world.user("fin", Persona.FINANCE)
    assert len(world.inbox(support, user_id=bob.id).notifications) == 3
    with pytest.raises(Forbidden):
        world.inbox(finance, user_id=bob.id)


def test_pages_follow_the_cursor_to_the_oldest(world: NotificationsWorld) -> None:
    _, bob = three_transfers_to_bob(world)
    first = world.inbox(bob, limit=2)
    assert first.next_cursor is not None
    second = world.inbox(bob, limit=2, cursor=first.next_cursor)
    assert [n.text for n in first.notifications + second.notifications] == world.texts(bob)
    assert second.next_cursor is None and len(second.notifications) == 1


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 201}, {"limit": True}, {"cursor": "x12"}, {"cursor": "n"}])
def test_a_bad_limit_or_cursor_is_invalid_input(world: NotificationsWorld, query: dict[str, object]) -> None:
    bob = world.user("bob", Persona.CLIENT)
    with pytest.raises(InvalidInput):
        world.inbox(bob, **query)


def test_marking_some_read_keeps_the_others_unread_and_filters(world: NotificationsWorld) -> None:
    _, bob = three_transfers_to_bob(world)
    newest, middle, _oldest = world.inbox(bob).notifications

    result = world.mark_read(bob, newest.id, middle.id)

    assert (result.marked, result.unread) == (2, 1)
    assert [n.text for n in world.inbox(bob, unread_only=True).notifications] == [
        "You received 1.00 EUR in your wallet."
    ]
    read = {n.id: n.read_at for n in world.inbox(bob).notifications}
    assert read[newest.id] is not None and read[middle.id] is not None
    assert world.mark_read(bob, newest.id).marked == 0  # again: nothing changes
    assert {n.id: n.read_at for n in world.inbox(bob).notifications} == read  # first read time kept


def test_marking_all_unread_clears_the_count(world: NotificationsWorld) -> None:
    _, bob = three_transfers_to_bob(world)
    assert world.mark_read(bob, all_unread=True).marked == 3
    assert world.inbox(bob).unread == 0
    assert world.inbox(bob, unread_only=True).notifications == ()


def test_nobody_marks_another_members_notification_and_nothing_is_marked(world: NotificationsWorld) -> None:
    alice, bob = three_transfers_to_bob(world)
    bobs = world.inbox(bob).notifications
    alices_own = world.mark_read(alice, all_unread=True)
    assert alices_own.marked == 0

    with pytest.raises(NotificationNotFound):
        world.mark_read(alice, bobs[0].id)
    with pytest.raises(NotificationNotFound):
        world.mark_read(bob, bobs[0].id, NotificationId("ntf_missing"))  # all or nothing
    assert world.inbox(bob).unread == 3


def test_a_retry_with_the_same_key_replays_and_another_payload_is_refused(world: NotificationsWorld) -> None:
    _, bob = three_transfers_to_bob(world)
    newest = world.inbox(bob).notifications[0]
    k = key()
    first = world.mark_read(bob, newest.id, k=k)
    assert world.mark_read(bob, newest.id, k=k) == first  # not 0: the first answer
    with pytest.raises(IdempotencyKeyReused):
        world.mark_read(bob, all_unread=True, k=k)


@pytest.mark.parametrize(
    ("ids", "all_unread"),
    [((), False), ((NotificationId("ntf_1"),), True), (tuple(NotificationId(f"ntf_{i}") for i in range(201)), False)],
)
def test_ids_xor_all_unread_at_most_200(
    world: NotificationsWorld, ids: tuple[NotificationId, ...], all_unread: bool
) -> None:
    bob = world.user("bob", Persona.CLIENT)
    with pytest.raises(InvalidInput):
        world.mark_read(bob, *ids, all_unread=all_unread)


def test_marking_read_is_audited(world: NotificationsWorld) -> None:
    _, bob = three_transfers_to_bob(world)
    world.mark_read(bob, all_unread=True)
    drafts = [r.draft for chain in world.runtime.persistence.store().audit.values() for r in chain]
    mine = [d for d in drafts if d.action == "notifications.mark_read"]
    assert len(mine) == 1
    assert (mine[0].actor, mine[0].target, mine[0].outcome.value) == (bob.ref, f"notifications:{bob.id}", "succeeded")


def test_the_policy_names_every_notifications_action_and_the_system_none() -> None:
    assert set(PERMISSIONS) >= Actions.ALL
    assert not SYSTEM_ACTIONS & Actions.ALL
    assert Persona.FINANCE not in PERMISSIONS[Actions.READ_ANY]
