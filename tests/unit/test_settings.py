from __future__ import annotations

import pytest

from entrypoints.settings import DEFAULT_DATABASE_URL, Settings, SettingsError


def test_defaults_are_the_embedded_installation() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.uses_sqlite and settings.migrate_on_start


def test_variables_are_read_and_typed() -> None:
    settings = Settings.from_env(
        {"GIGCORE_PORT": "9001", "GIGCORE_SANDBOX_DEPOSITS": "false", "GIGCORE_DATABASE_URL": "postgresql://db/x"}
    )
    assert (settings.port, settings.sandbox_deposits, settings.migrate_on_start) == (9001, False, False)


def test_every_bad_variable_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"GIGCORE_PORT": "http", "GIGCORE_LOG_LEVEL": "loud", "GIGCORE_DATABASE_URL": "mysql://x"})
    named = " ".join(error.value.problems)
    assert "GIGCORE_PORT" in named and "GIGCORE_LOG_LEVEL" in named and "GIGCORE_DATABASE_URL" in named


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GIGCORE_PORT", "0"),
        ("GIGCORE_PORT", "70000"),
        ("GIGCORE_SANDBOX_DEPOSITS", "maybe"),
        ("GIGCORE_AUDIT_CHAINS", "0"),
        ("GIGCORE_AUTH_CACHE_SECONDS", "-1"),
        ("GIGCORE_AUTH_CACHE_SECONDS", "301"),
        ("GIGCORE_AUTH_CACHE_SECONDS", "5s"),
    ],
)
def test_out_of_range_values_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_authentications_are_cached_for_five_seconds_unless_configured() -> None:
    assert Settings.from_env({}).auth_cache_seconds == 5
    assert Settings.from_env({"GIGCORE_AUTH_CACHE_SECONDS": "0"}).auth_cache_seconds == 0  # 0 disables
    assert Settings.from_env({"GIGCORE_AUTH_CACHE_SECONDS": "300"}).auth_cache_seconds == 300


def test_overrides_win_over_the_environment() -> None:
    assert Settings.from_env({"GIGCORE_PORT": "9001"}, port=9100).port == 9100


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///:memory:?cache=shared",
        "sqlite:///file::memory:?cache=shared&uri=true",
        "sqlite:///file:ledger?mode=memory&cache=shared&uri=true",
    ],
)
def test_in_memory_sqlite_is_refused_with_the_alternatives(url: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"GIGCORE_DATABASE_URL": url})

    (problem,) = error.value.problems
    assert problem.startswith("GIGCORE_DATABASE_URL=")
    assert "in-memory SQLite cannot be shared between threads" in problem
    assert "memory://" in problem and "sqlite:///path" in problem


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite:///  ", "sqlite:///?timeout=5"])
def test_sqlite_without_a_path_is_refused(url: str) -> None:
    with pytest.raises(SettingsError, match="GIGCORE_DATABASE_URL"):
        Settings.from_env({"GIGCORE_DATABASE_URL": url})


def test_sqlite_with_a_host_is_refused() -> None:
    with pytest.raises(SettingsError, match="no host"):
        Settings.from_env({"GIGCORE_DATABASE_URL": "sqlite://host/ledger.db"})


def test_in_memory_sqlite_is_refused_when_constructed_directly() -> None:
    with pytest.raises(ValueError, match="in-memory SQLite"):
        Settings(database_url="sqlite:///:memory:")


@pytest.mark.parametrize(
    "url", ["sqlite:///var/gigcore.sqlite3", "sqlite:////srv/gigcore/ledger.db", "sqlite:///memory.db", "memory://"]
)
def test_file_sqlite_and_the_memory_runtime_are_accepted(url: str) -> None:
    assert Settings.from_env({"GIGCORE_DATABASE_URL": url}).database_url == url
