"""users, tokens, migrate, settings errors and the help text."""

from __future__ import annotations

import json
import re

import pytest

from core.shared.errors import ErrorCategory
from entrypoints.cli import exit_codes
from entrypoints.cli.main import main

from .conftest import Cli


def test_users_create_prints_the_user_as_json(cli: Cli) -> None:
    user = cli.ok("users", "create", "alice", "--name", "Alice", "--persona", "client", "--persona", "provider")

    assert user["handle"] == "alice"
    assert user["display_name"] == "Alice"
    assert user["personas"] == ["client", "provider"]
    assert user["user_id"].startswith("usr_")


def test_a_taken_handle_is_a_conflict(cli: Cli) -> None:
    cli.user("alice", "client")

    result = cli("users", "create", "alice", "--name", "Other", "--persona", "client")

    assert result.exit_code == 4
    assert result.stderr.strip().splitlines() == ["error: the handle 'alice' is taken [handle_taken]"]


def test_staff_and_marketplace_personas_are_not_mixed(cli: Cli) -> None:
    result = cli("users", "create", "mixed", "--name", "Mixed", "--persona", "client", "--persona", "admin")

    assert result.exit_code == 2
    assert "staff personas" in result.stderr


def test_an_unknown_persona_is_a_one_line_usage_error(cli: Cli) -> None:
    result = cli("users", "create", "alice", "--name", "Alice", "--persona", "wizard")

    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "wizard" in result.stderr


def test_tokens_issue_shows_the_secret_once_and_how_to_use_it(cli: Cli) -> None:
    user = cli.user("alice", "client")

    issue = ("tokens", "issue", "alice", "--label", "laptop", "--ttl-days", "7", "--idempotency-key", "issue-0001")

    result = cli(*issue)
    token = json.loads(result.stdout)
    replay = cli.ok(*issue)

    assert result.exit_code == 0
    assert token["user_id"] == user["user_id"]
    assert token["label"] == "laptop"
    assert token["token"].startswith("gct_")
    assert "Authorization: Bearer" in result.stderr
    assert token["token"] not in result.stderr  # the secret goes to stdout only
    assert replay["token_id"] == token["token_id"]
    assert replay["token"] is None


def test_a_token_without_expiry(cli: Cli) -> None:
    cli.user("alice", "client")

    token = cli.ok("tokens", "issue", "alice", "--no-expiry")

    assert token["expires_at"] is None


def test_ttl_days_and_no_expiry_exclude_each_other(cli: Cli) -> None:
    cli.user("alice", "client")

    result = cli("tokens", "issue", "alice", "--ttl-days", "3", "--no-expiry")

    assert result.exit_code == 2
    assert "exclude each other" in result.stderr


def test_tokens_for_an_unknown_user_are_not_found(cli: Cli) -> None:
    result = cli("tokens", "issue", "nobody")

    assert result.exit_code == 3
    assert "nobody" in result.stderr


def test_tokens_revoke_revokes(cli: Cli) -> None:
    cli.user("alice", "client")
    token = cli.ok("tokens", "issue", "alice")

    revoked = cli.ok("tokens", "revoke", token["token_id"])

    assert revoked["token_id"] == token["token_id"]
    assert revoked["revoked_at"]


def test_revoking_an_unknown_token_is_not_found(cli: Cli) -> None:
    result = cli("tokens", "revoke", "tok_missing")

    assert result.exit_code == 3
    assert result.stderr.strip() == "error: token tok_missing does not exist [token_not_found]"


def test_migrate_says_what_it_did(cli: Cli) -> None:
    result = cli("migrate")

    assert result.exit_code == 0
    assert result.stdout.startswith("migrated sqlite:///")


def test_migrate_on_memory_has_nothing_to_do(cli: Cli) -> None:
    result = cli("migrate", env={"GIGCORE_DATABASE_URL": "memory://"})

    assert result.exit_code == 0
    assert "nothing to migrate" in result.stdout


def test_invalid_settings_name_every_problem_and_exit_2(cli: Cli) -> None:
    bad = {"GIGCORE_PORT": "eighty", "GIGCORE_LOG_LEVEL": "loud"}

    result = cli("users", "create", "alice", "--name", "Alice", "--persona", "client", env=bad)

    assert result.exit_code == 2
    assert "GIGCORE_PORT" in result.stderr
    assert "GIGCORE_LOG_LEVEL" in result.stderr


def test_an_unexpected_error_is_one_line_and_exit_1(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr("entrypoints.cli.main.build", broken)

    result = cli("users", "create", "alice", "--name", "Alice", "--persona", "client")

    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == ["error: unexpected RuntimeError: the disk is on fire"]


def test_an_unknown_command_is_one_line_and_exit_2(cli: Cli) -> None:
    result = cli("frobnicate")

    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_documents_every_exit_code(cli: Cli) -> None:
    for command in ([], ["run"]):
        result = cli(*command, "--help")

        assert result.exit_code == 0
        documented = {int(n) for n in re.findall(r"^\s*(\d)  ", result.stdout, re.MULTILINE)}
        assert documented == {0, 1} | set(exit_codes.BY_CATEGORY.values())


@pytest.mark.parametrize("category", list(ErrorCategory))
def test_every_error_category_has_its_own_exit_code(category: ErrorCategory) -> None:
    assert exit_codes.BY_CATEGORY[category] not in (exit_codes.OK, exit_codes.UNEXPECTED)


def test_main_returns_the_exit_code_instead_of_exiting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--list"]) == 0
    assert main(["run", "no-such-use-case", "--as", "x"]) == 2
    assert "no-such-use-case" in capsys.readouterr().err
