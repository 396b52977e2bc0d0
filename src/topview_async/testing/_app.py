"""The ASGI application: routing table, auth, error envelope, middleware, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from . import _routes_account as account
from . import _routes_generative as generative
from . import _routes_lookup as lookup
from . import _routes_m2v as m2v
from . import _routes_media as media
from . import _routes_tasks as tasks
from . import _uploads as uploads
from ._auth import authenticate
from ._callbacks import check_notice_url, delivery_loop
from ._errors import ApiError, error_response
from ._faults import FaultMiddleware, FaultPicker
from ._log import RequestLogMiddleware

if TYPE_CHECKING:
    from ._simulator import Simulator

Handler = Callable[[Request, "Simulator"], Awaitable[Response]]

_SUBMITS: dict[str, Handler] = {
    "image_to_video_v2": generative.image_to_video_v2_submit,
    "text_to_video": generative.text_to_video_submit,
    "omni_reference": generative.omni_reference_submit,
    "storyboard": generative.storyboard_submit,
    "text_to_image": generative.text_to_image_submit,
    "image_edit": generative.image_edit_submit,
    "remove_background": generative.remove_background_submit,
    "photo_avatar": generative.photo_avatar_submit,
    "product_avatar_image_to_video_v2": generative.product_avatar_video_v2_submit,
    "product_avatar_image_replace_v3": generative.product_avatar_replace_v3_submit,
    "text_to_speech": generative.text_to_speech_submit,
    "voice_clone": generative.voice_clone_submit,
}


def _tasks(*entries: tuple[str, str, str]) -> list[tuple[str, str, str, Handler]]:
    """``<prefix>/submit`` and ``<prefix>/query`` of each (prefix, operation suffix, kind)."""
    routes: list[tuple[str, str, str, Handler]] = []
    for prefix, suffix, kind in entries:
        routes.append(("POST", f"{prefix}/submit", f"submit{suffix}", _SUBMITS[kind]))
        routes.append(("GET", f"{prefix}/query", f"query{suffix}", generative.query(kind)))
    return routes


_MEDIA: tuple[tuple[str, str, str, Handler], ...] = (
    ("POST", "/v1/common_task/ai_music/task/submit", "submitAiMusicTask", media.ai_music_submit),
    (
        "GET",
        "/v1/common_task/ai_music/task/query",
        "queryAiMusicTask",
        generative.query("ai_music"),
    ),
    (
        "POST",
        "/v1/image_translate/single/task/submit",
        "submitImageTranslateTask",
        media.image_translate_submit,
    ),
    (
        "GET",
        "/v1/image_translate/single/task/query",
        "queryImageTranslateTask",
        generative.query("image_translate"),
    ),
    (
        "POST",
        "/v1/image_generate/single/task/submit",
        "submitImageGenerateTask",
        media.image_generate_submit,
    ),
    (
        "POST",
        "/v1/image_translate/batch/task/submit",
        "submitImageTranslateBatchTask",
        media.image_translate_batch_submit,
    ),
    ("GET", "/v1/image_generate/task/query", "queryImageGenerateTask", media.image_generate_query),
    (
        "POST",
        "/v1/common-task/video-object-remove/submit",
        "submitVideoObjectRemoveTask",
        media.video_object_remove_submit,
    ),
    (
        "GET",
        "/v1/common-task/video-object-remove/query",
        "queryVideoObjectRemoveTask",
        generative.query("video_object_remove"),
    ),
    ("POST", "/v1/video_process/task/submit", "submitVideoProcessTask", media.video_process_submit),
    (
        "GET",
        "/v1/video_process/task/query",
        "queryVideoProcessTask",
        generative.query("video_process"),
    ),
    (
        "POST",
        "/v1/segment_anything/task/submit",
        "submitImageMaskDrawingTask",
        media.image_mask_submit,
    ),
    (
        "GET",
        "/v1/segment_anything/task/query",
        "queryImageMaskDrawingTask",
        generative.query("image_mask_drawing"),
    ),
    (
        "POST",
        "/v1/video_tracking/task/submit",
        "submitVideoMaskDrawingTask",
        media.video_mask_submit,
    ),
    (
        "GET",
        "/v1/video_tracking/task/query",
        "queryVideoMaskDrawingTask",
        generative.query("video_mask_drawing"),
    ),
    (
        "POST",
        "/v1/video_character_swap/task/submit",
        "submitVideoCharacterSwapTask",
        media.character_swap_submit,
    ),
    (
        "GET",
        "/v1/video_character_swap/task/query",
        "queryVideoCharacterSwapTask",
        generative.query("video_character_swap"),
    ),
    (
        "POST",
        "/v1/common_task/video2aiAvatar/submit",
        "submitVideoToAiAvatarTask",
        media.video_to_avatar_submit,
    ),
)

OPERATIONS: tuple[tuple[str, str, str, Handler], ...] = (
    ("GET", "/v1/m2v/script/list", "listM2vScripts", m2v.script_list),
    ("POST", "/v1/m2v/script/update", "updateM2vScript", m2v.script_update),
    ("POST", "/v1/m2v/task/submit", "submitM2vTask", m2v.submit),
    ("GET", "/v1/m2v/task/query", "queryM2vTask", m2v.query),
    ("POST", "/v1/m2v/export", "exportM2vVideo", m2v.export),
    ("POST", "/v1/video_avatar/task/submit", "submitVideoAvatarTask", tasks.video_avatar_submit),
    ("GET", "/v1/video_avatar/task/query", "queryVideoAvatarTask", tasks.video_avatar_query),
    (
        "POST",
        "/v1/product_avatar/task/image_replace/submit",
        "submitProductAvatarImageReplace",
        tasks.replace_submit,
    ),
    (
        "GET",
        "/v1/product_avatar/task/image_replace/result",
        "queryProductAvatarImageReplace",
        tasks.replace_result,
    ),
    (
        "POST",
        "/v1/product_avatar/task/image2Video/submit",
        "submitProductAvatarImageToVideo",
        tasks.image2video_submit,
    ),
    (
        "GET",
        "/v1/product_avatar/task/image2Video/result",
        "queryProductAvatarImageToVideo",
        tasks.image2video_result,
    ),
    (
        "GET",
        "/v1/product_avatar/category/list",
        "listProductAvatarCategories",
        lookup.product_avatar_categories,
    ),
    (
        "GET",
        "/v1/product_avatar/public_avatar/query",
        "listPublicProductAvatars",
        lookup.public_product_avatars,
    ),
    ("POST", "/v1/product_anyShoot/task/submit", "submitAnyShootTask", tasks.anyshoot_submit),
    ("GET", "/v1/product_anyShoot/task/result", "queryAnyShootTask", tasks.anyshoot_result),
    (
        "GET",
        "/v1/product_anyShoot/template/category/list",
        "listAnyShootTemplateCategories",
        lookup.template_categories,
    ),
    ("GET", "/v1/product_anyShoot/template/list", "listAnyShootTemplates", lookup.templates),
    (
        "POST",
        "/v1/common_task/image2video/submit",
        "submitImageToVideoTask",
        tasks.common_image2video_submit,
    ),
    (
        "GET",
        "/v1/common_task/image2video/result",
        "queryImageToVideoTask",
        tasks.common_image2video_result,
    ),
    ("POST", "/v1/scraper/task/submit", "submitScraperTask", tasks.scraper_submit),
    ("GET", "/v1/scraper/task/query", "queryScraperTask", tasks.scraper_query),
    ("GET", "/v1/upload/credential", "getUploadCredential", uploads.credential),
    ("GET", "/v1/upload/check", "checkUpload", uploads.check),
    ("POST", "/notice/notice_url/check", "checkNoticeUrl", check_notice_url),
    ("GET", "/v1/voice/query", "listVoices", lookup.voices),
    ("GET", "/v1/ethnicity/list", "listEthnicities", lookup.ethnicities),
    ("GET", "/v1/aiavatar/query", "listAiAvatars", lookup.aiavatars),
    ("GET", "/v1/caption/list", "listCaptions", lookup.captions),
    *(
        (method, path, name, handler)
        for method, path, name, handler in (
            # Newer endpoints (CORRECTIONS §2): task submits and their queries ...
            *_tasks(
                ("/v2/common_task/image2video/task", "ImageToVideoV2Task", "image_to_video_v2"),
                ("/v1/common_task/text2video/task", "TextToVideoTask", "text_to_video"),
                ("/v1/common_task/omni_reference/task", "OmniReferenceTask", "omni_reference"),
                ("/v1/common_task/storyboard/task", "StoryboardTask", "storyboard"),
                ("/v1/common_task/text2image/task", "TextToImageTask", "text_to_image"),
                ("/v1/common_task/image_edit/task", "ImageEditTask", "image_edit"),
                ("/v1/common_task/remove_background", "RemoveBackgroundTask", "remove_background"),
                ("/v1/photo_avatar/task", "PhotoAvatarTask", "photo_avatar"),
                (
                    "/v2/product_avatar/task/image2Video",
                    "ProductAvatarImageToVideoV2",
                    "product_avatar_image_to_video_v2",
                ),
                (
                    "/v3/product_avatar/task/image_replace",
                    "ProductAvatarImageReplaceV3",
                    "product_avatar_image_replace_v3",
                ),
                ("/v1/voice/text2voice/task", "TextToSpeechTask", "text_to_speech"),
                ("/v1/voice/clone/task", "VoiceCloneTask", "voice_clone"),
            ),
            (
                "POST",
                "/v3/product_anyShoot/product_model/task/submit",
                "submitAnyShootProductModelTask",
                generative.anyshoot_product_model_submit,
            ),
            (
                "GET",
                "/v3/product_anyShoot/product_model/task/result",
                "queryAnyShootProductModelTask",
                generative.query("anyshoot_product_model"),
            ),
            (
                "POST",
                "/boards/tasks/batch-download/submit",
                "submitBoardDownload",
                generative.board_download_submit,
            ),
            (
                "GET",
                "/boards/tasks/batch-download",
                "queryBoardDownload",
                generative.query("board_download"),
            ),
            # ... and the account, boards and management endpoints.
            ("GET", "/v1/m2v/task/list", "listM2vTasks", account.m2v_task_list),
            ("DELETE", "/v1/m2v/task/delete", "deleteM2vTasks", account.m2v_task_delete),
            ("GET", "/user/credit/detail", "getCreditDetail", account.credit_detail),
            ("GET", "/user/credit/logs", "listCreditLogs", account.credit_logs),
            ("GET", "/user/space", "getUserSpace", account.user_space),
            ("GET", "/boards/list", "listBoards", account.boards_list),
            ("POST", "/boards/create", "createBoard", account.board_create),
            ("GET", "/boards/detail", "getBoard", account.board_detail),
            ("PUT", "/boards/update", "updateBoard", account.board_update),
            ("DELETE", "/boards/delete", "deleteBoard", account.board_delete),
            ("GET", "/boards/tasks/list", "listBoardTasks", account.board_tasks),
            ("GET", "/boards/tasks/detail", "getBoardTask", account.board_task_detail),
            ("POST", "/boards/tasks/batch-delete", "deleteBoardTasks", account.board_tasks_delete),
            (
                "GET",
                "/v1/photo_avatar/template/list",
                "listPhotoAvatarTemplates",
                account.photo_templates,
            ),
            (
                "GET",
                "/v1/photo_avatar/template/category",
                "listPhotoAvatarTemplateCategories",
                account.photo_template_categories,
            ),
            (
                "POST",
                "/v1/photo_avatar/template/create",
                "createPhotoAvatarTemplate",
                account.photo_template_create,
            ),
            (
                "DELETE",
                "/v1/photo_avatar/template/delete",
                "deletePhotoAvatarTemplate",
                account.photo_template_delete,
            ),
            ("DELETE", "/v1/voice/clone/delete", "deleteClonedVoice", account.cloned_voice_delete),
            (
                "GET",
                "/v1/common_task/video2aiAvatar/query",
                "queryVideoToAiAvatarTask",
                account.video_to_avatar_query,
            ),
            # Issue 22: AI music, image translation, video editing, video-to-AI-avatar.
            *_MEDIA,
        )
    ),
)
"""Every Topview operation: method, path, operationId (as in the spec), handler."""

UPLOAD_PREFIX = "/_storage/upload/"
MEDIA_PREFIXES = ("/_storage/media/", "/_cdn/media/")
STORAGE_OPERATION = "uploadFileToStorage"
MEDIA_OPERATION = "downloadMedia"

_NAMES = {(method, path): name for method, path, name, _ in OPERATIONS}


def operation_name(method: str, path: str) -> str | None:
    """The operation name of a request (used to target faults by ``name``)."""
    if path.startswith(UPLOAD_PREFIX):
        return STORAGE_OPERATION
    if path.startswith(MEDIA_PREFIXES):
        return MEDIA_OPERATION
    return _NAMES.get((method, path))


def _endpoint(
    sim: Simulator, handler: Handler, *, auth: bool
) -> Callable[..., Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            if auth:
                authenticate(request, sim)
            response = await handler(request, sim)
        except ApiError as error:
            response = error_response(error.code, error.message)
        finally:
            sim.notify()
        return response

    return endpoint


def build_app(sim: Simulator) -> ASGIApp:
    """The ASGI app of ``sim``: fault choice -> request log -> faults -> routes."""
    routes = [
        Route(path, _endpoint(sim, handler, auth=True), methods=[method], name=name)
        for method, path, name, handler in OPERATIONS
    ]
    routes.append(
        Route(
            UPLOAD_PREFIX + "{name}",
            _endpoint(sim, uploads.put_object, auth=False),
            methods=["PUT"],
            name=STORAGE_OPERATION,
        )
    )

    async def serve_media(request: Request, sim: Simulator) -> Response:
        return await sim.media.serve(request)

    media = _endpoint(sim, serve_media, auth=False)
    routes += [Route(p + "{name}", media, methods=["GET", "HEAD"]) for p in MEDIA_PREFIXES]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as group:
            group.start_soon(delivery_loop, sim)
            sim.serving.set()
            try:
                yield
            finally:
                sim.serving.clear()
                group.cancel_scope.cancel()

    app = Starlette(routes=routes, lifespan=lifespan)
    # The picker is outermost so that a fault can cut the request body while it arrives.
    # Looked up per call: Simulator.reset() may give the simulator another sleep.
    faulty = FaultMiddleware(app, lambda seconds: sim.sleep(seconds))
    logged = RequestLogMiddleware(faulty, sim.requests, sim.now)
    return FaultPicker(logged, sim.faults, operation_name)
