"""Run callables at the same moment on separate threads and collect what each returned
or raised (a unit of work belongs to one thread; in-memory and SQLite transactions
serialise, so a second one in the same thread would wait for itself)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

JOIN_TIMEOUT_S = 120  # a hang is a failure, never a pass


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Start every call behind one barrier; return results (or exceptions) in order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            outcomes[index] = call()
        except BaseException as error:  # reported to the test, which decides
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads), "a racing call did not finish"
    return outcomes


def in_background(call: Callable[[], Any]) -> Callable[[], Any]:
    """Start ``call`` on a thread now; the returned function joins it and returns (or
    re-raises) its outcome."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join() -> Any:
        thread.join(JOIN_TIMEOUT_S)
        assert not thread.is_alive(), "the background call did not finish"
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    return join
