"""The sync client has the async client's surface: every resource, every method with the same
arguments, every raw-response method, the task handle's methods."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from functools import cached_property

import pytest

from topview_async import AsyncTopview, SyncTask, Task, Topview


@pytest.fixture(scope="module")
def clients() -> Iterator[tuple[AsyncTopview, Topview]]:
    with Topview(api_key="sk-test", uid="uid-test") as sync:
        yield sync.async_client, sync


def _resource_names() -> list[str]:
    return sorted(
        name
        for name, value in vars(AsyncTopview).items()
        if isinstance(value, cached_property) and not name.startswith("_") and name != "base_url"
    )


def _public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(function)
        for name, function in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def test_every_resource_of_the_async_client_is_on_the_sync_client(
    clients: tuple[AsyncTopview, Topview],
) -> None:
    names = _resource_names()
    assert len(names) >= 17
    _, sync = clients
    for name in names:
        assert hasattr(sync, name), f"Topview has no {name}"
    assert {"uploads", "notices", "tasks", "voices"} <= set(names)


@pytest.mark.parametrize("name", _resource_names())
def test_every_method_has_a_sync_twin_with_the_same_arguments(
    name: str, clients: tuple[AsyncTopview, Topview]
) -> None:
    async_client, sync = clients
    ours = _public_methods(type(getattr(async_client, name)))
    theirs = _public_methods(type(getattr(sync, name)))
    assert ours, name
    assert set(ours) <= set(theirs)  # the sync client may add (tasks.wait_all)
    for method, signature in ours.items():
        twin = theirs[method]
        assert list(signature.parameters) == list(twin.parameters), f"{name}.{method}"
        for parameter, value in signature.parameters.items():
            assert value.default == twin.parameters[parameter].default, f"{name}.{method}"


@pytest.mark.parametrize("name", [n for n in _resource_names() if n != "tasks"])
def test_with_raw_response_has_every_call(name: str, clients: tuple[AsyncTopview, Topview]) -> None:
    async_client, sync = clients
    resource = getattr(async_client, name)
    generated = {
        method
        for method, function in inspect.getmembers(type(resource), inspect.isfunction)
        if function.__module__.startswith("topview_async.resources.")
        and inspect.iscoroutinefunction(function)
        and not method.startswith("_")
        and not method.startswith("run")
        and not method.endswith("_and_wait")
    }
    assert generated
    for raw in (resource.with_raw_response, getattr(sync, name).with_raw_response):
        assert generated <= set(vars(raw)), f"{name}: {generated - set(vars(raw))}"


def test_sync_task_has_the_task_methods() -> None:
    ours = _public_methods(Task)
    theirs = _public_methods(SyncTask)
    for method in ("wait", "refresh", "result_files", "download", "watch"):
        assert list(ours[method].parameters) == list(theirs[method].parameters), method
    for attribute in ("task_id", "kind", "status", "state", "done", "result", "submit_result"):
        assert hasattr(SyncTask, attribute)
