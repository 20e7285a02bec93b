"""An embedding service may run the CLI's commands against its own runtime."""

from __future__ import annotations

from dependency_injector import providers

from core.shared.errors import DependencyUnavailable
from entrypoints.container import build_in_memory

from .conftest import Cli


def test_commands_share_an_injected_runtime_and_leave_it_running() -> None:
    runtime = build_in_memory()
    runtime.start()
    cli = Cli({"GIGCORE_DATABASE_URL": "memory://"}, obj=runtime)
    alice = cli.user("alice", "client")
    cli.user("ada", "admin")

    wallet = cli.ok("run", "open-wallet", "--as", "ada", "--currency", "JPY", "--owner-id", alice["user_id"])

    with runtime.new_unit_of_work() as uow:  # the same store: the CLI neither rebuilt nor stopped it
        assert uow.users.by_handle("alice") is not None
        assert uow.accounts.get(wallet["wallet_id"]).currency.code == "JPY"
    runtime.stop()


def test_a_retryable_failure_names_the_key_to_retry_with() -> None:
    runtime = build_in_memory()
    runtime.start()
    cli = Cli({"GIGCORE_DATABASE_URL": "memory://"}, obj=runtime)
    cli.user("ada", "admin")

    def database_down(_command: object) -> None:
        raise DependencyUnavailable("database")

    with runtime.use_cases.take_balance_snapshots.override(providers.Object(database_down)):
        result = cli("run", "take-balance-snapshots", "--as", "ada", "--idempotency-key", "snapshot-0001")

    assert result.exit_code == 7
    assert result.stderr.strip().splitlines() == [
        "error: database is unavailable; nothing was written [dependency_unavailable];"
        " retry with --idempotency-key snapshot-0001"
    ]
