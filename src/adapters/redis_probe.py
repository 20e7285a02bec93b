"""Readiness probe for Redis: does the server answer PING?"""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from core.shared.errors import DependencyUnavailable


def probe_redis(url: str, *, timeout_seconds: float = 1.0) -> None:
    """PING the Redis server at ``url`` over a fresh connection, then close it.

    Connecting and the answer are each bounded by ``timeout_seconds``; no retry.

    Raises:
        DependencyUnavailable: ("redis") refused, timed out, or answered an error (such as
            NOAUTH). The cause is chained, never in the message (the URL may carry a password).
    """
    try:
        # A single-connection client connects as it is built, so building it is probed too.
        client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 0),  # one attempt: a probe reports, it does not insist
            single_connection_client=True,
        )
    except (RedisError, OSError) as error:
        raise DependencyUnavailable("redis") from error
    try:
        answered = client.ping()
    except (RedisError, OSError) as error:
        raise DependencyUnavailable("redis") from error
    finally:
        client.close()
    if not answered:
        raise DependencyUnavailable("redis")
