"""In-process hand-off of notices to whoever waits for a task (``Task.wait()``, for one).

Every :class:`~topview_async.AsyncTopview` owns one hub (``client.notice_hub``). It lives in
``lib/`` with the task code because task waits consume it; receivers in
:mod:`topview_async.webhooks` feed it. Behind it, a notice bus (:mod:`._notice_bus`) decides
how far a notice travels: this process (the default) or every process on the same Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .._exceptions import ConfigurationError

if TYPE_CHECKING:
    import anyio

    from ..webhooks._parse import TaskNotice
    from ._redis_bus import RedisNoticeBus

__all__ = ["DEFAULT_MAX_RETAINED", "NoticeHub"]

logger = logging.getLogger("topview_async.webhooks")

DEFAULT_MAX_RETAINED = 1024
"""How many tasks' latest notices a :class:`NoticeHub` keeps for late waiters."""


def _new_event() -> anyio.Event:
    # anyio is imported by the first wait, not by the client class: most first calls wait
    # for no notice.
    import anyio

    return anyio.Event()


@dataclass(eq=False)
class _Waiter:
    task_kind: str | None
    skip: Collection[str]
    arrived: anyio.Event = field(default_factory=_new_event)
    notice: TaskNotice | None = None

    def wants(self, notice: TaskNotice) -> bool:
        kind_matches = self.task_kind is None or self.task_kind == notice.task_kind
        return kind_matches and notice.uuid not in self.skip


class NoticeHub:
    """Publish notices as they arrive; let tasks wait for theirs.

    Every client has one (``client.notice_hub``); a receiver built with ``client=`` publishes
    every accepted notice to it and marks it as fed (:attr:`fed`), and from then on
    ``task.wait()`` of a task submitted with a ``notice_url`` returns as soon as its notice
    lands. A receiver given only ``hub=`` publishes without switching waits to callback mode
    (pass ``callback=True`` to ``wait()`` for that). A hub of your own works too::

        hub = NoticeHub()
        app.include_router(topview_webhook_router(secret=..., handler=..., hub=hub))
        ...
        notice = await hub.wait_for(task_id)        # returns at once if it already arrived

    The latest notice of the ``max_retained`` most recently notified tasks is kept, because a
    fast task can call back before anyone starts waiting. Use a hub from one event loop only.

    With a shared ``bus`` (``AsyncTopview(notice_bus="redis://...")``), receivers call
    :meth:`share`, which publishes to every hub on the bus; each hub listens from its first
    wait (or :meth:`connect`) until :meth:`aclose`, and resolves its own waits. Without one,
    nothing runs in the background: ``publish`` wakes the waiters and returns.
    """

    def __init__(
        self, *, max_retained: int = DEFAULT_MAX_RETAINED, bus: RedisNoticeBus | None = None
    ) -> None:
        if max_retained < 1:
            raise ConfigurationError(f"max_retained must be at least 1, got {max_retained}")
        self.max_retained = max_retained
        self.bus = bus
        """The shared notice bus (``None``: this process only)."""
        self._listener: asyncio.Task[None] | None = None
        # task id -> encoded notices from the bus that no wait here wanted yet (arrival order).
        self._undecoded: OrderedDict[str, list[bytes]] = OrderedDict()
        self._feeders: weakref.WeakSet[object] = weakref.WeakSet()
        # task id -> {task kind: latest notice}; insertion order = arrival order.
        self._retained: OrderedDict[str, dict[str | None, TaskNotice]] = OrderedDict()
        self._waiters: dict[str, list[_Waiter]] = {}

    def publish(self, notice: TaskNotice) -> None:
        """Record ``notice`` and wake everyone waiting for its task."""
        kinds = self._retained.pop(notice.task_id, {})
        kinds.pop(notice.task_kind, None)
        kinds[notice.task_kind] = notice
        self._retained[notice.task_id] = kinds
        while len(self._retained) > self.max_retained:
            self._retained.popitem(last=False)
        for waiter in self._waiters.get(notice.task_id, ()):
            if waiter.notice is None and waiter.wants(notice):
                waiter.notice = notice
                waiter.arrived.set()

    async def share(self, notice: TaskNotice) -> None:
        """:meth:`publish` ``notice`` here and, with a shared bus, in every process on it.

        The local waits are resolved first; an error of the bus is raised after that (the
        receiver then refuses the notice, so that Topview delivers it again).
        """
        self.publish(notice)
        if self.bus is not None:
            await self.bus.publish(notice)

    async def connect(self) -> None:
        """With a shared bus: check that it answers (:class:`ConfigurationError` if not,
        within its ``connect_timeout``) and start listening. Nothing to do without one.

        ``async with client:`` calls it, so an unreachable Redis stops an app at start-up.
        """
        if self.bus is not None:
            _running_loop()  # on trio: a clear error before any I/O
            await self.bus.check()
            self._listen()

    async def aclose(self) -> None:
        """Stop listening to the bus and close its connections (``client.aclose()`` does)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        if self.bus is not None:
            await self.bus.aclose()

    def _listen(self) -> None:
        """Start the bus listener unless it runs (it reconnects by itself)."""
        if self.bus is None or (self._listener is not None and not self._listener.done()):
            return
        self._listener = _running_loop().create_task(
            self.bus.listen(self._arrived, self._recheck), name="topview notice bus listener"
        )

    def _arrived(self, payload: bytes) -> None:
        """A notice from the bus. Decoded (and validated) only if a wait here wants its task,
        or when one asks later: every process gets every notice, few wait for it."""
        from ._notice_codec import decode_notice, peek_task_id

        task_id = peek_task_id(payload)
        if task_id is None:
            return
        if task_id not in self._waiters:
            pending = self._undecoded.pop(task_id, [])
            pending.append(payload)
            self._undecoded[task_id] = pending[-8:]  # an M2V task: a preview, then exports
            while len(self._undecoded) > self.max_retained:
                self._undecoded.popitem(last=False)
            return
        try:
            notice = decode_notice(payload)
        except Exception:  # one bad message must not end the listener
            logger.exception("notice bus: dropped a message that is not a notice")
            return
        self.publish(notice)

    def _decode_pending(self, task_id: str) -> None:
        """Publish here the bus notices of ``task_id`` that nobody waited for when they came."""
        from ._notice_codec import decode_notice

        for payload in self._undecoded.pop(task_id, ()):
            try:
                self.publish(decode_notice(payload))
            except Exception:
                logger.exception("notice bus: dropped a message that is not a notice")

    async def _recheck(self) -> None:
        """After (re)subscribing: the notices that came for waiting tasks meanwhile."""
        assert self.bus is not None
        for notice in await self.bus.retained(list(self._waiters)):
            self.publish(notice)

    def latest(
        self, task_id: str, *, task_kind: str | None = None, skip: Collection[str] = ()
    ) -> TaskNotice | None:
        """The most recent retained notice for ``task_id`` (of ``task_kind``, if given),
        leaving out the notice uuids in ``skip``."""
        if task_id in self._undecoded:
            self._decode_pending(task_id)
        probe = _Waiter(task_kind, skip)
        kinds = self._retained.get(task_id) or {}
        return next((n for n in reversed(kinds.values()) if probe.wants(n)), None)

    async def wait_for(
        self, task_id: str, *, task_kind: str | None = None, skip: Collection[str] = ()
    ) -> TaskNotice:
        """Wait until a notice for ``task_id`` arrives (or return the one already retained).

        ``task_kind`` narrows it to one kind: an M2V task gets an ``m2v`` notice for its
        preview and an ``m2v_export`` one per export, all with the same task id. Notices whose
        uuid is in ``skip`` (ones the caller has dealt with) are passed over. Wrap the call in
        ``anyio.fail_after`` / ``move_on_after`` for a deadline.
        """
        retained = self.latest(task_id, task_kind=task_kind, skip=skip)
        if retained is not None:
            return retained
        waiter = _Waiter(task_kind, skip)
        self._waiters.setdefault(task_id, []).append(waiter)
        try:
            if self.bus is not None:
                await self._look_on_bus(task_id)
            await waiter.arrived.wait()
        finally:
            waiters = self._waiters[task_id]
            waiters.remove(waiter)
            if not waiters:
                del self._waiters[task_id]
        assert waiter.notice is not None  # set together with the event
        return waiter.notice

    async def _look_on_bus(self, task_id: str) -> None:
        """Listen (from the first wait on), and take a notice that came before this wait."""
        assert self.bus is not None
        self._listen()
        if not self.bus.connected:
            return  # the listener looks for every waiting task once it is subscribed
        try:
            notices = await self.bus.retained([task_id])
        except Exception as exc:  # the listener's re-check covers it once Redis is back
            logger.debug("notice bus: no retained notice read for %s: %r", task_id, exc)
            return
        for notice in notices:
            self.publish(notice)

    def attach_receiver(self, receiver: object) -> None:
        """Record that ``receiver`` (a receiver bound to this hub's client) feeds this hub.

        Held weakly: a receiver that is dropped stops counting, so a hub is never left in
        callback mode by a receiver that no longer exists.
        """
        self._feeders.add(receiver)

    @property
    def fed(self) -> bool:
        """Whether a live receiver bound to the client feeds this hub, or a shared bus does
        (then waits of tasks submitted with a ``notice_url`` rely on callbacks by default)."""
        return len(self._feeders) > 0 or self.bus is not None

    @property
    def receivers(self) -> int:
        """How many live receivers bound to the client feed this hub (read-only)."""
        return len(self._feeders)

    @property
    def waiting(self) -> int:
        """How many ``wait_for`` calls are blocked right now."""
        return sum(len(waiters) for waiters in self._waiters.values())


def _running_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        from .._exceptions import ConfigurationError

        raise ConfigurationError("the Redis notice bus needs asyncio (not trio)") from None
