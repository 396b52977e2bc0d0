"""Issue 23: a notice is handled once per outcome, and its secret stays out of access logs."""

from __future__ import annotations

import functools
import logging
import socket
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from topview_async._generated.models import VideoAvatarTaskResult
from topview_async.webhooks import (
    InMemoryDeliveryStore,
    build_notice_url,
    parse_notice,
    topview_webhook_router,
)
from topview_async.webhooks._store import notice_key

from .test_webhook_router import FakeFetcher, Recorder, fastapi_app, post
from .webhook_samples import SECRET, TASK_ID, UID, notice_body

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (notice_body("ZERO_SHOT_AVATAR"), f"video_avatar:{TASK_ID}:succeeded"),
        (notice_body("ZERO_SHOT_AVATAR", uuid="other"), f"video_avatar:{TASK_ID}:succeeded"),
        (notice_body("ZERO_SHOT_AVATAR", status="fail"), f"video_avatar:{TASK_ID}:failed"),
        (notice_body("ZERO_SHOT_AVATAR", status="failed"), f"video_avatar:{TASK_ID}:failed"),
        (notice_body("M2V_PREVIEW"), f"m2v:{TASK_ID}:succeeded"),
        # An export's notice names no script: its uuid tells one export from the next.
        (notice_body("M2V_EXPORT", uuid="e1"), f"m2v_export:{TASK_ID}:uuid=e1"),
        (notice_body("NEW_KIND"), f"bizType=NEW_KIND:{TASK_ID}:succeeded"),
    ],
)
def test_notice_key_names_the_outcome(body: dict[str, Any], key: str) -> None:
    assert notice_key(parse_notice(body)) == key


async def test_a_forged_status_under_a_new_uuid_is_checked_then_not_handled_again() -> None:
    # The API says success; each re-post claiming failure under a new uuid costs one lookup
    # (a forged notice can cause no more), then is known as the outcome already handled.
    body = notice_body("ZERO_SHOT_AVATAR")
    fetcher = FakeFetcher(VideoAvatarTaskResult.model_validate(body["result"]))
    handler = Recorder()
    app = fastapi_app(handler=handler, fetcher=fetcher, store=InMemoryDeliveryStore())

    assert (await post(app, body)).status_code == 200
    forged = notice_body("ZERO_SHOT_AVATAR", uuid="forged", status="fail")
    assert (await post(app, forged)).status_code == 200
    assert (await post(app, forged)).status_code == 200

    assert [n.uuid for n in handler.notices] == [body["uuid"]]
    assert len(fetcher.calls) == 3


class _Lines(logging.Handler):
    """Collects access log lines exactly as uvicorn's own access formatter writes them."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(uvicorn.logging.AccessFormatter(use_colors=False))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.mark.parametrize("in_path", [False, True], ids=["query", "path"])
async def test_the_secret_is_not_in_uvicorns_access_log(in_path: bool) -> None:
    path = "/topview/notice/{token}" if in_path else "/topview/notice"
    app = FastAPI()
    router = topview_webhook_router(secret=SECRET, handler=Recorder(), topview_uid=UID, path=path)
    app.include_router(router)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    # uvicorn's standard logging set-up (its dictConfig) runs here, after the router exists.
    server = uvicorn.Server(uvicorn.Config(app, access_log=True, log_level="info"))
    lines = _Lines()
    access = logging.getLogger("uvicorn.access")
    access.addHandler(lines)
    url = build_notice_url(f"{base}/topview/notice", SECRET, in_path=in_path)
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(functools.partial(server.serve, sockets=[sock]))
            try:
                async with httpx.AsyncClient(timeout=10) as http:
                    ok = await http.post(url, json=notice_body(), headers={"Topview-Uid": UID})
                    wrong = await http.post(
                        f"{base}/topview/notice?token=wrong-secret-0123456789", json={}
                    )
            finally:
                server.should_exit = True
    finally:
        access.removeHandler(lines)
        sock.close()

    assert ok.status_code == 200
    assert wrong.status_code in (403, 404)
    assert len(lines.lines) == 2, lines.lines
    text = "\n".join(lines.lines)
    assert SECRET not in text
    assert "wrong-secret-0123456789" not in text
    assert '"POST /topview/notice' in text  # the line is there, only the secret is masked
    assert "***" in lines.lines[0]
