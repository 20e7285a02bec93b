"""The Settlement details report batch files ``AdyenGateway`` has already read, so a
reconciliation does not download every batch from the first one each time.

A batch file is **closed** once a later batch exists: Adyen never changes it again, so it
is kept here, with its **coverage** (the earliest and latest booking time of its lines).
The newest batch may still grow and is never kept. From the coverage the gateway knows,
without reading the file, that a closed batch holds nothing booked in a period and skips
it; a reconciliation of a recent period so starts at the first batch that can contain it.

Entries are keyed by the file's URL (host, merchant account and batch number). Neither
implementation raises on an entry it cannot read: a missing, corrupt or foreign entry is
``None`` (the gateway downloads the file again and keeps it anew), and a failed write is
only logged. ``MemoryReportCache`` lives as long as the gateway;
``DirectoryReportCache`` keeps the files in a directory (``GIGCORE_ADYEN_REPORT_CACHE_DIR``)
across processes: ``<sha256(url)>.csv`` and, written after it, ``<sha256(url)>.json``
with the URL, the coverage and the text's SHA-256, checked on every read.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Protocol

import attrs
import structlog

from core.payments.domain import SettlementLine

_log = structlog.get_logger("gigcore.payments.adyen")


@attrs.frozen
class BatchCoverage:
    """The booking times of a closed batch's lines; both None when it has none."""

    earliest: datetime | None = None
    latest: datetime | None = None

    @classmethod
    def of(cls, lines: Iterable[SettlementLine]) -> BatchCoverage:
        times = [line.booked_at for line in lines]
        return cls(min(times), max(times)) if times else cls()

    def meets(self, start: datetime, end: datetime) -> bool:
        """Whether any of the batch's lines can be booked in ``[start, end)``."""
        if self.earliest is None or self.latest is None:
            return False
        return self.earliest < end and self.latest >= start


class ReportCache(Protocol):
    """Closed batch files by URL. Never raises: an entry that cannot be read is None, a
    write that fails is dropped (the file is downloaded again next time)."""

    def coverage(self, url: str) -> BatchCoverage | None:
        """The coverage of the closed batch at ``url``, or None (not kept, or unreadable)."""
        ...

    def text(self, url: str) -> str | None:
        """The closed batch file's text exactly as downloaded, or None."""
        ...

    def keep(self, url: str, text: str, coverage: BatchCoverage) -> None:
        """Remember a closed batch (replacing any entry for ``url``)."""
        ...


class MemoryReportCache:
    """ReportCache in a dict, for one process. Thread-safe."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[str, BatchCoverage]] = {}
        self._lock = threading.Lock()

    def coverage(self, url: str) -> BatchCoverage | None:
        with self._lock:
            entry = self._entries.get(url)
        return entry[1] if entry else None

    def text(self, url: str) -> str | None:
        with self._lock:
            entry = self._entries.get(url)
        return entry[0] if entry else None

    def keep(self, url: str, text: str, coverage: BatchCoverage) -> None:
        with self._lock:
            self._entries[url] = (text, coverage)


def _time(raw: object) -> datetime | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValueError("not a time")
    value = datetime.fromisoformat(raw)
    if value.tzinfo is None:
        raise ValueError("a time without its offset")
    return value


class DirectoryReportCache:
    """ReportCache in a directory (created when missing), shared by processes: every file
    is written to a temporary name and renamed into place, so a reader sees a whole entry
    or none, and two writers of the same closed batch write the same bytes."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self._directory = Path(directory)

    def _paths(self, url: str) -> tuple[Path, Path]:
        name = hashlib.sha256(url.encode()).hexdigest()
        return self._directory / f"{name}.csv", self._directory / f"{name}.json"

    def _meta(self, url: str) -> tuple[BatchCoverage, str] | None:
        try:
            meta = json.loads(self._paths(url)[1].read_text(encoding="utf-8"))
            if not isinstance(meta, dict) or meta.get("url") != url or not isinstance(meta.get("sha256"), str):
                return None
            coverage = BatchCoverage(_time(meta.get("earliest")), _time(meta.get("latest")))
        except (OSError, ValueError, TypeError):  # missing, unreadable, not JSON, bad times
            return None
        if (coverage.earliest is None) != (coverage.latest is None):
            return None
        return coverage, meta["sha256"]

    def coverage(self, url: str) -> BatchCoverage | None:
        meta = self._meta(url)
        return meta[0] if meta else None

    def text(self, url: str) -> str | None:
        meta = self._meta(url)
        if meta is None:
            return None
        csv_path = self._paths(url)[0]
        try:
            data = csv_path.read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != meta[1]:
            _log.warning("corrupt Adyen report cache entry; the batch is downloaded again", file=csv_path.name)
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def keep(self, url: str, text: str, coverage: BatchCoverage) -> None:
        data = text.encode("utf-8")
        meta = {
            "url": url,
            "sha256": hashlib.sha256(data).hexdigest(),
            "earliest": coverage.earliest.isoformat() if coverage.earliest else None,
            "latest": coverage.latest.isoformat() if coverage.latest else None,
        }
        csv_path, meta_path = self._paths(url)
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            self._write(csv_path, data)
            self._write(meta_path, json.dumps(meta).encode())
        except OSError as error:
            _log.warning("could not keep an Adyen report batch in the cache", error=type(error).__name__)

    def _write(self, path: Path, data: bytes) -> None:
        handle, temporary = tempfile.mkstemp(dir=self._directory, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
