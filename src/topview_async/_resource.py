"""Base class of the generated resource classes.

Generated stubs hold no logic: each one calls :meth:`Resource._request` (or
:meth:`Resource._submit_task` for paid submits) with the operation's static description and
the call's :class:`RequestOptions`. A resource's ``with_raw_response`` twin is the same
resource with ``_raw`` set: its calls return a :class:`RawResponse`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._models import TopviewModel
from ._operation import Operation

if TYPE_CHECKING:
    from ._client import AsyncTopview
    from ._options import RequestOptions
    from .lib.tasks import Task


class Resource:
    """A group of Topview operations, reached as an attribute of :class:`AsyncTopview`."""

    _raw: bool = False
    """A ``with_raw_response`` twin: every call returns a :class:`RawResponse`."""

    def __init__(self, client: AsyncTopview) -> None:
        self._client = client

    def _raw_twin(self) -> Any:
        """This resource, answering with raw responses (``with_raw_response``)."""
        twin = copy.copy(self)
        twin._raw = True
        return twin

    async def _request(
        self,
        operation: Operation,
        *,
        query: Mapping[str, object] | None = None,
        body: Mapping[str, object] | None = None,
        body_model: type[TopviewModel] | None = None,
        result_type: Any,
        context: Mapping[str, str | None] | None = None,
        options: RequestOptions | None = None,
    ) -> Any:
        if operation.file_fields and body is not None and body_model is not None:
            # A write that takes a file id (a photo template): local paths are uploaded first,
            # exactly as for a submit.
            from .lib._file_inputs import upload_local_files

            body = await upload_local_files(
                self._client, body, operation=operation, body_model=body_model
            )
        return await self._client._pipeline.request(
            operation,
            query=query,
            body=body,
            body_model=body_model,
            result_type=result_type,
            context=context,
            options=options,
            raw=self._raw,
        )

    async def _submit_task(
        self,
        operation: Operation,
        *,
        body: Mapping[str, object],
        body_model: type[TopviewModel],
        result_type: Any,
        options: RequestOptions | None = None,
    ) -> Task[Any]:
        from .lib.tasks import submit_task

        task: Task[Any] = await submit_task(  # a RawResponse of one for a raw twin
            self._client,
            operation,
            body=body,
            body_model=body_model,
            result_type=result_type,
            options=options,
            raw=self._raw,
        )
        return task
