"""``gigcore``: the command line for operators and support staff.

Settings come from ``GIGCORE_*`` variables (``Settings.from_env``) and the runtime from the
one composition root, so every command is authorised and audited exactly like HTTP. An
embedding service may run the commands against its own runtime by passing it as the
click context object (``main(obj=runtime)``); the CLI then neither starts nor stops it.

Errors print one line to stderr and exit with the code of their category
(``entrypoints.cli.exit_codes``); output meant for programs is JSON on stdout.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TextIO

import attrs
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from typer.core import TyperGroup

from core.escrow.use_cases.fire_due_timers import MAX_BATCH as MAX_TIMER_BATCH
from core.escrow.use_cases.fire_due_timers import FireDueTimersCommand, FireDueTimersResult
from core.identity.domain import UserNotFound
from core.identity.use_cases.create_user import CreateUserCommand
from core.identity.use_cases.issue_api_token import IssueApiTokenCommand, IssueApiTokenResult
from core.identity.use_cases.revoke_api_token import RevokeApiTokenCommand
from core.identity.use_cases.verify_audit_log import AuditVerification, VerifyAuditLogQuery
from core.ledger.use_cases.export_journal import ExportJournalQuery
from core.payments.use_cases.reconcile_provider import ReconcileProviderCommand, ReconciliationReport
from core.shared.actor import Actor, ActorKind, Persona
from core.shared.errors import DomainError
from core.shared.ids import CorrelationId, IdempotencyKey, TokenId, UserId, idempotency_key
from entrypoints import exports, reconciliation_report
from entrypoints.cli import exit_codes, payload, runnable
from entrypoints.cli.errors import NotStaff, UnknownOperator, UnknownUseCase, UsageProblem
from entrypoints.container import Runtime, build
from entrypoints.settings import Settings, SettingsError
from entrypoints.timer_scheduler import payments_rounds

CLI_ACTOR = Actor.system("cli")
TIMERS_ACTOR = Actor.system("timers")
_DEFAULT_TTL_DAYS = attrs.fields(IssueApiTokenCommand).ttl_days.default


class GigcoreGroup(TyperGroup):
    """The top-level group: turns every failure into one line on stderr and an exit code.

    Click's standalone mode would print usage errors in a box and let domain errors
    escape as tracebacks; this runs the group non-standalone and maps errors once."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> int:
        def invoke() -> Any:
            return TyperGroup.main(
                self,
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )

        code = _guarded(invoke)
        if standalone_mode:
            sys.exit(code)
        return code


def _guarded(invoke: Callable[[], Any]) -> int:
    try:
        returned = invoke()
    except SettingsError as error:
        _err("error: invalid configuration:")
        for problem in error.problems:
            _err(f"  {problem}")
        return exit_codes.USAGE
    except DomainError as error:
        _err(f"error: {_one_line(error.detail)} [{error.code}]")
        return exit_codes.exit_code_for(error)
    except typer.Abort:
        _err("error: aborted")
        return exit_codes.UNEXPECTED
    except Exception as error:
        if not _is_usage_error(error):
            _err(f"error: unexpected {type(error).__name__}: {_one_line(str(error))}")
            return exit_codes.UNEXPECTED
        if type(error).__name__ == "NoArgsIsHelpError":  # the help was printed already
            return exit_codes.USAGE
        ctx = getattr(error, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _err(f"error: {_one_line(error.format_message())}{where}")  # type: ignore[attr-defined]
        return int(error.exit_code)  # type: ignore[attr-defined]
    return returned if isinstance(returned, int) else exit_codes.OK


app = typer.Typer(
    cls=GigcoreGroup,
    name="gigcore",
    help="gigcore: the marketplace money core. Configure with GIGCORE_* variables (see the README).",
    epilog=exit_codes.TABLE,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
users_app = typer.Typer(help="Create users (as the system actor, for bootstrap).", no_args_is_help=True)
tokens_app = typer.Typer(help="Issue and revoke API tokens (as the system actor).", no_args_is_help=True)
audit_app = typer.Typer(help="Check the audit log.", no_args_is_help=True)
timers_app = typer.Typer(help="Durable timers (as the system actor).", no_args_is_help=True)
exports_app = typer.Typer(help="Export the journal of a period (finance or admin).", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(audit_app, name="audit")
app.add_typer(exports_app, name="exports")
app.add_typer(timers_app, name="timers")
payments_app = typer.Typer(help="Payment providers: reconciliation (finance).", no_args_is_help=True)
app.add_typer(payments_app, name="payments")

KeyOption = Annotated[
    str | None,
    typer.Option(
        "--idempotency-key",
        help="Repeat a command safely: the same key returns the first result (default: a fresh UUID).",
    ),
]


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on (default: GIGCORE_HOST or 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: GIGCORE_PORT or 8000).")] = None,
) -> None:
    """Serve the HTTP API until SIGTERM or SIGINT (graceful shutdown)."""
    from entrypoints.cli.serve import serve as run_server

    code = run_server(Settings.from_env(host=host, port=port))
    if code != exit_codes.OK:
        raise typer.Exit(code)


@app.command()
def worker(
    processes: Annotated[
        int | None, typer.Option(help="Worker processes (default: GIGCORE_WORKER_PROCESSES or 1).", min=1, max=32)
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(help="Consumer threads per process (default: GIGCORE_WORKER_THREADS or 8).", min=1, max=64),
    ] = None,
) -> None:
    """Run the background worker (needs GIGCORE_BROKER_URL): outbox relay, event consumers,
    durable timers; crashed processes are restarted; SIGTERM stops it gracefully."""
    settings = Settings.from_env(worker_processes=processes, worker_threads=threads)
    if not settings.broker_url:
        _err(
            "error: gigcore worker needs GIGCORE_BROKER_URL (amqp://user:password@host:5672/); "
            "without a broker, gigcore serve handles events and timers in-process"
        )
        raise typer.Exit(exit_codes.USAGE)
    if threads is not None:
        os.environ["GIGCORE_WORKER_THREADS"] = str(threads)  # the worker processes read their settings anew
    from entrypoints.logging_setup import configure_logging

    configure_logging(settings)
    # By name: the CLI never imports dramatiq or pika (import-linter "no-broker-outside-messaging").
    supervisor = importlib.import_module("entrypoints.worker.supervisor")
    code = supervisor.supervise(settings.worker_processes, shutdown_seconds=settings.worker_shutdown_seconds)
    if code != exit_codes.OK:
        raise typer.Exit(code)


@app.command()
def migrate(ctx: typer.Context) -> None:
    """Bring the database schema up to date (the embedded SQLite default also does this on start)."""
    with _runtime(ctx, start=False) as runtime:
        runtime.migrate()
        where = _redacted(runtime.settings.database_url)
        if runtime.settings.uses_memory:
            typer.echo(f"{where} keeps no schema: nothing to migrate")
        else:
            typer.echo(f"migrated {where} to the latest schema")


@users_app.command("create")
def users_create(
    ctx: typer.Context,
    handle: Annotated[str, typer.Argument(metavar="HANDLE", help="3-40 lowercase letters, digits, '.', '_' or '-'.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    persona: Annotated[list[Persona], typer.Option("--persona", help="Repeat for several personas.")],
    key: KeyOption = None,
) -> None:
    """Create a user and print it as JSON. Staff personas (support, finance, admin) are not mixed with others."""
    with _runtime(ctx) as runtime:
        command = CreateUserCommand(
            by=CLI_ACTOR,
            idempotency_key=_key(key),
            correlation_id=_correlation(),
            handle=handle,
            display_name=name,
            personas=frozenset(persona),
        )
        typer.echo(payload.to_json(runtime.use_cases.create_user()(command)))


@tokens_app.command("issue")
def tokens_issue(
    ctx: typer.Context,
    *,
    user: Annotated[str, typer.Argument(metavar="USER", help="The user's handle or id.")],
    label: Annotated[str, typer.Option(help="What the token is for.")] = "api",
    ttl_days: Annotated[
        int | None, typer.Option(help=f"Days until it expires, 1-366 (default: {_DEFAULT_TTL_DAYS}).")
    ] = None,
    no_expiry: Annotated[bool, typer.Option("--no-expiry", help="A token that never expires.")] = False,
    key: KeyOption = None,
) -> None:
    """Issue an API token; prints it as JSON with the secret, which is shown only this once."""
    if no_expiry and ttl_days is not None:
        raise UsageProblem("--ttl-days and --no-expiry exclude each other")
    with _runtime(ctx) as runtime:
        command = IssueApiTokenCommand(
            by=CLI_ACTOR,
            idempotency_key=_key(key),
            correlation_id=_correlation(),
            user=user,
            label=label,
            ttl_days=None if no_expiry else (_DEFAULT_TTL_DAYS if ttl_days is None else ttl_days),
        )
        result: IssueApiTokenResult = runtime.use_cases.issue_api_token()(command)
        typer.echo(payload.to_json(result))
        if result.token is not None:
            # Not repeated here: stdout may go to a safe place while stderr is on screen or in a log.
            _err('The "token" is shown only this once; keep it secret. Send it with every request as the header')
            _err('  Authorization: Bearer <the "token" above>')
        else:
            _err("This key was used before; the secret was shown only then. Issue a new token if it is lost.")


@tokens_app.command("revoke")
def tokens_revoke(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(metavar="TOKEN_ID", help="The token's id (tok_...), not its secret.")],
    key: KeyOption = None,
) -> None:
    """Revoke an API token at once; prints the revocation as JSON."""
    with _runtime(ctx) as runtime:
        command = RevokeApiTokenCommand(
            by=CLI_ACTOR, idempotency_key=_key(key), correlation_id=_correlation(), token_id=TokenId(token_id)
        )
        typer.echo(payload.to_json(runtime.use_cases.revoke_api_token()(command)))


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Recompute every audit chain. Exit 0 when all are intact, 1 naming the first broken record."""
    with _runtime(ctx) as runtime:
        report: AuditVerification = runtime.use_cases.verify_audit_log()(VerifyAuditLogQuery(by=CLI_ACTOR))
    if report.ok:
        typer.echo(f"OK: {report.records} records in {report.chains} chains intact")
        return
    for broken in report.broken:
        record = broken.record_id or "record missing"
        typer.echo(f"BROKEN: chain {broken.chain}, record seq {broken.seq} ({record}): {broken.reason}")
    raise typer.Exit(exit_codes.UNEXPECTED)


@timers_app.command("fire")
def timers_fire(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help=f"At most this many timers, oldest first (1-{MAX_TIMER_BATCH}).")] = 100,
) -> None:
    """Fire the escrow timers that are due (auto-release, deadlines, clearing) once, and print
    what each did as JSON; then payments' (the janitor's look-ups of unknown payments, the
    hold-deadline guard), counted on stderr. `gigcore serve` does this by itself every
    GIGCORE_TIMER_INTERVAL_SECONDS; this is for installations that run it from a scheduler instead."""
    with _runtime(ctx) as runtime:
        command = FireDueTimersCommand(by=TIMERS_ACTOR, correlation_id=_correlation(), limit=limit)
        result: FireDueTimersResult = runtime.use_cases.fire_due_timers()(command)
        others = [(r.name, r.fire(_correlation(), limit)) for r in payments_rounds(runtime.use_cases)]
    typer.echo(payload.to_json(result))
    failed = len(result.failed) + sum(len(done.failed) for _name, done in others)
    for name, done in others:
        if done.fired or done.failed:
            _err(f"{name}: {done.fired} fired, {len(done.failed)} failed")
    if failed:
        _err(f"{failed} timer(s) failed; they are postponed and tried again later")


@exports_app.command("journal")
def exports_journal(
    ctx: typer.Context,
    *,
    from_: Annotated[str, typer.Option("--from", help="First day (2026-11-01, midnight UTC) or instant, included.")],
    to: Annotated[str, typer.Option("--to", help="Day or instant the period ends, excluded (at most 366 days).")],
    fmt: Annotated[str, typer.Option("--format", help="csv (one row per posting) or json.")] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.", dir_okay=False)
    ] = None,
    operator: Annotated[
        str | None, typer.Option("--as", help="Handle or id of the finance or admin user you act as.")
    ] = None,
) -> None:
    """Export every journal entry of [--from, --to) with its postings, in time order, as CSV or
    JSON, with debit and credit totals per currency. JSON ends with the closing balance snapshot
    (the latest taken at or before --to) and a totals section; with CSV the totals go to
    stderr. A progress bar shows on stderr. Exit 1 when the totals do not balance."""
    if fmt not in exports.FORMATS:
        raise UsageProblem(f"--format is one of {', '.join(exports.FORMATS)}")
    from_at, to_at = exports.parse_moment("from", from_), exports.parse_moment("to", to)
    with _runtime(ctx) as runtime:
        actor = CLI_ACTOR if operator is None else _operator(runtime, operator)
        export = runtime.use_cases.export_journal()(ExportJournalQuery(by=actor, from_at=from_at, to_at=to_at))
        target: TextIO
        with contextlib.ExitStack() as stack:
            if output is None:
                target = sys.stdout
            else:
                target = stack.enter_context(output.open("w", encoding="utf-8", newline=""))
            progress = stack.enter_context(
                Progress(
                    TextColumn("exporting entries"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=Console(stderr=True),
                    transient=True,
                )
            )
            task = progress.add_task("journal", total=None)
            for chunk in exports.chunks(export, fmt, on_entry=lambda: progress.advance(task)):
                target.write(chunk)
            target.flush()
    totals = export.totals()
    if fmt == "csv":
        for line in exports.totals_lines(totals):
            _err(line)
        closing = export.closing_snapshot()
        if closing is None:
            _err("closing snapshot: none taken at or before the end of the period")
        else:
            _err(
                f"closing snapshot: {closing.snapshot_id} taken {closing.taken_at.isoformat()}"
                f" ({len(closing.lines)} balances; in the JSON export)"
            )
    if output is not None:
        _err(f"wrote {totals.entries} entries to {output}")
    if not totals.balanced:
        _err("error: the totals of the period do not balance")
        raise typer.Exit(exit_codes.UNEXPECTED)


@payments_app.command("reconcile")
def payments_reconcile(
    ctx: typer.Context,
    *,
    provider: Annotated[str, typer.Option("--provider", help="stripe, adyen or paypal (an enabled one).")],
    from_: Annotated[str, typer.Option("--from", help="First day (2026-11-01, midnight UTC) or instant, included.")],
    to: Annotated[str, typer.Option("--to", help="Day or instant the period ends, excluded (at most 31 days).")],
    fmt: Annotated[str, typer.Option("--format", help="csv (one row per item) or json.")] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.", dir_okay=False)
    ] = None,
    operator: Annotated[str, typer.Option("--as", help="Handle or id of the finance user you act as.")],
    key: KeyOption = None,
) -> None:
    """Match a provider's settlement report for [--from, --to) against our captures and refunds:
    matched, missing on our side, missing on theirs, amount mismatch. Writes the report as CSV or
    JSON (a progress bar on stderr, the counts on stderr); any discrepancy raises an alert event
    and exits 1. Reconcile closed periods: a capture just before --to may settle in the next."""
    if fmt not in reconciliation_report.FORMATS:
        raise UsageProblem(f"--format is one of {', '.join(reconciliation_report.FORMATS)}")
    start, end = exports.parse_moment("from", from_), exports.parse_moment("to", to)
    with _runtime(ctx) as runtime:
        actor = _operator(runtime, operator)
        command = ReconcileProviderCommand(
            by=actor, idempotency_key=_key(key), correlation_id=_correlation(), provider=provider, start=start, end=end
        )
        with contextlib.ExitStack() as stack:
            progress = stack.enter_context(
                Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=Console(stderr=True),
                    transient=True,
                )
            )
            fetching = progress.add_task(f"fetching {provider}'s settlement report", total=None)
            report: ReconciliationReport = runtime.use_cases.reconcile_provider()(command)
            progress.update(fetching, total=1, completed=1)
            task = progress.add_task("writing items", total=len(report.items))
            target: TextIO = (
                sys.stdout if output is None else stack.enter_context(output.open("w", encoding="utf-8", newline=""))
            )
            for chunk in reconciliation_report.chunks(report, fmt, on_item=lambda: progress.advance(task)):
                target.write(chunk)
            target.flush()
    for line in reconciliation_report.summary_lines(report):
        _err(line)
    if output is not None:
        _err(f"wrote {len(report.items)} items to {output}")
    if report.discrepancies:
        _err(f"error: {len(report.discrepancies)} discrepancies; an alert was raised")
        raise typer.Exit(exit_codes.UNEXPECTED)


RUN_HELP = f"""Run one use case as a staff operator (support, finance or admin), authorised and audited as over HTTP.

Input is a JSON object (--json '{{"currency": "EUR"}}', or --json - to read stdin) or one
--field-name VALUE per field, after the use case's name; VALUE is parsed as JSON when it
parses, else taken as text. Money is "10.50 EUR" or {{"minor": 1050, "currency": "EUR"}}.
The operator, idempotency key and correlation id are filled in by the CLI. The result is
printed as JSON. --dry-run runs every statement and check, then rolls everything back.

Use cases: {", ".join(r.name for r in runnable.RUNNABLE)} (--list shows what each does and its fields).
"""


@app.command(
    "run",
    help=RUN_HELP,
    epilog=exit_codes.TABLE,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def run(
    ctx: typer.Context,
    *,
    use_case: Annotated[str | None, typer.Argument(metavar="USE_CASE", help="e.g. open-wallet")] = None,
    operator: Annotated[str | None, typer.Option("--as", help="Handle or id of the staff user you act as.")] = None,
    json_input: Annotated[
        str | None, typer.Option("--json", help="The fields as one JSON object ('-': stdin).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Run it, then roll everything back.")] = False,
    key: KeyOption = None,
    list_: Annotated[bool, typer.Option("--list", help="List the use cases, what they do and their fields.")] = False,
) -> None:
    if list_:
        chosen = runnable.RUNNABLE if use_case is None else (_runnable(use_case),)
        for line in runnable.listing(chosen):
            typer.echo(line)
        return
    if use_case is None:
        raise UsageProblem("name a use case (gigcore run --list shows them)")
    spec = _runnable(use_case)
    if operator is None:
        raise UsageProblem("--as names the staff user you act as")
    if json_input is not None and ctx.args:
        raise UsageProblem("give the fields either as --json or as --field flags, not both")
    if json_input is not None:
        fields = payload.parse_json_object(sys.stdin.read() if json_input == "-" else json_input)
    else:
        fields = payload.parse_flags(spec, ctx.args)
    if key is not None and not spec.changes_state:
        _err(f"note: {spec.name} only reads; --idempotency-key is ignored")
    with _runtime(ctx) as runtime:
        actor = _operator(runtime, operator)
        the_key = _key(key)
        envelope = {"by": actor, "idempotency_key": the_key, "correlation_id": _correlation()}
        command = payload.build_command(spec, fields, envelope)
        use_cases = runtime.dry_run if dry_run else runtime.use_cases
        try:
            result = getattr(use_cases, spec.provider)()(command)
        except DomainError as error:
            if spec.changes_state and exit_codes.is_retryable(error):
                _err(f"error: {_one_line(error.detail)} [{error.code}]; retry with --idempotency-key {the_key}")
                raise typer.Exit(exit_codes.exit_code_for(error)) from None
            raise
    typer.echo(payload.to_json(result))
    if dry_run:
        _err("dry run: every statement and check ran, then everything was rolled back; nothing was changed")


def main(argv: Sequence[str] | None = None, **extra: Any) -> int:
    """The ``gigcore`` console script. Returns the exit code."""
    command = typer.main.get_command(app)
    code: int = command.main(args=argv, prog_name="gigcore", standalone_mode=False, **extra)
    return code


@contextmanager
def _runtime(ctx: typer.Context, *, start: bool = True) -> Iterator[Runtime]:
    injected = ctx.find_object(Runtime)
    if injected is not None:
        yield injected
        return
    runtime = build(Settings.from_env())
    try:
        if start:
            runtime.start()
        yield runtime
    finally:
        runtime.stop()


def _operator(runtime: Runtime, who: str) -> Actor:
    """The staff actor ``--as`` names. Raises UnknownOperator, NotStaff."""
    with runtime.new_unit_of_work() as uow:
        try:
            user = uow.users.get(UserId(who)) if who.startswith("usr_") else uow.users.by_handle(who)
        except UserNotFound:
            user = None
    if user is None:
        raise UnknownOperator(who)
    actor: Actor = user.as_actor()
    if actor.kind is not ActorKind.OPERATOR:
        raise NotStaff(who)
    return actor


def _runnable(name: str) -> runnable.Runnable:
    if name.startswith("-"):
        raise UsageProblem(f"name the use case before its fields: gigcore run USE_CASE --as OPERATOR {name} …")
    try:
        return runnable.BY_NAME[name]
    except KeyError:
        raise UnknownUseCase(name) from None


def _key(given: str | None) -> IdempotencyKey:
    return idempotency_key(given) if given is not None else IdempotencyKey(str(uuid.uuid4()))


def _correlation() -> CorrelationId:
    return CorrelationId(f"cli-{uuid.uuid4().hex}")


def _redacted(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def _is_usage_error(error: Exception) -> bool:
    """Typer raises its (vendored) click's ClickException family for bad command lines;
    they are recognised by shape, not by class, which is private to typer."""
    return isinstance(getattr(error, "exit_code", None), int) and callable(getattr(error, "format_message", None))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _err(text: str) -> None:
    typer.echo(text, err=True)
