"""``nox -s live``: skipped without credentials, and against the simulator (base URL override)
it calls every free read, validates each reply against the spec and prints the verdicts."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from pathlib import Path

import _skip
import httpx
import pytest
import run_live

from topview_async.testing import SimulatorConfig, SimulatorServer
from topview_async.testing._faults import Fault

SPEC = run_live.load_spec()


@pytest.mark.parametrize(
    "env", [{}, {"TOPVIEW_API_KEY": "sk-x"}, {"TOPVIEW_UID": "u", "TOPVIEW_API_KEY": " "}]
)
def test_without_credentials_it_is_skipped_saying_why(env: dict[str, str]) -> None:
    out = io.StringIO()
    assert run_live.run(env, out) == 0
    assert out.getvalue().strip() == run_live.SKIP_REASON
    assert "TOPVIEW_API_KEY and TOPVIEW_UID" in run_live.SKIP_REASON


def test_the_plan_is_free_reads_and_the_notice_check_only() -> None:
    calls = {call.operation_id: call for call in run_live.plan(SPEC, "https://example.com/")}
    assert {"listVoices", "getCreditDetail", "listCreditLogs", "listM2vTasks", "listBoards"} <= set(
        calls
    )
    assert "checkNoticeUrl" in calls
    kinds = {
        op["operationId"]: op["x-topview-kind"]
        for item in SPEC["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
    }
    assert {kinds[name] for name in calls} == {"read", "write"}
    assert [name for name in calls if kinds[name] == "write"] == ["checkNoticeUrl"]
    assert not any(name.startswith(("submit", "query", "delete", "create")) for name in calls)
    assert "getUploadCredential" not in calls


def _acknowledge(request: httpx.Request) -> httpx.Response:
    """The notice receiver: acknowledges the simulator's test notice as Topview requires."""
    body = json.loads(request.content)
    result = {
        "uuid": body["uuid"],
        "topviewUid": request.headers["topview-uid"],
        "result": "success",
    }
    return httpx.Response(200, json={"code": "200", "message": "Success", "result": result})


def test_against_the_simulator_every_verdict_is_printed() -> None:
    faults = [
        Fault(name="listCaptions", business_code="4006"),
        Fault(name="listEthnicities", http_status=502),
    ]
    config = SimulatorConfig(faults=faults, callback_transport=httpx.MockTransport(_acknowledge))
    with SimulatorServer(config) as server:
        env = {
            "TOPVIEW_API_KEY": server.api_key,
            "TOPVIEW_UID": server.uid,
            "TOPVIEW_BASE_URL": server.base_url,
        }
        out = io.StringIO()
        status = run_live.run(env, out)
        requests = [(r.method, r.path) for r in server.simulator.requests]
        base_url = server.base_url
    text = out.getvalue()
    assert status == 1  # two operations did not conform
    assert f"against {base_url} (read-only)" in text
    planned = run_live.plan(SPEC, "https://example.com/")
    for call in planned:
        assert re.search(rf"^\w[\w-]* +{call.operation_id}\b", text, re.M), call.operation_id
    assert re.search(r"^OK +listVoices$", text, re.M)
    assert re.search(r"^OK +listBoardTasks", text, re.M)  # with the board listBoards found
    assert re.search(r"^OK +checkNoticeUrl", text, re.M)
    assert "live: " + f"{len(planned) - 2} conform, 2 do not" in text
    assert re.search(r"^API-ERROR +listCaptions: code 4006", text, re.M)
    assert re.search(r"^HTTP-ERROR +listEthnicities: HTTP 502", text, re.M)
    assert "live: " in text.splitlines()[-1]
    assert all(method in ("GET", "POST") for method, _ in requests)
    assert [path for method, path in requests if method == "POST"] == ["/notice/notice_url/check"]


def _call(operation_id: str) -> run_live.Call:
    return next(c for c in run_live.plan(SPEC, "https://x.test/") if c.operation_id == operation_id)


def test_fields_the_spec_lacks_are_listed_and_a_schema_break_is_invalid() -> None:
    body = {
        "code": "200",
        "message": "Success",
        "result": [{"captionId": "c1", "thumbnail": "https://x.test/t.png", "brandNew": 1}],
    }
    verdict = run_live.check(SPEC, _call("listCaptions"), httpx.Response(200, json=body))
    assert verdict.status == "ok"
    assert verdict.unknown == ["result[].brandNew"]
    assert "1 field(s) the spec lacks" in verdict.line()

    broken = {"code": "200", "message": "Success", "result": "not a list"}
    verdict = run_live.check(SPEC, _call("listCaptions"), httpx.Response(200, json=broken))
    assert verdict.status == "invalid"


ROOT = Path(__file__).resolve().parents[2]


def test_live_is_not_a_ci_session() -> None:
    noxfile = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    default = re.search(r"^nox\.options\.sessions = \[(.*?)\]$", noxfile, re.M | re.S)
    assert default is not None
    assert '"live"' not in default.group(1)
    assert "def live(" in noxfile
    assert "live" not in (ROOT / "dev").read_text(encoding="utf-8")


def test_nox_session_is_skipped_saying_why_without_credentials(tmp_path: Path) -> None:
    nox = ROOT / ".nox" / "_bootstrap" / "bin" / "nox"
    if not nox.exists():
        pytest.skip("no nox bootstrap (run ./dev once)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPVIEW_")}
    env["NOX_ENVDIR"] = str(tmp_path)
    done = subprocess.run(
        [str(nox), "-f", str(ROOT / "noxfile.py"), "--envdir", str(tmp_path), "-s", "live"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"Session live skipped: {_skip.REASON}" in done.stderr
    assert "pip install" not in done.stderr
    assert "uv pip" not in done.stderr
