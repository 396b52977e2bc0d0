"""Raw responses: ``.with_raw_response`` on every resource (openai-python's design).

::

    response = await client.voices.with_raw_response.list(language="en")
    print(response.status_code, response.request_id, response.headers["content-type"])
    voices = response.parse()                 # the declared model, as ``client.voices.list``

A raw call is the same call: the same validation, retries and typed errors (an error reply
still raises). It only keeps the final HTTP response so its status and headers can be read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, Generic, ParamSpec, TypeVar, cast

if TYPE_CHECKING:
    import httpx

    from ._operation import Operation

__all__ = ["REQUEST_ID_HEADERS", "RawResponse", "raw_response_method"]

ResultT = TypeVar("ResultT")
OtherT = TypeVar("OtherT")
P = ParamSpec("P")

REQUEST_ID_HEADERS: Final = ("x-request-id", "request-id", "x-amzn-requestid", "x-amz-cf-id")
"""Where :attr:`RawResponse.request_id` looks, in order. Topview documents no request id
header; these are the ones its front ends (and most gateways) send."""


class RawResponse(Generic[ResultT]):
    """The HTTP response of one call, and its result: :meth:`parse` gives the declared type."""

    __slots__ = ("_parsed", "http_response", "operation")

    def __init__(
        self, http_response: httpx.Response, parsed: ResultT, *, operation: Operation | None
    ) -> None:
        self.http_response = http_response
        """The final :class:`httpx.Response` (after retries)."""
        self.operation = operation
        """The operation called (``None`` for none of the spec's)."""
        self._parsed = parsed

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        """The request id a front end stamped on the response (see :data:`REQUEST_ID_HEADERS`)."""
        headers = self.http_response.headers
        for name in REQUEST_ID_HEADERS:
            value: str | None = headers.get(name)
            if value:
                return value
        return None

    @property
    def url(self) -> httpx.URL:
        return self.http_response.url

    @property
    def method(self) -> str:
        return self.http_response.request.method

    @property
    def content(self) -> bytes:
        """The body as received (the ``{code, message, result}`` envelope)."""
        return self.http_response.content

    @property
    def text(self) -> str:
        return self.http_response.text

    def json(self) -> Any:
        """The body as JSON, envelope included."""
        return self.http_response.json()

    def parse(self) -> ResultT:
        """The result as the method without ``with_raw_response`` returns it."""
        return self._parsed

    def _replace(self, parsed: OtherT) -> RawResponse[OtherT]:
        """The same response with another result (a submit's task handle)."""
        return RawResponse(self.http_response, parsed, operation=self.operation)

    def __repr__(self) -> str:
        return f"<RawResponse [{self.status_code}] {self.operation}>"


def raw_response_method(
    twin: Any, method: Callable[P, Awaitable[ResultT]]
) -> Callable[P, Awaitable[RawResponse[ResultT]]]:
    """``method`` of ``twin``, a resource's raw twin (whose calls return a
    :class:`RawResponse` of what ``method`` returns), typed so."""
    raw = getattr(twin, method.__name__)
    return cast("Callable[P, Awaitable[RawResponse[ResultT]]]", raw)
