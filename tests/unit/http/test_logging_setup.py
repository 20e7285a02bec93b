"""The shared structlog configuration: JSON lines, UTC timestamps, context, no secrets."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from entrypoints.logging_setup import REDACTED, configure_logging, redact_secrets
from entrypoints.settings import Settings

TOKEN = "gct_" + "A1b2" * 10


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    out = io.StringIO()
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def _lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_utc_timestamp_level_logger_and_bound_context(stream: io.StringIO) -> None:
    configure_logging(Settings(log_format="json", log_level="info"), stream=stream)

    with structlog.contextvars.bound_contextvars(correlation_id="trace-1"):
        structlog.get_logger("gigcore.test").info("something_happened", amount_minor=1050)

    (line,) = _lines(stream)
    assert line["event"] == "something_happened"
    assert line["amount_minor"] == 1050
    assert line["correlation_id"] == "trace-1"
    assert line["level"] == "info"
    assert line["logger"] == "gigcore.test"
    assert line["timestamp"].endswith("Z")


def test_stdlib_records_share_the_format(stream: io.StringIO) -> None:
    configure_logging(Settings(log_format="json"), stream=stream)

    logging.getLogger("uvicorn.error").warning("server %s", "started")

    (line,) = _lines(stream)
    assert (line["event"], line["level"], line["logger"]) == ("server started", "warning", "uvicorn.error")


def test_events_below_the_level_are_dropped(stream: io.StringIO) -> None:
    configure_logging(Settings(log_format="json", log_level="warning"), stream=stream)

    structlog.get_logger("gigcore.test").info("chatter")
    logging.getLogger("other").info("chatter")
    structlog.get_logger("gigcore.test").error("trouble")

    assert [line["event"] for line in _lines(stream)] == ["trouble"]


def test_tokens_and_authorization_headers_never_reach_the_output(stream: io.StringIO) -> None:
    configure_logging(Settings(log_format="json"), stream=stream)
    log = structlog.get_logger("gigcore.test")

    log.info("request", authorization=f"Bearer {TOKEN}", headers={"Authorization": f"Bearer {TOKEN}"})
    log.info(f"got header Bearer {TOKEN}", pairs=[("authorization", TOKEN), ("accept", "json")])
    logging.getLogger("uvicorn").info("raw %s", f"bEaReR {TOKEN}")
    try:
        raise ValueError(f"bad token {TOKEN}")
    except ValueError:
        log.exception("failed")

    output = stream.getvalue()
    assert TOKEN not in output
    assert "A1b2A1b2" not in output
    lines = _lines(stream)
    assert lines[0]["authorization"] == REDACTED
    assert lines[0]["headers"] == {"Authorization": REDACTED}
    assert lines[1]["pairs"] == [["authorization", REDACTED], ["accept", "json"]]
    assert "ValueError" in lines[3]["exception"]


def test_redaction_keeps_ordinary_values() -> None:
    event = {"event": "transfer", "token_id": "tok_1", "memo": "Bearer of good news", "amount": 5}

    assert redact_secrets(None, "info", dict(event)) == event


def test_console_format_renders_a_readable_line(stream: io.StringIO) -> None:
    configure_logging(Settings(log_format="console"), stream=stream)

    structlog.get_logger("gigcore.test").info("hello", authorization=f"Bearer {TOKEN}")

    output = stream.getvalue()
    assert "hello" in output
    assert TOKEN not in output


def test_configuring_twice_installs_one_handler(stream: io.StringIO) -> None:
    configure_logging(Settings(), stream=stream)
    configure_logging(Settings(), stream=stream)

    structlog.get_logger("gigcore.test").info("once")

    assert [line["event"] for line in _lines(stream)] == ["once"]


def _fail_holding_a_token() -> None:
    secret = TOKEN  # a local of the failing frame: a traceback that shows locals would print it
    raise RuntimeError("the ledger is unavailable " + str(len(secret)))


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_a_token_in_a_failing_frame_local_never_reaches_the_output(stream: io.StringIO, log_format: str) -> None:
    configure_logging(Settings(log_format=log_format), stream=stream)

    try:
        _fail_holding_a_token()
    except RuntimeError:
        structlog.get_logger("gigcore.test").exception("request_failed")
    try:
        _fail_holding_a_token()
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("stdlib failure")

    output = re.sub(r"\x1b\[[0-9;]*m", "", stream.getvalue())  # the console renderer colours
    assert output.count("RuntimeError: the ledger is unavailable 44") == 2, output  # the tracebacks are there...
    assert TOKEN not in output  # ...without the token
    assert "A1b2A1b2" not in output
