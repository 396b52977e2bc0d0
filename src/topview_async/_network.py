"""Network settings as httpx derives them: the TLS context and which proxy serves which URL.

Both the aiohttp transport and httpx's own transport (on trio) must honour ``verify``, ``cert``,
``proxy`` and ``trust_env`` exactly as ``httpx.AsyncClient`` does, so this module reuses httpx's
own pieces instead of re-deriving them: :func:`httpx.create_ssl_context` (certifi as the default
trust store, ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when the environment is trusted), and httpx's
reading of ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``/``NO_PROXY`` (either case) and its URL
patterns, matched most specific first as ``httpx.AsyncClient`` routes its mounts (those two
are httpx internals, imported through :mod:`._httpx_internals` only).
"""

from __future__ import annotations

import base64
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias
from urllib.request import getproxies

from ._exceptions import ConfigurationError

# httpx is imported where a proxy or TLS is configured, not here: a plain client's first
# call must not pay for it (see _pool.py).
if TYPE_CHECKING:
    import httpx

    from ._httpx_internals import URLPattern

__all__ = ["CertTypes", "ProxyRoute", "ProxyRoutes", "ProxyTypes", "VerifyTypes", "ssl_context"]

VerifyTypes: TypeAlias = "bool | str | os.PathLike[str] | ssl.SSLContext"
CertTypes: TypeAlias = "str | tuple[str, str] | tuple[str, str, str]"
ProxyTypes: TypeAlias = "str | httpx.URL | httpx.Proxy"


def ssl_context(
    verify: VerifyTypes = True, cert: CertTypes | None = None, *, trust_env: bool = True
) -> ssl.SSLContext:
    """The context httpx would build for ``verify`` and ``cert``.

    ``verify``: ``True`` (certifi, or ``SSL_CERT_FILE``/``SSL_CERT_DIR`` with ``trust_env``),
    ``False`` (no verification), a CA bundle file or directory, or a ready ``SSLContext``.
    ``cert``: a client certificate file, or ``(certfile, keyfile[, password])``.
    """
    if isinstance(verify, str | os.PathLike):
        # What httpx does for a path (it now asks for a context instead, with a warning).
        path = os.fspath(verify)
        if not os.path.exists(path):
            raise ConfigurationError(f"verify=: no CA bundle at {path!r}")
        if os.path.isdir(path):
            context = ssl.create_default_context(capath=path)
        else:
            context = ssl.create_default_context(cafile=path)
    else:
        import httpx

        context = httpx.create_ssl_context(verify=verify, trust_env=trust_env)
    if cert is not None:
        if isinstance(cert, str):
            context.load_cert_chain(cert)
        else:
            context.load_cert_chain(*cert)
    return context


@dataclass(frozen=True, slots=True)
class ProxyRoute:
    """A proxy as aiohttp takes it: the URL without credentials, and its request headers."""

    url: str
    headers: Mapping[str, str] | None


def _route(proxy: ProxyTypes) -> ProxyRoute:
    import httpx

    if not isinstance(proxy, httpx.Proxy):
        try:
            proxy = httpx.Proxy(proxy)  # splits user:password off the URL, as httpx does
        except ValueError as exc:  # httpx refuses schemes it cannot proxy through
            raise ConfigurationError(
                f"proxy= (or HTTP_PROXY / HTTPS_PROXY / ALL_PROXY): {exc}; use http:// or https://"
            ) from None
    if proxy.url.scheme not in ("http", "https"):
        raise ConfigurationError(
            f"proxy= (or HTTP_PROXY / HTTPS_PROXY / ALL_PROXY): unsupported scheme "
            f"{proxy.url.scheme!r}, use http:// or https://"
        )
    headers = dict(proxy.headers)
    if proxy.raw_auth is not None:
        user, password = proxy.raw_auth
        token = base64.b64encode(user + b":" + password).decode("ascii")
        headers["Proxy-Authorization"] = f"Basic {token}"
    return ProxyRoute(str(proxy.url), headers or None)


def _environment_has_proxies() -> bool:
    """Whether httpx's ``get_environment_proxies`` would name any proxy (same lookup)."""
    found = getproxies()
    return any(found.get(scheme) for scheme in ("http", "https", "all"))


class ProxyRoutes:
    """Which proxy (or none) each URL goes through, decided as ``httpx.AsyncClient`` decides.

    ``proxy`` given: every request goes through it (as httpx's ``proxy=``). Otherwise, with
    ``trust_env``, the environment's ``*_PROXY``/``NO_PROXY`` variables, read once here.
    """

    def __init__(self, proxy: ProxyTypes | None = None, *, trust_env: bool = False) -> None:
        mounts: dict[str, ProxyTypes | None]
        self._patterns: list[tuple[URLPattern, ProxyRoute | None]] = []
        self._cache: dict[tuple[str, str, int | None], ProxyRoute | None] = {}
        if proxy is not None:
            mounts = {"all://": proxy}
        elif trust_env and _environment_has_proxies():
            from ._httpx_internals import get_environment_proxies

            mounts = dict(get_environment_proxies())
        else:
            return  # no proxy: nothing to route (NO_PROXY alone only says "direct")
        from ._httpx_internals import URLPattern

        self._patterns = sorted(
            (URLPattern(key), None if value is None else _route(value))
            for key, value in mounts.items()
        )

    def __bool__(self) -> bool:
        return any(route is not None for _, route in self._patterns)

    def for_origin(self, scheme: str, host: str, port: int | None) -> ProxyRoute | None:
        """The proxy for requests to ``scheme://host:port``; ``None``: connect directly."""
        key = (scheme, host, port)
        try:
            return self._cache[key]
        except KeyError:
            pass
        import httpx

        url = httpx.URL(scheme=scheme, host=host, port=port)
        route = next((route for pattern, route in self._patterns if pattern.matches(url)), None)
        self._cache[key] = route
        return route
