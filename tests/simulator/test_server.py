"""Running the simulator: pytest fixture, context managers, command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from topview_async.testing import Simulator, SimulatorConfig, SimulatorServer
from topview_async.testing.__main__ import main

SRC = Path(__file__).resolve().parents[2] / "src"


def test_plugin_fixture_serves_on_loopback(topview_simulator: SimulatorServer) -> None:
    assert topview_simulator.base_url.startswith("http://127.0.0.1:")
    headers = {
        "Authorization": f"Bearer {topview_simulator.api_key}",
        "Topview-Uid": topview_simulator.uid,
    }
    topview_simulator.faults.add(path="/v1/caption/list", business_code="5003", times=1)
    response = httpx.get(f"{topview_simulator.base_url}/v1/caption/list", headers=headers)
    assert response.json()["code"] == "5003"
    assert topview_simulator.simulator.requests.counts["/v1/caption/list"] == 1
    assert topview_simulator.app is topview_simulator.simulator.app


@pytest.mark.anyio
async def test_async_context_manager() -> None:
    async with SimulatorServer(SimulatorConfig(seed=3)) as server:
        headers = {"Authorization": f"Bearer {server.api_key}", "Topview-Uid": server.uid}
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as client:
            response = await client.get("/v1/caption/list")
        assert response.json()["code"] == "200"
        assert server.simulator.serving.is_set()
    assert not server.simulator.serving.is_set()


def test_server_accepts_an_existing_simulator() -> None:
    sim = Simulator()
    with SimulatorServer(sim) as server:
        assert server.simulator is sim


def test_command_line_prints_base_url_and_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    assert main(["--port", "8123", "--seed", "4", "--time-scale", "10"]) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8123" in out
    assert "TOPVIEW_API_KEY=sk-simulator-" in out
    assert "TOPVIEW_UID=" in out
    assert calls[0]["port"] == 8123
    assert calls[0]["host"] == "127.0.0.1"


def test_plugin_import_is_light() -> None:
    code = (
        "import sys, topview_async.testing.pytest_plugin; "
        "heavy = [m for m in ('starlette', 'uvicorn') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == ""
