"""Submit and query of the other task kinds: Video Avatar, Product Avatar, AnyShoot,
image-to-video and scraper (REFERENCE §§6-10)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from . import _validation as v
from ._errors import ApiError, envelope
from ._results import task_result
from ._routes_m2v import check_catalog_id, notice_url
from ._uploads import StoredUpload

if TYPE_CHECKING:
    from ._simulator import Simulator

SCRAPED_MEDIA = (("image", "jpg"), ("image", "jpg"), ("image", "png"), ("video", "mp4"))


async def _query(request: Request, sim: Simulator, kind: str) -> Response:
    task_id = v.query_string(request.query_params, "taskId", required=True)
    cdn = v.query_bool(request.query_params, "needCloudFrontUrl")
    task = sim.find_task(task_id, sim.uid_of(request), (kind,))
    return envelope(task_result(task, sim.now(), sim.base_url(request), cdn))


async def video_avatar_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    # [DOCS] types the source fields as string enums, [CN] as integers: accept both.
    avatar_from = v.integer(
        body, "avatarSourceFrom", required=True, allowed=(0, 1, 2, 3), numeric_string=True
    )
    audio_from = v.integer(
        body, "audioSourceFrom", required=True, allowed=(0, 1), numeric_string=True
    )
    mode_type = v.string(body, "modeType", allowed=("0", "1"))
    video = v.string(body, "videoFileId", required=avatar_from == 0)
    avatar = v.string(body, "aiAvatarId", required=avatar_from in (1, 2))
    image = v.string(body, "imageFileId", required=avatar_from == 3)
    if avatar_from == 3 and mode_type != "1":
        raise ApiError("4000", "modeType must be 1 for a photo source (avatarSourceFrom=3)")
    audio = v.string(body, "audioFileId", required=audio_from == 0)
    v.string(body, "ttsText", required=audio_from == 1)
    voice = v.string(body, "voiceoverId", required=audio_from == 1 and avatar_from != 1)
    v.boolean(body, "isSave2CustomAiAvatar")
    v.number(body, "voiceSpeed", minimum=0.8, maximum=1.2)
    check_catalog_id(avatar, sim.catalog.aiavatars, "aiavatarId", "aiAvatarId")
    check_catalog_id(voice, sim.catalog.voices, "voiceId", "voiceoverId")
    check_catalog_id(v.string(body, "captionId"), sim.catalog.captions, "captionId", "captionId")
    notice_url(body)
    sim.require_files(sim.uid_of(request), video, image, audio)
    task = sim.create_task("video_avatar", request, body)
    return envelope(sim.submit_result(task))


async def video_avatar_query(request: Request, sim: Simulator) -> Response:
    return await _query(request, sim, "video_avatar")


async def replace_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    product = v.string(body, "productImageFileId", required=True)
    v.string(body, "imageEditPrompt", required=True)
    avatar = v.string(body, "avatarId")
    template = v.string(body, "templateImageFileId")
    if avatar is None and template is None:
        raise ApiError("4003", "avatarId or templateImageFileId is required")
    face = v.string(body, "userFaceImageFileId")
    v.string(body, "productSize", allowed=("1", "2", "3", "4", "5", "6"))
    check_catalog_id(avatar, sim.catalog.product_avatars, "avatarId", "avatarId")
    notice_url(body)
    sim.require_files(sim.uid_of(request), product, template, face)
    task = sim.create_task("product_avatar_image_replace", request, body)
    task.keys = [sim.new_id()[:29] for _ in range(2)]
    for key in task.keys:
        sim.replace_keys[key] = task
    return envelope(sim.submit_result(task))


async def replace_result(request: Request, sim: Simulator) -> Response:
    return await _query(request, sim, "product_avatar_image_replace")


async def image2video_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    key = v.string(body, "productReplaceResultKey", required=True)
    v.string(body, "mode", required=True, allowed=("lite", "pro", "avatar2"))
    for field in ("image2videoPrompt", "ttsText"):
        v.string(body, field)
    check_catalog_id(v.string(body, "voiceoverId"), sim.catalog.voices, "voiceId", "voiceoverId")
    notice_url(body)
    source = sim.replace_keys.get(key or "")
    now = sim.now()
    if source is None or source.uid != sim.uid_of(request) or source.status(now) != "success":
        raise ApiError("4004", f"productReplaceResultKey {key} not found")
    task = sim.create_task("product_avatar_image_to_video", request, body)
    return envelope(sim.submit_result(task))


async def image2video_result(request: Request, sim: Simulator) -> Response:
    return await _query(request, sim, "product_avatar_image_to_video")


async def anyshoot_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    product = v.string(body, "productImageFileId", required=True)
    template_mask = v.string(body, "templateMaskFileId", required=True)
    v.string(body, "mode", required=True)  # allowed values are UNCONFIRMED (REFERENCE §8.1)
    product_mask = v.string(body, "productMaskFileId")
    template_id = v.string(body, "templateId")
    template_image = v.string(body, "templateImageFileId")
    if template_id is None and template_image is None:
        raise ApiError("4003", "templateId or templateImageFileId is required")
    v.integer(body, "generatingCount", minimum=1, maximum=4)
    if template_image is None:
        check_catalog_id(template_id, sim.catalog.templates, "templateId", "templateId")
    notice_url(body)
    files = (product, product_mask, template_image, template_mask)
    sim.require_files(sim.uid_of(request), *files)
    task = sim.create_task("anyshoot", request, body)
    return envelope(sim.submit_result(task))


async def anyshoot_result(request: Request, sim: Simulator) -> Response:
    return await _query(request, sim, "anyshoot")


async def common_image2video_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    image = v.string(body, "imageFileId", required=True)
    v.integer(body, "duration", required=True, allowed=(5, 10))
    v.string(body, "mode", required=True, allowed=("lite", "pro", "plus", "best"))
    v.integer(body, "generatingCount", required=True, minimum=1, maximum=4)
    v.string(body, "prompt")
    v.string(body, "negativePrompt")
    notice_url(body)
    sim.require_files(sim.uid_of(request), image)
    task = sim.create_task("image_to_video", request, body)
    return envelope(sim.submit_result(task))


async def common_image2video_result(request: Request, sim: Simulator) -> Response:
    return await _query(request, sim, "image_to_video")


async def scraper_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    link = v.string(body, "productLink", required=True)
    assert link is not None
    if not link.startswith(("http://", "https://")):
        raise ApiError("4000", "productLink must be an http(s) URL")
    notice_url(body)
    task = sim.create_task("scraper", request, body)
    uid = sim.uid_of(request)
    for file_type, file_format in SCRAPED_MEDIA:
        file_id = sim.new_id()
        name = f"{file_id}.{file_format}"
        entry = {"fileId": file_id, "fileName": name, "fileType": file_type, "format": file_format}
        task.files.append(entry)
        upload = StoredUpload(file_id, file_format, uid, sim.now(), source_task=task)
        sim.uploads[file_id] = upload
    return envelope(sim.submit_result(task))


async def scraper_query(request: Request, sim: Simulator) -> Response:
    return await _query(request, sim, "scraper")
