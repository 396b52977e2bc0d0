"""What importing the SDK loads: heavy dependencies only once something needs them.

Each check runs in a fresh interpreter, since this process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys

import anyio
import httpx
import pytest

import topview_async
from topview_async._client import AsyncTopview
from topview_async._exceptions import WrongEventLoopError
from topview_async._generated import models
from topview_async._generated.task_kinds import TASK_KINDS
from topview_async.resources import MarketingVideosResource
from topview_async.testing import SimulatorServer

HEAVY = ("httpx", "aiohttp", "pydantic", "anyio", "topview_async._generated.models")


def loaded_after(code: str) -> list[str]:
    """The modules of ``HEAVY`` that are imported after running ``code``."""
    script = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_import_topview_async_loads_no_heavy_dependency() -> None:
    assert loaded_after("import topview_async") == []


def test_a_client_loads_the_models_and_aiohttp_only_when_used() -> None:
    construct = "from topview_async import AsyncTopview\nc = AsyncTopview(api_key='k', uid='u')"
    assert loaded_after(construct) == []
    assert "topview_async._generated.models" in loaded_after(construct + "\nc.marketing_videos")


def test_a_first_typed_call_on_the_direct_path_does_not_import_httpx() -> None:
    # httpx costs about half of aiohttp's own import time (more with click installed): the
    # SDK's own aiohttp path must not pay it for a call that succeeds.
    with SimulatorServer() as server:
        code = (
            "import asyncio\n"
            "from topview_async import AsyncTopview\n"
            "async def main():\n"
            f"    async with AsyncTopview(api_key={server.api_key!r}, uid={server.uid!r},"
            f" base_url={server.base_url!r}) as client:\n"
            "        page = await client.voices.list()\n"
            "        assert page.data, page\n"
            "asyncio.run(main())"
        )
        loaded = loaded_after(code)
    assert "httpx" not in loaded
    assert {"aiohttp", "pydantic", "topview_async._generated.models"} <= set(loaded)


@pytest.mark.parametrize(
    "base_url",
    [
        "https://api.topview.ai",
        "https://api.topview.ai/",
        "http://127.0.0.1:8080/v1/",
        "https://api.topview.ai:443",
        "HTTPS://API.Topview.ai",
        "http://localhost:80/x/../y",
        "http://[::1]:8080",
    ],
)
def test_base_url_is_normalised_as_httpx_does(base_url: str) -> None:
    # The plain-URL shortcut that skips httpx.URL must give exactly what httpx.URL gives.
    client = AsyncTopview(api_key="k", uid="u", base_url=base_url)
    assert client._base_prefix == str(httpx.URL(base_url)).rstrip("/")
    assert client.base_url == httpx.URL(str(httpx.URL(base_url)).rstrip("/"))


def test_timeouts_without_httpx_are_what_httpx_timeout_makes() -> None:
    for timeout in (None, 5, 2.5, httpx.Timeout(3.0, pool=1.0), (1.0, 2.0, 3.0, 4.0)):
        client = AsyncTopview(api_key="k", uid="u", timeout=timeout)  # type: ignore[arg-type]
        assert client._timeouts == httpx.Timeout(timeout).as_dict()  # type: ignore[arg-type]
        assert client._timeout == httpx.Timeout(timeout)  # type: ignore[arg-type]
    default = AsyncTopview(api_key="k", uid="u")
    assert default._timeout == topview_async.DEFAULT_TIMEOUT == httpx.Timeout(60.0, connect=10.0)


def test_operations_table_names_its_result_models_without_importing_them() -> None:
    code = "from topview_async._generated.task_kinds import TASK_KINDS"
    assert "topview_async._generated.models" not in loaded_after(code)
    assert TASK_KINDS["m2v"].result_type is models.M2vTaskResult
    assert all(isinstance(spec.result_type, type) for spec in TASK_KINDS.values())


def test_lazy_names_are_the_real_objects() -> None:
    assert topview_async.AsyncTopview is AsyncTopview
    assert set(topview_async.__all__) <= set(dir(topview_async))
    with pytest.raises(AttributeError, match="NoSuchName"):
        topview_async.NoSuchName  # type: ignore[attr-defined]  # noqa: B018


def test_resources_are_built_once_on_first_access() -> None:
    client = AsyncTopview(api_key="k", uid="u")
    assert "marketing_videos" not in vars(client)
    resource = client.marketing_videos
    assert isinstance(resource, MarketingVideosResource)
    assert client.marketing_videos is resource
    assert resource._client is client


def test_a_first_call_on_asyncio_does_not_import_anyio() -> None:
    with SimulatorServer() as server:
        code = (
            "import asyncio\n"
            "from topview_async import AsyncTopview\n"
            "async def main():\n"
            f"    async with AsyncTopview(api_key={server.api_key!r}, uid={server.uid!r},"
            f" base_url={server.base_url!r}) as client:\n"
            "        await client.voices.list()\n"
            "asyncio.run(main())"
        )
        assert "anyio" not in loaded_after(code)


# The event-loop check of the first use skips anyio on asyncio; a client first used on one
# backend must still refuse the other, and a second run of the same backend.
def _used_on(client: AsyncTopview, *backends: str) -> None:
    async def use() -> None:
        async with client:
            pass

    for backend in backends:
        client._closed = False  # reopen: only the event-loop check is under test here
        anyio.run(use, backend=backend)


@pytest.mark.parametrize(
    "backends", [("asyncio", "trio"), ("trio", "asyncio"), ("trio", "trio"), ("asyncio", "asyncio")]
)
def test_a_client_refuses_a_second_event_loop_whichever_backend_came_first(
    backends: tuple[str, str],
) -> None:
    client = AsyncTopview(api_key="k", uid="u")
    _used_on(client, backends[0])
    with pytest.raises(WrongEventLoopError, match="different event loop"):
        _used_on(client, backends[1])


def test_a_client_used_twice_in_one_trio_run_is_accepted() -> None:
    client = AsyncTopview(api_key="k", uid="u")

    async def twice() -> None:
        client._check_usable()
        client._check_usable()

    anyio.run(twice, backend="trio")
