"""Simulated Topview tasks on a virtual clock, for sections 4 (polling) and 5 (scale).

The event loop's clock is virtual: whenever every coroutine is waiting on a timer, the loop
jumps straight to the next timer instead of sleeping. The Topview API is an
``httpx.MockTransport`` answering from the same clock, so there is no real I/O that could
race the jumps and an hour of polling runs in seconds with exact timings.

Both pollers wait for the same tasks: durations lognormal (median 90 s, sigma 0.6), submits
spread over the first 30 s. The query answer says ``running`` until the task's end, then
``success`` with the full M2V result.

The ``callback`` poller is the SDK waiting by callback on the same tasks: the simulated
Topview posts each task's callback the moment it finishes (except a share ``lost`` of them,
chosen at random) into the SDK's own receiver bound to the client
(``NoticeReceiver(client=...)``), which re-reads the task through the client (a query like
any other, counted with them) and publishes the verified notice to ``client.notice_hub``;
the waits are plain ``task.wait()`` of tasks submitted with a ``notice_url``.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import selectors
import time
from typing import Any, cast

import httpx

from . import _sdk
from ._common import percentile
from ._payloads import envelope, m2v_result

FIXED_INTERVAL = 5.0
MEDIAN_DURATION = 90.0
SIGMA = 0.6
SUBMIT_SPREAD = 30.0
VIRTUAL_LIMIT = 4 * 3600.0  # no task takes longer; stops a poller that never finishes
_TICK = 1e-6  # virtual seconds per turn of the event loop
_PLACEHOLDER = "TASKIDTASKIDTASKIDTASKIDTASKIDTA"
_SECRET = "bench-webhook-secret-0123456789abcdef"


class _VirtualSelector:
    """Wraps the loop's selector: a timed wait advances the virtual clock instead."""

    def __init__(self, selector: selectors.BaseSelector, loop: VirtualClockLoop) -> None:
        self._selector = selector
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        # Like a real clock, time moves a little on every turn of the loop: code that sleeps
        # "until the clock reaches X" in tiny steps would otherwise spin at a frozen time.
        self._loop.now += _TICK
        events = self._selector.select(0)
        if events or timeout == 0:
            return events
        if timeout is None:
            # No timer at all: something waits on a thread or real I/O; wait for it for real.
            return self._selector.select(0.05)
        self._loop.now += timeout
        return []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._selector, name)


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose ``time()`` only moves when everything waits on a timer."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        original: selectors.BaseSelector = self._selector  # type: ignore[has-type]
        self._selector = cast(Any, _VirtualSelector(original, self))

    def time(self) -> float:
        return self.now


class _Service:
    """The Topview query endpoint for the simulated tasks, on the loop's clock."""

    def __init__(self, finish: dict[str, float], latency: float) -> None:
        self.finish = finish
        self.latency = latency
        self.requests: dict[str, int] = dict.fromkeys(finish, 0)
        self.in_flight = 0
        self.peak_in_flight = 0
        # Two precomputed bodies; only the task id is swapped in per answer.
        self._running = envelope(m2v_result(_PLACEHOLDER, status="running"))
        self._success = envelope(m2v_result(_PLACEHOLDER))

    async def handle(self, request: httpx.Request) -> httpx.Response:
        task_id = request.url.params.get("taskId", "")
        if task_id not in self.finish:
            return httpx.Response(200, content=b'{"code":"4004","message":"Resource not found"}')
        self.requests[task_id] += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        done = asyncio.get_running_loop().time() >= self.finish[task_id]
        body = (self._success if done else self._running).replace(
            _PLACEHOLDER.encode(), task_id.encode()
        )
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})


def _tasks(count: int, seed: int) -> tuple[dict[str, float], dict[str, float]]:
    rng = random.Random(seed)
    starts, finish = {}, {}
    for index in range(count):
        task_id = f"{index:032x}"
        starts[task_id] = rng.uniform(0.0, SUBMIT_SPREAD)
        finish[task_id] = starts[task_id] + rng.lognormvariate(math.log(MEDIAN_DURATION), SIGMA)
    return starts, finish


async def _fixed_wait(http: httpx.AsyncClient, task_id: str) -> None:
    # What a user would otherwise write (Topview's sample client): query, then every 5 s.
    while True:
        response = await http.get("/v1/m2v/task/query", params={"taskId": task_id})
        if response.json()["result"]["status"] == "success":
            return
        await asyncio.sleep(FIXED_INTERVAL)


def _callback_body(task_id: str) -> bytes:
    """The documented callback body of a finished M2V preview (REFERENCE §4.1)."""
    body = {
        "uuid": f"notice-{task_id}",
        "bizType": "M2V_PREVIEW",
        "taskId": task_id,
        "status": "success",
        "errorMsg": None,
        "result": m2v_result(task_id),
    }
    return json.dumps(body).encode()


def _lost_callbacks(finish: dict[str, float], share: float, seed: int) -> set[str]:
    """The tasks whose callback never arrives: ``share`` of them, picked by their own rng."""
    return set(random.Random(seed + 1).sample(sorted(finish), round(share * len(finish))))


async def _simulate(
    poller: str, count: int, seed: int, latency: float, lost_share: float = 0.0
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    starts, finish = _tasks(count, seed)
    service = _Service(finish, latency)
    transport = httpx.MockTransport(service.handle)
    detected: dict[str, float] = {}
    failures: dict[str, str] = {}
    lost: set[str] = set()
    deliveries: list[asyncio.Task[None]] = []
    refused: list[int] = []

    if poller == "sdk":
        _sdk.polling_available()
        client = _sdk.make_client("http://topview.invalid", transport=transport)
        _sdk.seed_poll_jitter(client, seed)

        async def wait(task_id: str) -> None:
            await _sdk.wait_for_task(client, task_id)

        async def close() -> None:
            await _sdk.close_client(client)
    elif poller == "callback":
        _sdk.polling_available()
        client = _sdk.make_client("http://topview.invalid", transport=transport)
        _sdk.seed_poll_jitter(client, seed)
        receiver = _sdk.make_receiver(client, _SECRET)
        lost = _lost_callbacks(finish, lost_share, seed)

        async def call_back(task_id: str) -> None:
            await asyncio.sleep(finish[task_id])
            status = await _sdk.deliver_callback(receiver, _callback_body(task_id), _SECRET)
            if status != 200:
                refused.append(status)

        # Topview posts each callback when its task finishes, whether anyone waits or not.
        deliveries = [
            loop.create_task(call_back(task_id)) for task_id in finish if task_id not in lost
        ]

        async def wait(task_id: str) -> None:
            await _sdk.wait_for_task(client, task_id, notice_requested=True)

        async def close() -> None:
            for delivery in deliveries:
                delivery.cancel()
            await asyncio.gather(*deliveries, return_exceptions=True)
            await _sdk.close_client(client)
    else:
        http = httpx.AsyncClient(transport=transport, base_url="http://topview.invalid")

        async def wait(task_id: str) -> None:
            await _fixed_wait(http, task_id)

        async def close() -> None:
            await http.aclose()

    async def follow(task_id: str) -> None:
        await asyncio.sleep(starts[task_id])
        try:
            await wait(task_id)
        except _sdk.Unavailable:
            raise
        except Exception as exc:
            failures[task_id] = f"{type(exc).__name__}: {exc}"[:200]
            return
        detected[task_id] = loop.time()

    try:
        await asyncio.wait_for(asyncio.gather(*(follow(t) for t in finish)), VIRTUAL_LIMIT)
        # Callbacks of tasks whose wait ended by polling still arrive (and are re-read).
        await asyncio.gather(*deliveries)
    finally:
        await close()
    delays = [detected[t] - finish[t] for t in detected]
    lost_delays = [detected[t] - finish[t] for t in lost if t in detected]
    return {
        "tasks": count,
        "finished": len(detected),
        "failures": len(failures),
        "first_failure": next(iter(failures.values()), ""),
        "requests": sum(service.requests.values()),
        "requests_per_task": sum(service.requests.values()) / count,
        "delay_mean": sum(delays) / len(delays) if delays else None,
        "delay_p50": percentile(delays, 0.5),
        "delay_p95": percentile(delays, 0.95),
        "delay_min": min(delays, default=None),
        "peak_in_flight": service.peak_in_flight,
        "virtual_seconds": loop.time(),
        "lost_callbacks": len(lost),
        "refused_callbacks": len(refused),
        "lost_delay_p50": percentile(lost_delays, 0.5),
        "lost_delay_max": max(lost_delays, default=None),
        "lost_age_max": max((detected[t] - starts[t] for t in lost if t in detected), default=None),
    }


def simulate(args: dict[str, Any]) -> dict[str, Any]:
    """Run one poller over the simulated tasks on a virtual clock (in this process)."""
    loop = VirtualClockLoop()
    started = time.perf_counter()
    try:
        result = loop.run_until_complete(
            _simulate(
                args["poller"],
                int(args["tasks"]),
                int(args["seed"]),
                float(args["latency"]),
                float(args.get("lost", 0.0)),
            )
        )
    finally:
        loop.close()
    result["wall_seconds"] = time.perf_counter() - started
    return result
