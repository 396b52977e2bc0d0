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

import itertools
import os
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Final, TypeGuard

from .._exceptions import InvalidInputError
from .._generated.task_kinds import UPLOAD_FORMATS
from .._models import TopviewModel
from .._operation import Operation, ResultPath
from .._wire import validate_body
from ._files import check_file, validate_mask_pair
from ._status import read_field

if TYPE_CHECKING:
    from .._client import AsyncTopview

__all__ = [
    "UPLOAD_SUFFIXES",
    "check_local_inputs",
    "file_values",
    "is_local_file",
    "upload_local_files",
]

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
    assert value is not None, f"upload returned no file id: {uploaded!r}"
    return str(value)


Slot = tuple[list[object] | dict[str, object], int | str]
"""Where a file value sits in a body: its container and its index or key."""


def _thaw(value: object) -> object:
    """A copy of ``value`` whose dicts and lists/tuples can be written (models stay as they are:
    a model's fields were validated already, so they hold file ids, not paths)."""
    if isinstance(value, Mapping):
        return {str(key): _thaw(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw(item) for item in value]
    return value


def _slots(value: object, path: ResultPath) -> Iterator[Slot]:
    """Every place in ``value`` that ``path`` (an ``x-topview-file`` of the spec) names.

    Keys are matched by wire name or by Python name, so ``{"fileId": ...}`` and
    ``{"file_id": ...}`` inside a nested argument both work.
    """
    if not path or not isinstance(value, dict):
        return
    step, rest = path[0], path[1:]
    for wire_name, python_name in step.names:
        key = wire_name if wire_name in value else python_name if python_name in value else None
        if key is None:
            continue
        child = value[key]
        if step.each:
            if isinstance(child, list):
                for index, item in enumerate(child):
                    if rest:
                        yield from _slots(item, rest)
                    else:
                        yield (child, index)
        elif rest:
            yield from _slots(child, rest)
        else:
            yield (value, key)
        return


def file_values(body: Mapping[str, object], operation: Operation) -> list[object]:
    """Every value ``body`` holds in one of the operation's file fields (ids or paths), nested
    ones included; the simulator checks each is an uploaded file id."""
    thawed = _thaw(body)
    return [_get(slot) for path in operation.file_fields for slot in _slots(thawed, path)]


def _get(slot: Slot) -> object:
    container, key = slot
    return container[key]  # type: ignore[index]


def _set(slot: Slot, value: object) -> None:
    container, key = slot
    container[key] = value  # type: ignore[index]


def _argument(path: ResultPath) -> str:
    """How the Python caller names the field: ``file_ids``, ``input_images[].fileId``."""
    text = path[0].names[0][1]
    for before, step in itertools.pairwise(path):
        text += ("[]." if before.each else ".") + step.names[0][0]
    return text


def _refuse_urls(body: dict[str, object], operation: Operation) -> None:
    """Raise for a URL in a file-id field, naming the Python argument (not the wire name)."""
    for path in operation.file_fields:
        for slot in _slots(body, path):
            item = _get(slot)
            if isinstance(item, str) and _URL.match(item.strip()):
                raise InvalidInputError(
                    f"{_argument(path)}: got the URL {item!r}, but a Topview file id or a local "
                    "path is needed; download the file and pass its path (it is uploaded first) "
                    "or upload it with client.uploads.upload() and pass the file id"
                )


async def upload_local_files(
    client: AsyncTopview,
    body: Mapping[str, object],
    *,
    operation: Operation,
    body_model: type[TopviewModel],
) -> dict[str, object]:
    """A copy of ``body`` where local files in the operation's file fields are replaced by
    file ids.

    The fields are the spec's ``x-topview-file`` marks, nested ones included
    (:attr:`Operation.file_fields`): a path inside ``input_images=[{"fileId": ...}]`` is
    uploaded like a top-level one. Everything that can be checked locally is checked before
    the first upload (:func:`check_local_inputs`). All files of one request are then uploaded
    together through ``client.uploads.upload_many`` (concurrently, with its own limits).
    Values that are not local files are left alone.
    """
    result = _thaw(body)
    assert isinstance(result, dict)
    if not operation.file_fields:
        return result
    slots = _check(result, strings=client.local_files, operation=operation, body_model=body_model)
    if not slots:
        return result  # nothing to upload: the pipeline validates the body before sending
    local: list[str | os.PathLike[str]] = [_get(slot) for slot in slots]  # type: ignore[misc]
    file_ids = [_file_id(item) for item in await client.uploads.upload_many(local)]
    assert len(file_ids) == len(local), f"uploaded {len(local)} files, got {len(file_ids)} ids"
    for slot, file_id in zip(slots, file_ids, strict=True):
        _set(slot, file_id)
    return result


def check_local_inputs(
    body: Mapping[str, object],
    *,
    strings: bool,
    operation: Operation,
    body_model: type[TopviewModel],
    validate: bool = False,
) -> list[str | os.PathLike[str]]:
    """Every check of a request that needs no request: URLs in file-id fields, local files,
    AnyShoot masks, and (when there are local files to upload, or ``validate``) the whole body
    with placeholder ids. Returns the local files to upload; raises :class:`InvalidInputError`.
    ``body`` is not changed.
    """
    result = _thaw(body)
    assert isinstance(result, dict)
    slots = _check(
        result, strings=strings, operation=operation, body_model=body_model, validate=validate
    )
    return [_get(slot) for slot in slots]  # type: ignore[misc]


def _check(
    result: dict[str, object],
    *,
    strings: bool,
    operation: Operation,
    body_model: type[TopviewModel],
    validate: bool = False,
) -> list[Slot]:
    """:func:`check_local_inputs` on a body of our own; returns the slots holding local files,
    their values left in place (the placeholder check works on a copy)."""
    _refuse_urls(result, operation)
    slots = [
        slot
        for path in operation.file_fields
        for slot in _slots(result, path)
        if is_local_file(_get(slot), strings=strings)
    ]
    for slot in slots:
        check_file(_get(slot))  # type: ignore[arg-type]
    for image_field, mask_field in MASK_PAIRS.get(operation.task_kind or "", ()):
        image, mask = result.get(image_field), result.get(mask_field)
        if is_local_file(image, strings=strings) and is_local_file(mask, strings=strings):
            validate_mask_pair(image, mask)
    if slots or validate:
        # Validate with placeholder ids before any upload, so a bad argument costs no request.
        placeholder = _thaw(result)
        assert isinstance(placeholder, dict)
        for slot in [s for path in operation.file_fields for s in _slots(placeholder, path)]:
            if is_local_file(_get(slot), strings=strings):
                _set(slot, _PLACEHOLDER_ID)
        validate_body(operation, placeholder, body_model)
    return slots
