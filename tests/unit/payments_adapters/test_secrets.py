"""Secrets from the environment and from files, read afresh so rotations need no restart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.payments.secrets import ChainedSecrets, EnvSecrets, FileSecrets, SecretMissing, required, rotating


def test_env_secrets_read_the_environment_at_every_call() -> None:
    environ = {"GIGCORE_STRIPE_WEBHOOK_SECRETS": "whsec_a"}
    secrets = EnvSecrets(environ)
    read = rotating(secrets, "GIGCORE_STRIPE_WEBHOOK_SECRETS")
    assert read() == ("whsec_a",)
    environ["GIGCORE_STRIPE_WEBHOOK_SECRETS"] = " whsec_a , whsec_b ,"
    assert read() == ("whsec_a", "whsec_b")
    assert secrets.get("GIGCORE_NOT_SET") is None


def test_file_secrets_follow_a_rotated_file(tmp_path: Path) -> None:
    path = tmp_path / "GIGCORE_ADYEN_HMAC_KEYS"
    path.write_text("AA11\n")
    secrets = FileSecrets(tmp_path)
    assert secrets.get("GIGCORE_ADYEN_HMAC_KEYS") == "AA11"
    path.write_text("AA11,BB22\n")
    os.utime(path, ns=(1, 10**18))  # a different mtime even on a coarse clock
    assert rotating(secrets, "GIGCORE_ADYEN_HMAC_KEYS")() == ("AA11", "BB22")
    assert secrets.get("GIGCORE_MISSING") is None


@pytest.mark.parametrize("name", ["../etc/passwd", "lower", "A/B", "", "A" * 200])
def test_names_that_could_escape_the_directory_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not a secret name"):
        FileSecrets(tmp_path).get(name)


def test_the_first_source_that_has_a_secret_wins_and_a_missing_one_is_named_not_shown(tmp_path: Path) -> None:
    (tmp_path / "GIGCORE_PAYPAL_WEBHOOK_ID").write_text("WH-FILE")
    secrets = ChainedSecrets(
        FileSecrets(tmp_path), EnvSecrets({"GIGCORE_PAYPAL_WEBHOOK_ID": "WH-ENV", "GIGCORE_OTHER": "hunter2"})
    )
    assert required(secrets, "GIGCORE_PAYPAL_WEBHOOK_ID") == "WH-FILE"
    assert required(secrets, "GIGCORE_OTHER") == "hunter2"
    with pytest.raises(SecretMissing, match="GIGCORE_ABSENT is not configured"):
        required(secrets, "GIGCORE_ABSENT")
    assert "hunter2" not in repr(secrets) and "WH-FILE" not in repr(secrets)
