"""The fault kinds beyond answers: drops before the handler and mid-upload, resets,
stalls and trickles, media that changes between attempts, Range ignored; and the CLI."""

from __future__ import annotations

import socket
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from sim_helpers import ok

from topview_async.testing import Fault, ManualClock, Simulator, SimulatorConfig, SimulatorServer
from topview_async.testing import __main__ as cli
from topview_async.testing._faults import CONTENT_CHANGES, every_fault, parse_fault

SUBMIT = "/v1/scraper/task/submit"
LINK = {"productLink": "https://shop.test/p"}
MEDIA = "/_storage/media/clip.mp4"
SIZE = 256 * 1024


def headers_for(server: SimulatorServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.api_key}", "Topview-Uid": server.uid}


def raw_get(server: SimulatorServer, path: str) -> tuple[bytes, BaseException | None]:
    """GET over a bare socket: every byte received, and how the connection ended."""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n".encode())
        received = bytearray()
        for _ in range(10_000):  # bounded: at most this many reads
            try:
                data = sock.recv(65536)
            except OSError as exc:
                return bytes(received), exc
            if not data:
                return bytes(received), None
            received += data
    raise AssertionError("the connection never ended")


# --- connections ------------------------------------------------------------------------


@pytest.mark.parametrize("reset", [False, True])
def test_drop_before_the_handler_creates_no_task(server: SimulatorServer, reset: bool) -> None:
    fault = server.faults.add(path=SUBMIT, drop_before_handler=True, reset=reset, times=1)
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{server.base_url}{SUBMIT}", json=LINK, headers=headers_for(server))
    assert fault.hits == 1
    assert server.simulator.tasks == {}  # the request arrived, the handler never ran
    (logged,) = server.simulator.requests.for_path(SUBMIT)
    assert b"productLink" in logged.body
    # Unlike a drop after the headers, which happens once the task exists.
    server.faults.add(path=SUBMIT, drop_connection=True, times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(f"{server.base_url}{SUBMIT}", json=LINK, headers=headers_for(server))
    assert len(server.simulator.tasks) == 1


def test_reset_sends_rst_where_a_drop_closes(server: SimulatorServer) -> None:
    server.faults.add(path=MEDIA, truncate_body=1000, times=1)
    closed, error = raw_get(server, MEDIA)
    assert error is None  # FIN: the bytes sent before it all arrive
    assert len(closed.split(b"\r\n\r\n", 1)[1]) == 1000

    server.faults.add(path=MEDIA, truncate_body=1000, reset=True, times=1)
    _, error = raw_get(server, MEDIA)
    assert isinstance(error, ConnectionResetError)

    server.faults.add(path=MEDIA, drop_before_handler=True, reset=True, times=1)
    received, error = raw_get(server, MEDIA)
    assert isinstance(error, ConnectionResetError)
    assert received == b""


def test_drop_in_the_middle_of_an_upload_body(server: SimulatorServer) -> None:
    client = httpx.Client(base_url=server.base_url, headers=headers_for(server))
    credential = ok(client.get("/v1/upload/credential", params={"format": "mp4"}))
    server.faults.add(path="/_storage/upload/*", drop_request_body=100_000, times=1)
    body = b"v" * (2 << 20)
    with pytest.raises(httpx.TransportError):
        httpx.put(credential["uploadUrl"], content=body)
    upload = server.simulator.uploads[credential["fileId"]]
    assert upload.data is None  # nothing stored
    (put,) = server.simulator.requests.for_path(f"/_storage/upload/{credential['fileId']}.mp4")
    assert len(put.body) == 100_000  # logged with the part that arrived

    assert httpx.put(credential["uploadUrl"], content=body).status_code == 200
    assert upload.data == body
    client.close()


# --- slow bodies (in process: the sleeps are recorded, not waited) -------------------------


def recording_sim() -> tuple[Simulator, list[float]]:
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    return Simulator(SimulatorConfig(clock=ManualClock(), sleep=record)), slept


async def serve_media(sim: Simulator, sent: list[bytes]) -> None:
    """One GET of MEDIA through the app, recording each body piece as it is sent."""
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": MEDIA,
        "raw_path": MEDIA.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"sim")],
        "client": ("127.0.0.1", 1),
        "server": ("sim", 80),
    }

    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if requested:  # the client never disconnects: the response ends the call
            await anyio.sleep_forever()
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            sent.append(message.get("body", b""))

    await sim.app(scope, receive, send)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_stall_in_the_middle_of_a_body() -> None:
    sent: list[bytes] = []
    sent_at_sleep: list[int] = []

    async def record(seconds: float) -> None:
        sent_at_sleep.append(sum(map(len, sent)))

    sim = Simulator(SimulatorConfig(clock=ManualClock(), sleep=record))
    sim.faults.add(path=MEDIA, stall=2.5, stall_after=100_000, times=1)
    await serve_media(sim, sent)
    assert sent_at_sleep == [100_000]  # one pause, exactly after stall_after bytes
    assert b"".join(sent) == sim.media.read("clip.mp4", 0, SIZE - 1)


@pytest.mark.anyio
async def test_trickle_sends_small_pieces_at_a_rate() -> None:
    sent: list[bytes] = []
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    sim = Simulator(SimulatorConfig(clock=ManualClock(), sleep=record))
    sim.faults.add(path=MEDIA, trickle_rate=64 * 1024, stall_after=SIZE // 2, times=1)
    await serve_media(sim, sent)
    assert b"".join(sent) == sim.media.read("clip.mp4", 0, SIZE - 1)
    assert sum(slept) == pytest.approx((SIZE // 2) / (64 * 1024))
    assert len(slept) == (SIZE // 2) // (8 * 1024)
    trickled = [piece for piece in sent if piece][-len(slept) :]
    assert {len(piece) for piece in trickled} == {8 * 1024}


# --- media that changes, servers that ignore Range -----------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("how", CONTENT_CHANGES)
async def test_content_changes_between_attempts(how: str) -> None:
    sim, _ = recording_sim()
    sim.faults.add(path=MEDIA, change_content=how, times=1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app)) as client:
        first = await client.get(f"http://sim{MEDIA}")
        second = await client.get(f"http://sim{MEDIA}")
    assert first.content != second.content
    assert first.content == sim.media.read("clip.mp4", 0, SIZE - 1, version=0)
    assert second.content == sim.media.read("clip.mp4", 0, SIZE - 1)
    assert sim.media.version("clip.mp4") == 1
    etags = (first.headers.get("etag"), second.headers.get("etag"))
    if how == "new_etag":
        assert None not in etags
        assert etags[0] != etags[1]
    elif how == "same_etag":
        assert etags[0] is not None
        assert etags[0] == etags[1]
    else:
        assert etags == (None, None)


@pytest.mark.anyio
async def test_ignore_range_and_ignore_if_range() -> None:
    sim, _ = recording_sim()
    ignore = sim.faults.add(path=MEDIA, ignore_range=True, times=1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app)) as client:
        plain = await client.get(f"http://sim{MEDIA}")
        assert ignore.hits == 0  # only a request with Range counts
        ranged = await client.get(f"http://sim{MEDIA}", headers={"Range": "bytes=100-"})
        assert ignore.hits == 1
        assert ranged.status_code == 200
        assert ranged.content == plain.content

        sim.faults.add(path=MEDIA, ignore_if_range=True, times=1)
        stale = {"Range": "bytes=100-", "If-Range": '"stale"'}
        lied = await client.get(f"http://sim{MEDIA}", headers=stale)
        honest = await client.get(f"http://sim{MEDIA}", headers=stale)
    assert lied.status_code == 206
    assert lied.content == plain.content[100:]
    assert honest.status_code == 200


# --- from text and the command line -------------------------------------------------------


def test_parse_fault_reads_flags_and_typed_values() -> None:
    fault = parse_fault("path=/_storage/media/*, truncate_body=1000, reset, rate=0.1")
    assert fault == Fault(path="/_storage/media/*", truncate_body=1000, reset=True, rate=0.1)
    assert parse_fault("name=submitM2vTask,drop-before-handler,times=2").times == 2
    assert parse_fault("change_content=same_etag").change_content == "same_etag"
    with pytest.raises(ValueError, match="unknown fault option 'tuncate_body'"):
        parse_fault("tuncate_body=3")
    with pytest.raises(ValueError, match="needs a value"):
        parse_fault("rate")
    with pytest.raises(ValueError, match="change_content"):
        parse_fault("change_content=sometimes")


def test_every_fault_covers_every_kind() -> None:
    faults = every_fault(0.1)
    assert all(f.rate is not None and 0 < f.rate < 0.1 for f in faults)
    for flag in (
        "drop_before_handler",
        "drop_connection",
        "reset",
        "ignore_range",
        "ignore_if_range",
    ):
        assert any(getattr(f, flag) for f in faults), flag
    assert any(f.drop_request_body is not None for f in faults)
    assert any(f.truncate_body is not None for f in faults)
    assert any(f.stall > 0 for f in faults)
    assert any(f.trickle_rate for f in faults)
    assert {f.change_content for f in faults} >= set(CONTENT_CHANGES)
    assert any(f.http_status for f in faults)
    assert any(f.business_code for f in faults)
    with pytest.raises(ValueError):
        every_fault(1.5)


def test_command_line_selects_faults_and_failures(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    configs: list[SimulatorConfig] = []

    class Recording(Simulator):
        def __init__(self, config: SimulatorConfig | None = None) -> None:
            assert config is not None
            configs.append(config)
            super().__init__(config)

    # The command builds its Simulator where it serves (testing._command, one parser for
    # python -m topview_async.testing and topview simulator).
    monkeypatch.setattr("topview_async.testing._simulator.Simulator", Recording)
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: None)
    argv = [
        "--fault",
        "path=/v1/*/submit,drop_before_handler,rate=0.2",
        "--fault",
        "name=downloadMedia,truncate_body=5000,reset",
        "--chaos",
        "0.1",
        "--failure-probability",
        "0.05",
        "--failure-probability",
        "m2v=0.5",
    ]
    assert cli.main(argv) == 0
    (config,) = configs
    faults = list(config.faults)
    assert faults[0] == Fault(path="/v1/*/submit", drop_before_handler=True, rate=0.2)
    assert faults[1] == Fault(name="downloadMedia", truncate_body=5000, reset=True)
    assert len(faults) == 2 + len(every_fault(0.1))
    assert config.failure_probability["m2v"] == 0.5
    assert config.failure_probability["scraper"] == 0.05
    out = capsys.readouterr().out
    assert "fault: path=/v1/*/submit, drop_before_handler=True, rate=0.2" in out

    with pytest.raises(SystemExit):
        cli.main(["--fault", "nonsense=1"])
    with pytest.raises(SystemExit):
        cli.main(["--failure-probability", "unknown_kind=0.1"])
