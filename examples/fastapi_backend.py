"""A FastAPI backend that makes marketing videos for its users and hears back by callback.

Endpoints::

    POST /images            raw image bytes (Content-Type image/png, image/jpeg, image/webp)
                            -> {"file_id": ...}
    POST /videos            {"user_id": "u1", "product_link": "https://shop.example/item/1"}
                            or {"user_id": "u1", "file_ids": [...], "product_name": ...,
                                "product_description": ...}  -> 202 {"task_id": ..., ...}
    GET  /videos/{task_id}  -> {"status": "running" | "succeeded" | "failed", "video_url": ...}
    POST /topview/notice    Topview's callback (the SDK's webhook router)

Every submit carries a ``noticeUrl`` built with :func:`build_notice_url`, so Topview calls
``/topview/notice`` when the video is ready and the store is updated at once. No background
task polls: if a callback never arrives (the app was down, a proxy dropped it),
``GET /videos/{task_id}`` asks Topview itself, at most every ``refresh_after`` seconds, through a
task handle rebuilt from the stored id. So the app can restart at any time and nothing is lost.

Run it::

    uvicorn examples.fastapi_backend:app --port 8000

Settings (environment variables):

* ``TOPVIEW_API_KEY``, ``TOPVIEW_UID``: your credentials. Without them the app starts the
  built-in Topview simulator (demo mode, needs ``topview-async[testing]``).
* ``PUBLIC_BASE_URL``: where Topview can reach this app (default ``http://127.0.0.1:8000``,
  fine for the simulator; for the real API a public https URL, e.g. a tunnel in development).
* ``TOPVIEW_WEBHOOK_SECRET``: the secret in the notice URL; create one once with
  ``python -c "from topview_async.webhooks import generate_secret; print(generate_secret())"``
  and keep it (a new secret would refuse the callbacks of tasks submitted before).
  Demo mode makes one up.

Try it (demo mode)::

    curl -X POST localhost:8000/videos -H 'content-type: application/json' \\
         -d '{"user_id": "u1", "product_link": "https://shop.example/item/1"}'
    curl localhost:8000/videos/<task_id>
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from topview_async import (
    AsyncTopview,
    InvalidInputError,
    InvalidRequestError,
    NotFoundError,
    SubmitOutcomeUnknownError,
    TopviewError,
    UnfinishedTaskError,
)
from topview_async.lib.tasks import TaskState, get_task
from topview_async.webhooks import (
    TaskNotice,
    build_notice_url,
    generate_secret,
    topview_webhook_router,
)

logger = logging.getLogger("fastapi_backend")

NOTICE_PATH = "/topview/notice"
IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
MAX_IMAGE_BYTES = 10 * 1024 * 1024

ClientFactory = Callable[[], AbstractAsyncContextManager[AsyncTopview]]
"""Makes the app's one client; entered in the lifespan, so it lives as long as the app."""


# -- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What the app needs besides the client."""

    public_base_url: str
    """Where Topview can reach this app; the notice URL is built on it."""
    webhook_secret: str
    topview_uid: str
    """Echoed in callback acknowledgements; the receiver refuses notices for another uid."""
    refresh_after: float = 30.0
    """Seconds between two status queries of one running task in ``GET /videos/{id}``."""

    @property
    def notice_url(self) -> str:
        return build_notice_url(self.public_base_url.rstrip("/") + NOTICE_PATH, self.webhook_secret)

    @classmethod
    def from_env(cls) -> Settings:
        public = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
        uid = os.environ.get("TOPVIEW_UID", "")
        secret = os.environ.get("TOPVIEW_WEBHOOK_SECRET", "")
        if not _real_api_configured():
            from topview_async.testing import SimulatorConfig

            return cls(public, secret or generate_secret(), SimulatorConfig().uid)
        if not secret:
            raise RuntimeError(
                "set TOPVIEW_WEBHOOK_SECRET (see generate_secret()); it must stay the same "
                "across restarts or callbacks of earlier tasks are refused"
            )
        return cls(public, secret, uid)


def _real_api_configured() -> bool:
    return bool(os.environ.get("TOPVIEW_API_KEY") and os.environ.get("TOPVIEW_UID"))


def client_from_env() -> AbstractAsyncContextManager[AsyncTopview]:
    """The real API when credentials are set, else a client on the built-in simulator."""
    if _real_api_configured():
        return AsyncTopview()  # TOPVIEW_API_KEY, TOPVIEW_UID (and TOPVIEW_BASE_URL) from env
    return _simulated_client()


@asynccontextmanager
async def _simulated_client() -> AsyncIterator[AsyncTopview]:
    from topview_async.testing import SimulatorConfig, SimulatorServer

    async with SimulatorServer(SimulatorConfig(time_scale=10)) as server:
        logger.warning("demo mode: using the Topview simulator at %s", server.base_url)
        async with AsyncTopview(
            api_key=server.api_key, uid=server.uid, base_url=server.base_url
        ) as client:
            yield client


# -- the store --------------------------------------------------------------------------------

Status = Literal["running", "succeeded", "failed"]
Updater = Literal["submit", "callback", "query"]


class Video(BaseModel):
    """One user's video: what ``GET /videos/{task_id}`` returns."""

    task_id: str
    user_id: str
    status: Status = "running"
    video_url: str | None = None
    error: str | None = None
    updated_by: Updater = "submit"
    """What last changed the record: the submit, Topview's callback, or a status query."""


@dataclass(frozen=True)
class _Record:
    video: Video
    checked_at: float
    """``time.monotonic()`` of the submit or the last status query (the refresh throttle)."""


class VideoStore:
    """Task id -> video, in memory for the example.

    A real app keeps this in its database (a table keyed by ``task_id``), so the records
    survive a restart and every worker process sees the same ones; the methods are async
    for that reason.
    """

    def __init__(self) -> None:
        self._records: dict[str, _Record] = {}

    async def add(self, video: Video) -> None:
        self._records[video.task_id] = _Record(video, time.monotonic())

    async def get(self, task_id: str) -> Video | None:
        record = self._records.get(task_id)
        return None if record is None else record.video

    async def checked_at(self, task_id: str) -> float:
        return self._records[task_id].checked_at

    async def update(self, video: Video, *, checked: bool = False) -> None:
        old = self._records[video.task_id]
        self._records[video.task_id] = _Record(
            video, time.monotonic() if checked else old.checked_at
        )


def _video_url(result: object) -> str | None:
    """The first exported video's URL in an M2V result (query result or callback)."""
    for video in getattr(result, "export_videos", None) or []:
        if getattr(video, "video_url", None):
            return str(video.video_url)
    return None


def _succeeded(video: Video, result: object, by: Updater) -> Video:
    url = _video_url(result)
    if url is None:
        return _failed(video, "the task finished without an exported video", by)
    return video.model_copy(update={"status": "succeeded", "video_url": url, "updated_by": by})


def _failed(video: Video, error: str | None, by: Updater) -> Video:
    update = {"status": "failed", "error": error or "the task failed", "updated_by": by}
    return video.model_copy(update=update)


# -- the app ----------------------------------------------------------------------------------


class VideoRequest(BaseModel):
    """Body of ``POST /videos``: a product link, or images uploaded through ``POST /images``."""

    user_id: str = Field(min_length=1, max_length=200)
    product_link: str | None = Field(default=None, max_length=2000)
    # Strictly ids, never something that looks like a file name: the SDK uploads a str that
    # ends in ".png" (etc.) as a local file, and a client must not choose files on this server.
    file_ids: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,128}$")]] = Field(
        default_factory=list, max_length=20
    )
    product_name: str | None = Field(default=None, max_length=200)
    product_description: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _has_source(self) -> VideoRequest:
        if not self.product_link and not self.file_ids:
            raise ValueError("give product_link or file_ids")
        if not self.product_link and not (self.product_name and self.product_description):
            raise ValueError("product_name and product_description are required with file_ids")
        return self


def _topview(request: Request) -> AsyncTopview:
    """The app's one client (a FastAPI dependency)."""
    client: AsyncTopview = request.app.state.topview
    return client


Client = Annotated[AsyncTopview, Depends(_topview)]


def create_app(
    *,
    client_factory: ClientFactory = client_from_env,
    settings: Settings | None = None,
    store: VideoStore | None = None,
) -> FastAPI:
    """Build the app. ``uvicorn examples.fastapi_backend:app`` calls it with the defaults."""
    settings = settings or Settings.from_env()
    videos = store or VideoStore()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One client for the whole app: it holds the connection pool and the poll scheduler.
        async with client_factory() as client:
            app.state.topview = client
            yield

    app = FastAPI(title="Marketing videos", lifespan=lifespan)
    app.state.videos = videos

    class _Fetcher:
        """Lets the receiver re-read a notified task from the API (Topview signs nothing)."""

        async def fetch(self, kind: str, task_id: str) -> object:
            return await get_task(app.state.topview, kind, task_id).refresh()

    async def on_notice(notice: TaskNotice) -> None:
        if notice.task_kind not in ("m2v", "m2v_export"):
            return  # not a kind this app submits: acknowledge and ignore it
        video = await videos.get(notice.task_id)
        if video is None:
            # The notice URL carries this app's secret, so the task is ours and its record is
            # not written yet (the callback beat the insert after the submit). Refusing makes
            # Topview deliver it again later.
            raise LookupError(f"no record of task {notice.task_id} yet")
        if notice.succeeded:
            video = _succeeded(video, notice.result, "callback")
        elif notice.failed:
            video = _failed(video, notice.error_msg, "callback")
        else:
            return
        # If this raises, the receiver answers 500 and Topview delivers the notice again.
        await videos.update(video)

    app.include_router(
        topview_webhook_router(
            secret=settings.webhook_secret,
            handler=on_notice,
            topview_uid=settings.topview_uid,
            fetcher=_Fetcher(),
            path=NOTICE_PATH,
        )
    )

    @app.exception_handler(TopviewError)
    async def topview_failed(request: Request, exc: TopviewError) -> JSONResponse:
        if isinstance(exc, UnfinishedTaskError):
            # Topview's limit of unfinished tasks: nothing was created, try again later.
            return JSONResponse({"detail": exc.message}, 429, headers={"Retry-After": "30"})
        if isinstance(exc, InvalidInputError | InvalidRequestError | NotFoundError):
            return JSONResponse({"detail": exc.message}, 400)
        if isinstance(exc, SubmitOutcomeUnknownError):
            # The task may exist (and be paid for). Log what was sent so it can be reconciled;
            # do not let the user blindly submit again.
            logger.error("submit outcome unknown, reconcile: %r", exc.request)
            return JSONResponse({"detail": "the request may have been accepted; check later"}, 502)
        logger.exception("Topview call failed", exc_info=exc)
        return JSONResponse({"detail": "the video service is unavailable"}, 502)

    @app.post("/images")
    async def upload_image(request: Request, client: Client) -> dict[str, str]:
        """Upload one product image (the raw body) and return its Topview file id."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        image_format = IMAGE_FORMATS.get(content_type)
        if image_format is None:
            raise HTTPException(415, f"send one of: {', '.join(IMAGE_FORMATS)}")
        body = await request.body()  # a real app caps this in its proxy as well
        if not body or len(body) > MAX_IMAGE_BYTES:
            raise HTTPException(413, f"an image must be 1 byte to {MAX_IMAGE_BYTES} bytes")
        file_id = await client.uploads.upload(body, format=image_format)
        return {"file_id": file_id}

    @app.post("/videos", status_code=202)
    async def create_video(body: VideoRequest, client: Client) -> Video:
        """Submit an Avatar Marketing Video; Topview calls back when it is ready."""
        task = await client.marketing_videos.submit(
            product_link=body.product_link,
            file_ids=body.file_ids or None,
            product_name=body.product_name,
            product_description=body.product_description,
            aspect_ratio="9:16",
            video_length_type=2,
            notice_url=settings.notice_url,
        )
        video = Video(task_id=task.task_id, user_id=body.user_id)
        await videos.add(video)
        return video

    @app.get("/videos/{task_id}")
    async def read_video(task_id: str, client: Client) -> Video:
        """The video's status; asks Topview when no callback came for ``refresh_after`` s."""
        video = await videos.get(task_id)
        if video is None:  # a real app also checks that the caller owns it
            raise HTTPException(404, "no such video")
        due = await videos.checked_at(task_id) + settings.refresh_after
        if video.status != "running" or time.monotonic() < due:
            return video
        # No callback yet: rebuild the handle from the stored id (works after a restart too)
        # and query once. No background task, no handle kept in memory.
        task = get_task(client, "m2v", task_id)
        try:
            result = await task.refresh()
        except TopviewError:
            logger.warning("could not refresh task %s; serving the stored status", task_id)
            return video
        if task.state is TaskState.SUCCEEDED:
            video = _succeeded(video, result, "query")
        elif task.state is TaskState.FAILED:
            video = _failed(video, getattr(result, "error_msg", None), "query")
        await videos.update(video, checked=True)
        return video

    return app


def __getattr__(name: str) -> FastAPI:
    # ``uvicorn examples.fastapi_backend:app`` looks ``app`` up here: building it on first
    # access (from the environment) keeps a plain import free of side effects, for tests.
    if name == "app":
        built = create_app()
        globals()["app"] = built
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Settings", "Video", "VideoRequest", "VideoStore", "client_from_env", "create_app"]
