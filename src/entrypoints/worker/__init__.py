"""``gigcore worker``: the outbox relay, the Dramatiq consumers, the durable timers and a
heartbeat, in processes a supervisor restarts.

Imports nothing at package level: the CLI reaches ``supervisor`` by name, and only the
worker process itself (``python -m entrypoints.worker``) imports dramatiq and pika.
"""
