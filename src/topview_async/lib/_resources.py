"""Handwritten helpers on top of generated resources.

The generated classes in ``resources/`` mirror the spec one to one. Where a user needs more
than one Topview call (upload a file: credential, PUT, check), the helper lives here, in a
subclass, so generated files stay untouched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from .._generated.task_kinds import TaskGetter
from ..resources import NoticesResource, UploadsResource
from . import uploads as _uploads
from ._submit_check import check_submit
from .tasks import get_task

if TYPE_CHECKING:
    from .._client import AsyncTopview
    from .._generated.models import UploadCredential
    from ._files import TransferProgress
    from .tasks import Task


class _UploadApi:
    """Adapts the generated stubs (typed with the literal format list) to the upload helper,
    which has validated the format against the same list before calling."""

    def __init__(self, resource: UploadsResource) -> None:
        self._resource = resource

    async def get_credential(self, *, format: str) -> UploadCredential:
        return await self._resource.get_credential(format=cast(Any, format))

    async def check(self, *, file_id: str) -> object:
        return await self._resource.check(file_id=file_id)


class Uploads(UploadsResource):
    """Upload endpoints, plus :meth:`upload` and :meth:`upload_many` that do the whole flow."""

    async def upload(
        self,
        source: _uploads.UploadSource,
        *,
        format: str | None = None,
        content_type: str | None = None,
        progress: TransferProgress | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (a deadline argument, as in httpx)
    ) -> str:
        """Upload a local file (or bytes, or an async byte stream) and return its file id.

        The format comes from the file suffix unless ``format`` is given (required for bytes
        and streams) and is checked against the formats Topview accepts before any request.
        The bytes go straight to the presigned storage URL, never with Topview credentials; an
        expired or rejected URL gets a fresh credential; the upload check confirms the file.
        PUTs and checks are retried by the client's :class:`RetryPolicy` (``client.retry``);
        ``timeout`` is an overall deadline in seconds for this upload.

            file_id = await client.uploads.upload("product.png")
        """
        return await _uploads.upload(
            _UploadApi(self),
            self._client.storage_http,
            source,
            format=format,
            content_type=content_type,
            progress=progress,
            retry=self._client.retry,
            timeout=timeout,
        )

    async def upload_many(
        self,
        sources: Sequence[str | os.PathLike[str]],
        *,
        concurrency: int = 8,
        progress: TransferProgress | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (a deadline argument, as in httpx)
    ) -> list[str]:
        """Upload files concurrently; return their file ids in input order.

        Every path is checked before anything is sent. If some uploads fail, the others still
        finish and :class:`UploadManyError` is raised with ``file_ids`` (``None`` where that file
        failed) and ``failures``, so finished uploads are not lost. After an error that every
        file would hit (bad credentials, no credit left), no new upload is started.
        ``timeout`` is an overall deadline in seconds for each upload.
        """
        return await _uploads.upload_many(
            _UploadApi(self),
            self._client.storage_http,
            sources,
            concurrency=concurrency,
            progress=progress,
            retry=self._client.retry,
            timeout=timeout,
        )


class Tasks(TaskGetter):
    """Task handles rebuilt from stored ids: ``client.tasks.get("m2v", task_id)``.

    ``get`` is generated (one typed overload per kind of the spec): ``get("video_avatar", id)``
    is a ``Task[VideoAvatarTaskResult]``.
    """

    def __init__(self, client: AsyncTopview) -> None:
        self._client = client

    def _get_task(self, kind: str, task_id: str, *, script_id: int | None) -> Task[Any]:
        return get_task(self._client, kind, task_id, script_id=script_id)

    async def submit(self, kind: str, /, **params: Any) -> Task[Any]:
        """Submit a paid task of ``kind`` with the keyword arguments of its submit method.

        ``client.tasks.submit("m2v", product_link=...)`` is
        ``client.marketing_videos.submit(product_link=...)``: the method is the one the spec
        names for the kind (``x-topview-task`` on its submit operation), so engines that run
        jobs by kind name need no table of their own. An unknown kind raises
        :class:`~topview_async.UnknownTaskKindError` before anything is sent.
        """
        from ._submit_check import submit_method

        return await submit_method(self._client, kind)(**params)

    async def prepare(self, kind: str, /, **params: Any) -> dict[str, Any]:
        """Check a submit of ``kind`` and upload its local files, without submitting.

        Every check :meth:`submit` makes runs before the first upload (arguments, files, the
        whole request with placeholder ids), so a bad argument costs nothing. Returns the
        keyword arguments with each local file replaced by its file id, for a later
        :meth:`submit` that uploads nothing (a workflow engine keeps them in its history)::

            params = await client.tasks.prepare("image_to_video", image_file_id="shoe.png")
            task = await client.tasks.submit("image_to_video", **params)
        """
        from ._submit_check import prepare_submit

        return await prepare_submit(self._client, kind, params)

    async def check_submit(self, kind: str, params: Mapping[str, object]) -> None:
        """Check a submit of ``kind`` with keyword arguments ``params``; nothing is sent.

        Runs every check the submit itself runs before its first request: argument names
        (unknown and missing ones), types and enums, the spec's cross-field rules, local
        files (they exist, are not empty, have a format Topview accepts) and AnyShoot masks.
        Raises :class:`~topview_async.UnknownTaskKindError` or
        :class:`~topview_async.InvalidInputError`::

            await client.tasks.check_submit("m2v", {"product_link": url})
        """
        await check_submit(self._client, kind, params)


class Notices(NoticesResource):
    """The notice URL check, plus :meth:`check`."""

    async def check(self, url: str) -> None:
        """Ask Topview to validate ``url`` as a ``noticeUrl``; do this once before using it.

        Topview POSTs a test notice to the URL and expects the acknowledgement described in
        :mod:`topview_async.webhooks`. Raises
        :class:`~topview_async.webhooks.NoticeUrlRejectedError` (an ``APIError``) if Topview
        refuses the URL; its message never contains the URL's secret ``token``.
        """
        from ..webhooks._check import check_notice_url  # late: webhooks is optional to load

        await check_notice_url(self, url)
