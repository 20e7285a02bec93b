"""``python -m entrypoints.worker [--index N]``: one worker process (the supervisor
started by ``gigcore worker`` runs these)."""

from __future__ import annotations

import argparse
import sys

from entrypoints.container import build
from entrypoints.logging_setup import configure_logging
from entrypoints.settings import Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m entrypoints.worker")
    parser.add_argument("--index", type=int, default=0, help="this process's index under the supervisor")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print("error: invalid configuration: " + "; ".join(error.problems), file=sys.stderr)  # noqa: T201
        return 2
    if not settings.broker_url:
        print("error: the worker needs GIGCORE_BROKER_URL (amqp://...)", file=sys.stderr)  # noqa: T201
        return 2
    configure_logging(settings)
    from entrypoints.worker.process import WorkerProcess

    process = WorkerProcess(build(settings), index=args.index)
    process.install_signal_handlers()
    return process.run()


if __name__ == "__main__":
    sys.exit(main())
