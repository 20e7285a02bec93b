"""A new user's first steps, through HTTP only."""

from __future__ import annotations

from core.shared.actor import Persona
from tests.unit.http.conftest import Api


def test_new_user_opens_a_wallet_deposits_transfers_and_reads_balance_and_statement(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob", Persona.PROVIDER)

    opened = api.post("/v1/wallets", alice, {"currency": "EUR"})
    assert opened.status_code == 201
    wallet = opened.json()
    assert wallet["currency"] == "EUR"
    assert wallet["balance"] == {"minor": 0, "currency": "EUR"}
    bob_wallet = api.wallet(bob)

    deposited = api.post(
        f"/v1/wallets/{wallet['wallet_id']}/deposits", alice, {"amount": {"minor": 1050, "currency": "EUR"}}
    )
    assert deposited.status_code == 201
    assert deposited.json()["balance"] == {"minor": 1050, "currency": "EUR"}

    moved = api.post(
        "/v1/transfers",
        alice,
        {
            "from_wallet_id": wallet["wallet_id"],
            "to_wallet_id": bob_wallet,
            "amount": {"minor": 300, "currency": "EUR"},
            "memo": "lunch",
        },
    )
    assert moved.status_code == 201
    assert moved.json()["from_balance"] == {"minor": 750, "currency": "EUR"}

    balance = api.get(f"/v1/wallets/{wallet['wallet_id']}/balance", alice)
    assert balance.status_code == 200
    assert balance.json()["available"] == {"minor": 750, "currency": "EUR"}
    assert api.get(f"/v1/wallets/{bob_wallet}/balance", bob).json()["available"] == {"minor": 300, "currency": "EUR"}

    statement = api.get(f"/v1/wallets/{wallet['wallet_id']}/statement", alice).json()
    assert [(line["kind"], line["amount"]["minor"], line["memo"]) for line in statement["lines"]] == [
        ("transfer", -300, "lunch"),
        ("deposit", 1050, ""),
    ]
    assert statement["next_cursor"] is None

    listed = api.get("/v1/wallets", alice).json()
    assert [w["wallet_id"] for w in listed["wallets"]] == [wallet["wallet_id"]]


def test_statement_pages_follow_next_cursor_without_gaps_or_repeats(api: Api) -> None:
    alice = api.user("alice")
    wallet = api.wallet(alice)
    for minor in range(1, 6):
        api.deposit(alice, wallet, minor)

    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.get(f"/v1/wallets/{wallet}/statement", alice, params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [line["amount"]["minor"] for line in body["lines"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert seen == [5, 4, 3, 2, 1]
    assert pages == 3


def test_statement_limit_defaults_to_fifty(api: Api) -> None:
    alice = api.user("alice")
    wallet = api.wallet(alice)
    for _ in range(51):
        api.deposit(alice, wallet, 1)

    body = api.get(f"/v1/wallets/{wallet}/statement", alice).json()

    assert len(body["lines"]) == 50
    assert body["next_cursor"] is not None


def test_me_describes_the_authenticated_actor(api: Api) -> None:
    carol = api.user("carol", Persona.PROVIDER, Persona.CLIENT)

    me = api.get("/v1/me", carol)

    assert me.status_code == 200
    assert me.json()["kind"] == "user"
    assert me.json()["personas"] == ["client", "provider"]
    assert me.json()["id"].startswith("usr_")


def test_staff_lists_and_opens_wallets_for_a_user(api: Api) -> None:
    alice, support = api.user("alice"), api.user("sam", Persona.SUPPORT)
    alice_id = api.get("/v1/me", alice).json()["id"]

    opened = api.post("/v1/wallets", support, {"currency": "GBP", "owner_id": alice_id})
    listed = api.get("/v1/wallets", support, params={"owner_id": alice_id})

    assert opened.status_code == 201
    assert opened.json()["owner_id"] == alice_id
    assert [w["currency"] for w in listed.json()["wallets"]] == ["GBP"]


def test_finance_takes_a_snapshot_whose_totals_balance(api: Api) -> None:
    alice, finance = api.user("alice"), api.user("fiona", Persona.FINANCE)
    api.deposit(alice, api.wallet(alice), 500)

    snapshot = api.post("/v1/snapshots", finance)

    assert snapshot.status_code == 201
    assert snapshot.json()["totals"] == [{"currency": "EUR", "accounts": 2, "total_minor": 0}]
