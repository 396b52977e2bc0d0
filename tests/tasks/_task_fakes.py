"""Fakes for the task layer: a scripted pipeline, a client, tiny models, a fake clock."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import anyio.lowlevel
from pydantic import Field

from topview_async._models import TopviewModel
from topview_async._operation import Operation, TaskKindSpec


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


class FakePipeline:
    """Answers task queries from per-task scripts; counts queries and in-flight calls.

    ``script[task_id]`` is a list of raw ``result`` dicts; each query takes the next one and
    the last one repeats. A callable entry is called with the current fake time instead.
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

    @property
    def total_queries(self) -> int:
        return sum(self.queries.values())

    async def request(
        self,
        operation: Operation,
        *,
        query: Mapping[str, object] | None,
        body: Mapping[str, object] | None,
        body_model: Any,
        result_type: Any,
        context: Any,
    ) -> Any:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            # Stay "in flight" across a few scheduling points, like a real request would.
            for _ in range(3):
                await anyio.lowlevel.checkpoint()
            if self.latency and operation.kind != "submit":
                await anyio.sleep(self.latency)
            if operation.kind == "submit":
                assert body is not None
                self.submits.append(dict(body))
                self.next_task_id += 1
                raw = {"taskId": f"{self.next_task_id:032x}", "status": "init"}
                raw.update(self.submit_extra)
                return result_type.model_validate(raw)
            assert query is not None
            task_id = str(query["taskId"])
            self.queries[task_id] += 1
            steps = self.script[task_id]
            raw = steps.pop(0) if len(steps) > 1 else steps[0]
            if callable(raw):
                raw = raw()
            return result_type.model_validate(raw)
        finally:
            self.in_flight -= 1


class FakeUploads:
    def __init__(self) -> None:
        self.uploaded: list[object] = []

    async def upload(self, path: object) -> str:
        self.uploaded.append(path)
        return f"{len(self.uploaded):032x}"


class FakeUploadsMany(FakeUploads):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[object]] = []

    async def upload_many(self, paths: list[object]) -> list[str]:
        self.batches.append(list(paths))
        return [await self.upload(p) for p in paths]


class FakeClient:
    def __init__(self) -> None:
        self._pipeline = FakePipeline()
        self.uploads: FakeUploads = FakeUploads()


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
