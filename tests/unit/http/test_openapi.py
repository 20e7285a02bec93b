"""The committed OpenAPI document is the one the app serves."""

from __future__ import annotations

import json
from pathlib import Path

from entrypoints.http.openapi import BEARER_SCHEME, export_openapi, openapi_document, render_openapi
from tests.unit.http.conftest import Api

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "architecture" / "openapi.json"


def test_the_committed_openapi_document_is_current() -> None:
    assert COMMITTED.exists(), (
        "architecture/openapi.json is missing: run `.venv/bin/python -m entrypoints.http.openapi`"
    )
    assert COMMITTED.read_text(encoding="utf-8") == render_openapi(), (
        "architecture/openapi.json is out of date; regenerate it from the repository root with "
        "`.venv/bin/python -m entrypoints.http.openapi` and commit the result"
    )


def test_the_export_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"

    export_openapi(first)
    export_openapi(second)

    assert first.read_bytes() == second.read_bytes()
    assert first.read_text(encoding="utf-8").endswith("}\n")


def test_the_served_document_is_the_exported_one(api: Api) -> None:
    served = api.client.get("/schema/openapi.json")

    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(openapi_document()))


def test_v1_routes_declare_bearer_security_and_health_does_not() -> None:
    document = openapi_document()

    assert document["components"]["securitySchemes"][BEARER_SCHEME] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"][BEARER_SCHEME]["description"],
    }
    for path, operations in document["paths"].items():
        for operation in operations.values():
            authenticated = path.startswith("/v1/") and not path.startswith("/v1/webhooks/")
            expected: list[dict[str, list[str]]] | None = [{BEARER_SCHEME: []}] if authenticated else None
            # Webhooks are signed by the payment providers, not authenticated with a token.
            assert operation.get("security") == expected, path


def test_every_post_documents_a_required_idempotency_key() -> None:
    document = openapi_document()

    posts = [ops["post"] for path, ops in document["paths"].items() if "post" in ops and "/webhooks/" not in path]
    # wallets 2, transfers, snapshots, contracts 13, payouts 3, notifications 1, payments 4
    assert len(posts) == 27
    webhooks = [ops["post"] for path, ops in document["paths"].items() if path.startswith("/v1/webhooks/")]
    assert len(webhooks) == 3  # deduplicated by the provider's event id, not by an Idempotency-Key
    for operation in webhooks:
        assert not [p for p in operation.get("parameters", []) if p["in"] == "header"]
    puts = [ops["put"] for ops in document["paths"].values() if "put" in ops]
    assert len(puts) == 1  # payout destinations
    for operation in posts + puts:
        headers = [p for p in operation["parameters"] if p["in"] == "header"]
        assert [(h["name"], h["required"]) for h in headers] == [("Idempotency-Key", True)]


def test_money_is_documented_as_integer_minor_units() -> None:
    money = openapi_document()["components"]["schemas"]["MoneyBody"]

    assert money["properties"]["minor"] == {"type": "integer"}
    assert set(money["required"]) == {"minor", "currency"}
