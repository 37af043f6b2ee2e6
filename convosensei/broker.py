"""The Celery broker transport: kombu's Redis transport, failing fast when Redis is down.

redis-py retries a failed connection three times with exponential backoff by default (about 3 s
with the server down). A request that enqueues scoring after storing its data must not wait that
long: the conversation is already safe in PostgreSQL and the periodic sweep enqueues it later.
Kombu's own reconnection logic still brings the worker back once Redis returns.
"""

import redis
from kombu.transport import redis as kombu_redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def no_retry() -> Retry:
    return Retry(NoBackoff(), 0)


class FailFastConnection(redis.Connection):
    def __init__(self, *args, **kwargs):
        kwargs["retry"] = no_retry()
        super().__init__(*args, **kwargs)


class FailFastSSLConnection(redis.SSLConnection):
    def __init__(self, *args, **kwargs):
        kwargs["retry"] = no_retry()
        super().__init__(*args, **kwargs)


class Channel(kombu_redis.Channel):
    connection_class = FailFastConnection
    connection_class_ssl = FailFastSSLConnection


class Transport(kombu_redis.Transport):
    Channel = Channel
