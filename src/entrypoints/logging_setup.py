"""structlog configuration shared by the HTTP server, the CLI and the worker.

One call, ``configure_logging(settings)``, at process start (never at import). structlog
events and stdlib records (uvicorn, dramatiq, SQLAlchemy) go through the same chain and
one handler: ISO-8601 UTC timestamps, the context bound with ``structlog.contextvars``
(the request's correlation id), then either one JSON object per line or a console
rendering, per ``Settings.log_format``; the level is ``Settings.log_level``.

Secrets never reach the output: ``redact_secrets`` masks values under names such as
``authorization`` or ``token``, and any text that looks like a bearer credential or a
gigcore API token, wherever it appears in the event.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.types import Processor

from core.identity.domain import TOKEN_PREFIX
from entrypoints.settings import Settings

REDACTED = "[redacted]"

_LEVELS: Mapping[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

# Compared after lower-casing and turning "-" into "_".
_SECRET_KEYS = frozenset(
    {
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "token",
        "bearer",
        "secret",
        "password",
        "api_key",
        "access_token",
        "refresh_token",
        "x_api_key",
    }
)
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*")  # RFC 6750 b64token; 8+ spares prose
_API_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_\-]+")

_HANDLER_MARK = "_gigcore_log_handler"
_QUIET_LOGGERS = ("stripe", "Adyen", "paypalserversdk", "apimatic_core", "urllib3", "httpx", "httpcore")


def _is_secret_key(key: object) -> bool:
    if isinstance(key, bytes):
        key = key.decode("latin-1")
    return isinstance(key, str) and key.lower().replace("-", "_") in _SECRET_KEYS


def _mask_text(text: str) -> str:
    if "earer" not in text and "EARER" not in text and TOKEN_PREFIX not in text:
        return text  # the common case: nothing to scan
    return _API_TOKEN.sub(TOKEN_PREFIX + REDACTED, _BEARER.sub(r"\1 " + REDACTED, text))


def _mask(value: Any, depth: int = 0) -> Any:
    if depth > 8:
        return value
    if isinstance(value, str):
        return _mask_text(value)
    if isinstance(value, bytes):
        return _mask_text(value.decode("latin-1"))
    if isinstance(value, Mapping):
        return {k: REDACTED if _is_secret_key(k) else _mask(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and _is_secret_key(value[0]):  # a (name, value) header pair
            return (value[0], REDACTED)
        masked = [_mask(v, depth + 1) for v in value]
        return tuple(masked) if isinstance(value, tuple) else masked
    return value


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: mask secret-named fields and bearer-looking text."""
    for key in list(event_dict):
        if _is_secret_key(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _mask(event_dict[key])
    return event_dict


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> None:
    """Configure structlog and the stdlib root logger. Safe to call again (tests, a CLI
    flag): the handler installed by a previous call is replaced, not duplicated.

    Args:
        settings: ``log_level`` and ``log_format`` are used.
        stream: where lines go; standard error by default, so a CLI's standard output
            carries only its results.
    """
    level = _LEVELS[settings.log_level]
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        structlog.processors.StackInfoRenderer(),
    ]
    # In both formats exceptions become plain text (no frame locals) before redaction, so a
    # token in a traceback is masked too; the console renderer's own default (a Rich
    # traceback with show_locals) would run after redaction and print every local.
    renderer: Processor
    if settings.log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    final: list[Processor] = [structlog.processors.format_exc_info, redact_secrets, renderer]

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
        )
    )
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for previous in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic announces each of its plugins at INFO on every start; the migration lines
    # themselves (alembic.runtime.migration) stay.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(level, logging.WARNING))
    # Payment SDKs and HTTP clients log whole request and response bodies at DEBUG (Stripe:
    # form data, payment methods, client secrets): never below WARNING, whatever the level.
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
