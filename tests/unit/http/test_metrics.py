"""``/metrics``: request counts and latencies by route template, installation gauges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from entrypoints.container import Runtime, build_in_memory
from entrypoints.metrics import create_metrics, process_metrics, serve_metrics
from tests.unit.http.conftest import Api, serve


def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = api.client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    assert answer.headers["content-type"].count("charset") == 1
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def requests(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], route: str, status: str) -> float:
    key = ("gigcore_http_requests_total", (("method", "GET"), ("route", route), ("status", status)))
    return samples.get(key, 0.0)


def test_requests_are_counted_by_route_template_not_by_path(api: Api) -> None:
    alice = api.user("alice")
    first, second = api.wallet(alice, "EUR"), api.wallet(alice, "USD")
    before = scrape(api)

    for wallet_id in (first, second, first):
        assert api.get(f"/v1/wallets/{wallet_id}/balance", alice).status_code == 200
    after = scrape(api)

    template = "/v1/wallets/{wallet_id}/balance"
    assert requests(after, template, "200") - requests(before, template, "200") == 3
    assert first not in str(after) and second not in str(after)
    observed = after[("gigcore_http_request_duration_seconds_count", (("method", "GET"), ("route", template)))]
    assert observed >= 3


def test_unmatched_paths_share_one_label(api: Api) -> None:
    for path in ("/nope", "/v2/anything/123", "/v1/wallets/x/y/z"):
        assert api.client.get(path).status_code == 404

    samples = scrape(api)

    assert requests(samples, "unmatched", "404") == 3
    assert not any("/nope" in str(labels) for _name, labels in samples)


def test_metrics_need_no_authentication_and_count_refusals_by_status(api: Api) -> None:
    assert api.client.get("/v1/me").status_code == 401

    samples = scrape(api)

    assert requests(samples, "/v1/me", "401") == 1


def test_outbox_and_dead_letter_gauges_are_read_at_scrape_time(monkeypatch: pytest.MonkeyPatch) -> None:
    oldest = datetime.now(UTC) - timedelta(seconds=120)
    stats = {"pending": 7, "dead": 2}
    monkeypatch.setattr(Runtime, "outbox_stats", lambda _self: (stats["pending"], oldest))
    monkeypatch.setattr(Runtime, "dead_letter_count", lambda _self: stats["dead"])
    with serve(build_in_memory()) as api:
        first = scrape(api)
        stats.update(pending=3, dead=5)
        second = scrape(api)

    assert (first[("gigcore_outbox_pending", ())], first[("gigcore_dead_letters_pending", ())]) == (7, 2)
    assert (second[("gigcore_outbox_pending", ())], second[("gigcore_dead_letters_pending", ())]) == (3, 5)
    assert 119 <= second[("gigcore_outbox_oldest_pending_age_seconds", ())] < 300


def test_a_failing_gauge_read_leaves_the_scrape_answering(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_self: Runtime) -> tuple[int, datetime | None]:
        raise ConnectionError("database gone")

    monkeypatch.setattr(Runtime, "outbox_stats", broken)
    with serve(build_in_memory()) as api:
        samples = scrape(api)

    assert ("gigcore_outbox_pending", ()) not in samples  # missing, not a made-up zero
    assert ("gigcore_dead_letters_pending", ()) in samples


def test_two_apps_in_one_process_count_apart() -> None:
    with serve(build_in_memory()) as one, serve(build_in_memory()) as other:
        one.client.get("/health/live")
        one.client.get("/health/live")
        other.client.get("/health/live")

        assert requests(scrape(one), "/health/live", "200") == 2
        assert requests(scrape(other), "/health/live", "200") == 1


def test_worker_metrics_are_served_on_their_own_port() -> None:
    import urllib.request

    metrics = create_metrics()
    metrics.jobs.labels("notify", "ok").inc()
    server, _thread = serve_metrics(0, "127.0.0.1", metrics=metrics)
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    finally:
        server.shutdown()
        server.server_close()

    assert 'gigcore_jobs_total{actor="notify",outcome="ok"} 1.0' in text


def test_the_worker_metric_names_resolve_to_this_process_metrics() -> None:
    from entrypoints.metrics import JOBS  # type: ignore[attr-defined]  # module __getattr__

    assert JOBS is process_metrics().jobs
