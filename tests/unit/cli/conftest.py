"""The CLI under test: ``gigcore`` run in-process with typer's CliRunner against a fresh
SQLite file per test, so state carries from one command to the next as it does for an
operator."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from entrypoints.cli.main import app


class Cli:
    """Runs ``gigcore`` commands with one environment; ``obj`` injects a runtime."""

    def __init__(self, env: Mapping[str, str], obj: object | None = None) -> None:
        self.env = dict(env)
        self._obj = obj
        self._runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, env: Mapping[str, str] | None = None) -> Result:
        # Only the settings given here count: any GIGCORE_* of the surrounding shell is unset.
        inherited: dict[str, str | None] = {k: None for k in os.environ if k.startswith("GIGCORE_")}
        return self._runner.invoke(
            app,
            list(args),
            input=input,
            env={**inherited, **self.env, **(env or {})},
            obj=self._obj,
            catch_exceptions=False,
        )

    def ok(self, *args: str, input: str | None = None) -> Any:
        """Run a command that must succeed; returns its JSON output."""
        result = self(*args, input=input)
        assert result.exit_code == 0, f"exit {result.exit_code}: {result.stderr}"
        return json.loads(result.stdout)

    def user(self, handle: str, *personas: str) -> dict[str, Any]:
        flags = [arg for persona in personas for arg in ("--persona", persona)]
        created: dict[str, Any] = self.ok("users", "create", handle, "--name", handle.title(), *flags)
        return created


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "g.sqlite3"


@pytest.fixture
def cli(database_path: Path) -> Cli:
    return Cli({"GIGCORE_DATABASE_URL": f"sqlite:///{database_path}", "GIGCORE_LOG_LEVEL": "warning"})


@pytest.fixture
def staff(cli: Cli) -> dict[str, dict[str, Any]]:
    """One user per staff persona plus two marketplace members, by handle."""
    return {
        "sam": cli.user("sam", "support"),
        "fin": cli.user("fin", "finance"),
        "ada": cli.user("ada", "admin"),
        "alice": cli.user("alice", "client"),
        "bob": cli.user("bob", "provider"),
    }


@pytest.fixture
def wallet(cli: Cli, staff: dict[str, dict[str, Any]]) -> str:
    """Alice's EUR wallet, opened for her by support, with 10.50 EUR deposited by finance."""
    opened = cli.ok("run", "open-wallet", "--as", "sam", "--currency", "EUR", "--owner-id", staff["alice"]["user_id"])
    cli.ok("run", "deposit-sandbox-funds", "--as", "fin", "--wallet-id", opened["wallet_id"], "--amount", "10.50 EUR")
    wallet_id: str = opened["wallet_id"]
    return wallet_id
