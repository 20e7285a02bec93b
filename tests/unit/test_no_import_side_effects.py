"""Importing gigcore builds nothing: no engine, no file, no socket, no container."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import pkgutil, importlib, socket, sys
opened = []
real = socket.socket.connect
def spy(self, *a, **k):
    opened.append(a)
    return real(self, *a, **k)
socket.socket.connect = spy
import core, adapters, entrypoints
skipped = []
for root in (core, adapters, entrypoints):
    for mod in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
        if ".migrations.versions" in mod.name or mod.name.endswith(".migrations.env"):
            continue  # Alembic scripts run only inside Alembic
        if mod.name.startswith("entrypoints.worker"):
            skipped.append(mod.name)  # the worker sets its broker at import by design
            continue
        importlib.import_module(mod.name)
assert not opened, opened
import sqlalchemy.engine
print("ok")
"""


def test_importing_every_module_opens_no_connection_and_writes_no_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
    assert list(tmp_path.iterdir()) == [], "an import wrote files into the working directory"
