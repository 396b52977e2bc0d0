"""Result media over real HTTP: length, ETag, Range, and broken transfers."""

from __future__ import annotations

import httpx
import pytest

from topview_async.testing import SimulatorServer


def url(server: SimulatorServer, name: str = "clip.mp4") -> str:
    return f"{server.base_url}/_storage/media/{name}?X-Amz-Expires=86400"


def test_full_download_has_length_etag_and_is_deterministic(server: SimulatorServer) -> None:
    first = httpx.get(url(server))
    assert first.status_code == 200
    assert int(first.headers["content-length"]) == len(first.content) == 256 * 1024
    assert first.headers["accept-ranges"] == "bytes"
    assert first.headers["content-type"] == "video/mp4"
    second = httpx.get(url(server))
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    other = httpx.get(url(server, "other.mp4"))
    assert other.content != first.content
    assert other.headers["etag"] != first.headers["etag"]


def test_same_seed_same_bytes_across_simulators(server: SimulatorServer) -> None:
    with SimulatorServer(server.simulator.config) as twin:
        assert httpx.get(url(twin)).content == httpx.get(url(server)).content


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-99", 0, 99), ("bytes=100000-", 100000, 262143), ("bytes=-10", 262134, 262143)],
)
def test_range_gives_206(server: SimulatorServer, header: str, start: int, end: int) -> None:
    whole = httpx.get(url(server)).content
    part = httpx.get(url(server), headers={"Range": header})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes {start}-{end}/{len(whole)}"
    assert part.content == whole[start : end + 1]


def test_unsatisfiable_range_is_416(server: SimulatorServer) -> None:
    response = httpx.get(url(server), headers={"Range": "bytes=999999999-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */262144"


def test_if_range_with_stale_etag_sends_whole_file(server: SimulatorServer) -> None:
    response = httpx.get(url(server), headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert response.status_code == 200
    assert len(response.content) == 256 * 1024


def test_media_size_override_per_test(server: SimulatorServer) -> None:
    server.simulator.media_size = 3 * 1024 * 1024 + 5
    response = httpx.get(url(server))
    assert len(response.content) == 3 * 1024 * 1024 + 5
    head = httpx.head(url(server))
    assert head.headers["content-length"] == str(3 * 1024 * 1024 + 5)
    assert head.content == b""


def test_truncated_body_fault_closes_early(server: SimulatorServer) -> None:
    server.faults.add(path="/_storage/media/*", truncate_body=1000, times=1)
    received = bytearray()

    def read_into_received(response: httpx.Response) -> None:
        for chunk in response.iter_raw():
            received.extend(chunk)

    with httpx.stream("GET", url(server)) as response:
        assert response.headers["content-length"] == str(256 * 1024)
        with pytest.raises(httpx.RemoteProtocolError):
            read_into_received(response)
    assert len(received) == 1000
    assert len(httpx.get(url(server)).content) == 256 * 1024  # times=1: next one is whole


def test_dropped_connection_fault(server: SimulatorServer) -> None:
    server.faults.add(name="downloadMedia", drop_connection=True, times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url(server))


def test_dropped_connection_on_api_call(server: SimulatorServer) -> None:
    server.faults.add(path="/v1/caption/list", drop_connection=True, times=1)
    headers = {"Authorization": f"Bearer {server.api_key}", "Topview-Uid": server.uid}
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{server.base_url}/v1/caption/list", headers=headers)
    assert httpx.get(f"{server.base_url}/v1/caption/list", headers=headers).json()["code"] == "200"
