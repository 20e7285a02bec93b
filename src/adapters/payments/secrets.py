"""Where provider credentials come from: the environment, or files (Docker/Kubernetes
secrets, one file per name). Both are read at every call, so rotating a key (adding the new
webhook secret next to the old one, then removing the old) needs no restart.

Values are never logged, never part of a repr, and never part of an error message: a
missing secret is reported by its name only.

There is no secrets port in ``core.payments.ports`` (the core never sees a secret); this
``Secrets`` protocol is the adapters' own, used by the composition root to build gateways
and webhook verifiers.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,127}$")


class Secrets(Protocol):
    """Secrets by name (``GIGCORE_STRIPE_WEBHOOK_SECRETS``…). ``get`` returns None when the
    secret is not configured; it never raises for a missing one. Thread-safe."""

    def get(self, name: str) -> str | None: ...


class SecretMissing(LookupError):
    """A required secret is not configured (the message names it, never a value)."""


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a secret name (upper case letters, digits, underscores)")
    return name


class EnvSecrets:
    """Secrets from environment variables (``environ`` for tests; ``os.environ`` by default)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ

    def get(self, name: str) -> str | None:
        value = (self._environ if self._environ is not None else os.environ).get(_checked(name))
        return value if value else None

    def __repr__(self) -> str:
        return "EnvSecrets()"


class FileSecrets:
    """Secrets from files in ``directory``, one per name (``<directory>/<NAME>``), with the
    trailing newline stripped. A file is re-read when its modification time or size changes."""

    def __init__(self, directory: str | Path) -> None:
        self._directory = Path(directory)
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple[int, int], str]] = {}

    def get(self, name: str) -> str | None:
        path = self._directory / _checked(name)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None and cached[0] == stamp:
                return cached[1] or None
        value = path.read_text(encoding="utf-8").rstrip("\r\n")
        with self._lock:
            self._cache[name] = (stamp, value)
        return value or None

    def __repr__(self) -> str:
        return f"FileSecrets({str(self._directory)!r})"


class ChainedSecrets:
    """The first source that has the secret wins (files first, then the environment…)."""

    def __init__(self, *sources: Secrets) -> None:
        self._sources = sources

    def get(self, name: str) -> str | None:
        for source in self._sources:
            value = source.get(name)
            if value is not None:
                return value
        return None

    def __repr__(self) -> str:
        return f"ChainedSecrets{self._sources!r}"


def required(secrets: Secrets, name: str) -> str:
    """The secret, or SecretMissing naming it."""
    value = secrets.get(name)
    if value is None:
        raise SecretMissing(f"{name} is not configured")
    return value


def require_all(secrets: Secrets, *names: str) -> None:
    """Raise SecretMissing naming every one of ``names`` that is not configured now (at
    start, so a missing webhook secret is found then, not by every delivery's 400)."""
    missing = [name for name in names if not (secrets.get(name) or "").strip(", ")]
    if missing:
        raise SecretMissing(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not configured")


def rotating(secrets: Secrets, name: str) -> Callable[[], tuple[str, ...]]:
    """A reader of a comma-separated list secret (several webhook secrets during a
    rotation), read afresh at every call: pass it to a webhook verifier."""

    def read() -> tuple[str, ...]:
        return tuple(part.strip() for part in (secrets.get(name) or "").split(",") if part.strip())

    return read
