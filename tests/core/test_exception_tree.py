"""One exception tree, one module (issue 10.4): the drawing in ``_exceptions.py`` is the truth.

Every public exception is drawn there, derives from TopviewError, and sits under the parent
the drawing shows; the codes drawn beside a class are the codes the spec maps to it.
"""

from __future__ import annotations

import importlib
import pickle
import pkgutil
import re

import pytest

import topview_async
from topview_async import _exceptions
from topview_async._exceptions import (
    DownloadManyError,
    InvalidInputError,
    TopviewError,
    TransferError,
    UnknownTaskKindError,
    UploadError,
    UploadManyError,
)
from topview_async._generated.error_codes import ERROR_CODES

from .helpers import Recorder, make_client, ok

pytestmark = pytest.mark.anyio

PUBLIC_MODULES = (
    "topview_async",
    "topview_async.lib.pagination",
    "topview_async.lib.polling",
    "topview_async.lib.tasks",
    "topview_async.lib.uploads",
    "topview_async.testing",
    "topview_async.webhooks",
)
# The simulator's own signals: raised and caught inside the simulator, never seen by SDK users.
SIMULATOR_INTERNAL = {
    "topview_async.testing._errors.ApiError",
    "topview_async.testing._faults.SimulatedDisconnect",
}


def _drawing() -> list[tuple[int, str, str]]:
    """(indent, class name, rest of the line) for every line of the drawn tree."""
    doc = _exceptions.__doc__ or ""
    start = doc.index("    TopviewError\n")
    rows = []
    for line in doc[start:].splitlines():
        if not line.strip():
            break
        match = re.match(r"^([ │├└─]*)([A-Za-z]+)(.*)$", line)
        assert match, line
        rows.append((len(match.group(1)), match.group(2), match.group(3)))
    return rows


def _drawn_parents() -> dict[str, set[str]]:
    parents: dict[str, set[str]] = {}
    stack: list[tuple[int, str]] = []
    for indent, name, _ in _drawing():
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parents.setdefault(name, set())
        if stack:
            parents[name].add(stack[-1][1])
        stack.append((indent, name))
    return parents


def _public_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, BaseException):
                found[f"{module_name}.{name}"] = value
    return found


def test_every_drawn_class_exists_under_its_drawn_parent() -> None:
    parents = _drawn_parents()
    assert len(parents) >= 40
    for name, drawn in parents.items():
        cls = getattr(_exceptions, name)
        assert cls.__module__ == "topview_async._exceptions", name
        for parent in drawn:
            assert issubclass(cls, getattr(_exceptions, parent)), f"{name} not under {parent}"


def test_every_public_exception_is_drawn_and_derives_from_topview_error() -> None:
    drawn = set(_drawn_parents())
    public = _public_exceptions()
    assert "topview_async.webhooks.WebhookError" in public  # the scan sees subpackages
    for where, cls in public.items():
        assert issubclass(cls, TopviewError), where
        assert cls.__module__ == "topview_async._exceptions", where
        assert cls.__name__ in drawn, f"{where} is not drawn in _exceptions.py"
    defined_here = {
        name
        for name, value in vars(_exceptions).items()
        if isinstance(value, type) and issubclass(value, BaseException) and not name.startswith("_")
    }
    assert defined_here == drawn


def test_no_other_module_defines_a_public_exception() -> None:
    strays = []
    for info in pkgutil.walk_packages(topview_async.__path__, "topview_async."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == info.name
                and info.name != "topview_async._exceptions"
                and not name.startswith("_")
                and f"{info.name}.{name}" not in SIMULATOR_INTERNAL
            ):
                strays.append(f"{info.name}.{name}")
    assert strays == []


def test_codes_drawn_beside_a_class_are_the_codes_the_spec_maps_to_it() -> None:
    drawn_codes: dict[str, set[str]] = {}
    for _, name, rest in _drawing():
        codes = re.findall(r'(?<!")\b\d{3,4}\b(?!")', rest)
        if codes:
            drawn_codes[name] = set(codes)
    from_spec: dict[str, set[str]] = {}
    for code, info in ERROR_CODES.items():
        from_spec.setdefault(info.exception.__name__, set()).add(code)
    assert drawn_codes == from_spec


def test_old_import_locations_still_work() -> None:
    from topview_async.lib._files import UploadManyError as from_files
    from topview_async.lib._task_types import TaskFailedError as from_task_types
    from topview_async.lib.tasks import TaskFailedError as from_tasks
    from topview_async.webhooks._errors import NoticeUrlRejectedError as from_webhooks

    assert from_files is UploadManyError
    assert from_task_types is from_tasks is _exceptions.TaskFailedError
    assert from_webhooks is _exceptions.NoticeUrlRejectedError


def test_batch_errors_are_topview_errors_and_exception_groups() -> None:
    failure = UploadError("PUT failed", status_code=500)
    error = UploadManyError("1 of 2 uploads failed", ["f-1", None], {1: failure})
    assert isinstance(error, TopviewError)
    assert isinstance(error, TransferError)
    assert isinstance(error, ExceptionGroup)
    assert error.file_ids == ["f-1", None]
    assert error.failures == {1: failure}
    assert error.exceptions == (failure,)
    assert error.message == "1 of 2 uploads failed"
    assert error.code is None
    assert error.task_id is None
    assert "1 of 2 uploads failed" in str(error)
    caught: list[BaseExceptionGroup[UploadError]] = []
    try:
        raise error
    except* UploadError as group:
        caught.append(group)
    assert caught[0].exceptions == (failure,)
    downloads = DownloadManyError("failed", [None], {0: ValueError("x")})
    assert isinstance(downloads, TopviewError)
    assert isinstance(downloads, ExceptionGroup)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is UploadManyError
    assert copy.file_ids == ["f-1", None]
    matched, rest = downloads.split(ValueError)
    assert matched is not None
    assert rest is None


async def test_unknown_task_kind_is_a_typed_input_error() -> None:
    recorder = Recorder(ok())
    async with make_client(recorder) as client:
        with pytest.raises(UnknownTaskKindError) as caught:
            client.tasks.get("nope", "t-1")
    error = caught.value
    assert isinstance(error, InvalidInputError)
    assert isinstance(error, ValueError)
    assert error.kind == "nope"
    assert "m2v" in error.known
    assert "unknown task kind 'nope'" in str(error)
    assert recorder.requests == []
