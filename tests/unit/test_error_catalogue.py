"""architecture/errors.md lists every domain error code, so clients can rely on it."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import core
from core.shared.errors import DomainError

DOC = (Path(__file__).resolve().parents[2] / "architecture" / "errors.md").read_text()


def _all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _all_subclasses(sub)
    return found


def test_every_domain_error_code_is_documented() -> None:
    import entrypoints.cli.errors  # noqa: F401  (the CLI's own codes)

    for module in pkgutil.walk_packages(core.__path__, "core."):
        importlib.import_module(module.name)
    # Every code a client or operator can see: core, adapters and the entry points own.
    codes = {
        e.code for e in _all_subclasses(DomainError) if e.__module__.startswith(("core.", "adapters.", "entrypoints."))
    }
    missing = sorted(code for code in codes if f"`{code}`" not in DOC)
    assert missing == []


def test_codes_are_unique_per_error_class() -> None:
    by_code: dict[str, set[str]] = {}
    for error in _all_subclasses(DomainError):
        by_code.setdefault(error.code, set()).add(error.__qualname__)
    assert {code: names for code, names in by_code.items() if len(names) > 1} == {}
