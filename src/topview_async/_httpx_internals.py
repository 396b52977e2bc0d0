"""The httpx internals the SDK relies on, and nothing else: read this before raising httpx's pin.

:mod:`._network` must route proxies exactly as ``httpx.AsyncClient`` does (``proxy=``,
``*_PROXY``/``NO_PROXY``, most specific mount first). httpx has no public API for that
decision, only two helpers in its private ``httpx._utils``: ``get_environment_proxies``
(the environment's proxy mounts) and ``URLPattern`` (a mount key matched against a URL).
Reusing them keeps the SDK's answer equal to httpx's; copying them would drift.

Checked against :data:`CHECKED_VERSIONS`, the same range as ``pyproject.toml``'s httpx
dependency. ``tests/core/test_library_internals.py`` fails loudly, naming this module, when
an installed httpx lacks them or they behave differently; there is no silent fallback.
"""

from __future__ import annotations

from httpx._utils import URLPattern, get_environment_proxies

__all__ = ["CHECKED_VERSIONS", "URLPattern", "get_environment_proxies"]

CHECKED_VERSIONS = ">=0.28,<1"
"""httpx versions these internals were checked in (pyproject.toml pins the same range)."""
