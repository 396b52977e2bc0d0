"""Local files in file-id fields: upload them first, then send their file ids.

The rule that tells a local file from a Topview file id:

* any ``os.PathLike`` (for example a ``pathlib.Path``) is a local file;
* a ``str`` is a local file when it ends with an upload suffix Topview accepts
  (:data:`UPLOAD_SUFFIXES`, case-insensitive), for example ``"shots/front.png"``;
* any other ``str`` is sent unchanged: Topview file ids are 32 hex characters with no dot,
  so they can never end with one of those suffixes;
* a URL (``https://cdn.example.com/shoe.png``) is neither: Topview does not fetch URLs in
  file-id fields, so it is refused with :class:`InvalidInputError` naming the argument.

A server that forwards its users' input into submits should create its client with
``AsyncTopview(local_files=False)``: then no ``str`` is ever read from disk (a path-like still
is, since only code can make one).

Before anything is uploaded, every local file is checked (exists, not empty, allowed format),
AnyShoot masks are checked against their images' pixel size, and the whole body is validated
with placeholder ids, so a bad argument never costs an upload.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Final, TypeGuard

from .._exceptions import InvalidInputError
from .._generated.task_kinds import UPLOAD_FORMATS
from .._models import TopviewModel
from .._operation import Operation
from .._wire import validate_body
from ._files import check_file, validate_mask_pair
from ._status import read_field

if TYPE_CHECKING:
    from .._client import AsyncTopview

__all__ = ["UPLOAD_SUFFIXES", "check_local_inputs", "is_local_file", "upload_local_files"]

MASK_PAIRS: Final[Mapping[str, tuple[tuple[str, str], ...]]] = {
    "anyshoot": (
        ("productImageFileId", "productMaskFileId"),
        ("templateImageFileId", "templateMaskFileId"),
    ),
}
"""Per task kind, (image field, mask field) pairs whose pixel sizes must match (REFERENCE §8.1)."""

_PLACEHOLDER_ID: Final = "0" * 32

UPLOAD_SUFFIXES: Final = frozenset("." + upload_format for upload_format in UPLOAD_FORMATS)
"""The file formats Topview's upload accepts (the spec's upload ``format`` enum), dotted."""

_URL: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
"""A scheme and ``//``: what a URL starts with and neither a file id nor a local path does."""


def is_local_file(value: object, *, strings: bool = True) -> TypeGuard[str | os.PathLike[str]]:
    """Whether ``value`` names a local file to upload rather than a Topview file id.

    ``strings=False`` (a client made with ``local_files=False``) never reads a ``str`` from disk.
    """
    if isinstance(value, os.PathLike):
        return True
    if strings and isinstance(value, str):
        return os.path.splitext(value)[1].lower() in UPLOAD_SUFFIXES
    return False


def _file_id(uploaded: object) -> str:
    # ``upload_many`` may hand back plain ids or upload records; accept both.
    if isinstance(uploaded, str):
        return uploaded
    value = read_field(uploaded, "file_id", "fileId")
    if value is None:
        raise TypeError(f"upload returned no file id: {uploaded!r}")
    return str(value)


def _refuse_urls(
    body: Mapping[str, object], file_fields: Sequence[str], model: type[TopviewModel]
) -> None:
    """Raise for a URL in a file-id field, naming the Python argument (not the wire name)."""
    for name in file_fields:
        value = body.get(name)
        for item in value if isinstance(value, list | tuple) else (value,):
            if isinstance(item, str) and _URL.match(item.strip()):
                argument = _python_name(model, name)
                raise InvalidInputError(
                    f"{argument}: got the URL {item!r}, but a Topview file id or a local path "
                    "is needed; download the file and pass its path (it is uploaded first) or "
                    "upload it with client.uploads.upload() and pass the file id"
                )


def _python_name(model: type[TopviewModel], wire_name: str) -> str:
    for python_name, info in model.model_fields.items():
        if info.alias == wire_name or python_name == wire_name:
            return str(python_name)
    return wire_name


async def upload_local_files(
    client: AsyncTopview,
    body: Mapping[str, object],
    file_fields: Sequence[str],
    *,
    operation: Operation,
    body_model: type[TopviewModel],
) -> dict[str, object]:
    """A copy of ``body`` where local files in ``file_fields`` are replaced by file ids.

    Everything that can be checked locally is checked before the first upload (see the module
    docstring). All files of one request are then uploaded together through
    ``client.uploads.upload_many`` (concurrently, with its own limits). Values that are not
    local files are left alone.
    """
    strings = client.local_files
    result = dict(body)
    local = check_local_inputs(
        result, file_fields, strings=strings, operation=operation, body_model=body_model
    )
    if not local:
        return result  # nothing to upload: the pipeline validates the body before sending
    file_ids = [_file_id(item) for item in await client.uploads.upload_many(local)]
    if len(file_ids) != len(local):
        raise RuntimeError(f"uploaded {len(local)} files but got {len(file_ids)} file ids")
    return _substitute(result, file_fields, strings, iter(file_ids))


def check_local_inputs(
    body: Mapping[str, object],
    file_fields: Sequence[str],
    *,
    strings: bool,
    operation: Operation,
    body_model: type[TopviewModel],
    validate: bool = False,
) -> list[str | os.PathLike[str]]:
    """Every check of a request that needs no request: URLs in file-id fields, local files,
    AnyShoot masks, and (when there are local files to upload, or ``validate``) the whole body
    with placeholder ids. Returns the local files to upload; raises :class:`InvalidInputError`.
    """
    _refuse_urls(body, file_fields, body_model)
    local: list[str | os.PathLike[str]] = []
    for name in file_fields:
        value = body.get(name)
        if is_local_file(value, strings=strings):
            local.append(value)
        elif isinstance(value, list | tuple):
            local.extend(item for item in value if is_local_file(item, strings=strings))

    for path in local:
        check_file(path)
    for image_field, mask_field in MASK_PAIRS.get(operation.task_kind or "", ()):
        image, mask = body.get(image_field), body.get(mask_field)
        if is_local_file(image, strings=strings) and is_local_file(mask, strings=strings):
            validate_mask_pair(image, mask)
    if local or validate:
        # Validate with placeholder ids before any upload, so a bad argument costs no request.
        validate_body(operation, _substitute(dict(body), file_fields, strings, None), body_model)
    return local


def _substitute(
    body: dict[str, object],
    file_fields: Sequence[str],
    strings: bool,
    file_ids: Iterator[str] | None,
) -> dict[str, object]:
    """``body`` with each local file replaced by the next uploaded id (or a placeholder)."""

    def replace(value: object) -> object:
        if not is_local_file(value, strings=strings):
            return value
        return _PLACEHOLDER_ID if file_ids is None else next(file_ids)

    result = dict(body)
    for name in file_fields:
        value = result.get(name)
        if isinstance(value, list | tuple):
            result[name] = [replace(item) for item in value]
        else:
            result[name] = replace(value)
    return result
