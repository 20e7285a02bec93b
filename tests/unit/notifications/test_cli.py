"""``gigcore run notifications.list`` / ``notifications.mark_read`` as staff, over SQLite:
support reads a member's notifications; nobody marks a member's read but the member."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.notifications.domain import Notification, NotificationId, Subjects
from core.shared.ids import UserId, new_id
from entrypoints.container import build
from entrypoints.settings import Settings
from tests.unit.cli.conftest import Cli

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def notify(database_path: Path, recipient: str, text: str) -> str:
    """Store one notification for ``recipient`` as the consumer would."""
    runtime = build(Settings(database_url=f"sqlite:///{database_path}"))
    runtime.start()
    try:
        notification = Notification(
            id=NotificationId(new_id("ntf")),
            recipient_id=UserId(recipient),
            kind="ledger.funds_transferred",
            text=text,
            subjects=Subjects(),
            event_id=new_id("evt"),
            created_at=NOW,
        )
        with runtime.new_unit_of_work() as uow:
            uow.notifications.add(notification)
            uow.commit()
    finally:
        runtime.stop()
    return notification.id


def test_support_lists_a_members_notifications(cli: Cli, staff: dict[str, Any], database_path: Path) -> None:
    alice = staff["alice"]["user_id"]
    notify(database_path, alice, "You received 12.50 EUR in your wallet.")

    page = cli.ok("run", "notifications.list", "--as", "sam", "--user-id", alice, "--unread-only", "true")

    assert [n["text"] for n in page["notifications"]] == ["You received 12.50 EUR in your wallet."]
    assert page["notifications"][0]["recipient_id"] == alice
    assert (page["unread"], page["next_cursor"], page["recipient_id"]) == (1, None, alice)


def test_finance_may_not_list_a_members_notifications(cli: Cli, staff: dict[str, Any]) -> None:
    result = cli("run", "notifications.list", "--as", "fin", "--user-id", staff["alice"]["user_id"])
    assert result.exit_code == 5
    assert "[forbidden]" in result.stderr


def test_staff_cannot_mark_a_members_notification_read(cli: Cli, staff: dict[str, Any], database_path: Path) -> None:
    alice = staff["alice"]["user_id"]
    notification_id = notify(database_path, alice, "You received 1.00 EUR in your wallet.")

    result = cli("run", "notifications.mark_read", "--as", "sam", "--notification-ids", f'["{notification_id}"]')

    assert result.exit_code == 3
    assert "[notification_not_found]" in result.stderr
    own = cli.ok("run", "notifications.mark_read", "--as", "sam", "--all-unread", "true")
    assert own == {"marked": 0, "unread": 0}
    page = cli.ok("run", "notifications.list", "--as", "sam", "--user-id", alice)
    assert page["unread"] == 1
