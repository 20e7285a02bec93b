"""The architecture's boundaries are contracts in pyproject.toml, checked by import-linter
(architecture/boundaries.md explains them). This test makes `pytest` alone enforce them."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_linter_contracts_hold() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(linter)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_no_contract_carries_ignored_imports() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert all(not c.get("ignore_imports") for c in config["contracts"])


def test_core_imports_only_the_standard_library_attrs_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | {"attrs", "core", "__future__"}
    offenders = []
    for path in (ROOT / "src" / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] not in allowed]
    assert offenders == []
