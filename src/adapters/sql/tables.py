"""The schema, as SQLAlchemy Core tables. Only the SQL adapter imports this module; rows
are mapped to domain objects explicitly in ``mappers`` (escrow's in ``escrow``).

The migrations in ``migrations/versions`` create exactly this schema (a test compares
them). Journal tables are append-only: triggers created by the migration refuse UPDATE
and DELETE on ``journal_entries`` and ``postings``. So are ``audit_records``, and a row of
``audit_chain_heads`` can only advance by one record (ADR 0006). Escrow's tables
(``contracts``, ``milestones``, ``payouts``, ``timers``) come with revision 0002;
the index that journal exports page by, ``ix_journal_entries_occurred_at``, with 0003;
messaging's (``inbox``, ``dead_letters``, ``worker_heartbeats``, ``leases``) and the
outbox's indexes with 0004. Dead letters are append-only too (triggers, as for audit).
In-app ``notifications`` come with 0005; payments' (``payments``, ``payment_refunds``,
``provider_events``, ``provider_breakers``) with 0006; ``payout_destinations`` with 0007;
``payout_destination_pins`` with 0008; ``payment_refunds.maybe_sent_at`` with 0009.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from adapters.sql.column_types import AutoBigInteger, JsonText, UtcDateTime

ID = 64  # generated ids: a short prefix and 32 hex digits
CURRENCY = 3
HASH = 64  # hex SHA-256

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("owner_id", String(ID), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("currency", String(CURRENCY), nullable=False),
    Column("label", Text, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    # The running balance, kept only by kinds that keep one (wallets); zero for the others,
    # whose balance is the sum of their postings.
    Column("balance_minor", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("owner_id", "kind", "currency", "label", name="uq_accounts_slot"),
    # Defence in depth: the domain refuses an overdraft first, under the row lock. Every kind
    # that keeps a running balance must stay at or above zero; the hot platform kinds keep
    # none (zero here; their balance is the sum of their postings).
    CheckConstraint(
        "kind NOT IN ('wallet', 'wallet_pending', 'escrow', 'payout_in_transit') OR balance_minor >= 0",
        name="ck_accounts_running_balance_not_negative",
    ),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("initiated_by", Text, nullable=False),
    Column("memo", Text, nullable=False),
    # Journal exports page a period in (occurred_at, id) order.
    Index("ix_journal_entries_occurred_at", "occurred_at", "id"),
)

postings = Table(
    "postings",
    metadata,
    # The statement's ``seq``: increasing in commit-independent insertion order.
    Column("id", AutoBigInteger, primary_key=True, autoincrement=True),
    Column("entry_id", String(ID), ForeignKey("journal_entries.id", name="fk_postings_entry"), nullable=False),
    Column("account_id", String(ID), ForeignKey("accounts.id", name="fk_postings_account"), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(CURRENCY), nullable=False),
    Column("balance_after_minor", BigInteger, nullable=True),
    # Statements page newest first by (account_id, id < cursor); derived balances sum
    # over the same range.
    Index("ix_postings_account_seq", "account_id", "id"),
    Index("ix_postings_entry", "entry_id"),
    sqlite_autoincrement=True,
)

balance_snapshots = Table(
    "balance_snapshots",
    metadata,
    Column("snapshot_id", String(ID), nullable=False),
    Column("account_id", String(ID), ForeignKey("accounts.id", name="fk_balance_snapshots_account"), nullable=False),
    Column("taken_at", UtcDateTime, nullable=False),
    Column("balance_minor", BigInteger, nullable=False),
    Column("currency", String(CURRENCY), nullable=False),
    PrimaryKeyConstraint("snapshot_id", "account_id", name="pk_balance_snapshots"),
)

users = Table(
    "users",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("handle", String(40), nullable=False),
    Column("display_name", Text, nullable=False),
    Column("personas", JsonText, nullable=False),  # sorted list of persona values
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("handle", name="uq_users_handle"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("user_id", String(ID), ForeignKey("users.id", name="fk_api_tokens_user"), nullable=False),
    Column("label", Text, nullable=False),
    Column("token_hash", String(HASH), nullable=False),  # SHA-256 of the secret; never the secret
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    UniqueConstraint("token_hash", name="uq_api_tokens_hash"),
    Index("ix_api_tokens_user", "user_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", Text, nullable=False),
    Column("key", String(200), nullable=False),
    Column("command", Text, nullable=False),
    Column("fingerprint", String(HASH), nullable=False),
    Column("result", JsonText, nullable=True),  # NULL while the command that claimed the key runs
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("scope", "key", name="pk_idempotency_keys"),
)

audit_records = Table(
    "audit_records",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("chain", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("prev_hash", String(HASH), nullable=False),
    Column("hash", String(HASH), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("correlation_id", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("before", JsonText, nullable=False),
    Column("after", JsonText, nullable=False),
    UniqueConstraint("chain", "seq", name="uq_audit_records_chain_seq"),
    # A record numbered 0 or below would sit before the first one verification reads.
    CheckConstraint("seq >= 1", name="ck_audit_records_seq_positive"),
)

audit_chain_heads = Table(
    "audit_chain_heads",
    metadata,
    Column("chain", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", String(HASH), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", AutoBigInteger, primary_key=True, autoincrement=True),
    Column("event_id", String(ID), nullable=False),
    Column("name", Text, nullable=False),
    Column("aggregate_id", Text, nullable=False),
    Column("payload", JsonText, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    Column("published_at", UtcDateTime, nullable=True),
    UniqueConstraint("event_id", name="uq_outbox_event_id"),
    # The relay reads what is still to publish in outbox order; the ready probe counts it
    # and takes its oldest time from this index alone (revision 0004).
    Index(
        "ix_outbox_pending",
        "id",
        "occurred_at",
        postgresql_where=text("published_at IS NULL"),
        sqlite_where=text("published_at IS NULL"),
    ),
    # Consumers look for an aggregate's earlier events (per-aggregate order).
    sqlite_autoincrement=True,
)

# --- messaging (revision 0004) --------------------------------------------------------
# Which events each consumer handled (written with the consumer's effect), what it gave
# up on, which workers are alive, and who leads the outbox relay.

CONSUMER = 64  # core.messaging.domain: consumer names are 1-64 characters

inbox = Table(
    "inbox",
    metadata,
    Column("consumer", String(CONSUMER), nullable=False),
    Column("event_id", String(ID), nullable=False),
    Column("handled_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", String(ID), primary_key=True),  # listed by id, descending (the port says newest first)
    Column("consumer", String(CONSUMER), nullable=False),
    Column("event_id", String(ID), nullable=False),
    Column("event_name", Text, nullable=False),
    Column("aggregate_id", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error_code", String(64), nullable=False),
    Column("error", Text, nullable=False),
    Column("failed_at", UtcDateTime, nullable=False),
    UniqueConstraint("consumer", "event_id", name="uq_dead_letters_consumer_event"),
    # Support pages one consumer's letters newest first.
    Index("ix_dead_letters_consumer_id", "consumer", "id"),
)

worker_heartbeats = Table(
    "worker_heartbeats",
    metadata,
    Column("worker_id", Text, primary_key=True),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("beat_at", UtcDateTime, nullable=False),
    Index("ix_worker_heartbeats_beat_at", "beat_at"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", Text, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

# --- escrow ---------------------------------------------------------------------------
# A contract row and its milestone rows change together, under the contract's version.

contracts = Table(
    "contracts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("client_id", String(ID), nullable=False),
    Column("provider_id", String(ID), nullable=False),
    Column("currency", String(CURRENCY), nullable=False),
    # The fee schedule as it was when the contract was proposed (a snapshot).
    Column("fee_tier", String(32), nullable=False),
    Column("fee_bps", Integer, nullable=False),
    Column("fee_min_minor", BigInteger, nullable=False),
    Column("fee_max_minor", BigInteger, nullable=True),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("version", Integer, nullable=False),
    CheckConstraint("fee_bps BETWEEN 0 AND 10000", name="ck_contracts_fee_bps"),
    Index("ix_contracts_client", "client_id"),
    Index("ix_contracts_provider", "provider_id"),
)

milestones = Table(
    "milestones",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("contract_id", String(ID), ForeignKey("contracts.id", name="fk_milestones_contract"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("title", Text, nullable=False),
    # Every amount of a milestone is in this currency (the contract's).
    Column("currency", String(CURRENCY), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("timeout_outcome", String(16), nullable=False),
    Column("auto_release_days", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("held_minor", BigInteger, nullable=False),
    Column("released_minor", BigInteger, nullable=False),
    Column("refunded_minor", BigInteger, nullable=False),
    Column("fees_minor", BigInteger, nullable=False),
    Column("submissions", Integer, nullable=False),
    Column("changes_requested", Integer, nullable=False),
    Column(
        "escrow_account_id",
        String(ID),
        ForeignKey("accounts.id", name="fk_milestones_escrow_account"),
        nullable=True,
    ),
    Column("funded_at", UtcDateTime, nullable=True),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("refund_proposal_minor", BigInteger, nullable=True),
    Column("dispute_opened_by", String(ID), nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    UniqueConstraint("contract_id", "position", name="uq_milestones_position"),
    # Defence in depth for the domain's money rules: nothing negative, the fee inside what
    # was released, and once funded every minor unit is held, released or refunded.
    CheckConstraint(
        "amount_minor > 0 AND held_minor >= 0 AND released_minor >= 0 AND refunded_minor >= 0 "
        "AND fees_minor >= 0 AND fees_minor <= released_minor",
        name="ck_milestones_amounts",
    ),
    CheckConstraint(
        "held_minor + released_minor + refunded_minor = "
        "CASE WHEN escrow_account_id IS NULL THEN 0 ELSE amount_minor END",
        name="ck_milestones_money_conserved",
    ),
)

payouts = Table(
    "payouts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("payee_id", String(ID), nullable=False),
    Column("requested_by", String(ID), nullable=False),
    Column("currency", String(CURRENCY), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("required_approvals", Integer, nullable=False),
    Column("approvals", JsonText, nullable=False),  # approver ids, in the order they approved
    Column(
        "wallet_account_id", String(ID), ForeignKey("accounts.id", name="fk_payouts_wallet_account"), nullable=False
    ),
    Column(
        "transit_account_id", String(ID), ForeignKey("accounts.id", name="fk_payouts_transit_account"), nullable=False
    ),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("gateway", String(64), nullable=True),
    Column("reference", Text, nullable=True),
    Column("failure_reason", Text, nullable=True),
    Column("settled_at", UtcDateTime, nullable=True),
    Column("version", Integer, nullable=False),
    CheckConstraint("amount_minor > 0", name="ck_payouts_amount_positive"),
    Index("ix_payouts_payee", "payee_id"),
)

timers = Table(
    "timers",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("payload", JsonText, nullable=False),  # names -> strings or integers
    Column("fired_at", UtcDateTime, nullable=True),
    Column("outcome", String(32), nullable=True),
    # Pollers read only what is still to fire, oldest first; fired timers stay as history.
    Index(
        "ix_timers_unfired_due",
        "due_at",
        "id",
        postgresql_where=text("fired_at IS NULL"),
        sqlite_where=text("fired_at IS NULL"),
    ),
)

notifications = Table(
    "notifications",
    metadata,
    # The listing's ``seq``: pages go newest first by (recipient_id, seq < cursor).
    Column("seq", AutoBigInteger, primary_key=True, autoincrement=True),
    Column("id", String(ID), nullable=False),
    Column("recipient_id", String(ID), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("contract_id", String(ID), nullable=True),
    Column("milestone_id", String(ID), nullable=True),
    Column("payout_id", String(ID), nullable=True),
    Column("event_id", String(ID), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime, nullable=True),
    UniqueConstraint("id", name="uq_notifications_id"),
    # A replayed event can never notify anyone twice (the inbox dedupes first).
    UniqueConstraint("event_id", "recipient_id", name="uq_notifications_event_recipient"),
    Index("ix_notifications_recipient_seq", "recipient_id", "seq"),
    # Unread counts and the unread filter read only this.
    Index(
        "ix_notifications_unread",
        "recipient_id",
        "seq",
        postgresql_where=text("read_at IS NULL"),
        sqlite_where=text("read_at IS NULL"),
    ),
    sqlite_autoincrement=True,
)

# --- payments (revision 0006) ---------------------------------------------------------
# A payment row and its refund rows change together, under the payment's version. Strings
# a provider chose (references, event ids, echoed ids) are Text: their length is theirs.

PROVIDER = 64

payments = Table(
    "payments",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("payer_id", String(ID), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("currency", String(CURRENCY), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("method", String(32), nullable=False),
    Column("country", String(2), nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # The milestone an escrow funding is for (escrow's ids); both null for a top-up.
    Column("escrow_contract_id", String(ID), nullable=True),
    Column("escrow_milestone_id", String(ID), nullable=True),
    Column("provider", String(PROVIDER), nullable=True),
    Column("provider_reference", Text, nullable=True),
    # The capture's own id where the provider has one (PayPal; revision 0008).
    Column("provider_capture_reference", Text, nullable=True),
    Column("attempted", JsonText, nullable=False),  # providers tried that were unavailable, in order
    Column("client_action", JsonText, nullable=True),  # {"kind", "url", "data"}
    Column("failure_reason", Text, nullable=False),
    Column("captured_at", UtcDateTime, nullable=True),
    # What the provider reported capturing (the ledger credits it, up to the intent).
    Column("captured_currency", String(CURRENCY), nullable=True),
    Column("captured_minor", BigInteger, nullable=True),
    Column("capture_entry_id", String(ID), nullable=True),
    # A lower capture reported after posting (the payment's currency) and its correcting
    # entry, or unfunded when the wallet no longer held the difference (revision 0008).
    Column("corrected_minor", BigInteger, nullable=True),
    Column("correction_entry_id", String(ID), nullable=True),
    Column("correction_unfunded", Boolean, nullable=False),
    Column("unknown_since", UtcDateTime, nullable=True),
    Column("hold_deadline", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=True),
    Column("version", Integer, nullable=False),
    CheckConstraint("amount_minor > 0", name="ck_payments_amount_positive"),
    CheckConstraint("(captured_currency IS NULL) = (captured_minor IS NULL)", name="ck_payments_captured_money"),
    CheckConstraint(
        "(escrow_contract_id IS NULL) = (escrow_milestone_id IS NULL)", name="ck_payments_escrow_both_or_neither"
    ),
    # Webhooks and lookups find a payment by the provider's reference.
    Index(
        "uq_payments_provider_reference",
        "provider",
        "provider_reference",
        unique=True,
        postgresql_where=text("provider_reference IS NOT NULL"),
        sqlite_where=text("provider_reference IS NOT NULL"),
    ),
    # A PayPal refund made in the dashboard names only the capture (revision 0008).
    Index(
        "uq_payments_provider_capture_reference",
        "provider",
        "provider_capture_reference",
        unique=True,
        postgresql_where=text("provider_capture_reference IS NOT NULL"),
        sqlite_where=text("provider_capture_reference IS NOT NULL"),
    ),
    Index("ix_payments_provider_captured", "provider", "captured_at"),  # reconciliation
    Index("ix_payments_status_created", "status", "created_at"),  # the janitor, oldest first
)

payment_refunds = Table(
    "payment_refunds",
    metadata,
    Column("payment_id", String(ID), ForeignKey("payments.id", name="fk_payment_refunds_payment"), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("position", Integer, nullable=False),  # the order of the payment's refund list
    Column("currency", String(CURRENCY), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_by", String(ID), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("provider_reference", Text, nullable=True),
    Column("reason", Text, nullable=False),
    Column("entry_id", String(ID), nullable=True),
    Column("reversal_entry_id", String(ID), nullable=True),
    Column("unfunded", Boolean, nullable=False),
    Column("exceeds_credited", Boolean, nullable=False),  # beyond what the wallet was credited (revision 0008)
    # When a call for it first may have reached the provider (a lost answer; revision 0009).
    Column("maybe_sent_at", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("payment_id", "id", name="pk_payment_refunds"),
    UniqueConstraint("payment_id", "position", name="uq_payment_refunds_position"),
    CheckConstraint("amount_minor > 0", name="ck_payment_refunds_amount_positive"),
    # Reconciliation also takes payments with a refund requested in the period.
    Index("ix_payment_refunds_requested_at", "requested_at"),
)

provider_events = Table(
    "provider_events",
    metadata,
    Column("provider", String(PROVIDER), nullable=False),
    Column("provider_event_id", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("provider_reference", Text, nullable=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("payment_id", Text, nullable=True),  # ours, as the provider echoed it
    Column("currency", String(CURRENCY), nullable=True),
    Column("amount_minor", BigInteger, nullable=True),
    Column("refund_reference", Text, nullable=True),
    Column("refund_id", Text, nullable=True),
    Column("reason", Text, nullable=False),
    Column("capture_reference", Text, nullable=True),  # revision 0008
    Column("received_at", UtcDateTime, nullable=False),
    Column("applied_at", UtcDateTime, nullable=True),
    Column("outcome", String(32), nullable=True),
    # Dedupe: a provider's event id is stored once (INSERT … ON CONFLICT DO NOTHING).
    PrimaryKeyConstraint("provider", "provider_event_id", name="pk_provider_events"),
    CheckConstraint("(currency IS NULL) = (amount_minor IS NULL)", name="ck_provider_events_money"),
    # Events that arrived before we knew the payment's reference, waiting for it.
    Index(
        "ix_provider_events_unapplied",
        "provider",
        "provider_reference",
        postgresql_where=text("applied_at IS NULL"),
        sqlite_where=text("applied_at IS NULL"),
    ),
)

# Circuit breakers (``RoutingState``), shared by every process; outside any unit of work.
# The mode (closed, open, half-open) is derived from ``opened_at`` and the clock.
provider_breakers = Table(
    "provider_breakers",
    metadata,
    Column("provider", String(PROVIDER), primary_key=True),
    Column("consecutive_failures", Integer, nullable=False),
    Column("opened_at", UtcDateTime, nullable=True),
    Column("changed_at", UtcDateTime, nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    CheckConstraint("consecutive_failures >= 0", name="ck_provider_breakers_failures"),
)

# --- payout destinations (revision 0007) -----------------------------------------------
# Where a provider pays a payee: one row per (payee, provider), replaced in place.

payout_destinations = Table(
    "payout_destinations",
    metadata,
    Column("payee_id", String(ID), nullable=False),
    Column("provider", String(PROVIDER), nullable=False),
    Column("value", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("payee_id", "provider", name="pk_payout_destinations"),
)

# --- pinned payout destinations (revision 0008) ----------------------------------------
# The destination a payout's first attempt used, one row per payout, never replaced: its
# retries send the same idempotency key, so they must send the same destination.

payout_destination_pins = Table(
    "payout_destination_pins",
    metadata,
    Column("payout_id", String(ID), nullable=False),
    Column("payee_id", String(ID), nullable=False),
    Column("provider", String(PROVIDER), nullable=False),
    Column("value", Text, nullable=False),
    Column("pinned_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("payout_id", name="pk_payout_destination_pins"),
)

# Chains the migration pre-creates head rows for (the settings allow 1..256 chains).
MAX_AUDIT_CHAINS = 256
