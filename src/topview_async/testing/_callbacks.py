"""Callbacks to ``noticeUrl`` (REFERENCE §4): delivery, acknowledgement, retries, URL check.

Task state is derived from the clock, so nothing "finishes" by itself: a delivery loop
owned by the app lifespan scans for finished tasks whose notice is due and POSTs it.
Tests without a running lifespan call :meth:`Simulator.deliver_notices` instead.
A notice is acknowledged only by the documented reply (HTTP 200, ``code`` "200",
``result.uuid``/``result.topviewUid`` echoed, ``result.result`` "success"); anything else is
retried after ``callback_retry_interval`` until ``callback_max_attempts`` is reached.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio
import httpx
from starlette.requests import Request
from starlette.responses import Response

from ._errors import ApiError, envelope
from ._results import task_result
from ._tasks import DeliveryAttempt, Notice

if TYPE_CHECKING:
    from ._simulator import Simulator

logger = logging.getLogger("topview_async.testing")

CHECK_BIZ_TYPE = "NOTICE_URL_CHECK"
"""``bizType`` of the test notice sent by the URL check (the real value is not documented)."""


def _client(sim: Simulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=sim.config.callback_transport, timeout=sim.config.callback_timeout
    )


def ack_problem(response: httpx.Response, uuid: str, uid: str) -> str | None:
    """Why ``response`` is not a valid acknowledgement of notice ``uuid`` (``None``: it is)."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    try:
        body: Any = response.json()
    except ValueError:
        return "reply is not JSON"
    if not isinstance(body, dict) or str(body.get("code")) != "200":
        return "reply code is not 200"
    result = body.get("result")
    if not isinstance(result, dict):
        return "reply has no result object"
    if result.get("uuid") != uuid:
        return "result.uuid does not echo the notice uuid"
    if result.get("topviewUid") != uid:
        return "result.topviewUid does not echo the Topview-Uid"
    if result.get("result") != "success":
        return f"result.result is {result.get('result')!r}"
    return None


async def _post(
    client: httpx.AsyncClient, url: str, uid: str, payload: dict[str, Any], now: float
) -> DeliveryAttempt:
    headers = {"Topview-Uid": uid, "Content-Type": "application/json"}
    try:
        response = await client.post(url, content=json.dumps(payload), headers=headers)
    except httpx.HTTPError as exc:
        return DeliveryAttempt(now, None, "", f"{type(exc).__name__}: {exc}", False)
    problem = ack_problem(response, payload["uuid"], uid)
    return DeliveryAttempt(now, response.status_code, response.text, problem, problem is None)


def notice_body(notice: Notice, now: float) -> dict[str, Any]:
    """The documented callback body; ``result`` is the task's query result."""
    task = notice.task
    return {
        "uuid": notice.uuid,
        "bizType": notice.biz_type,
        "taskId": task.task_id,
        "status": task.status(now),
        "errorMsg": task.error_msg(now),
        "result": task_result(task, now, task.base_url),
    }


async def deliver_due(sim: Simulator) -> int:
    """POST every due notice once; returns the number of attempts made."""
    now = sim.now()
    due = [
        n
        for n in sim.notices
        if not n.settled and n.task.finished(now) and now >= n.next_attempt_at
    ]
    if not due:
        return 0
    async with _client(sim) as client:
        for notice in due:
            attempt = await _post(client, notice.url, notice.uid, notice_body(notice, now), now)
            notice.attempts.append(attempt)
            if attempt.acknowledged:
                notice.acknowledged = True
            elif len(notice.attempts) >= sim.config.callback_max_attempts:
                notice.failed = True
            else:
                notice.next_attempt_at = now + sim.config.callback_retry_interval
    sim.notify()
    return len(due)


async def delivery_loop(sim: Simulator) -> None:
    """Deliver due notices until cancelled (run by the app lifespan)."""
    while True:
        try:
            await deliver_due(sim)
        except Exception:  # a broken pass must not end the loop for the whole server
            logger.exception("callback delivery pass failed")
        # A checkpoint even if an injected sleep never yields, so requests are not starved.
        await anyio.lowlevel.checkpoint()
        await sim.sleep(sim.config.delivery_interval)


async def check_notice_url(request: Request, sim: Simulator) -> Response:
    """POST /notice/notice_url/check: really POST a test notice and demand a valid ack."""
    url = request.query_params.get("noticeUrl")
    if not url:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = {}
        url = body.get("noticeUrl") if isinstance(body, dict) else None
    if not url:
        raise ApiError("4003", "noticeUrl is required")
    if not isinstance(url, str):
        raise ApiError("4001", "noticeUrl must be a string")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError("4000", "noticeUrl must be an http(s) URL")
    uid = sim.uid_of(request)
    payload: dict[str, Any] = {
        "uuid": sim.new_id(),
        "bizType": CHECK_BIZ_TYPE,
        "taskId": sim.new_id(),
        "status": "success",
        "errorMsg": None,
        "result": {},
    }
    async with _client(sim) as client:
        attempt = await _post(client, url, uid, payload, sim.now())
    sim.notice_checks.append((url, attempt))
    if not attempt.acknowledged:
        raise ApiError("4000", f"noticeUrl did not acknowledge the test notice: {attempt.error}")
    return envelope(True)
