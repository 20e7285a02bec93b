"""``GET /v1/notifications`` and ``POST /v1/notifications/read`` over the in-memory
runtime: your own notifications only, problem+json for everything refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.messaging.use_cases.handle_event import HandleEvent
from core.notifications.use_cases.notify_parties import CONSUMER_NAME
from core.shared.actor import Persona
from entrypoints.container import build_in_memory
from entrypoints.settings import Settings
from tests.unit.http.conftest import Api, assert_problem, serve


@pytest.fixture
def api() -> Iterator[Api]:
    with serve(build_in_memory(Settings(timer_interval_seconds=0))) as served:
        yield served


def handle_outbox(api: Api) -> None:
    runtime = api.runtime
    handle = HandleEvent(
        runtime.persistence.uow_factory(), [runtime.use_cases.notify_parties()], runtime.platform.clock()
    )
    with runtime.new_unit_of_work() as uow:
        envelopes = uow.outbox_feed.pending(limit=1_000)
    for envelope in envelopes:
        handle(CONSUMER_NAME, envelope)


def transfers_to_bob(api: Api, *minors: int) -> tuple[dict[str, str], dict[str, str]]:
    alice, bob = api.user("alice"), api.user("bob")
    alice_wallet, bob_wallet = api.wallet(alice), api.wallet(bob)
    api.deposit(alice, alice_wallet, 100_000)
    for minor in minors:
        body = {
            "from_wallet_id": alice_wallet,
            "to_wallet_id": bob_wallet,
            "amount": {"minor": minor, "currency": "EUR"},
        }
        answer = api.post("/v1/transfers", alice, body)
        assert answer.status_code == 201, answer.text
    handle_outbox(api)
    return alice, bob


def listing(api: Api, auth: dict[str, str], **params: Any) -> dict[str, Any]:
    answer = api.get("/v1/notifications", auth, params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_member_reads_their_notifications_newest_first_and_marks_one_read(api: Api) -> None:
    alice, bob = transfers_to_bob(api, 1_250, 99)

    page = listing(api, bob)
    assert [n["text"] for n in page["notifications"]] == [
        "You received 0.99 EUR in your wallet.",
        "You received 12.50 EUR in your wallet.",
    ]
    assert page["unread"] == 2 and page["next_cursor"] is None
    newest = page["notifications"][0]
    assert newest["kind"] == "ledger.funds_transferred" and newest["read_at"] is None
    assert listing(api, alice)["notifications"] == []

    answer = api.post("/v1/notifications/read", bob, {"notification_ids": [newest["id"]]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"marked": 1, "unread": 1}
    unread = listing(api, bob, unread_only="true")["notifications"]
    assert [n["text"] for n in unread] == ["You received 12.50 EUR in your wallet."]


def test_pages_follow_next_cursor(api: Api) -> None:
    _, bob = transfers_to_bob(api, 1, 2, 3)
    first = listing(api, bob, limit=2)
    second = listing(api, bob, limit=2, cursor=first["next_cursor"])
    assert [n["text"] for n in first["notifications"] + second["notifications"]] == [
        "You received 0.03 EUR in your wallet.",
        "You received 0.02 EUR in your wallet.",
        "You received 0.01 EUR in your wallet.",
    ]


def test_marking_another_members_notification_is_a_404_and_marks_nothing(api: Api) -> None:
    alice, bob = transfers_to_bob(api, 100)
    bobs = listing(api, bob)["notifications"][0]["id"]

    answer = api.post("/v1/notifications/read", alice, {"notification_ids": [bobs]})

    assert_problem(answer, 404, "notification_not_found")
    assert listing(api, bob)["unread"] == 1


def test_only_support_and_admin_read_a_members_notifications(api: Api) -> None:
    alice, bob = transfers_to_bob(api, 100)
    support = api.user("sam", Persona.SUPPORT)
    bob_id = api.get("/v1/me", bob).json()["id"]

    assert len(listing(api, support, user_id=bob_id)["notifications"]) == 1
    assert_problem(api.get("/v1/notifications", alice, params={"user_id": bob_id}), 403, "forbidden")


def test_marking_read_needs_an_idempotency_key(api: Api) -> None:
    _, bob = transfers_to_bob(api, 100)
    answer = api.client.post("/v1/notifications/read", json={"all_unread": True}, headers=bob)
    assert_problem(answer, 400, "idempotency_key_required")


def test_bad_input_is_a_problem_never_a_500(api: Api) -> None:
    _, bob = transfers_to_bob(api, 100)
    assert_problem(api.post("/v1/notifications/read", bob, {}), 422, "invalid_input")
    assert_problem(api.post("/v1/notifications/read", bob, {"all_unread": "yes"}), 400, "malformed_request")
    assert_problem(api.post("/v1/notifications/read", bob, {"ids": ["x"]}), 400, "malformed_request")
    assert_problem(api.get("/v1/notifications", bob, params={"cursor": "bogus"}), 422, "invalid_input")
    assert api.get("/v1/notifications", bob, params={"limit": 0}).status_code == 400
    assert_problem(api.client.get("/v1/notifications"), 401, "unauthenticated")


def test_a_retried_mark_replays_the_first_answer(api: Api) -> None:
    _, bob = transfers_to_bob(api, 100, 200)
    first = api.post("/v1/notifications/read", bob, {"all_unread": True}, key="mark-all-0001")
    again = api.post("/v1/notifications/read", bob, {"all_unread": True}, key="mark-all-0001")
    assert first.json() == again.json() == {"marked": 2, "unread": 0}
