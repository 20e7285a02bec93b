"""The shared kernel: money, ids, time, errors, events, actors and the cross-cutting ports
(authorisation, audit trail, idempotency, outbox) every context relies on."""
