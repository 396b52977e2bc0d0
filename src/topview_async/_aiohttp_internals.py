"""The aiohttp internals the SDK relies on, and nothing else: read before raising aiohttp's pin.

:func:`buffered_bytes`: when a connection breaks mid-body, aiohttp raises the error before
handing out the bytes it had already buffered (up to 2 MiB); every public read
(``read_nowait``, ``readany``, ``iter_chunks``) raises first. Those bytes are good body
bytes: handing them out lets a download resume right after them instead of fetching them
again. Only ``StreamReader._read_nowait`` returns them without raising.

:func:`disable_connection_retry`: aiohttp silently resends an idempotent request once when a
kept-alive connection drops. Retries belong to the SDK's one retry loop, where they are
counted, logged and follow the ``RetryPolicy``; the only switch is ``ClientSession``'s
declared attribute ``_retry_connection``.

Checked against :data:`CHECKED_VERSIONS`, the same range as ``pyproject.toml``'s aiohttp
dependency. ``tests/core/test_library_internals.py`` fails loudly, naming this module, when
the internal is gone or behaves differently; no error here is swallowed.
"""

from __future__ import annotations

import aiohttp

__all__ = ["CHECKED_VERSIONS", "buffered_bytes", "disable_connection_retry"]

CHECKED_VERSIONS = ">=3.10,<4"
"""aiohttp versions these internals were checked in (pyproject.toml pins the same range)."""


def buffered_bytes(content: aiohttp.StreamReader) -> bytes:
    """What ``content`` received but did not hand out yet, even after it failed.

    After a read timeout aiohttp refuses even the buffered bytes (its read timer raises
    :class:`TimeoutError`): then there is nothing to hand out, and the caller raises the
    timeout it is handling anyway.
    """
    try:
        return bytes(content._read_nowait(-1))
    except TimeoutError:
        return b""


def disable_connection_retry(session: aiohttp.ClientSession) -> None:
    """Make ``session`` send each request once: no silent resend on a dropped keep-alive."""
    session._retry_connection = False
