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

from . import _generic as generic
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

SPECIAL: dict[str, Handler] = {
    # M2V: scripts, previews, exports.
    "listM2vScripts": m2v.script_list,
    "updateM2vScript": m2v.script_update,
    "submitM2vTask": m2v.submit,
    "queryM2vTask": m2v.query,
    "exportM2vVideo": m2v.export,
    "listM2vTasks": account.m2v_task_list,
    "deleteM2vTasks": account.m2v_task_delete,
    # The original task endpoints (REFERENCE.md), with their own result shapes.
    "submitVideoAvatarTask": tasks.video_avatar_submit,
    "queryVideoAvatarTask": tasks.video_avatar_query,
    "submitProductAvatarImageReplace": tasks.replace_submit,
    "queryProductAvatarImageReplace": tasks.replace_result,
    "submitProductAvatarImageToVideo": tasks.image2video_submit,
    "queryProductAvatarImageToVideo": tasks.image2video_result,
    "submitAnyShootTask": tasks.anyshoot_submit,
    "queryAnyShootTask": tasks.anyshoot_result,
    "submitImageToVideoTask": tasks.common_image2video_submit,
    "queryImageToVideoTask": tasks.common_image2video_result,
    "submitScraperTask": tasks.scraper_submit,
    "queryScraperTask": tasks.scraper_query,
    # Uploads, the notice check, catalogues.
    "getUploadCredential": uploads.credential,
    "checkUpload": uploads.check,
    "checkNoticeUrl": check_notice_url,
    "listVoices": lookup.voices,
    "listEthnicities": lookup.ethnicities,
    "listAiAvatars": lookup.aiavatars,
    "listCaptions": lookup.captions,
    "listProductAvatarCategories": lookup.product_avatar_categories,
    "listPublicProductAvatars": lookup.public_product_avatars,
    "listAnyShootTemplateCategories": lookup.template_categories,
    "listAnyShootTemplates": lookup.templates,
    # Newer submits with rules beyond the spec's (per-model limits, catalogue ids, files made).
    "submitImageToVideoV2Task": generative.image_to_video_v2_submit,
    "submitOmniReferenceTask": generative.omni_reference_submit,
    "submitStoryboardTask": generative.storyboard_submit,
    "submitImageEditTask": generative.image_edit_submit,
    "submitRemoveBackgroundTask": generative.remove_background_submit,
    "submitPhotoAvatarTask": generative.photo_avatar_submit,
    "submitProductAvatarImageToVideoV2": generative.product_avatar_video_v2_submit,
    "submitProductAvatarImageReplaceV3": generative.product_avatar_replace_v3_submit,
    "submitAnyShootProductModelTask": generative.anyshoot_product_model_submit,
    "submitTextToSpeechTask": generative.text_to_speech_submit,
    "submitVoiceCloneTask": generative.voice_clone_submit,
    "submitBoardDownload": generative.board_download_submit,
    "submitAiMusicTask": media.ai_music_submit,
    "submitImageTranslateTask": media.image_translate_submit,
    "submitImageGenerateTask": media.image_generate_submit,
    "submitImageTranslateBatchTask": media.image_translate_batch_submit,
    "queryImageGenerateTask": media.image_generate_query,
    "submitVideoObjectRemoveTask": media.video_object_remove_submit,
    "submitVideoProcessTask": media.video_process_submit,
    "submitImageMaskDrawingTask": media.image_mask_submit,
    "submitVideoMaskDrawingTask": media.video_mask_submit,
    "submitVideoCharacterSwapTask": media.character_swap_submit,
    # Account, boards, templates, voices: state the simulator keeps.
    "getCreditDetail": account.credit_detail,
    "listCreditLogs": account.credit_logs,
    "getUserSpace": account.user_space,
    "listBoards": account.boards_list,
    "createBoard": account.board_create,
    "getBoard": account.board_detail,
    "updateBoard": account.board_update,
    "deleteBoard": account.board_delete,
    "listBoardTasks": account.board_tasks,
    "getBoardTask": account.board_task_detail,
    "deleteBoardTasks": account.board_tasks_delete,
    "listPhotoAvatarTemplates": account.photo_templates,
    "listPhotoAvatarTemplateCategories": account.photo_template_categories,
    "createPhotoAvatarTemplate": account.photo_template_create,
    "deletePhotoAvatarTemplate": account.photo_template_delete,
    "deleteClonedVoice": account.cloned_voice_delete,
    "queryVideoToAiAvatarTask": account.video_to_avatar_query,
}
"""Operations with behaviour of their own, by operationId. Every other operation is served
from the spec alone (:mod:`._generic`): a submit validates and creates a task of its kind,
a task query answers with the result built for the kind's result model."""


def _routes() -> tuple[tuple[str, str, str, Handler], ...]:
    """Every operation of the spec (the generated table): method, path, operationId, handler."""
    from .._generated.operations import OPERATIONS as SPEC_OPERATIONS
    from .._generated.task_kinds import TASK_KINDS

    queried = {facts.query_operation.operation_id: kind for kind, facts in TASK_KINDS.items()}
    routes = []
    for operation in SPEC_OPERATIONS.values():
        handler = SPECIAL.get(operation.operation_id)
        if handler is None and operation.kind == "submit":
            handler = generic.submit(operation)
        elif handler is None and operation.operation_id in queried:
            handler = generative.query(queried[operation.operation_id])
        if handler is None:
            raise LookupError(f"the simulator has no behaviour for {operation}")
        routes.append((operation.method, operation.path, operation.operation_id, handler))
    return tuple(routes)


OPERATIONS: tuple[tuple[str, str, str, Handler], ...] = _routes()
"""Every Topview operation: method, path, operationId (from the generated table), handler."""

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
