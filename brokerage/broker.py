"""The Redis broker transport, with one fix: a worker survives a broker restart in the middle of a task.

kombu's Redis channel finds its connection parameters through its transport's `client` (the kombu
Connection). When the broker goes away, Celery's consumer first *collects* the broken connection, which
detaches the transport (`transport.client = None`), and then closes it. Closing the channel puts the
messages still being worked on (late acknowledgement) back in the queue, which needs a new Redis client,
whose parameters are read from `transport.client.hostname`: AttributeError. That is not one of the
connection errors the consumer ignores while cleaning up, so the worker stops with "Unrecoverable
error" (and a task that finishes later fails the same way on its acknowledgement). An idle worker has
nothing to put back and survives, which is why only a restart during a task kills it.

Each channel here keeps the connection it was opened on, so the clean-up and the acknowledgement find a
host to connect to: if Redis is still down they fail with redis' ConnectionError, which kombu and Celery
treat as the connection errors they are (the message stays in Redis' unacknowledged set and is handed
out again after the visibility timeout); once Redis is back they succeed. docs/RELIABILITY.md, drill 6.

Selected with CELERY_BROKER_TRANSPORT (settings) for redis:// URLs; kombu's own behaviour is otherwise
unchanged.
"""

from kombu.transport import redis


class Channel(redis.Channel):
    def __init__(self, connection, *args, **kwargs):
        # Before the parent's __init__, which already opens a client.
        self._opened_on = connection.client
        super().__init__(connection, *args, **kwargs)

    def _connparams(self, asynchronous=False):
        transport = self.connection
        if transport.client is None:  # detached by Connection.collect(): use the one we were opened on
            transport.client = self._opened_on
            try:
                return super()._connparams(asynchronous=asynchronous)
            finally:
                transport.client = None
        return super()._connparams(asynchronous=asynchronous)


class Transport(redis.Transport):
    Channel = Channel
