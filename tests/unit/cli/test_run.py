"""``gigcore run``: use cases as a staff operator, input as JSON or flags, dry runs, exit codes."""

from __future__ import annotations

import json
import typing
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from dependency_injector import providers

from entrypoints.cli import runnable
from entrypoints.container import UseCases

from .conftest import Cli

People = dict[str, dict[str, Any]]


def balance_of(cli: Cli, wallet_id: str) -> dict[str, Any]:
    available: dict[str, Any] = cli.ok("run", "get-balance", "--as", "fin", "--wallet-id", wallet_id)["available"]
    return available


def audit_records(cli: Cli) -> int:
    return int(cli("audit", "verify").stdout.split()[1])


def test_support_opens_a_wallet_finance_deposits_and_support_reads_the_balance(
    cli: Cli, staff: People, wallet: str
) -> None:
    seen = cli.ok("run", "get-balance", "--as", "sam", "--wallet-id", wallet)
    listed = cli.ok("run", "list-wallets", "--as", "sam", "--owner-id", staff["alice"]["user_id"])

    assert seen["wallet_id"] == wallet
    assert seen["available"] == {"minor": 1050, "currency": "EUR"}
    assert [w["wallet_id"] for w in listed["wallets"]] == [wallet]


def test_finance_reads_a_statement(cli: Cli, wallet: str) -> None:
    page = cli.ok("run", "get-statement", "--as", "fin", "--wallet-id", wallet, "--limit", "5")

    assert [(line["kind"], line["amount"]["minor"]) for line in page["lines"]] == [("deposit", 1050)]
    assert page["next_cursor"] is None


def test_json_and_flags_structure_the_same_command(cli: Cli, wallet: str) -> None:
    fields = {"wallet_id": wallet, "amount": {"minor": 250, "currency": "EUR"}, "memo": "42"}
    common = ("run", "deposit-sandbox-funds", "--as", "fin", "--idempotency-key", "deposit-0001")

    by_json = cli.ok(*common, "--json", json.dumps(fields))
    by_flags = cli.ok(*common, "--wallet-id", wallet, "--amount", "2.50 EUR", "--memo", "42")

    # The same key and the same payload: the second is a replay of the first, not a second deposit.
    assert by_flags == by_json
    assert balance_of(cli, wallet) == {"minor": 1300, "currency": "EUR"}


def test_json_can_come_from_stdin(cli: Cli, wallet: str) -> None:
    fields = json.dumps({"wallet_id": wallet, "amount": "1.00 EUR"})

    deposited = cli.ok("run", "deposit-sandbox-funds", "--as", "fin", "--json", "-", input=fields)

    assert deposited["balance"] == {"minor": 1150, "currency": "EUR"}


def test_the_same_key_with_another_payload_is_a_conflict(cli: Cli, wallet: str) -> None:
    common = ("run", "deposit-sandbox-funds", "--as", "fin", "--wallet-id", wallet, "--idempotency-key", "deposit-0002")
    cli.ok(*common, "--amount", "1.00 EUR")

    result = cli(*common, "--amount", "2.00 EUR")

    assert result.exit_code == 4
    assert "[idempotency_key_reused]" in result.stderr


def test_a_dry_run_shows_the_result_and_changes_nothing(cli: Cli, wallet: str) -> None:
    records = audit_records(cli)

    result = cli("run", "deposit-sandbox-funds", "--as", "fin", "--dry-run", "--wallet-id", wallet, "--amount", "5 EUR")

    assert result.exit_code == 0
    assert json.loads(result.stdout)["balance"] == {"minor": 1550, "currency": "EUR"}
    assert "dry run" in result.stderr
    assert balance_of(cli, wallet) == {"minor": 1050, "currency": "EUR"}
    assert audit_records(cli) == records


def test_staff_may_not_transfer_money_out_of_a_members_wallet(cli: Cli, staff: People, wallet: str) -> None:
    bobs = cli.ok("run", "open-wallet", "--as", "ada", "--currency", "EUR", "--owner-id", staff["bob"]["user_id"])

    transfer = f"run transfer-funds --as ada --from-wallet-id {wallet} --to-wallet-id {bobs['wallet_id']}"

    result = cli(*transfer.split(), "--amount", "1.00 EUR")

    assert result.exit_code == 5
    assert result.stderr.strip() == "error: your role does not allow ledger.transfer [forbidden]"
    assert balance_of(cli, wallet) == {"minor": 1050, "currency": "EUR"}


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_acting_as_a_marketplace_member_is_refused(cli: Cli, staff: People, wallet: str, who: str) -> None:
    result = cli("run", "get-balance", "--as", who, "--wallet-id", wallet)

    assert result.exit_code == 5
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"error: --as {who}: not a staff user; only support, finance or admin users may run use cases [not_staff]"
    ]


def test_acting_as_nobody_is_refused(cli: Cli, wallet: str) -> None:
    result = cli("run", "get-balance", "--as", "ghost", "--wallet-id", wallet)

    assert result.exit_code == 5
    assert "[unknown_operator]" in result.stderr


def test_the_operator_may_be_named_by_id(cli: Cli, staff: People, wallet: str) -> None:
    seen = cli.ok("run", "get-balance", "--as", staff["fin"]["user_id"], "--wallet-id", wallet)

    assert seen["wallet_id"] == wallet


Case = Callable[[People, str], list[str]]

EXIT_CODE_CASES: dict[str, tuple[Case, int, str]] = {
    "INVALID": (lambda p, w: ["open-wallet", "--as", "sam", "--currency", "EURO"], 2, "invalid_input"),
    "NOT_FOUND": (lambda p, w: ["get-balance", "--as", "sam", "--wallet-id", "wal_missing"], 3, "wallet_not_found"),
    "CONFLICT": (
        lambda p, w: ["open-wallet", "--as", "sam", "--currency", "EUR", "--owner-id", p["alice"]["user_id"]],
        4,
        "wallet_already_open",
    ),
    "FORBIDDEN": (
        lambda p, w: ["deposit-sandbox-funds", "--as", "sam", "--wallet-id", w, "--amount", "1 EUR"],
        5,
        "forbidden",
    ),
    "RULE": (
        lambda p, w: ["deposit-sandbox-funds", "--as", "fin", "--wallet-id", w, "--amount", "1 USD"],
        6,
        "currency_mismatch",
    ),
}


@pytest.mark.parametrize("category", EXIT_CODE_CASES)
def test_each_error_category_exits_with_its_code_and_one_line(
    cli: Cli, staff: People, wallet: str, category: str
) -> None:
    args, code, error_code = EXIT_CODE_CASES[category]

    result = cli("run", *args(staff, wallet))

    assert result.exit_code == code
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert line.endswith(f"[{error_code}]")


def test_an_unreachable_database_is_unavailable(cli: Cli) -> None:
    unreachable = {"GIGCORE_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/gigcore"}

    result = cli("users", "create", "alice", "--name", "Alice", "--persona", "client", env=unreachable)

    assert result.exit_code == 7
    assert result.stderr.strip().splitlines() == [
        "error: database is unavailable; nothing was written [dependency_unavailable]"
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--currency", "EUR", "--colour", "red"], "--colour: open-wallet has no such field"),
        (["--json", '{"currency": "EUR", "by": "admin"}'], "by: is filled by the CLI"),
        (["--json", '{"currency": "EUR", "idempotency_key": "k-000000001"}'], "idempotency_key: is filled by the CLI"),
        (["--json", '{"currency": "EUR"}', "--owner-id", "usr_1"], "either as --json or as --field flags"),
        (["--json", "{currency: EUR}"], "--json: not valid JSON"),
        (["--json", '["EUR"]'], "--json: must be a JSON object"),
        ([], "currency: required field missing"),
        (["--currency"], "--currency: needs a value"),
        (["EUR"], "EUR: unexpected argument"),
        (["--currency", "EUR", "--currency", "USD"], "--currency: given twice"),
        (["--currency", "EUR", "--idempotency-key", "short"], "idempotency_key: must be 8 to 200 characters"),
    ],
)
def test_bad_input_is_a_usage_error(cli: Cli, staff: People, args: list[str], says: str) -> None:
    result = cli("run", "open-wallet", "--as", "sam", *args)

    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert says in line


@pytest.mark.parametrize(
    ("amount", "says"),
    [
        ("10.505 EUR", "more than 2 decimal places"),
        ("10.50", "write money as"),
        ('{"minor": 10.5, "currency": "EUR"}', "integer number of minor units"),
        ('{"minor": "1050", "currency": "EUR"}', "integer number of minor units"),
        ('{"minor": 1050}', "write money as"),
        ("10.50 EURO", "not an ISO 4217 code"),
    ],
)
def test_money_is_exact_or_refused(cli: Cli, wallet: str, amount: str, says: str) -> None:
    result = cli("run", "deposit-sandbox-funds", "--as", "fin", "--wallet-id", wallet, "--amount", amount)

    assert result.exit_code == 2
    assert says in result.stderr


def test_both_money_forms_mean_the_same_amount(cli: Cli, wallet: str) -> None:
    deposit = ("run", "deposit-sandbox-funds", "--as", "fin", "--wallet-id", wallet)

    as_text = cli.ok(*deposit, "--amount", "0.07 EUR")
    as_minor = cli.ok(*deposit, "--amount", '{"minor": 7, "currency": "EUR"}')

    assert as_text["amount"] == as_minor["amount"] == {"minor": 7, "currency": "EUR"}


def test_an_unknown_use_case_is_a_usage_error(cli: Cli) -> None:
    result = cli("run", "refund-everything", "--as", "sam")

    assert result.exit_code == 2
    assert "gigcore run --list" in result.stderr


def test_run_list_shows_one_line_per_use_case_with_its_fields(cli: Cli) -> None:
    result = cli("run", "--list")

    lines = result.stdout.strip().splitlines()
    assert result.exit_code == 0
    assert [line.split()[0] for line in lines] == [r.name for r in runnable.RUNNABLE]
    for line, spec in zip(lines, runnable.RUNNABLE, strict=True):
        assert spec.summary in line
        assert all(runnable.flag(f.name) in line for f in spec.fields())


def _use_case_providers() -> dict[str, type]:
    return {
        name: provider.cls for name, provider in UseCases.providers.items() if isinstance(provider, providers.Singleton)
    }


def test_every_command_use_case_of_the_container_is_runnable() -> None:
    # authenticate_token takes a bearer secret, not a command: it is HTTP's, not an operator's.
    # fire_due_timers runs as the system, never as an operator: `gigcore timers fire`.
    # export_journal streams a period's entries rather than returning one result: `gigcore exports journal`.
    # The messaging plumbing (handle_event, record_dead_letter, record_heartbeat, subscriptions,
    # messaging_status) is the worker's and the probes', never an operator's command.
    # Consumers (notify_parties) are handed events by handle_event, never run by an operator.
    system_only = {
        "handle_event",
        "record_dead_letter",
        "record_heartbeat",
        "subscriptions",
        "messaging_status",
        "notify_parties",
    }
    # Payments' system steps: webhooks (receive), the consumer (apply), the timers (resolve,
    # hold deadlines) and the router they share.
    system_only |= {
        "payment_router",
        "receive_provider_events",
        "apply_provider_event",
        "provider_events_consumer",
        "resolve_unknown_payments",
        "check_hold_deadlines",
    }
    expected = set(_use_case_providers()) - {"authenticate_token", "fire_due_timers", "export_journal"} - system_only

    assert {spec.provider for spec in runnable.RUNNABLE} == expected


@pytest.mark.parametrize("spec", runnable.RUNNABLE, ids=lambda s: s.name)
def test_each_runnable_names_the_command_its_use_case_takes(spec: runnable.Runnable) -> None:
    use_case = _use_case_providers()[spec.provider]
    hints = typing.get_type_hints(use_case.__call__)
    (argument,) = (name for name in hints if name != "return")

    assert hints[argument] is spec.command
    assert {"by"} <= {f.name for f in attrs.fields(spec.command)}


def test_no_field_flag_collides_with_an_option_of_run() -> None:
    own = {"--as", "--json", "--dry-run", "--idempotency-key", "--list", "--help", "-h"}

    flags = {runnable.flag(f.name) for spec in runnable.RUNNABLE for f in spec.fields()}

    assert flags.isdisjoint(own)
