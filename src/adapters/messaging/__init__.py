"""RabbitMQ through Dramatiq (pika): the outbox relay's publisher, the envelope codec
shared with the worker's actors, and the broker probe. The only adapter that imports
dramatiq or pika (import-linter: no-broker-outside-messaging)."""
