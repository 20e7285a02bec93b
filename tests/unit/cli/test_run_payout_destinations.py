"""``gigcore run`` for payout destinations: staff read a member's; only the member (over
the API) registers their own, so an operator is refused."""

from __future__ import annotations

from typing import Any

from .conftest import Cli


def test_support_reads_a_members_payout_destinations(cli: Cli, staff: dict[str, dict[str, Any]]) -> None:
    payee = cli.user("paula", "provider")["user_id"]

    seen = cli.ok("run", "get-payout-destinations", "--as", "sam", "--payee-id", payee)

    assert seen == []


def test_an_operator_cannot_register_a_payout_destination(cli: Cli, staff: dict[str, dict[str, Any]]) -> None:
    args = ("--provider", "stripe", "--destination", "acct_1Abc")

    result = cli("run", "register-payout-destination", "--as", "sam", *args)

    assert result.exit_code == 5
    assert result.stderr.strip().endswith("[forbidden]")
