"""The three-step upload flow: credential, presigned PUT, check (REFERENCE §3).

The credential hands out a URL on the simulator's own ``/_storage/upload/`` path that
looks like an S3 presigned URL: an HMAC signature over path, date and expiry in the
query string. The PUT behaves like S3 for such URLs: an ``Authorization`` header is
refused (400), an expired or tampered URL is refused (403), both with an XML body.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from .._generated.task_kinds import UPLOAD_FORMATS
from ..lib._files import CONTENT_TYPES
from ._errors import ApiError, envelope
from ._validation import query_bool, query_string

if TYPE_CHECKING:
    from ._simulator import Simulator
    from ._tasks import SimTask


_AMZ_DATE = "%Y%m%dT%H%M%SZ"


@dataclass
class StoredUpload:
    """A file id handed out by the credential endpoint (or produced by the scraper)."""

    file_id: str
    format: str
    uid: str
    issued_at: float
    data: bytes | None = None
    content_type: str | None = None
    source_task: SimTask | None = None
    """Set for scraper media: usable once that task has succeeded."""

    def usable(self, now: float) -> bool:
        """Whether the file can be referenced by a submit (and the check says true)."""
        if self.source_task is not None:
            return self.source_task.status(now) == "success"
        return self.data is not None


def _signature(sim: Simulator, path: str, amz_date: str, expires: str) -> str:
    key = hashlib.sha256(f"storage:{sim.config.seed}:{sim.config.api_key}".encode()).digest()
    message = f"PUT\n{path}\n{amz_date}\n{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


async def credential(request: Request, sim: Simulator) -> Response:
    """GET /v1/upload/credential."""
    query = request.query_params
    file_format = query_string(query, "format", required=True)
    assert file_format is not None
    if file_format.lower() not in UPLOAD_FORMATS:
        raise ApiError("4000", f"format must be one of {', '.join(UPLOAD_FORMATS)}")
    query_bool(query, "needAccelerateUrl")
    file_format = file_format.lower()
    file_id = sim.new_id()
    sim.uploads[file_id] = StoredUpload(file_id, file_format, sim.uid_of(request), sim.now())
    path = f"/_storage/upload/{file_id}.{file_format}"
    ttl = int(sim.config.upload_url_ttl)
    signed_at = sim.now()
    fault = getattr(request.state, "fault", None)
    if fault is not None and getattr(fault, "expired_upload_url", False):
        signed_at -= ttl + 60  # signed long enough ago that the URL is dead on arrival
    amz_date = datetime.fromtimestamp(signed_at, UTC).strftime(_AMZ_DATE)
    expires = str(ttl)
    params = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"SIMULATOR/{amz_date[:8]}/us-east-1/s3/aws4_request",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": expires,
        "X-Amz-SignedHeaders": "host",
        "X-Amz-Signature": _signature(sim, path, amz_date, expires),
    }
    return envelope(
        {
            "fileId": file_id,
            "uploadUrl": f"{sim.base_url(request)}{path}?{urlencode(params)}",
            "fileName": f"{file_id}.{file_format}",
            "format": file_format,
        }
    )


def _s3_error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>SIMULATOR</RequestId></Error>"
    )
    return Response(body, status_code=status, media_type="application/xml")


async def put_object(request: Request, sim: Simulator) -> Response:
    """PUT /_storage/upload/{fileId}.{format}: store the bytes like a presigned S3 PUT."""
    if "authorization" in request.headers:
        return _s3_error(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified",
        )
    query = request.query_params
    amz_date, expires = query.get("X-Amz-Date", ""), query.get("X-Amz-Expires", "")
    given = query.get("X-Amz-Signature", "")
    expected = _signature(sim, request.url.path, amz_date, expires)
    if not given or not hmac.compare_digest(given, expected):
        return _s3_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    issued = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=UTC).timestamp()
    if sim.now() > issued + int(expires):
        return _s3_error(403, "AccessDenied", "Request has expired")
    name = request.path_params["name"]
    file_id, _, file_format = name.partition(".")
    upload = sim.uploads.get(file_id)
    if upload is None or upload.format != file_format:
        return _s3_error(404, "NoSuchUpload", "The specified upload does not exist.")
    data = await request.body()
    upload.data = data
    upload.content_type = request.headers.get("content-type") or CONTENT_TYPES.get(file_format)
    etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
    return Response(b"", status_code=200, headers={"etag": f'"{etag}"'})


async def check(request: Request, sim: Simulator) -> Response:
    """GET /v1/upload/check: ``true`` only once the bytes were PUT (or the scraper made it)."""
    file_id = query_string(request.query_params, "fileId", required=True)
    upload = sim.uploads.get(file_id or "")
    if upload is None or upload.uid != sim.uid_of(request):
        raise ApiError("4004", f"fileId {file_id} not found")
    return envelope(upload.usable(sim.now()))
