"""The upload flow: credential, presigned PUT (real HTTP), check."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sim_helpers import code, ok

from topview_async.testing import ManualClock, SimulatorServer

FORMATS = ("mp4", "mov", "png", "jpg", "jpeg", "bmp", "webp", "mp3", "wav", "m4a")


@pytest.fixture
def api(server: SimulatorServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {server.api_key}", "Topview-Uid": server.uid}
    with httpx.Client(base_url=server.base_url, headers=headers) as client:
        yield client


def credential(api: httpx.Client, file_format: str = "png") -> dict[str, str]:
    return ok(api.get("/v1/upload/credential", params={"format": file_format}))  # type: ignore[no-any-return]


@pytest.mark.parametrize("file_format", FORMATS)
def test_documented_formats_get_a_presigned_url(api: httpx.Client, file_format: str) -> None:
    result = credential(api, file_format)
    assert result["fileName"] == f"{result['fileId']}.{file_format}"
    assert result["format"] == file_format
    url = urlsplit(result["uploadUrl"])
    assert url.path == f"/_storage/upload/{result['fileId']}.{file_format}"
    query = parse_qs(url.query)
    assert {"X-Amz-Expires", "X-Amz-Date", "X-Amz-Signature"} <= set(query)


def test_other_formats_are_4000(api: httpx.Client) -> None:
    assert code(api.get("/v1/upload/credential", params={"format": "mkv"})) == "4000"


def test_put_stores_bytes_and_check_turns_true(api: httpx.Client, server: SimulatorServer) -> None:
    result = credential(api)
    check = {"fileId": result["fileId"]}
    assert ok(api.get("/v1/upload/check", params=check)) is False
    put = httpx.put(
        result["uploadUrl"], content=b"\x89PNG fake", headers={"Content-Type": "image/png"}
    )
    assert put.status_code == 200
    assert put.content == b""
    assert put.headers["etag"].startswith('"')
    assert ok(api.get("/v1/upload/check", params=check)) is True
    stored = server.simulator.uploads[result["fileId"]]
    assert stored.data == b"\x89PNG fake"
    assert stored.content_type == "image/png"
    (recorded,) = server.simulator.requests.for_path(urlsplit(result["uploadUrl"]).path, "PUT")
    assert recorded.header("authorization") is None
    assert recorded.header("topview-uid") is None


def test_put_with_authorization_header_is_400(api: httpx.Client) -> None:
    result = credential(api)
    put = httpx.put(result["uploadUrl"], content=b"data", headers={"Authorization": "Bearer x"})
    assert put.status_code == 400
    assert "<Code>InvalidArgument</Code>" in put.text
    assert ok(api.get("/v1/upload/check", params={"fileId": result["fileId"]})) is False


def test_tampered_url_is_403(api: httpx.Client) -> None:
    result = credential(api)
    other = credential(api)
    # Same signature, other object key: the signature no longer matches.
    forged = result["uploadUrl"].replace(result["fileId"], other["fileId"])
    put = httpx.put(forged, content=b"data")
    assert put.status_code == 403
    assert "SignatureDoesNotMatch" in put.text
    assert put.headers["content-type"].startswith("application/xml")
    expires_changed = result["uploadUrl"].replace("X-Amz-Expires=3600", "X-Amz-Expires=999999")
    assert httpx.put(expires_changed, content=b"data").status_code == 403


def test_expired_url_is_403(api: httpx.Client, clock: ManualClock) -> None:
    result = credential(api)
    clock.advance(3601)
    put = httpx.put(result["uploadUrl"], content=b"data")
    assert put.status_code == 403
    assert "Request has expired" in put.text


def test_check_of_unknown_file_id_is_4004(api: httpx.Client) -> None:
    assert code(api.get("/v1/upload/check", params={"fileId": "0" * 32})) == "4004"
    assert code(api.get("/v1/upload/check")) == "4003"


def test_expired_upload_url_fault(api: httpx.Client, server: SimulatorServer) -> None:
    fault = server.faults.add(name="getUploadCredential", expired_upload_url=True, times=1)
    dead = credential(api)
    put = httpx.put(dead["uploadUrl"], content=b"data")
    assert put.status_code == 403
    assert "<Code>AccessDenied</Code>" in put.text
    assert "Request has expired" in put.text
    assert fault.hits == 1
    fresh = credential(api)  # times=1: the next URL works
    assert httpx.put(fresh["uploadUrl"], content=b"data").status_code == 200
    assert ok(api.get("/v1/upload/check", params={"fileId": fresh["fileId"]})) is True
    assert ok(api.get("/v1/upload/check", params={"fileId": dead["fileId"]})) is False
