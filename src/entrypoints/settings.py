"""Settings from ``GIGCORE_*`` environment variables, validated once at start.

Every bad variable is reported in one SettingsError naming the variable and what it must
be, so an operator fixes them all in one go.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

import attrs
from attrs import frozen

PREFIX = "GIGCORE_"
DEFAULT_DATABASE_URL = "sqlite:///var/gigcore.sqlite3"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration: " + "; ".join(problems))


def _one_of(*choices: str) -> Any:
    def check(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")

    return check


def _between(low: int, high: int) -> Any:
    def check(_inst: object, attribute: attrs.Attribute[int], value: int) -> None:
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")

    return check


_IN_MEMORY_SQLITE = (
    "in-memory SQLite cannot be shared between threads; "
    "use memory:// for an in-memory installation or a sqlite:///path file"
)


def _sqlite_problem(url: str) -> str | None:
    """Why a ``sqlite://`` URL cannot hold the ledger, or None if it names a file.

    An in-memory SQLite database lives and dies with one connection, which request
    threads cannot safely share (SQLAlchemy keeps one per thread, each a separate empty
    ledger). Every form is refused, including the empty path (``sqlite://``,
    ``sqlite:///``) that SQLAlchemy reads as ``:memory:``.
    """
    rest = url.removeprefix("sqlite://")
    if rest and not rest.startswith("/"):
        return "must be sqlite:///relative/path or sqlite:////absolute/path (no host)"
    path, _, query = rest.removeprefix("/").partition("?")
    params = urllib.parse.parse_qs(query)
    as_uri = params.get("uri", [""])[-1].lower() in _TRUE
    if not path.strip():
        return "names no file: " + _IN_MEMORY_SQLITE
    if path == ":memory:" or (as_uri and (path.startswith("file::memory:") or "memory" in params.get("mode", []))):
        return _IN_MEMORY_SQLITE
    return None


def _database_url(_inst: object, _attr: object, value: str) -> None:
    if not (value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")) or value == "memory://"):
        raise ValueError("must be memory://, a sqlite:/// path or a postgresql:// URL")
    if value.startswith("sqlite://") and (problem := _sqlite_problem(value)) is not None:
        raise ValueError(problem)


def _url_with_scheme(*schemes: str) -> Any:
    """Empty (not configured) or a URL of one of ``schemes`` naming a host. The problem
    never repeats the URL, which may carry a password."""

    def check(_inst: object, _attr: object, value: str) -> None:
        if value == "":
            return
        parsed = urllib.parse.urlsplit(value)
        if parsed.scheme not in schemes:
            raise ValueError(f"must be a {' or '.join(s + '://' for s in schemes)} URL (or empty)")
        try:
            host, _port = parsed.hostname, parsed.port
        except ValueError:
            raise ValueError("has an invalid port") from None
        if not host:
            raise ValueError("names no host")

    return check


_CONSUMER_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


PAYMENT_PROVIDERS = ("stripe", "adyen", "paypal")
# Currency[/country[/method]] = providers in fallback order; "*" matches anything. The most
# specific matching rules come first, broader ones extend the fallback (each provider once).
DEFAULT_PAYMENT_ROUTES = "EUR=stripe,adyen,paypal;USD=stripe,paypal,adyen;*=stripe,adyen,paypal"
_ROUTE_KEY = re.compile(r"^(\*|[A-Z]{3})(?:/(\*|[A-Z]{2})(?:/(\*|[a-z_]{1,32}))?)?$")


def parse_hold_days(text: str) -> dict[str, int]:
    """``stripe=90,adyen=30`` -> {provider: days}; empty: no limits. Raises ValueError."""
    limits: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, days = part.partition("=")
        name = name.strip()
        if not sep or name not in PAYMENT_PROVIDERS or name in limits or not days.strip().isdigit():
            raise ValueError(f"must be provider=days,… with distinct providers among {', '.join(PAYMENT_PROVIDERS)}")
        if not 1 <= int(days) <= 3650:
            raise ValueError("each limit is 1 to 3650 days")
        limits[name] = int(days)
    return limits


def _hold_days(_inst: object, _attr: object, value: str) -> None:
    parse_hold_days(value)


@frozen
class PaymentRouteRule:
    """One row of ``GIGCORE_PAYMENT_ROUTES``: None matches anything."""

    currency: str | None
    country: str | None
    method: str | None
    providers: tuple[str, ...]


def parse_payment_routes(text: str) -> tuple[PaymentRouteRule, ...]:
    """``EUR=stripe,adyen;USD/US=stripe;*/*/paypal=paypal`` -> rules. Raises ValueError."""
    rules = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, sep, names = part.partition("=")
        match = _ROUTE_KEY.match(key.strip())
        if not sep or match is None:
            raise ValueError("must be CURRENCY[/COUNTRY[/METHOD]]=provider,provider;… (* matches any)")
        chosen = tuple(n.strip() for n in names.split(",") if n.strip())
        unknown = [n for n in chosen if n not in PAYMENT_PROVIDERS]
        if not chosen or unknown or len(set(chosen)) != len(chosen):
            raise ValueError(f"each rule names distinct providers among {', '.join(PAYMENT_PROVIDERS)}")
        currency, country, method = (None if g in (None, "*") else g for g in match.groups())
        rules.append(PaymentRouteRule(currency=currency, country=country, method=method, providers=chosen))
    return tuple(rules)


def _payment_routes(_inst: object, _attr: object, value: str) -> None:
    parse_payment_routes(value)


def _payment_providers(_inst: object, _attr: object, value: str) -> None:
    names = [n.strip() for n in value.split(",") if n.strip()]
    if any(n not in PAYMENT_PROVIDERS for n in names) or len(set(names)) != len(names):
        raise ValueError(f"must be comma-separated distinct names among {', '.join(PAYMENT_PROVIDERS)} (or empty)")


def _consumer_paths(_inst: object, _attr: object, value: str) -> None:
    for part in filter(None, (p.strip() for p in value.split(","))):
        if not _CONSUMER_PATH.match(part):
            raise ValueError("must be comma-separated package.module:factory paths")


@frozen(kw_only=True)
class Settings:
    """Configuration of one gigcore installation. See the README's configuration table."""

    database_url: str = attrs.field(default=DEFAULT_DATABASE_URL, validator=_database_url)
    auto_migrate: str = attrs.field(default="auto", validator=_one_of("auto", "true", "false"))
    db_pool_size: int = attrs.field(default=10, validator=_between(1, 200))
    host: str = "127.0.0.1"
    port: int = attrs.field(default=8000, validator=_between(1, 65535))
    log_level: str = attrs.field(default="info", validator=_one_of("debug", "info", "warning", "error"))
    log_format: str = attrs.field(default="json", validator=_one_of("json", "console"))
    max_body_bytes: int = attrs.field(default=64 * 1024, validator=_between(1024, 10 * 1024 * 1024))
    sandbox_deposits: bool = True
    audit_chains: int = attrs.field(default=8, validator=_between(1, 256))
    # How long a successful bearer authentication is reused without the database (0: never);
    # a revoked or expired token keeps working for at most this long (entrypoints.http.auth).
    auth_cache_seconds: int = attrs.field(default=5, validator=_between(0, 300))
    # Escrow (issue 3). The embedded timer scheduler fires due timers (auto-release,
    # deadlines, clearing) inside `gigcore serve` every this many seconds (0: off, for
    # installations that fire them elsewhere, e.g. `gigcore timers fire` from cron).
    timer_interval_seconds: int = attrs.field(default=5, validator=_between(0, 3600))
    escrow_auto_release_days: int = attrs.field(default=14, validator=_between(1, 365))
    escrow_clearing_days: int = attrs.field(default=5, validator=_between(0, 365))
    # The platform fee on released money (the default tier): basis points of the gross,
    # at least this many minor units (never more than the gross itself).
    escrow_fee_bps: int = attrs.field(default=1_000, validator=_between(0, 10_000))
    escrow_fee_min_minor: int = attrs.field(default=50, validator=_between(0, 1_000_000))
    payout_gateway: str = attrs.field(default="sandbox", validator=_one_of("sandbox", *PAYMENT_PROVIDERS))
    # Payments (issue 5): the providers enabled (none: top-ups answer no_provider_configured,
    # webhooks 404, and nothing else changes), the routing table, where secrets come from
    # (a directory of files named like the variables, before the environment), each
    # provider's sandbox switch and base URL (empty: the provider's own; a local fake in
    # tests), and the circuit breaker that moves charges to the next provider.
    payment_providers: str = attrs.field(default="", validator=_payment_providers)
    payment_routes: str = attrs.field(default=DEFAULT_PAYMENT_ROUTES, validator=_payment_routes)
    secrets_dir: str = ""
    stripe_sandbox: bool = True
    adyen_sandbox: bool = True
    paypal_sandbox: bool = True
    stripe_base_url: str = attrs.field(default="", validator=_url_with_scheme("http", "https"))
    adyen_base_url: str = attrs.field(default="", validator=_url_with_scheme("http", "https"))
    paypal_base_url: str = attrs.field(default="", validator=_url_with_scheme("http", "https"))
    # Where Adyen's closed settlement report batches are kept between runs (empty: in memory).
    adyen_report_cache_dir: str = ""
    # How long each provider lets captured funds sit before they must be paid out, for the
    # platform's account: Stripe's manual payouts allow 90 days in most countries (2 years
    # in the US, 10 days in Thailand); the hold-deadline guard warns before it passes.
    payment_hold_days: str = attrs.field(default="stripe=90", validator=_hold_days)
    payments_breaker_failures: int = attrs.field(default=3, validator=_between(1, 100))
    payments_breaker_cooldown_seconds: int = attrs.field(default=30, validator=_between(1, 3600))
    # Background work (issue 4). No broker URL: the embedded mode (events handled in-process).
    # Both URLs may carry passwords: kept out of repr, never put in a probe's answer.
    broker_url: str = attrs.field(default="", validator=_url_with_scheme("amqp", "amqps"), repr=False)
    redis_url: str = attrs.field(default="", validator=_url_with_scheme("redis", "rediss"), repr=False)
    # How often a worker records its heartbeat; readiness calls it stale after 3 of these.
    worker_heartbeat_seconds: int = attrs.field(default=5, validator=_between(1, 3600))
    # `gigcore serve` on SIGTERM/SIGINT: readiness answers 503 for drain_seconds while
    # serving on (load balancers notice), then in-flight requests get
    # shutdown_timeout_seconds to finish.
    # `gigcore worker` (needs broker_url): consumer threads per process, processes under
    # the supervisor, how long in-flight jobs get on SIGTERM, the Prometheus port (0: off).
    worker_threads: int = attrs.field(default=8, validator=_between(1, 64))
    worker_processes: int = attrs.field(default=1, validator=_between(1, 32))
    worker_shutdown_seconds: int = attrs.field(default=30, validator=_between(1, 1200))
    worker_metrics_port: int = attrs.field(default=9191, validator=_between(0, 65535))
    # Jobs: attempts before a delivery is dead-lettered, backoff cap, and the time limit of
    # one job (kept far below RabbitMQ's 30-minute consumer timeout).
    job_max_retries: int = attrs.field(default=10, validator=_between(0, 100))
    job_max_backoff_seconds: int = attrs.field(default=300, validator=_between(1, 1200))
    job_time_limit_seconds: int = attrs.field(default=60, validator=_between(1, 1200))
    # An embedding service's own event consumers: comma-separated module:factory paths.
    extra_consumers: str = attrs.field(default="", validator=_consumer_paths)
    # The outbox relay (worker) or in-process dispatcher (embedded): poll interval when idle.
    outbox_poll_ms: int = attrs.field(default=200, validator=_between(10, 60_000))
    drain_seconds: int = attrs.field(default=2, validator=_between(0, 300))
    shutdown_timeout_seconds: int = attrs.field(default=20, validator=_between(1, 3600))

    @property
    def uses_memory(self) -> bool:
        return self.database_url == "memory://"

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def enabled_payment_providers(self) -> tuple[str, ...]:
        return tuple(n.strip() for n in self.payment_providers.split(",") if n.strip())

    @property
    def migrate_on_start(self) -> bool:
        """The embedded default (SQLite) migrates itself; PostgreSQL only when asked."""
        if self.auto_migrate == "auto":
            return self.uses_sqlite
        return self.auto_migrate == "true"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``GIGCORE_<FIELD>`` variables; ``overrides`` win (CLI flags).

        Raises:
            SettingsError: naming every variable that is malformed or out of range.
        """
        env = os.environ if environ is None else environ
        problems: list[str] = []
        values: dict[str, Any] = {}
        for field in attrs.fields(cls):
            name = PREFIX + field.name.upper()
            if field.name in overrides and overrides[field.name] is not None:
                values[field.name] = overrides[field.name]
                continue
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            try:
                values[field.name] = _parse(raw, field.type)
            except ValueError as error:
                problems.append(f"{name}={raw!r}: {error}")
        for field in attrs.fields(cls):  # check every parsed value, not just the first bad one
            if field.name not in values or field.validator is None:
                continue
            try:
                field.validator(None, field, values[field.name])
            except ValueError as error:
                # Fields kept out of repr may hold a password: name the variable, not its value.
                shown = repr(values[field.name]) if field.repr is not False else "[redacted]"
                problems.append(f"{PREFIX}{field.name.upper()}={shown}: {error}")
        if problems:
            raise SettingsError(problems)
        return cls(**values)


def _parse(raw: str, kind: object) -> Any:
    if kind in (bool, "bool"):
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError("must be true or false")
    if kind in (int, "int"):
        try:
            return int(raw.strip(), 10)
        except ValueError:
            raise ValueError("must be a whole number") from None
    return raw.strip()
