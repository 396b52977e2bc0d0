"""aiohttp failures as the httpx exceptions that say how far a request got.

One mapping for both send paths: the httpx transport (:mod:`._transport`) raises what it
returns, and the direct path (:meth:`._pool.AiohttpPool.send_bytes`) calls it only once an
attempt failed, so a call that succeeds never imports httpx. The table of what maps to what,
and why (a paid submit may only be retried when the request provably never reached Topview),
is in :mod:`._transport`'s docstring. Its own module, below both, so that neither send path
imports the other.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl as ssl_module
from typing import TYPE_CHECKING

import aiohttp

if TYPE_CHECKING:
    import httpx

__all__ = ["map_aiohttp_exception"]


class _WriteTimedOut(asyncio.TimeoutError):
    """aiohttp spent longer than the write timeout on one chunk of a request body."""


def _connect_message(exc: aiohttp.ClientConnectorError) -> str:
    """``cannot connect to host:port: reason``, without aiohttp's ``ssl:default`` noise."""
    cause: object = getattr(exc, "certificate_error", None) or exc.os_error
    if isinstance(cause, ssl_module.SSLError | ssl_module.CertificateError):
        reason = str(cause)
    elif isinstance(cause, socket.gaierror):  # DNS: negative EAI_* codes, own messages
        reason = cause.strerror or str(cause)
    elif isinstance(cause, OSError) and cause.errno:
        reason = os.strerror(cause.errno)  # asyncio's text repeats the address
    else:
        reason = str(cause) or type(cause).__name__
    where = "proxy" if isinstance(exc, aiohttp.ClientProxyConnectionError) else ""
    return f"cannot connect to {where + ' ' if where else ''}{exc.host}:{exc.port}: {reason}"


def map_aiohttp_exception(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx exception that says precisely how far ``request`` got (see the module table)."""
    import httpx

    message = str(exc) or type(exc).__name__
    mapped: httpx.TransportError
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        mapped = httpx.ConnectTimeout(message, request=request)
    elif isinstance(exc, aiohttp.ClientConnectorError):
        mapped = httpx.ConnectError(_connect_message(exc), request=request)
    elif isinstance(exc, _WriteTimedOut):
        mapped = httpx.WriteTimeout(message, request=request)
    elif isinstance(exc, aiohttp.ClientHttpProxyError):
        mapped = httpx.ProxyError(message, request=request)
    elif isinstance(exc, asyncio.TimeoutError):
        mapped = httpx.ReadTimeout(message, request=request)
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        mapped = httpx.RemoteProtocolError(message, request=request)
    elif isinstance(exc, aiohttp.InvalidURL):
        mapped = httpx.UnsupportedProtocol(message, request=request)
    else:
        # Anything else may have happened after the request was written: say so.
        mapped = httpx.ReadError(message, request=request)
    return mapped
