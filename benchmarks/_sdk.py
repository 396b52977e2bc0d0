"""Every SDK call the benchmarks make, one small adapter each.

This is the only module that touches topview-async's API: when an API changes or lands,
fix the adapter here. An adapter raises :class:`Unavailable` when the API it needs cannot be
imported or does not have the expected shape; the harness then reports that measurement as
"not available" and carries on.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from ._payloads import TASK_ID

IMPORT_NAME = "topview_async"
"""The module whose import time section 6 measures."""

API_KEY = "bench-api-key"
UID = "bench-uid"


class Unavailable(Exception):
    """The SDK API a measurement needs is not there (yet)."""


def _attribute(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise Unavailable(f"{module}.{name} is not importable: {exc}") from exc


def client_class() -> Any:
    """``topview_async.AsyncTopview`` (falls back to the private module until it is exported)."""
    try:
        return _attribute("topview_async", "AsyncTopview")
    except Unavailable:
        return _attribute("topview_async._client", "AsyncTopview")


def make_client(
    base_url: str,
    *,
    max_connections: int | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Any:
    """An SDK client for ``base_url`` with the SDK's own defaults unless told otherwise."""
    options: dict[str, Any] = {"api_key": API_KEY, "uid": UID, "base_url": base_url}
    if max_connections is not None:
        options["max_connections"] = max_connections
    if transport is not None:
        options["transport"] = transport
    return client_class()(**options)


async def close_client(client: Any) -> None:
    await client.aclose()


async def query(client: Any, task_id: str = TASK_ID) -> Any:
    """One typed query call: GET, envelope unwrapped, result parsed into the generated model."""
    resource = getattr(client, "marketing_videos", None)
    if resource is None or not hasattr(resource, "query"):
        raise Unavailable("client.marketing_videos.query is missing")
    return await resource.query(task_id=task_id)


def check_query_result(result: Any) -> None:
    """Make sure the typed call really parsed the model (so nothing is skipped silently)."""
    videos = getattr(result, "preview_videos", None)
    if getattr(result, "task_id", None) != TASK_ID or not videos:
        raise Unavailable(f"query returned {type(result).__name__}, not the parsed M2V model")


def storage_http(client: Any) -> httpx.AsyncClient:
    """The credential-free client the SDK uses for presigned downloads and uploads."""
    http = getattr(client, "_storage_http", None)
    if not isinstance(http, httpx.AsyncClient):
        raise Unavailable("client._storage_http is missing")
    return http


async def download(client: Any, url: str, dest: Path) -> None:
    """``topview_async.lib.downloads.download`` of one URL to ``dest``."""
    function = _attribute("topview_async.lib.downloads", "download")
    await function(storage_http(client), url, dest)


async def download_many(client: Any, items: Sequence[tuple[str, Path]]) -> None:
    """All ``(url, dest)`` pairs at once (concurrency = number of files)."""
    function = _attribute("topview_async.lib.downloads", "download_many")
    await function(storage_http(client), list(items), concurrency=len(items))


async def upload_many(client: Any, paths: Sequence[Path], concurrency: int) -> list[str]:
    """``topview_async.lib.uploads.upload_many``: credential, presigned PUT, check per file."""
    function = _attribute("topview_async.lib.uploads", "upload_many")
    file_ids: list[str] = await function(
        client.uploads, storage_http(client), list(paths), concurrency=concurrency
    )
    return file_ids


def polling_available() -> None:
    """Raise :class:`Unavailable` unless the shared poll scheduler is importable."""
    _attribute("topview_async.lib.polling", "PollScheduler")


async def wait_for_task(client: Any, task_id: str, *, notice_requested: bool = False) -> Any:
    """Wait until the M2V task ``task_id`` (submitted just now) is finished.

    Builds the handle the way ``submit_task`` does (so its age is known and the learned
    schedule applies) and waits through the client's shared ``PollScheduler``. The harness
    runs this on a virtual clock: the scheduler's default clock is ``anyio.current_time``
    and it sleeps through ``topview_async._sleep.sleep``, both of which follow the loop.
    ``notice_requested``: the task was submitted with a ``notice_url``, so with a receiver
    bound to ``client`` (:func:`make_receiver`) ``wait()`` waits by callback, by default.
    """
    task_class = _attribute("topview_async.lib.tasks", "Task")
    scheduler = client.poll_scheduler
    kinds = _attribute("topview_async._generated.task_kinds", "TASK_KINDS")
    handle = task_class(
        client,
        kinds["m2v"],
        task_id,
        submitted_at=scheduler.clock(),
        notice_requested=notice_requested,
    )
    return await handle.wait()


def seed_poll_jitter(client: Any, seed: int) -> None:
    """Seed the random jitter of the client's poll scheduler, so a simulation repeats exactly."""
    client.poll_scheduler.rng = random.Random(seed)


def make_receiver(client: Any, secret: str) -> Any:
    """``topview_async.webhooks.NoticeReceiver(secret=..., client=client)``: the receiver a
    backend mounts; it re-reads each notified task through ``client`` and publishes the
    verified notice to ``client.notice_hub``, which puts the client's waits in callback mode."""
    receiver_class = _attribute("topview_async.webhooks", "NoticeReceiver")
    return receiver_class(secret=secret, client=client)


async def deliver_callback(receiver: Any, body: bytes, secret: str) -> int:
    """Hand one callback body to ``receiver`` as its HTTP endpoint would; the reply's status."""
    reply = await receiver.receive(body, token=secret, topview_uid=UID)
    return int(reply.status_code)


def make_sync_client(base_url: str) -> Any:
    """The sync client (``topview_async.Topview``) for ``base_url``, SDK defaults."""
    return _attribute("topview_async", "Topview")(api_key=API_KEY, uid=UID, base_url=base_url)


def sync_query(client: Any, task_id: str = TASK_ID) -> Any:
    """One typed query call of the sync client (blocks)."""
    return client.marketing_videos.query(task_id=task_id)


def make_bus_client(notice_bus: str) -> Any:
    """A client whose notice hub is on ``notice_bus`` ("local" or a Redis URL); it makes no
    API call here (receivers trust the body), so its base URL is never reached."""
    options: dict[str, Any] = {"api_key": API_KEY, "uid": UID, "base_url": "http://127.0.0.1:9"}
    try:
        return client_class()(notice_bus=notice_bus, **options)
    except TypeError as exc:
        raise Unavailable(f"AsyncTopview(notice_bus=) is missing: {exc}") from exc


def make_trusting_receiver(client: Any, secret: str) -> Any:
    """A receiver bound to ``client`` that trusts the posted body (no API re-read), so that
    what is measured is the hand-over from the receiver to the waits."""
    receiver_class = _attribute("topview_async.webhooks", "NoticeReceiver")
    return receiver_class(secret=secret, client=client, verify_with_api=False)


async def wait_for_notice(client: Any, task_id: str) -> Any:
    """Block until the notice of ``task_id`` reaches ``client.notice_hub``."""
    return await client.notice_hub.wait_for(task_id)
