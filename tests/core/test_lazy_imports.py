"""What importing the SDK loads: heavy dependencies only once something needs them.

Each check runs in a fresh interpreter, since this process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import topview_async
from topview_async._client import AsyncTopview
from topview_async._generated import models
from topview_async._generated.task_kinds import TASK_KINDS
from topview_async.resources import MarketingVideosResource

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
    assert loaded_after(construct) == ["httpx", "anyio"]
    assert "topview_async._generated.models" in loaded_after(construct + "\nc.marketing_videos")


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
