"""Every POST carries an Idempotency-Key; a retry gets the first answer, byte for byte."""

from __future__ import annotations

import pytest

from core.shared.actor import Persona
from tests.unit.http.conftest import Api, assert_problem, new_key


def test_a_replayed_deposit_gets_the_identical_answer_and_posts_one_entry(api: Api) -> None:
    alice = api.user("alice")
    wallet = api.wallet(alice)
    key = new_key()
    body = {"amount": {"minor": 1050, "currency": "EUR"}, "memo": "first"}

    first = api.post(f"/v1/wallets/{wallet}/deposits", alice, body, key=key)
    again = api.post(f"/v1/wallets/{wallet}/deposits", alice, body, key=key)

    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    statement = api.get(f"/v1/wallets/{wallet}/statement", alice).json()
    assert len(statement["lines"]) == 1
    assert statement["balance"] == {"minor": 1050, "currency": "EUR"}
    with api.runtime.new_unit_of_work() as uow:
        assert len(uow.store.entries) == 1


@pytest.mark.parametrize(
    ("path", "persona", "body"),
    [("/v1/wallets", Persona.CLIENT, {"currency": "EUR"}), ("/v1/snapshots", Persona.FINANCE, None)],
)
def test_replays_of_other_posts_are_identical_too(api: Api, path: str, persona: Persona, body: object) -> None:
    someone = api.user("someone", persona)
    key = new_key()

    first = api.post(path, someone, body, key=key)
    again = api.post(path, someone, body, key=key)

    assert first.status_code == 201, first.text
    assert (again.status_code, again.content) == (first.status_code, first.content)


def test_a_replayed_transfer_moves_money_once(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    source, target = api.wallet(alice), api.wallet(bob)
    api.deposit(alice, source, 1000)
    body = {"from_wallet_id": source, "to_wallet_id": target, "amount": {"minor": 400, "currency": "EUR"}}
    key = new_key()

    answers = [api.post("/v1/transfers", alice, body, key=key) for _ in range(3)]

    assert {a.content for a in answers} == {answers[0].content}
    assert api.get(f"/v1/wallets/{target}/balance", bob).json()["available"]["minor"] == 400


def test_the_same_key_with_another_body_is_a_conflict(api: Api) -> None:
    alice = api.user("alice")
    wallet = api.wallet(alice)
    key = new_key()
    api.post(f"/v1/wallets/{wallet}/deposits", alice, {"amount": {"minor": 100, "currency": "EUR"}}, key=key)

    other = api.post(f"/v1/wallets/{wallet}/deposits", alice, {"amount": {"minor": 999, "currency": "EUR"}}, key=key)

    assert_problem(other, 409, "idempotency_key_reused")
    assert api.get(f"/v1/wallets/{wallet}/balance", alice).json()["available"]["minor"] == 100


def test_keys_are_scoped_to_the_actor(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    key = new_key()

    first = api.post("/v1/wallets", alice, {"currency": "EUR"}, key=key)
    second = api.post("/v1/wallets", bob, {"currency": "EUR"}, key=key)

    assert first.status_code == second.status_code == 201
    assert first.json()["wallet_id"] != second.json()["wallet_id"]


@pytest.mark.parametrize("path", ["/v1/wallets", "/v1/wallets/wal_x/deposits", "/v1/transfers", "/v1/snapshots"])
def test_a_post_without_an_idempotency_key_is_refused(api: Api, path: str) -> None:
    alice = api.user("alice")

    answer = api.client.post(path, json={"currency": "EUR"}, headers=alice)

    assert_problem(answer, 400, "idempotency_key_required")


@pytest.mark.parametrize("key", ["short", "has space in it", "x" * 201, "ünïcode-key", "semi;colon;key"])
def test_a_malformed_idempotency_key_is_refused(api: Api, key: str) -> None:
    alice = api.user("alice")

    headers = [(name.encode(), value.encode()) for name, value in alice.items()] + [(b"Idempotency-Key", key.encode())]
    answer = api.client.post("/v1/wallets", json={"currency": "EUR"}, headers=headers)

    assert_problem(answer, 400, "idempotency_key_invalid")


def test_a_refused_command_does_not_burn_its_key(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    source, target = api.wallet(alice), api.wallet(bob)
    body = {"from_wallet_id": source, "to_wallet_id": target, "amount": {"minor": 400, "currency": "EUR"}}
    key = new_key()

    refused = api.post("/v1/transfers", alice, body, key=key)
    api.deposit(alice, source, 1000)
    retried = api.post("/v1/transfers", alice, body, key=key)

    assert_problem(refused, 422, "insufficient_funds")
    assert retried.status_code == 201
