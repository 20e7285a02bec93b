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

import threading
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from attrs import define, field
from dependency_injector import containers, providers

from adapters.memory import MemoryStore, MemoryUnitOfWork, SandboxPayoutGateway
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
from core.shared.time import Clock, SystemClock
from entrypoints.settings import Settings


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


def _sql_engine(url: str, pool_size: int) -> Any:
    from adapters.sql.engine import open_engine  # imported when the SQL ring is used

    yield from open_engine(url, pool_size=pool_size)


def _sql_uow_factory(engine: Any, audit_chains: int, dry_run: bool, read_only: bool = False) -> Callable[[], Any]:
    from adapters.sql.unit_of_work import SqlUnitOfWork

    return partial(SqlUnitOfWork, engine, audit_chains=audit_chains, dry_run=dry_run, read_only=read_only)


def _sql_ping(engine: Any) -> Callable[[], None]:
    from adapters.sql.engine import ping

    return partial(ping, engine)


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


def _use_cases(
    settings: Settings,
    platform: Platform,
    new_uow: Any,
    new_read_uow: Any,
    *,
    policy: EscrowPolicy,
    gateway: PayoutGateway,
) -> UseCases:
    use_cases = UseCases(
        new_uow=new_uow,
        new_read_uow=new_read_uow,
        clock=platform.clock,
        authorizer=platform.authorizer,
        escrow_policy=providers.Object(policy),
        payout_gateway=providers.Object(gateway),
    )
    use_cases.config.from_dict({"sandbox_deposits": settings.sandbox_deposits})
    return use_cases


def escrow_policy(settings: Settings) -> EscrowPolicy:
    """Escrow's rules from the settings: the default tier's fee, the auto-release and
    clearing periods (payout approval bands: the defaults)."""
    fee = FeeSchedule(bps=settings.escrow_fee_bps, min_minor=settings.escrow_fee_min_minor)
    return EscrowPolicy(
        fees=FeeTable({DEFAULT_TIER: fee}),
        auto_release_days=settings.escrow_auto_release_days,
        clearing_period=timedelta(days=settings.escrow_clearing_days),
    )


def payout_gateways(settings: Settings) -> tuple[PayoutGateway, PayoutGateway]:
    """The payout gateway the settings name, and the one a dry run gets: never the real
    one. (``ExecutePayout`` stops before the gateway in a dry run anyway, since its start
    was rolled back; this makes sure that nothing a dry run holds can send money.) The
    dry run's sandbox carries the real gateway's name, which labels accounts."""
    if settings.payout_gateway != "sandbox":
        raise ValueError(f"unknown payout gateway {settings.payout_gateway!r}")
    live = SandboxPayoutGateway()
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
    gateway, dry_run_gateway = payout_gateways(settings)
    return Runtime(
        settings=settings,
        use_cases=_use_cases(
            settings, platform, persistence.uow_factory, persistence.read_uow_factory, policy=policy, gateway=gateway
        ),
        dry_run=_use_cases(
            settings,
            platform,
            persistence.dry_run_uow_factory,
            persistence.read_uow_factory,
            policy=policy,
            gateway=dry_run_gateway,
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
