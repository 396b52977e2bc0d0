"""What a Topview call looks like on the wire, both ways.

Out: a body validated locally against its request model (:func:`validate_body`), the query
string and the JSON bytes encoded exactly as httpx would encode them, held together in a
:class:`Call`. Back: a :class:`Reply` from either send path, its ``{code, message, result}``
envelope parsed step by step (:func:`parse_envelope`) or, on the success path, in one pass
(:class:`Envelope`). Deciding what a reply *means* (error, retry) is :mod:`._retrying`'s job;
sending is :mod:`._pipeline`'s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import quote_plus

import pydantic
import pydantic_core

from ._exceptions import InvalidInputError
from ._generated.rules import BODY_RULES
from ._models import TopviewModel
from ._operation import Operation
from ._rules import check_body_rules

if TYPE_CHECKING:
    import httpx

__all__ = [
    "SUCCESS_CODE",
    "Call",
    "Envelope",
    "Reply",
    "encode_query",
    "json_bytes",
    "parse_envelope",
    "query_string",
    "summarise_validation_error",
    "validate_body",
]

_T = TypeVar("_T")

SUCCESS_CODE = "200"


@dataclass(slots=True)
class Call:
    """Everything about one call that stays the same across attempts."""

    operation: Operation
    url: str
    """Absolute and percent-encoded, query included (as httpx would have built it)."""
    json_body: dict[str, object] | None
    task_id: str | None
    file_id: str | None
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """The API key and uid, only to scrub them from reply bodies kept in error messages."""
    timeouts: dict[str, float | None] | None = None
    """This call's ``httpx.Timeout.as_dict()`` (``None``: the injected ``http_client``'s)."""
    extra_headers: Mapping[str, str] | None = field(default=None, repr=False)
    """``extra_headers=`` of the call (or of its ``with_options`` client), on top of the SDK's."""
    raw: bool = False
    """A ``with_raw_response`` call: sent through httpx so the whole response is kept."""
    reply: Reply | None = field(default=None, repr=False)
    """The last attempt's reply (what a raw response shows)."""

    def ids(self) -> dict[str, Any]:
        return {"operation": self.operation, "task_id": self.task_id, "file_id": self.file_id}


class Reply:
    """What an attempt got back, from either send path."""

    __slots__ = ("content", "response", "retry_after", "status")

    def __init__(
        self,
        status: int,
        retry_after: str | None,
        content: bytes,
        response: httpx.Response | None = None,
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        self.content = content
        self.response = response

    @property
    def text(self) -> str:
        """The body as text, for error messages only.

        Through httpx: httpx's decoding (charset of the response). Direct: UTF-8, which is
        what Topview sends; undecodable bytes are replaced, never raised.
        """
        if self.response is not None:
            return self.response.text
        return self.content.decode("utf-8", errors="replace")


class Envelope(pydantic.BaseModel, Generic[_T]):
    """``{code, result}`` parsed and validated from the body's bytes in one pass.

    Only the success path uses it, as a shortcut: anything it does not accept (another
    code, a missing or invalid result, a body that is not an envelope) is decided by the
    step-by-step path (:func:`parse_envelope`, then the result's ``TypeAdapter``).
    """

    code: Any = None
    result: _T


def validate_body(
    operation: Operation, body: Mapping[str, object], body_model: type[TopviewModel] | None
) -> dict[str, object]:
    """Validate a request body locally and return its wire JSON; nothing is sent.

    Raises :class:`InvalidInputError`. The pipeline calls it for every request; the task
    layer also calls it before uploading a submit's local files, so a bad argument never
    costs an upload.
    """
    cleaned: dict[str, object] = pydantic_core.to_jsonable_python(
        {key: value for key, value in body.items() if value is not None},
        by_alias=True,
        exclude_none=True,
    )
    if body_model is None:
        return cleaned
    try:
        model = body_model.model_validate(cleaned)
    except pydantic.ValidationError as exc:
        raise InvalidInputError(
            f"invalid arguments for {operation}: {summarise_validation_error(exc)}",
            operation=operation,
        ) from exc
    wire = model.to_wire()
    rules = BODY_RULES.get(body_model.__name__)
    if rules:
        check_body_rules(operation, wire, rules)
    return wire


def json_bytes(body: dict[str, object]) -> bytes:
    """The request body exactly as httpx's ``json=`` encodes it."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def encode_query(query: Mapping[str, object] | None) -> list[tuple[str, str]]:
    """Query pairs: ``None`` dropped, bools as ``true``/``false``, list items repeated."""
    pairs: list[tuple[str, str]] = []
    for name, value in (query or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((name, _query_value(item)) for item in values if item is not None)
    return pairs


def query_string(pairs: list[tuple[str, str]]) -> str:
    """``urllib.parse.urlencode(pairs)``, which is what httpx sends, minus its cost for the
    usual plain ASCII ids (they need no quoting)."""
    return "&".join(f"{_quote(name)}={_quote(value)}" for name, value in pairs)


def _quote(text: str) -> str:
    return text if text.isascii() and text.isalnum() else quote_plus(text)


def _query_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return _query_value(value.value)
    return str(value)


def parse_envelope(content: bytes) -> tuple[str, str, object] | None:
    """``(code, message, result)`` when ``content`` is a JSON object with a ``code``."""
    try:
        data = json.loads(content)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("code") is None or isinstance(data["code"], bool):
        return None
    message = data.get("message")
    return (
        str(data["code"]).strip(),
        message if isinstance(message, str) else "",
        data.get("result"),
    )


def summarise_validation_error(exc: pydantic.ValidationError, limit: int = 5) -> str:
    """``field.sub: message; ...`` without the offending values (they may be large)."""
    parts = [
        f"{'.'.join(str(part) for part in error['loc']) or '<root>'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)[:limit]
    ]
    if exc.error_count() > limit:
        parts.append(f"and {exc.error_count() - limit} more")
    return "; ".join(parts)
