"""Real services for drills and benchmarks: a fresh PostgreSQL database and a fresh
RabbitMQ vhost per test, and ``gigcore worker`` as a subprocess.

The servers are the machine's own (``GIGCORE_TEST_POSTGRES_URL``, ``GIGCORE_TEST_AMQP_URL``);
when one is unreachable the caller skips with a one-line reason, or fails when CI=true
(``unavailable``). Everything made here is deleted again; every wait has a deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]  # /work/main: `tests` importable from here
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


class Unavailable(Exception):
    """A service this drill needs is not there (skip, or fail under CI=true)."""


def postgres_server_url() -> str:
    return os.environ.get("GIGCORE_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


def amqp_server_url() -> str:
    return os.environ.get("GIGCORE_TEST_AMQP_URL") or DEFAULT_AMQP_URL


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll ``predicate`` until it holds; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# --- PostgreSQL -------------------------------------------------------------------------


def _admin_engine() -> Engine:
    return create_engine(
        make_url(postgres_server_url()).set(drivername="postgresql+psycopg"),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 3},
        pool_size=1,
    )


@contextmanager
def postgres_database(prefix: str = "gigcore_drill") -> Iterator[str]:
    """A fresh, empty database on the test server (its URL), dropped afterwards. A database
    and not a schema: drills terminate *their database's* backends, nobody else's.

    Raises Unavailable when the server cannot be reached or refuses CREATE DATABASE."""
    admin = _admin_engine()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        admin.dispose()
        cause = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        where = make_url(postgres_server_url()).render_as_string(hide_password=True)
        raise Unavailable(f"PostgreSQL at {where} is unusable: {cause}") from error
    try:
        yield make_url(postgres_server_url()).set(database=name).render_as_string(hide_password=False)
    finally:
        # DROP DATABASE waits for a checkpoint (seconds on a busy server): in the background,
        # joined by finish_drops() at the end of the session.
        dropping = threading.Thread(target=_drop, args=(admin, name), name=f"drop-{name}")
        dropping.start()
        _DROPS.append(dropping)


_DROPS: list[threading.Thread] = []


def _drop(admin: Engine, name: str) -> None:
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def finish_drops(timeout: float = 60) -> None:
    """Wait for the databases and vhosts still being deleted."""
    deadline = time.monotonic() + timeout
    while _DROPS:
        _DROPS.pop().join(max(0.1, deadline - time.monotonic()))


def terminate_backends(database_url: str) -> int:
    """Terminate every backend connected to this URL's database (not ours, no other
    database's); returns how many were."""
    engine = create_engine(
        make_url(database_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT", pool_size=1
    )
    try:
        with engine.connect() as connection:
            killed = connection.execute(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        return int(killed)
    finally:
        engine.dispose()


# --- RabbitMQ ---------------------------------------------------------------------------


def rabbitmqctl(*args: str, timeout: float = 30) -> str:
    """Run ``rabbitmqctl`` (needs root, or the Erlang cookie); returns its output."""
    done = subprocess.run(
        ["rabbitmqctl", "--quiet", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {(done.stderr or done.stdout).strip()[:300]}")
    return done.stdout


def _check_amqp(url: str) -> None:
    import pika

    parameters = pika.URLParameters(url)
    parameters.socket_timeout = 2
    parameters.connection_attempts = 1
    try:
        pika.BlockingConnection(parameters).close()
    except Exception as error:
        where = url.rsplit("@", maxsplit=1)[-1]
        raise Unavailable(f"RabbitMQ at {where} is unreachable: {type(error).__name__}") from error


@contextmanager
def rabbitmq_vhost(prefix: str = "gigcore-drill") -> Iterator[str]:
    """A fresh vhost (guest has every permission) on the test broker: its amqp URL. Deleted
    afterwards, with its queues and connections. Raises Unavailable without a broker or
    without ``rabbitmqctl`` rights."""
    base = amqp_server_url()
    _check_amqp(base)
    vhost = f"{prefix}-{uuid.uuid4().hex[:10]}"
    user = urllib.parse.urlsplit(base).username or "guest"
    try:
        rabbitmqctl("add_vhost", vhost)
        rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as error:
        raise Unavailable(f"cannot make a RabbitMQ vhost with rabbitmqctl: {error}") from error
    try:
        yield base.rstrip("/") + "/" + vhost
    finally:
        deleting = threading.Thread(target=rabbitmqctl, args=("delete_vhost", vhost), name=f"delete-{vhost}")
        deleting.start()
        _DROPS.append(deleting)


def close_broker_connections(amqp_url: str, reason: str = "drill") -> None:
    """Close every client connection of this URL's vhost (the broker says ``reason``)."""
    vhost = amqp_url.rsplit("/", 1)[-1]
    rabbitmqctl("close_all_connections", "--vhost", vhost, reason)


def broker_connections(amqp_url: str) -> int:
    vhost = amqp_url.rsplit("/", 1)[-1]
    return len([line for line in rabbitmqctl("list_connections", "-p", vhost, "pid").splitlines() if line.strip()])


# --- the worker -------------------------------------------------------------------------


def gigcore_env(database_url: str, broker_url: str = "", **extra: str) -> dict[str, str]:
    """The environment of a gigcore subprocess on these services: JSON logs at info, no
    metrics port (unless given), PostgreSQL migrated by the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIGCORE_")}
    env.update(
        GIGCORE_DATABASE_URL=database_url,
        GIGCORE_BROKER_URL=broker_url,
        GIGCORE_WORKER_METRICS_PORT="0",
        GIGCORE_WORKER_SHUTDOWN_SECONDS="10",
        GIGCORE_LOG_LEVEL="info",
        GIGCORE_LOG_FORMAT="json",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "src"), env.get("PYTHONPATH", "")])),
    )
    env.update(extra)
    return env


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(p) for p in found]


class Worker:
    """``gigcore worker`` (the supervisor) as a subprocess, its output in ``log``."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out: IO[bytes] = log.open("wb")
        gigcore = Path(sys.executable).with_name("gigcore")
        command = [str(gigcore), "worker"] if gigcore.exists() else [sys.executable, "-m", "entrypoints.cli", "worker"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT)

    def children(self) -> list[int]:
        """The supervisor's worker processes (``python -m entrypoints.worker``)."""
        return _children(self.process.pid)

    def child(self, *, timeout: float = 20, other_than: int | None = None) -> int:
        """The pid of the (single) worker process, waiting for one (not ``other_than``)."""
        found: list[int] = []

        def running() -> bool:
            found[:] = [p for p in self.children() if p != other_than]
            return bool(found)

        wait_until(running, timeout=timeout, what="a worker process under the supervisor")
        return found[0]

    def wait_started(self, *, timeout: float = 30) -> None:
        wait_until(lambda: b'"worker started"' in self.log.read_bytes(), timeout=timeout, what="the worker to start")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, *, timeout: float = 45) -> int:
        """SIGTERM, and the exit code; kills it (and its children) after ``timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"gigcore worker did not stop within {timeout:.0f} s") from None
        finally:
            self._out.close()

    def kill(self) -> None:
        for pid in self.children():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@contextmanager
def running_worker(env: dict[str, str], log: Path, *, started: bool = True) -> Iterator[Worker]:
    """A worker for the block; whatever happens, nothing of it outlives the block."""
    worker = Worker(env, log)
    try:
        if started:
            worker.wait_started()
        yield worker
    finally:
        if worker.process.poll() is None:
            worker.kill()
        worker._out.close()


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()
