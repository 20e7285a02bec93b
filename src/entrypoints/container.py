"""The one composition root: every entry point and every embedder builds gigcore here.

Rings (dependency-injector containers) per concern: ``Platform`` (clock, policy),
a persistence ring (memory or SQL), and ``UseCases``, which only knows port-shaped names,
so swapping the persistence ring is a constructor call, not a patch. Nothing is built at
import time; ``build``/``build_in_memory`` return a ``Runtime`` with explicit
``start``/``stop``.

Embedding::

    from entrypoints.container import build_in_memory
    runtime = build_in_memory()
    wallet = runtime.use_cases.open_wallet()(OpenWalletCommand(...))
"""

from __future__ import annotations

import importlib
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import structlog
from attrs import define, field
from dependency_injector import containers, providers

from adapters.memory import MemoryStore, MemoryUnitOfWork, SandboxPayoutGateway
from adapters.memory.payments import MemoryRoutingState
from core.escrow.domain import DEFAULT_TIER, EscrowPolicy, FeeSchedule, FeeTable
from core.escrow.ports import PayoutGateway
from core.escrow.use_cases.accept_contract import AcceptContract
from core.escrow.use_cases.agree_refund import AgreeRefund
from core.escrow.use_cases.approve_milestone import ApproveMilestone
from core.escrow.use_cases.approve_payout import ApprovePayout
from core.escrow.use_cases.cancel_contract import CancelContract
from core.escrow.use_cases.create_contract import CreateContract
from core.escrow.use_cases.decline_contract import DeclineContract
from core.escrow.use_cases.execute_payout import ExecutePayout
from core.escrow.use_cases.fire_due_timers import FireDueTimers
from core.escrow.use_cases.fund_from_capture import FundMilestoneFromCapture
from core.escrow.use_cases.fund_milestone import FundMilestone
from core.escrow.use_cases.get_contract import GetContract
from core.escrow.use_cases.get_earnings import GetEarnings
from core.escrow.use_cases.get_payout import GetPayout
from core.escrow.use_cases.open_dispute_hold import OpenDisputeHold
from core.escrow.use_cases.propose_refund import ProposeRefund
from core.escrow.use_cases.refund_milestone import RefundMilestone
from core.escrow.use_cases.request_milestone_changes import RequestMilestoneChanges
from core.escrow.use_cases.request_payout import RequestPayout
from core.escrow.use_cases.resolve_dispute_hold import ResolveDisputeHold
from core.escrow.use_cases.submit_milestone import SubmitMilestone
from core.identity.domain import PolicyAuthorizer
from core.identity.use_cases.authenticate_token import AuthenticateToken
from core.identity.use_cases.create_user import CreateUser
from core.identity.use_cases.issue_api_token import IssueApiToken
from core.identity.use_cases.revoke_api_token import RevokeApiToken
from core.identity.use_cases.verify_audit_log import VerifyAuditLog
from core.ledger.use_cases.deposit_sandbox_funds import DepositSandboxFunds
from core.ledger.use_cases.export_journal import ExportJournal
from core.ledger.use_cases.get_balance import GetBalance
from core.ledger.use_cases.get_statement import GetStatement
from core.ledger.use_cases.list_wallets import ListWallets
from core.ledger.use_cases.open_wallet import OpenWallet
from core.ledger.use_cases.take_balance_snapshots import TakeBalanceSnapshots
from core.ledger.use_cases.transfer_funds import TransferFunds
from core.messaging.domain import Delivery, Heartbeat, Subscriptions
from core.messaging.ports import Publisher
from core.messaging.use_cases.direct_publisher import DirectPublisher
from core.messaging.use_cases.get_messaging_status import GetMessagingStatus, MessagingStatus, RecordHeartbeat
from core.messaging.use_cases.handle_event import HandleEvent
from core.messaging.use_cases.list_dead_letters import ListDeadLetters
from core.messaging.use_cases.record_dead_letter import RecordDeadLetter
from core.messaging.use_cases.relay_outbox import RelayOutbox
from core.notifications.use_cases.list_notifications import ListNotifications
from core.notifications.use_cases.mark_notifications_read import MarkNotificationsRead
from core.notifications.use_cases.notify_parties import NotifyParties
from core.payments.domain import BreakerPolicy, RoutingPolicy
from core.payments.use_cases.apply_provider_event import ApplyProviderEvent, ProviderEventsConsumer
from core.payments.use_cases.capture_payment import CapturePayment
from core.payments.use_cases.check_hold_deadlines import CheckHoldDeadlines
from core.payments.use_cases.get_payment import GetPayment
from core.payments.use_cases.get_payout_destinations import GetPayoutDestinations
from core.payments.use_cases.receive_provider_events import ReceiveProviderEvents
from core.payments.use_cases.reconcile_provider import ReconcileProvider
from core.payments.use_cases.record_payment_outcome import RecordPaymentOutcome
from core.payments.use_cases.record_refund_outcome import RecordRefundOutcome
from core.payments.use_cases.refund_payment import RefundPayment
from core.payments.use_cases.register_payout_destination import RegisterPayoutDestination
from core.payments.use_cases.resolve_unknown_payments import ResolveUnknownPayments
from core.payments.use_cases.routing import Router
from core.payments.use_cases.start_top_up import StartTopUp
from core.shared.time import Clock, SystemClock
from entrypoints.alerts import AlertLog
from entrypoints.background import Loop
from entrypoints.payments_setup import PaymentsWiring, ProviderPayoutGateway, build_payments
from entrypoints.settings import Settings

_log = structlog.get_logger("gigcore.events")
RELAY_LEASE_SECONDS = 10.0


class Platform(containers.DeclarativeContainer):
    clock = providers.Singleton(SystemClock)
    authorizer = providers.Singleton(PolicyAuthorizer)


class MemoryPersistence(containers.DeclarativeContainer):
    config = providers.Configuration()
    store = providers.Singleton(MemoryStore, audit_chains=config.audit_chains)
    uow_factory = providers.Singleton(partial, MemoryUnitOfWork, store)
    read_uow_factory = providers.Singleton(partial, MemoryUnitOfWork, store)  # the store lock serialises anyway
    dry_run_uow_factory = providers.Singleton(partial, MemoryUnitOfWork, store, dry_run=True)
    ping = providers.Object(lambda: None)
    migrate = providers.Object(lambda: None)
    routing_state = providers.Singleton(MemoryRoutingState)


def _sql_engine(url: str, pool_size: int) -> Any:
    from adapters.sql.engine import open_engine  # imported when the SQL ring is used

    yield from open_engine(url, pool_size=pool_size)


def _sql_uow_factory(engine: Any, audit_chains: int, dry_run: bool, read_only: bool = False) -> Callable[[], Any]:
    from adapters.sql.unit_of_work import SqlUnitOfWork

    return partial(SqlUnitOfWork, engine, audit_chains=audit_chains, dry_run=dry_run, read_only=read_only)


def _sql_ping(engine: Any) -> Callable[[], None]:
    from adapters.sql.engine import ping

    return partial(ping, engine)


def _sql_routing_state(engine: Any) -> Any:
    from adapters.sql.payments import SqlRoutingState

    return SqlRoutingState(engine)


def _sql_migrate(engine: Any) -> Callable[[], None]:
    from adapters.sql.migrations import upgrade

    return partial(upgrade, engine)


class SqlPersistence(containers.DeclarativeContainer):
    config = providers.Configuration()
    engine = providers.Resource(_sql_engine, url=config.url, pool_size=config.pool_size)
    uow_factory = providers.Singleton(_sql_uow_factory, engine, config.audit_chains, False)
    # Queries read in a read-only transaction: a plain BEGIN on SQLite (WAL readers neither
    # wait for nor block the writer), BEGIN READ ONLY on PostgreSQL.
    read_uow_factory = providers.Singleton(_sql_uow_factory, engine, config.audit_chains, False, True)
    dry_run_uow_factory = providers.Singleton(_sql_uow_factory, engine, config.audit_chains, True)
    ping = providers.Singleton(_sql_ping, engine)
    migrate = providers.Singleton(_sql_migrate, engine)
    # Circuit breakers in the database: every API process and worker sees the same state.
    routing_state = providers.Singleton(_sql_routing_state, engine)


class UseCases(containers.DeclarativeContainer):
    """Every use case, wired to whatever persistence ring it is given. Use cases hold only
    factories and pure collaborators, so one instance serves all threads."""

    config = providers.Configuration()
    new_uow: providers.Dependency[Callable[[], Any]] = providers.Dependency()
    new_read_uow: providers.Dependency[Callable[[], Any]] = providers.Dependency()
    clock: providers.Dependency[Clock] = providers.Dependency()
    authorizer: providers.Dependency[PolicyAuthorizer] = providers.Dependency()

    open_wallet = providers.Singleton(OpenWallet, new_uow=new_uow, authorizer=authorizer, clock=clock)
    deposit_sandbox_funds = providers.Singleton(
        DepositSandboxFunds, new_uow=new_uow, authorizer=authorizer, clock=clock, enabled=config.sandbox_deposits
    )
    transfer_funds = providers.Singleton(TransferFunds, new_uow=new_uow, authorizer=authorizer, clock=clock)
    get_balance = providers.Singleton(GetBalance, new_uow=new_read_uow, authorizer=authorizer, clock=clock)
    get_statement = providers.Singleton(GetStatement, new_uow=new_read_uow, authorizer=authorizer)
    list_wallets = providers.Singleton(ListWallets, new_uow=new_read_uow, authorizer=authorizer)
    take_balance_snapshots = providers.Singleton(
        TakeBalanceSnapshots, new_uow=new_uow, authorizer=authorizer, clock=clock
    )
    create_user = providers.Singleton(CreateUser, new_uow=new_uow, authorizer=authorizer, clock=clock)
    issue_api_token = providers.Singleton(IssueApiToken, new_uow=new_uow, authorizer=authorizer, clock=clock)
    revoke_api_token = providers.Singleton(RevokeApiToken, new_uow=new_uow, authorizer=authorizer, clock=clock)
    authenticate_token = providers.Singleton(AuthenticateToken, new_uow=new_read_uow, clock=clock)
    verify_audit_log = providers.Singleton(VerifyAuditLog, new_uow=new_read_uow, authorizer=authorizer)
    export_journal = providers.Singleton(ExportJournal, new_uow=new_read_uow, authorizer=authorizer)

    # Escrow. The policy (fees by tier, auto-release days, clearing period, payout
    # approval bands) and the payout gateway default to the sandbox installation's;
    # ``build`` provides them from the settings (``escrow_policy``, ``payout_gateway``).
    escrow_policy: providers.Dependency[EscrowPolicy] = providers.Dependency(
        instance_of=EscrowPolicy, default=providers.Singleton(EscrowPolicy)
    )
    payout_gateway: providers.Dependency[PayoutGateway] = providers.Dependency(
        default=providers.Singleton(SandboxPayoutGateway)
    )
    create_contract = providers.Singleton(
        CreateContract, new_uow=new_uow, authorizer=authorizer, clock=clock, policy=escrow_policy
    )
    accept_contract = providers.Singleton(AcceptContract, new_uow=new_uow, authorizer=authorizer, clock=clock)
    decline_contract = providers.Singleton(DeclineContract, new_uow=new_uow, authorizer=authorizer, clock=clock)
    cancel_contract = providers.Singleton(CancelContract, new_uow=new_uow, authorizer=authorizer, clock=clock)
    get_contract = providers.Singleton(GetContract, new_uow=new_read_uow, authorizer=authorizer)
    fund_milestone = providers.Singleton(FundMilestone, new_uow=new_uow, authorizer=authorizer, clock=clock)
    submit_milestone = providers.Singleton(SubmitMilestone, new_uow=new_uow, authorizer=authorizer, clock=clock)
    approve_milestone = providers.Singleton(
        ApproveMilestone, new_uow=new_uow, authorizer=authorizer, clock=clock, policy=escrow_policy
    )
    request_milestone_changes = providers.Singleton(
        RequestMilestoneChanges, new_uow=new_uow, authorizer=authorizer, clock=clock
    )
    propose_refund = providers.Singleton(ProposeRefund, new_uow=new_uow, authorizer=authorizer, clock=clock)
    agree_refund = providers.Singleton(
        AgreeRefund, new_uow=new_uow, authorizer=authorizer, clock=clock, policy=escrow_policy
    )
    refund_milestone = providers.Singleton(
        RefundMilestone, new_uow=new_uow, authorizer=authorizer, clock=clock, policy=escrow_policy
    )
    open_dispute_hold = providers.Singleton(OpenDisputeHold, new_uow=new_uow, authorizer=authorizer, clock=clock)
    resolve_dispute_hold = providers.Singleton(
        ResolveDisputeHold, new_uow=new_uow, authorizer=authorizer, clock=clock, policy=escrow_policy
    )
    fire_due_timers = providers.Singleton(
        FireDueTimers, new_uow=new_uow, authorizer=authorizer, clock=clock, policy=escrow_policy
    )
    get_earnings = providers.Singleton(GetEarnings, new_uow=new_read_uow, authorizer=authorizer)
    request_payout = providers.Singleton(
        RequestPayout, new_uow=new_uow, authorizer=authorizer, clock=clock, policy=escrow_policy
    )
    approve_payout = providers.Singleton(ApprovePayout, new_uow=new_uow, authorizer=authorizer, clock=clock)
    execute_payout = providers.Singleton(
        ExecutePayout, new_uow=new_uow, authorizer=authorizer, clock=clock, gateway=payout_gateway
    )
    get_payout = providers.Singleton(GetPayout, new_uow=new_read_uow, authorizer=authorizer)

    # Notifications: the "notifications" event consumer, and members' own inbox.
    notify_parties = providers.Singleton(NotifyParties, clock=clock)
    list_notifications = providers.Singleton(ListNotifications, new_uow=new_read_uow, authorizer=authorizer)
    mark_notifications_read = providers.Singleton(
        MarkNotificationsRead, new_uow=new_uow, authorizer=authorizer, clock=clock
    )

    # Payments (issue 5). ``build`` provides the enabled providers' gateways and webhook
    # verifiers, the routing policy and the breaker from the settings (none by default:
    # a top-up then answers no_provider_configured). The circuit breakers are shared by
    # every process through the database (``provider_breakers``; memory for memory://):
    # advice for routing, never money.
    payment_gateways: providers.Dependency[Any] = providers.Dependency(default=providers.Object({}))
    webhook_verifiers: providers.Dependency[Any] = providers.Dependency(default=providers.Object({}))
    routing_policy: providers.Dependency[RoutingPolicy] = providers.Dependency(
        instance_of=RoutingPolicy, default=providers.Object(RoutingPolicy(routes=()))
    )
    breaker_policy: providers.Dependency[BreakerPolicy] = providers.Dependency(
        instance_of=BreakerPolicy, default=providers.Singleton(BreakerPolicy)
    )
    routing_state: providers.Dependency[Any] = providers.Dependency(default=providers.Singleton(MemoryRoutingState))
    payment_router = providers.Singleton(
        Router, policy=routing_policy, gateways=payment_gateways, state=routing_state, breaker=breaker_policy
    )
    start_top_up = providers.Singleton(
        StartTopUp, new_uow=new_uow, authorizer=authorizer, clock=clock, router=payment_router
    )
    get_payment = providers.Singleton(GetPayment, new_uow=new_read_uow, authorizer=authorizer)
    receive_provider_events = providers.Singleton(
        ReceiveProviderEvents, new_uow=new_uow, authorizer=authorizer, clock=clock
    )
    apply_provider_event = providers.Singleton(
        ApplyProviderEvent, new_uow=new_uow, authorizer=authorizer, clock=clock, routing=routing_policy
    )
    refund_payment = providers.Singleton(
        RefundPayment, new_uow=new_uow, authorizer=authorizer, clock=clock, gateways=payment_gateways
    )
    record_refund_outcome = providers.Singleton(
        RecordRefundOutcome, new_uow=new_uow, authorizer=authorizer, clock=clock, routing=routing_policy
    )
    record_payment_outcome = providers.Singleton(
        RecordPaymentOutcome, new_uow=new_uow, authorizer=authorizer, clock=clock, routing=routing_policy
    )
    capture_payment = providers.Singleton(
        CapturePayment, new_uow=new_uow, authorizer=authorizer, clock=clock, router=payment_router
    )
    resolve_unknown_payments = providers.Singleton(
        ResolveUnknownPayments, new_uow=new_uow, authorizer=authorizer, clock=clock, router=payment_router
    )
    reconcile_provider = providers.Singleton(
        ReconcileProvider, new_uow=new_uow, authorizer=authorizer, clock=clock, gateways=payment_gateways
    )
    check_hold_deadlines = providers.Singleton(CheckHoldDeadlines, new_uow=new_uow, authorizer=authorizer, clock=clock)
    provider_events_consumer = providers.Singleton(ProviderEventsConsumer, clock=clock, routing=routing_policy)
    # Where each provider pays a payee (ProviderPayoutGateway reads them).
    register_payout_destination = providers.Singleton(
        RegisterPayoutDestination, new_uow=new_uow, authorizer=authorizer, clock=clock
    )
    get_payout_destinations = providers.Singleton(GetPayoutDestinations, new_uow=new_read_uow, authorizer=authorizer)

    # Messaging (issue 4). Consumers react to committed events, each exactly once in
    # effect (HandleEvent); the relay (worker) or the in-process dispatcher (embedded)
    # delivers them. Add a consumer here and both modes pick it up.
    # The third is escrow's hand-off (issue 5): a payment captured for a milestone funds it.
    # Inline, not a named provider: only handle_event runs it, never an operator.
    # The fourth writes every payments alert to the log, once (entrypoints.alerts).
    consumers = providers.List(
        notify_parties,
        provider_events_consumer,
        providers.Singleton(FundMilestoneFromCapture, clock=clock),
        providers.Singleton(AlertLog),
    )
    subscriptions = providers.Singleton(Subscriptions.of, consumers)
    handle_event = providers.Singleton(HandleEvent, new_uow=new_uow, consumers=consumers, clock=clock)
    record_dead_letter = providers.Singleton(RecordDeadLetter, new_uow=new_uow, clock=clock)
    list_dead_letters = providers.Singleton(ListDeadLetters, new_uow=new_read_uow, authorizer=authorizer)
    messaging_status = providers.Singleton(GetMessagingStatus, new_uow=new_read_uow)
    record_heartbeat = providers.Singleton(RecordHeartbeat, new_uow=new_uow)


@define
class Runtime:
    """What an entry point or an embedding service holds.

    ``use_cases`` commits; ``dry_run`` is the same graph over units of work that run every
    statement and check, then roll back (``gigcore run --dry-run``)."""

    settings: Settings
    use_cases: UseCases
    dry_run: UseCases
    platform: Platform
    persistence: containers.DeclarativeContainer
    _lock: threading.Lock = field(factory=threading.Lock, init=False, repr=False)
    _started: bool = field(default=False, init=False)
    _direct_publisher: DirectPublisher | None = field(default=None, init=False, repr=False)

    def start(self) -> None:
        """Open pools (and migrate the embedded default). Idempotent: the CLI starts the
        runtime before serving and the app's lifespan starts it again."""
        with self._lock:
            if self._started:
                return
            self.persistence.init_resources()
            if self.settings.migrate_on_start:
                self.migrate()
            self._started = True

    def stop(self) -> None:
        with self._lock:
            self.persistence.shutdown_resources()
            self._started = False

    def migrate(self) -> None:
        self.persistence.migrate()()

    def ping_database(self) -> None:
        """Raises if the database cannot answer a trivial query."""
        self.persistence.ping()()

    def new_unit_of_work(self) -> Any:
        """A fresh unit of work; for tests, exports and embedders' own reads."""
        return self.persistence.uow_factory()()

    # Probes and metrics (issue 4) read these; each may raise when the database is down
    # (readiness then reports the check as down).
    def messaging_status(self) -> MessagingStatus:
        return self.use_cases.messaging_status()()

    def outbox_stats(self) -> tuple[int, datetime | None]:
        """How many outbox events wait to be published, and when the oldest occurred."""
        stats = self.messaging_status().outbox
        return stats.pending, stats.oldest_pending_at

    def last_worker_heartbeat(self) -> datetime | None:
        """When a worker last recorded its heartbeat (None: never)."""
        beat = self.messaging_status().last_heartbeat
        return None if beat is None else beat.beat_at

    def dead_letter_count(self) -> int:
        """How many deliveries were dead-lettered (failed for good, recorded)."""
        return self.messaging_status().dead_letters

    def record_heartbeat(self, heartbeat: Heartbeat) -> None:
        self.use_cases.record_heartbeat()(heartbeat)

    def relay(self, publisher: Publisher, *, holder: str) -> RelayOutbox:
        """The outbox relay, publishing through ``publisher`` (the worker's broker, or
        ``direct_publisher()`` in-process), leading while it holds the lease."""
        return RelayOutbox(
            self.persistence.uow_factory(),
            publisher,
            self.use_cases.subscriptions(),
            self.platform.clock(),
            holder=holder,
            # Renewed every round (at least every outbox_poll_ms); a crashed leader's lease
            # lapses within this, and a round never takes nearly as long.
            lease_seconds=max(RELAY_LEASE_SECONDS, 10 * self.settings.outbox_poll_ms / 1000),
        )

    def direct_publisher(self, on_failure: Any = None) -> DirectPublisher:
        """The embedded default's publisher: consumers run in this process, after commit."""
        return DirectPublisher(
            self.use_cases.handle_event(),
            self.use_cases.record_dead_letter(),
            self.platform.clock(),
            max_attempts=self.settings.job_max_retries + 1,
            on_failure=on_failure,
        )

    def dispatch_events(self, *, limit: int = 500) -> int:
        """Deliver the committed events in this process, now, until none is pending (or
        only ones waiting for a retry); returns how many were delivered. For embedders
        and tests that run without the background dispatcher."""
        relay = self.relay(self._direct(), holder=f"dispatch-{id(self)}")
        delivered = 0
        while True:
            round_ = relay(limit=limit)
            delivered += round_.published
            if not round_.full:
                relay.release()
                return delivered

    def event_dispatcher(self) -> Loop:
        """The embedded default's background dispatcher: relays committed events to the
        consumers in this process every ``outbox_poll_ms`` (at once while batches come
        back full). Start and stop it around serving (the HTTP app's lifespan does)."""
        relay = self.relay(self._direct(), holder=f"serve-{socket.gethostname()}-{os.getpid()}")
        return Loop(
            "events",
            lambda: relay().full,
            interval_seconds=self.settings.outbox_poll_ms / 1000,
            on_stop=relay.release,
        )

    def _direct(self) -> DirectPublisher:
        with self._lock:
            if self._direct_publisher is None:
                self._direct_publisher = self.direct_publisher(on_failure=_log_delivery_failure)
            return self._direct_publisher


def _log_delivery_failure(delivery: Delivery, error: BaseException, attempts: int, final: bool) -> None:
    (_log.error if final else _log.warning)(
        "event handling failed",
        consumer=delivery.consumer,
        event_id=delivery.envelope.event_id,
        event_name=delivery.envelope.name,
        attempt=attempts,
        final=final,
        code=getattr(error, "code", type(error).__name__),
    )


def _use_cases(
    settings: Settings,
    platform: Platform,
    new_uow: Any,
    new_read_uow: Any,
    *,
    policy: EscrowPolicy,
    gateway: PayoutGateway,
    payments: PaymentsWiring,
    routing_state: Any,
) -> UseCases:
    use_cases = UseCases(
        new_uow=new_uow,
        new_read_uow=new_read_uow,
        clock=platform.clock,
        authorizer=platform.authorizer,
        escrow_policy=providers.Object(policy),
        payout_gateway=providers.Object(gateway),
        payment_gateways=providers.Object(payments.gateways),
        webhook_verifiers=providers.Object(payments.verifiers),
        routing_policy=providers.Object(payments.policy),
        breaker_policy=providers.Object(payments.breaker),
        routing_state=routing_state,
    )
    use_cases.config.from_dict({"sandbox_deposits": settings.sandbox_deposits})
    for consumer in extra_consumers(settings.extra_consumers):
        use_cases.consumers.add_args(providers.Object(consumer))
    return use_cases


def extra_consumers(spec: str) -> list[Any]:
    """An embedding service's own event consumers, named in ``GIGCORE_EXTRA_CONSUMERS``
    as comma-separated ``package.module:factory`` paths; each factory returns a consumer
    (``core.messaging.domain.Consumer``). The API, the worker and ``dispatch_events``
    all load them, so every mode delivers to them."""
    found = []
    for path in filter(None, (part.strip() for part in spec.split(","))):
        module_name, _, attribute = path.partition(":")
        factory = getattr(importlib.import_module(module_name), attribute)
        found.append(factory())
    return found


def escrow_policy(settings: Settings) -> EscrowPolicy:
    """Escrow's rules from the settings: the default tier's fee, the auto-release and
    clearing periods (payout approval bands: the defaults)."""
    fee = FeeSchedule(bps=settings.escrow_fee_bps, min_minor=settings.escrow_fee_min_minor)
    return EscrowPolicy(
        fees=FeeTable({DEFAULT_TIER: fee}),
        auto_release_days=settings.escrow_auto_release_days,
        clearing_period=timedelta(days=settings.escrow_clearing_days),
    )


def payout_gateways(
    settings: Settings,
    payments: PaymentsWiring | None = None,
    new_uow: Callable[[], Any] | None = None,
    clock: Clock | None = None,
) -> tuple[PayoutGateway, PayoutGateway]:
    """The payout gateway the settings name (the sandbox, or an enabled payment
    provider's payouts, paying the destinations payees registered, pinned per payout
    through ``new_uow`` at ``clock``'s time), and the one a dry run gets: never the real
    one. (``ExecutePayout`` stops before the gateway in a dry run anyway, since its start
    was rolled back; this makes sure that nothing a dry run holds can send money.) The dry run's sandbox carries
    the real gateway's name, which labels accounts."""
    live: PayoutGateway
    if settings.payout_gateway == "sandbox":
        live = SandboxPayoutGateway()
    elif payments is not None and settings.payout_gateway in payments.gateways:
        if new_uow is None or clock is None:
            raise ValueError("a provider's payouts need the registered payout destinations (new_uow, clock)")
        live = ProviderPayoutGateway(payments.gateways[settings.payout_gateway], new_uow, clock)
    else:
        raise ValueError(f"unknown payout gateway {settings.payout_gateway!r}")
    return live, SandboxPayoutGateway(name=live.name)


def build(settings: Settings | None = None, *, clock: Clock | None = None) -> Runtime:
    """Production wiring from settings (``Settings.from_env()`` when omitted).

    ``memory://`` selects the in-memory ring; any SQL URL the SQL ring. Call from an entry
    point or an embedding service, never at import time; then ``runtime.start()``."""
    settings = settings or Settings.from_env()
    platform = Platform()
    if clock is not None:
        platform.clock.override(providers.Object(clock))
    persistence: Any
    if settings.uses_memory:
        persistence = MemoryPersistence()
        persistence.config.from_dict({"audit_chains": settings.audit_chains})
    else:
        persistence = SqlPersistence()
        persistence.config.from_dict(
            {"url": settings.database_url, "pool_size": settings.db_pool_size, "audit_chains": settings.audit_chains}
        )
    policy = escrow_policy(settings)
    payments = build_payments(settings)

    def new_uow() -> Any:
        # Resolved at each payout, so the SQL engine is opened by ``start`` as usual. A
        # writing unit of work: the payout's first attempt pins the destination it pays.
        return persistence.uow_factory()()

    gateway, dry_run_gateway = payout_gateways(settings, payments, new_uow, platform.clock())
    # A dry run never reaches a provider: no gateways (a top-up answers
    # no_provider_configured), but the same routing and verifiers.
    dry_run_payments = PaymentsWiring(
        gateways={}, verifiers=payments.verifiers, policy=payments.policy, breaker=payments.breaker
    )
    routing_state = persistence.routing_state  # shared by the real and the dry-run graphs
    return Runtime(
        settings=settings,
        use_cases=_use_cases(
            settings,
            platform,
            persistence.uow_factory,
            persistence.read_uow_factory,
            policy=policy,
            gateway=gateway,
            payments=payments,
            routing_state=routing_state,
        ),
        dry_run=_use_cases(
            settings,
            platform,
            persistence.dry_run_uow_factory,
            persistence.read_uow_factory,
            policy=policy,
            gateway=dry_run_gateway,
            payments=dry_run_payments,
            routing_state=routing_state,
        ),
        platform=platform,
        persistence=persistence,
    )


def build_in_memory(settings: Settings | None = None, *, clock: Clock | None = None) -> Runtime:
    """The same graph over the in-memory adapters: for unit tests, demos and embedders'
    own tests. Nothing touches the disk or the network."""
    base = settings or Settings()
    from attrs import evolve

    return build(evolve(base, database_url="memory://"), clock=clock)
