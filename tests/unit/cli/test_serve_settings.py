"""The settings of probes and shutdown: broker and Redis URLs, heartbeat, drain, timeout."""

from __future__ import annotations

import pytest

from entrypoints.settings import Settings, SettingsError


def test_no_broker_and_no_redis_is_the_embedded_default() -> None:
    settings = Settings.from_env({})

    assert (settings.broker_url, settings.redis_url) == ("", "")
    assert (settings.worker_heartbeat_seconds, settings.drain_seconds, settings.shutdown_timeout_seconds) == (5, 2, 20)


def test_an_empty_broker_url_means_embedded() -> None:
    assert Settings.from_env({"GIGCORE_BROKER_URL": "", "GIGCORE_REDIS_URL": ""}).broker_url == ""


@pytest.mark.parametrize(
    "url", ["amqp://guest:guest@127.0.0.1:5672/%2F", "amqps://user:pw@rabbit.example:5671/vhost", "amqp://localhost"]
)
def test_amqp_urls_are_accepted(url: str) -> None:
    assert Settings.from_env({"GIGCORE_BROKER_URL": url}).broker_url == url


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://:pw@cache.example:6380/1", "redis://localhost"])
def test_redis_urls_are_accepted(url: str) -> None:
    assert Settings.from_env({"GIGCORE_REDIS_URL": url}).redis_url == url


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GIGCORE_BROKER_URL", "http://guest:guest@127.0.0.1:5672/"),
        ("GIGCORE_BROKER_URL", "redis://127.0.0.1:6379/0"),
        ("GIGCORE_BROKER_URL", "amqp://"),
        ("GIGCORE_BROKER_URL", "amqp://host:notaport/"),
        ("GIGCORE_BROKER_URL", "127.0.0.1:5672"),
        ("GIGCORE_REDIS_URL", "amqp://127.0.0.1:5672/"),
        ("GIGCORE_REDIS_URL", "redis://"),
        ("GIGCORE_WORKER_HEARTBEAT_SECONDS", "0"),
        ("GIGCORE_DRAIN_SECONDS", "-1"),
        ("GIGCORE_DRAIN_SECONDS", "301"),
        ("GIGCORE_SHUTDOWN_TIMEOUT_SECONDS", "0"),
        ("GIGCORE_SHUTDOWN_TIMEOUT_SECONDS", "20s"),
    ],
)
def test_malformed_values_are_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_a_refused_url_is_named_without_its_password() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"GIGCORE_BROKER_URL": "http://guest:s3cret@rabbit/", "GIGCORE_REDIS_URL": "x://:s3cret@r/"})

    problems = " ".join(error.value.problems)
    assert "GIGCORE_BROKER_URL" in problems and "GIGCORE_REDIS_URL" in problems
    assert "s3cret" not in str(error.value)


def test_the_urls_stay_out_of_the_settings_repr() -> None:
    settings = Settings(broker_url="amqp://guest:s3cret@rabbit/", redis_url="redis://:s3cret@cache/0")

    assert "s3cret" not in repr(settings)


def test_a_drain_of_zero_is_allowed() -> None:
    assert Settings.from_env({"GIGCORE_DRAIN_SECONDS": "0"}).drain_seconds == 0
