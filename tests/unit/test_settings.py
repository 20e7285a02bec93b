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
    ],
)
def test_out_of_range_values_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_overrides_win_over_the_environment() -> None:
    assert Settings.from_env({"GIGCORE_PORT": "9001"}, port=9100).port == 9100
