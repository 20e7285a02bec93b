"""Readiness probe for the RabbitMQ broker: can a client connect and open a channel?

Used by ``/health/ready`` (the HTTP app reaches pika only through this module, as the
import-linter contract asks). One short-lived connection per probe: a probe must report
the broker as it is now, not a pooled connection's memory of it.
"""

from __future__ import annotations

import pika

from core.shared.errors import DependencyUnavailable


def probe_rabbitmq(url: str, *, timeout_seconds: float = 1.0) -> None:
    """Connect to the broker at ``url``, open a channel, close both.

    Every stage is bounded by ``timeout_seconds`` (TCP connect, the whole TCP/TLS/AMQP
    bring-up, a blocked connection), with one attempt and no retry, so a broker that hangs
    costs at most a few multiples of it.

    Raises:
        DependencyUnavailable: ("broker") the broker refused, timed out, closed the
            connection or denied the credentials. The cause is chained, never in the message
            (the URL may carry a password).
    """
    parameters = pika.URLParameters(url)
    parameters.socket_timeout = timeout_seconds
    parameters.stack_timeout = timeout_seconds
    parameters.blocked_connection_timeout = timeout_seconds
    parameters.connection_attempts = 1
    parameters.retry_delay = 0
    try:
        connection = pika.BlockingConnection(parameters)
        try:
            channel = connection.channel()
            channel.close()
        finally:
            if connection.is_open:
                connection.close()
    # pika's connection workflow raises more than AMQPError (AMQPConnectorStackTimeout is a
    # plain Exception): whatever stopped the probe means the broker is not usable.
    except Exception as error:
        raise DependencyUnavailable("broker") from error
