"""The Redis notice bus: every worker of a fleet sees every verified notice, handled once.

What lives in Redis, under ``prefix`` (default ``topview``):

* channel ``{prefix}:notices``: every verified notice, published by the receiver that got it
  (PUBLISH); each client's hub listens (SUBSCRIBE) and resolves its own waits.
* hash ``{prefix}:notice:{task_id}``: the latest notice of each kind of that task, for a wait
  that starts after its notice came, or a listener that was reconnecting when it came
  (expires after ``retain_seconds``).
* string ``{prefix}:handled:{key}``: the deduplication claim of one outcome
  (:func:`~topview_async.webhooks._store.notice_key`): ``processing:<token>`` while a
  handler runs (SET NX, expires after ``claim_seconds`` should its worker die), then
  ``done`` (kept ``processed_seconds``).

redis-py's asyncio client does the I/O (the ``redis`` extra), so this bus needs asyncio.
The listener is one asyncio task per client, started by the first wait (or ``async with
client``) and ended by ``client.aclose()``: it is the reading end of a connection, like a
connection pool's, and outlives single waits on purpose. It reconnects with a capped backoff
and, once subscribed again, re-reads the retained notices of every wait in progress, so a
notice published while it was away is not lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

from .._exceptions import ConfigurationError
from ._notice_codec import decode_notice, encode_notice, without_password

if TYPE_CHECKING:
    from ..webhooks._parse import TaskNotice

__all__ = [
    "DEFAULT_CLAIM_SECONDS",
    "DEFAULT_PROCESSED_SECONDS",
    "DEFAULT_RETAIN_SECONDS",
    "Claim",
    "RedisDeliveryStore",
    "RedisNoticeBus",
]

logger = logging.getLogger("topview_async.webhooks")

DEFAULT_RETAIN_SECONDS = 3600.0
"""How long a task's latest notice stays in Redis for waits that start late."""
DEFAULT_CLAIM_SECONDS = 300.0
"""How long a worker's claim on a notice lasts if it dies before its handler ends."""
DEFAULT_PROCESSED_SECONDS = 7 * 24 * 3600.0
"""How long a handled outcome is remembered (re-posts within it are acknowledged unhandled)."""
DEFAULT_CONNECT_TIMEOUT = 5.0
RECONNECT_FIRST = 0.05
RECONNECT_MAX = 0.5
"""Reconnect backoff of the listener (seconds): a restarted Redis is back within this."""
CLOSE_TIMEOUT = 2.0
"""Seconds a Redis connection of the bus may take to close before it is dropped."""

Claim = Literal["claimed", "processed", "busy"]

# Delete a claim only if it is still ours: a claim that expired and was taken by another
# worker must stay.
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


def _redis_module() -> Any:
    try:
        import redis.asyncio
    except ImportError as exc:
        raise ConfigurationError(
            'the Redis notice bus needs redis-py: pip install "topview-async[redis]"'
        ) from exc
    return redis.asyncio


class RedisNoticeBus:
    """A notice bus on one Redis server (``url``), shared by every worker pointing at it.

    Usually built from ``AsyncTopview(notice_bus="redis://...")`` or ``TOPVIEW_NOTICE_BUS``;
    build one yourself to change the key ``prefix`` (several apps on one Redis) or the
    retention times.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "topview",
        retain_seconds: float = DEFAULT_RETAIN_SECONDS,
        claim_seconds: float = DEFAULT_CLAIM_SECONDS,
        processed_seconds: float = DEFAULT_PROCESSED_SECONDS,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        for name, value in (
            ("retain_seconds", retain_seconds),
            ("claim_seconds", claim_seconds),
            ("processed_seconds", processed_seconds),
            ("connect_timeout", connect_timeout),
        ):
            if value <= 0:
                raise ConfigurationError(f"{name} must be positive")
        _redis_module()  # a missing extra is a clear error now, not at the first callback
        self.url = url
        self.prefix = prefix
        self.retain_seconds = retain_seconds
        self.claim_seconds = claim_seconds
        self.processed_seconds = processed_seconds
        self.connect_timeout = connect_timeout
        self.channel = f"{prefix}:notices"
        self._commands: Any = None
        self.connected = False
        """Whether the listener is subscribed right now (read-only)."""
        self.reconnects = 0
        """How many times the listener subscribed again after losing Redis (read-only)."""

    def __repr__(self) -> str:
        return f"RedisNoticeBus({without_password(self.url)!r}, prefix={self.prefix!r})"

    def _redis(self) -> Any:
        if self._commands is None:
            self._commands = _redis_module().Redis.from_url(
                self.url,
                socket_connect_timeout=self.connect_timeout,
                socket_timeout=self.connect_timeout,
            )
        return self._commands

    def _retained_key(self, task_id: str) -> str:
        return f"{self.prefix}:notice:{task_id}"

    def _handled_key(self, key: str) -> str:
        return f"{self.prefix}:handled:{key}"

    async def check(self) -> None:
        """Raise :class:`ConfigurationError` unless Redis answers within ``connect_timeout``."""
        try:
            await asyncio.wait_for(self._redis().ping(), self.connect_timeout)
        except Exception as exc:
            raise ConfigurationError(
                f"the notice bus {without_password(self.url)} is unreachable "
                f"({type(exc).__name__}: {exc}); start Redis or set TOPVIEW_NOTICE_BUS=local"
            ) from exc

    async def publish(self, notice: TaskNotice) -> None:
        """Retain ``notice`` for late waits and publish it to every listening client."""
        payload = encode_notice(notice)
        key = self._retained_key(notice.task_id)
        async with self._redis().pipeline(transaction=False) as pipe:
            pipe.hset(key, notice.task_kind or "", payload)
            pipe.expire(key, int(self.retain_seconds))
            pipe.publish(self.channel, payload)
            await pipe.execute()

    async def retained(self, task_ids: Iterable[str]) -> list[TaskNotice]:
        """The retained notices of ``task_ids`` (every kind), oldest first per task."""
        ids = list(task_ids)
        if not ids:
            return []
        async with self._redis().pipeline(transaction=False) as pipe:
            for task_id in ids:
                pipe.hgetall(self._retained_key(task_id))
            found = await pipe.execute()
        notices: list[TaskNotice] = []
        for kinds in found:
            for payload in (kinds or {}).values():
                notice = _decoded(payload)
                if notice is not None:
                    notices.append(notice)
        return notices

    async def listen(
        self,
        on_payload: Callable[[bytes], None],
        on_subscribed: Callable[[], Awaitable[None]],
    ) -> None:
        """Hand every published notice, encoded (:func:`decode_notice` reads it), to
        ``on_payload`` until cancelled, reconnecting as needed; ``on_subscribed`` runs after
        each (re)subscription."""
        backoff = RECONNECT_FIRST
        first = True
        while True:
            pubsub = None
            client = None
            try:
                client = self._listener_client()
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(self.channel)
                self.connected = True
                if not first:
                    self.reconnects += 1
                    logger.info("notice bus %s: subscribed again", self)
                first = False
                backoff = RECONNECT_FIRST
                await on_subscribed()
                # listen() hands over every message as soon as it is parsed; get_message()
                # with a timeout waits on the socket even with messages already buffered
                # (measured: up to its timeout late under load).
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        on_payload(message["data"])
            except (TimeoutError, OSError, _redis_module().RedisError) as exc:
                if self.connected or first:
                    logger.warning(
                        "notice bus %s: lost (%s); reconnecting, waits fall back on their "
                        "safety net until then",
                        self,
                        type(exc).__name__,
                    )
                first = False
            finally:
                self.connected = False
                await _close_quietly(pubsub, client)
            # Paces reconnects to a server, not a retry budget: testing mode's sleep switch
            # must not turn it into a busy loop, so this is a plain asyncio sleep.
            await asyncio.sleep(backoff * (0.5 + random.random() / 2))
            backoff = min(backoff * 2, RECONNECT_MAX)

    def _listener_client(self) -> Any:
        # Its own connection with no retries of redis-py: a lost connection must surface
        # here, so that the re-check of waits runs after every reconnect.
        module = _redis_module()
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        return module.Redis.from_url(
            self.url,
            socket_connect_timeout=self.connect_timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=10,
        )

    def delivery_store(self) -> RedisDeliveryStore:
        """The fleet-wide deduplication of receivers bound to a client on this bus."""
        return RedisDeliveryStore(self)

    async def aclose(self) -> None:
        """Close the command connections (the listener closes its own when cancelled)."""
        commands, self._commands = self._commands, None
        await _close_quietly(commands)


class RedisDeliveryStore:
    """A :class:`~topview_async.webhooks.DeliveryStore` shared by every worker of a fleet.

    Besides remembering handled outcomes it claims one before its handler runs (SET NX), so
    two workers receiving the same outcome at once run the handler once.
    """

    def __init__(self, bus: RedisNoticeBus) -> None:
        self.bus = bus
        self._tokens: dict[str, str] = {}

    async def is_processed(self, uuid: str) -> bool:
        value = await self.bus._redis().get(self.bus._handled_key(uuid))
        return bool(value == b"done")

    async def mark_processed(self, uuid: str) -> None:
        self._tokens.pop(uuid, None)
        await self.bus._redis().set(
            self.bus._handled_key(uuid), b"done", ex=int(self.bus.processed_seconds)
        )

    async def claim(self, key: str) -> Claim:
        """``"claimed"`` (run the handler), ``"processed"`` or ``"busy"`` (another worker)."""
        redis = self.bus._redis()
        token = f"processing:{secrets.token_hex(8)}"
        name = self.bus._handled_key(key)
        for _ in range(3):  # a claim that vanishes between SET and GET: try again
            if await redis.set(name, token, nx=True, px=int(self.bus.claim_seconds * 1000)):
                self._tokens[key] = token
                return "claimed"
            value = await redis.get(name)
            if value == b"done":
                return "processed"
            if value is not None:
                return "busy"
        return "busy"

    async def release(self, key: str) -> None:
        """Give up the claim on ``key`` (its handler failed): a redelivery runs it again."""
        token = self._tokens.pop(key, None)
        if token is not None:
            await self.bus._redis().eval(_RELEASE, 1, self.bus._handled_key(key), token)


def _decoded(payload: bytes | str) -> TaskNotice | None:
    try:
        return decode_notice(payload)
    except Exception:  # one bad message must not end the listener
        logger.exception("notice bus: dropped a message that is not a notice")
        return None


async def _close_quietly(*closables: Any) -> None:
    """Close each of ``closables``, each bounded by :data:`CLOSE_TIMEOUT`.

    redis-py's ``PubSub.aclose()`` can wait forever in ``StreamWriter.wait_closed()``
    (redis/redis-py#3941): unbounded, a client's ``aclose()`` hung with it (seen once in a
    full suite run). A connection not closed in time is dropped, not waited for.
    """
    for closable in closables:
        if closable is None:
            continue
        # Exception: closing a connection that is already gone; TimeoutError: see above.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await closable.aclose()
