"""Channel layer configured so that a join storm cannot exhaust the Redis pool.

channels-redis builds a plain redis-py ConnectionPool per host, which raises
"Too many connections" as soon as more commands are in flight than the pool allows
(redis-py's default is 100). Several hundred sockets joining at once used to do exactly
that. We use a BlockingConnectionPool instead: a command that finds every connection busy
waits for one to come free (up to `pool_timeout` seconds) rather than failing. With room
hubs a join no longer touches Redis at all, but publishes, presence and hub subscriptions
still share the pool, so the bound stays useful and safe.
"""

from __future__ import annotations

from channels_redis.core import RedisChannelLayer
from redis import asyncio as aioredis


class PooledRedisChannelLayer(RedisChannelLayer):
    def __init__(self, *args, max_connections: int = 50, pool_timeout: float = 10.0, **kwargs):
        self.max_connections = max_connections
        self.pool_timeout = pool_timeout
        super().__init__(*args, **kwargs)

    def create_pool(self, index):
        host = dict(self.hosts[index])
        if "address" not in host:
            # Sentinel or keyword hosts: keep channels-redis' own behaviour.
            return super().create_pool(index)
        address = host.pop("address")
        # redis-py 8 ends any read after 5 s (socket_timeout), exactly as long as the layer's
        # BZPOPMIN waits: an idle receive would time out, drop its connection and lose what
        # was popped at that moment. Reads wait past the BZPOPMIN instead; a dead server is
        # still noticed within that margin.
        host.setdefault("socket_timeout", self.brpop_timeout + 5)
        return aioredis.BlockingConnectionPool.from_url(
            address, max_connections=self.max_connections, timeout=self.pool_timeout, **host
        )
