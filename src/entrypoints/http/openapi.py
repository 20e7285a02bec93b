"""The OpenAPI document: its configuration, and a deterministic export for the repository.

``architecture/openapi.json`` is generated, never edited: regenerate it from the
repository root with ``.venv/bin/python -m entrypoints.http.openapi`` (a unit test fails
while the committed file differs from a fresh export).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag

API_VERSION = "1.0.0"
BEARER_SCHEME = "BearerToken"
DEFAULT_EXPORT_PATH = Path("architecture/openapi.json")

_DESCRIPTION = """\
The gigcore ledger and escrow API.

* Authenticate every /v1 call with `Authorization: Bearer <token>` (tokens are issued by an
  administrator with `gigcore`).
* Send a unique `Idempotency-Key` header with every POST. Retrying with the same key and
  body returns the first answer (same status, same body); the same key with another body is
  a 409.
* Money is always `{"minor": <integer>, "currency": "<ISO 4217>"}`: an integer number of
  minor units (cents). A float, a boolean or a string is refused, never rounded.
* Escrow: a client hires a provider under a contract whose milestones are funded into
  escrow and released on approval (less the platform fee), refunded, or frozen by a dispute
  hold until support settles it; deadlines, auto-release and the clearing of earnings run
  on durable timers. A step the milestone's state does not allow is a 409
  `illegal_transition` that changes nothing.
* Errors are RFC 9457 `application/problem+json` with a stable `code` and the request's
  `correlation_id` (also echoed in the `X-Request-ID` response header).
"""


def openapi_config() -> OpenAPIConfig:
    """Served at /schema/openapi.json, as JSON only (no UI loading scripts from a CDN)."""
    return OpenAPIConfig(
        title="gigcore",
        version=API_VERSION,
        description=_DESCRIPTION,
        path="/schema",
        render_plugins=[JsonRenderPlugin()],
        use_handler_docstrings=True,
        components=Components(
            security_schemes={
                BEARER_SCHEME: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="An API token issued by gigcore (it starts with gct_).",
                )
            }
        ),
        tags=[
            Tag(name="wallets", description="Wallets, balances, statements and sandbox deposits"),
            Tag(name="transfers", description="Money moves between wallets"),
            Tag(name="snapshots", description="Ledger-wide balance snapshots (finance, admin)"),
            Tag(name="exports", description="Journal exports of a period as JSON or CSV (finance, admin)"),
            Tag(name="contracts", description="Contracts and the escrow lifecycle of their milestones"),
            Tag(name="payouts", description="Earnings by stage, and payouts with maker-checker approval bands"),
            Tag(name="identity", description="The authenticated actor"),
            Tag(name="health", description="Probes for orchestrators; no authentication"),
        ],
    )


def openapi_document() -> dict[str, Any]:
    """The document the app serves, built from an in-memory runtime (nothing is started)."""
    from entrypoints.container import build_in_memory
    from entrypoints.http.app import create_app

    return create_app(build_in_memory()).openapi_schema.to_schema()


def render_openapi() -> str:
    """Pretty, key-sorted JSON with a final newline: the same bytes on every run."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export_openapi(path: Path | str = DEFAULT_EXPORT_PATH) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_openapi(), encoding="utf-8")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write gigcore's OpenAPI document.")
    parser.add_argument("path", nargs="?", default=str(DEFAULT_EXPORT_PATH), help="default: %(default)s")
    written = export_openapi(parser.parse_args(argv).path)
    print(f"wrote {written}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
