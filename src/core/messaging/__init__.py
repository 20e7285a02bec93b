"""Messaging: the transactional outbox relayed to consumers, exactly once in effect.

Commands write domain events to the outbox in their own transaction. A relay (one at a
time, by lease) reads committed events in outbox order, hands one delivery per
subscribed consumer to a publisher (RabbitMQ through Dramatiq with publisher confirms,
or the in-process publisher of the embedded default) and marks an event published only
after every delivery of it was confirmed: at least once, never lost. Each consumer
records the event id in its inbox in the same transaction as its effect, so a
redelivered event changes nothing. Publishing keeps each aggregate's outbox order;
consumption may reorder (competing consumers, retries), so consumers' effects are per
event or monotonic (ADR 0011).
"""
