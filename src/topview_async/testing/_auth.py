"""Topview authentication: ``Authorization: Bearer <key>`` plus ``Topview-Uid``.

A request with a wrong or missing header gets the documented answer: HTTP 200 with
code ``"401"`` and message "Unauthorized, need to login again" (REFERENCE §2).
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from starlette.requests import Request

from ._errors import ApiError

if TYPE_CHECKING:
    from ._simulator import Simulator


def authenticate(request: Request, sim: Simulator) -> str:
    """The caller's uid, recorded on the request scope; 401 unless both headers match."""
    authorization = request.headers.get("authorization", "")
    scheme, _, key = authorization.partition(" ")
    uid = request.headers.get("topview-uid", "")
    valid = (
        scheme.lower() == "bearer"
        and hmac.compare_digest(key.strip().encode(), sim.config.api_key.encode())
        and hmac.compare_digest(uid.encode(), sim.config.uid.encode())
    )
    if not valid:
        raise ApiError("401")
    request.scope["topview_uid"] = uid
    return uid
