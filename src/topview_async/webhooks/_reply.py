"""What a notice endpoint answers: the acknowledgement Topview expects, or an error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._exceptions import InvalidInputError
from .._generated.models import CallbackAcknowledgement, CallbackAcknowledgementResult

__all__ = ["WebhookReply", "build_acknowledgement"]


def build_acknowledgement(
    uuid: str,
    topview_uid: str,
    *,
    accepted: bool = True,
    code: str = "500",
    reason: str = "the notice was not processed; deliver it again",
) -> dict[str, Any]:
    """The exact JSON reply that acknowledges notice ``uuid`` (REFERENCE §4.1).

    >>> build_acknowledgement("8a1c", "uid123")  # doctest: +NORMALIZE_WHITESPACE
    {'code': '200', 'message': 'Success',
     'result': {'uuid': '8a1c', 'topviewUid': 'uid123', 'result': 'success'}}

    ``accepted=False`` refuses it: the notice reached us but was not processed, so it must be
    delivered again. Nothing in such a reply reads as delivered: ``code`` is ``code`` (never
    ``"200"``), ``message`` says why (``reason``) and ``result.result`` is ``"fail"``; send it
    with an HTTP error status (the receiver uses the same number as ``code``).
    """
    if not accepted and code == "200":
        raise InvalidInputError("a refused notice (accepted=False) must not carry code 200")
    ack = CallbackAcknowledgement(
        code="200" if accepted else code,
        message="Success" if accepted else reason,
        result=CallbackAcknowledgementResult(
            uuid=uuid, topview_uid=topview_uid, result="success" if accepted else "fail"
        ),
    )
    return ack.model_dump(mode="json", by_alias=True)


@dataclass(frozen=True)
class WebhookReply:
    """An HTTP answer for the framework adapter to send: a status code and a JSON body."""

    status_code: int
    body: dict[str, Any]

    @classmethod
    def error(cls, status_code: int, message: str) -> WebhookReply:
        """A non-acknowledgement (bad token, bad body, ...) in Topview's envelope shape."""
        return cls(status_code, {"code": str(status_code), "message": message, "result": None})
