"""Per-call options: what one call (or a client made by ``with_options``) changes.

Every generated method takes ``timeout=``, ``extra_headers=``, ``extra_query=``,
``extra_body=`` and ``retry=`` (openai-python's names and meanings); they travel into the
request pipeline as one :class:`RequestOptions`, which the pipeline reads at the start of a
call. Nothing here sends anything.

* ``timeout``: seconds or an :class:`httpx.Timeout` for this call's attempts; ``None``
  disables timeouts; not given: the client's.
* ``retry``: a :class:`~topview_async.RetryPolicy` for this call; ``None``: one attempt.
* ``extra_headers``: headers added to (or replacing) the SDK's own; credentials still go to
  the base URL only.
* ``extra_query``: query parameters added to the URL (after the declared ones).
* ``extra_body``: JSON fields merged into the body after local validation (a field Topview
  takes that the spec does not know yet); the body's own fields are replaced by them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from ._config import NOT_GIVEN, NotGiven, RetryPolicy, timeout_dict
from ._exceptions import ConfigurationError

if TYPE_CHECKING:
    import httpx

__all__ = [
    "RESERVED_ARGUMENTS",
    "Body",
    "Headers",
    "Query",
    "RequestOptions",
    "TimeoutTypes",
    "timeouts_of",
]

Headers: TypeAlias = Mapping[str, str]
"""``extra_headers=``: header name to value."""
Query: TypeAlias = Mapping[str, object]
"""``extra_query=``: parameter name to value (``None`` dropped, lists repeated, bools as
``true``/``false``, as for declared parameters)."""
Body: TypeAlias = Mapping[str, object]
"""``extra_body=``: JSON field name (wire spelling) to value."""
TimeoutTypes: TypeAlias = "float | httpx.Timeout | None"
"""``timeout=``: seconds, an :class:`httpx.Timeout`, or ``None`` (no timeout)."""

RESERVED_ARGUMENTS: Final = frozenset(
    {"timeout", "retry", "extra_headers", "extra_query", "extra_body"}
)
"""Argument names every generated method takes; codegen refuses a spec parameter named so."""


@dataclass(frozen=True, slots=True)
class RequestOptions:
    """What one call changes; the request pipeline reads it. Empty: the client's settings."""

    timeouts: dict[str, float | None] | NotGiven = NOT_GIVEN
    """``httpx.Timeout.as_dict()`` of ``timeout=``; ``NOT_GIVEN``: the client's."""
    retry: RetryPolicy | NotGiven | None = NOT_GIVEN
    extra_headers: Headers | None = None
    extra_query: Query | None = None
    extra_body: Body | None = None

    @classmethod
    def build(
        cls,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        retry: RetryPolicy | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
    ) -> RequestOptions | None:
        """The options of one call from its keyword arguments; ``None`` when none was given
        (the common case costs one comparison in the pipeline)."""
        if (
            isinstance(timeout, NotGiven)
            and isinstance(retry, NotGiven)
            and not extra_headers
            and not extra_query
            and not extra_body
        ):
            return None
        if not isinstance(retry, RetryPolicy | NotGiven | None):
            raise ConfigurationError(
                f"retry= must be a RetryPolicy or None, not {type(retry).__name__}"
            )
        for name, value in (
            ("extra_headers", extra_headers),
            ("extra_query", extra_query),
            ("extra_body", extra_body),
        ):
            if value is not None and not isinstance(value, Mapping):
                raise ConfigurationError(f"{name}= must be a mapping, not {type(value).__name__}")
        if extra_headers:
            for key, text in extra_headers.items():
                if not isinstance(key, str) or not isinstance(text, str):
                    raise ConfigurationError(
                        f"extra_headers= must map str to str, got {key!r}: {text!r}"
                    )
        return cls(
            timeouts=timeout if isinstance(timeout, NotGiven) else timeouts_of(timeout),
            retry=retry,
            extra_headers=extra_headers or None,
            extra_query=extra_query or None,
            extra_body=extra_body or None,
        )

    def merged(self, later: RequestOptions | None) -> RequestOptions:
        """These options with ``later``'s on top (a call's over its client's defaults)."""
        if later is None:
            return self
        return RequestOptions(
            timeouts=self.timeouts if isinstance(later.timeouts, NotGiven) else later.timeouts,
            retry=self.retry if isinstance(later.retry, NotGiven) else later.retry,
            extra_headers=_merge(self.extra_headers, later.extra_headers),
            extra_query=_merge(self.extra_query, later.extra_query),
            extra_body=_merge(self.extra_body, later.extra_body),
        )


def _merge(first: Mapping[str, Any] | None, second: Mapping[str, Any] | None) -> Any:
    if not first:
        return second
    if not second:
        return first
    return {**first, **second}


def timeouts_of(timeout: object) -> dict[str, float | None]:
    """``timeout=`` as ``httpx.Timeout.as_dict()``; a typed error for what is none."""
    message = f"timeout= must be seconds, an httpx.Timeout or None, not {timeout!r}"
    try:
        timeouts = timeout_dict(timeout)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(message) from exc
    for value in timeouts.values():
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or value < 0
        ):
            raise ConfigurationError(message)
    return timeouts
