"""For the task layer tests: a scripted Topview behind a real client, tiny models, a fake clock."""

from __future__ import annotations

import json
import weakref
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import anyio.lowlevel
import httpx
from pydantic import Field

from topview_async import AsyncTopview
from topview_async._models import TopviewModel
from topview_async._operation import Operation, TaskKindSpec
from topview_async.lib.polling import PollScheduler


class SubmitResult(TopviewModel):
    task_id: str | None = Field(None, alias="taskId")
    status: str | None = None
    error_msg: str | None = Field(None, alias="errorMsg")
    notice_uuid: str | None = Field(None, alias="noticeUuid")


class StatusResult(TopviewModel):
    task_id: str | None = Field(None, alias="taskId")
    status: str | None = None
    error_msg: str | None = Field(None, alias="errorMsg")


class ReplaceEntry(TopviewModel):
    key: str | None = None


class ReplaceResult(TopviewModel):
    task_id: str | None = Field(None, alias="taskId")
    task_status: str | None = Field(None, alias="taskStatus")
    product_replace_result: list[ReplaceEntry] | None = Field(None, alias="productReplaceResult")


class M2vVideo(TopviewModel):
    script_id: int | None = Field(None, alias="scriptId")
    status: str | None = None
    video_url: str | None = Field(None, alias="videoUrl")


class M2vResult(TopviewModel):
    task_id: str | None = Field(None, alias="taskId")
    status: str | None = None
    error_msg: str | None = Field(None, alias="errorMsg")
    export_videos: list[M2vVideo] | None = Field(None, alias="exportVideos")


class SubmitBody(TopviewModel):
    pass


class FileIdsBody(TopviewModel):
    file_ids: list[str] | None = Field(None, alias="fileIds")


def _operation(operation_id: str, kind: str, task_kind: str, method: str = "POST") -> Operation:
    return Operation(
        operation_id=operation_id,
        method=method,  # type: ignore[arg-type]
        path=f"/v1/{operation_id}",
        kind=kind,  # type: ignore[arg-type]
        resource="fake",
        task_kind=task_kind,
    )


def _spec(kind: str, result_type: type[object]) -> TaskKindSpec:
    return TaskKindSpec(
        kind=kind,
        submit_operation=_operation(f"{kind}Submit", "submit", kind),
        query_operation=_operation(f"{kind}Query", "read", kind, "GET"),
        result_type=result_type,
    )


TASK_KINDS: dict[str, TaskKindSpec] = {
    "video_avatar": _spec("video_avatar", StatusResult),
    "m2v": _spec("m2v", M2vResult),
    "m2v_export": _spec("m2v_export", M2vResult),
    "product_avatar_image_replace": _spec("product_avatar_image_replace", ReplaceResult),
}


class FakeTopview:
    """A scripted Topview behind ``httpx.MockTransport``: a real :class:`AsyncTopview` talks
    to it, so the task layer runs exactly as in production (pipeline, retries, scheduler).

    ``script[task_id]`` is a list of raw ``result`` dicts; each query takes the next one and
    the last one repeats. A callable entry is called instead (it may return an
    ``httpx.Response`` to answer with, for example a 502). Uploads (credential, PUT, check)
    are answered too; the stored bytes are in ``stored``.
    """

    def __init__(self) -> None:
        self.script: dict[str, list[Any]] = {}
        self.submits: list[dict[str, Any]] = []
        self.queries: defaultdict[str, int] = defaultdict(int)
        self.in_flight = 0
        self.max_in_flight = 0
        self.next_task_id = 0
        self.submit_extra: dict[str, Any] = {}
        self.latency = 0.0
        """Seconds each query takes (on the event loop's clock; used with Trio's MockClock)."""
        self.on_query: Callable[[str], None] | None = None
        self.stored: dict[str, bytes] = {}
        """File id -> the bytes PUT to storage for it."""
        self.credentials = 0
        self.checks = 0

    @property
    def total_queries(self) -> int:
        return sum(self.queries.values())

    async def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.url.host == STORAGE_HOST:
            self.stored[path.rsplit("/", 1)[-1]] = await request.aread()
            return httpx.Response(200)
        if path == "/v1/upload/credential":
            self.credentials += 1
            file_id = f"{self.credentials:032x}"
            url = f"https://{STORAGE_HOST}/put/{file_id}"
            return _envelope({"fileId": file_id, "uploadUrl": url})
        if path == "/v1/upload/check":
            self.checks += 1
            return _envelope(True)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            # Stay "in flight" across a few scheduling points, like a real request would.
            for _ in range(3):
                await anyio.lowlevel.checkpoint()
            if path.endswith("Submit"):
                self.submits.append(json.loads(request.content))
                self.next_task_id += 1
                raw: Any = {"taskId": f"{self.next_task_id:032x}", "status": "init"}
                raw.update(self.submit_extra)
                return _envelope(raw)
            if self.latency:
                await anyio.sleep(self.latency)
            task_id = request.url.params["taskId"]
            self.queries[task_id] += 1
            if self.on_query is not None:
                self.on_query(task_id)
            steps = self.script[task_id]
            raw = steps.pop(0) if len(steps) > 1 else steps[0]
            if callable(raw):
                raw = raw()
            return raw if isinstance(raw, httpx.Response) else _envelope(raw)
        finally:
            self.in_flight -= 1


STORAGE_HOST = "storage.test"


def _envelope(result: object) -> httpx.Response:
    return httpx.Response(200, json={"code": "200", "message": "Success", "result": result})


_SERVERS: weakref.WeakKeyDictionary[AsyncTopview, FakeTopview] = weakref.WeakKeyDictionary()


def make_client(
    server: FakeTopview | None = None, *, scheduler: PollScheduler | None = None, **options: Any
) -> AsyncTopview:
    """A real client whose every request (API and storage) goes to ``server``."""
    server = server or FakeTopview()
    client = AsyncTopview(
        api_key="test-key",
        uid="test-uid",
        base_url="https://api.test",
        transport=httpx.MockTransport(server.handle),
        **options,
    )
    if scheduler is not None:
        client.poll_scheduler = scheduler
    _SERVERS[client] = server
    return client


def server_of(client: AsyncTopview) -> FakeTopview:
    """The scripted server behind a client made by :func:`make_client`."""
    return _SERVERS[client]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await anyio.lowlevel.checkpoint()
