"""Whether ``nox -s live`` can run: the one place its skip rule and message live (no imports
beyond the standard library, so the noxfile can use it before installing anything)."""

from __future__ import annotations

from collections.abc import Mapping

REASON = (
    "TOPVIEW_API_KEY and TOPVIEW_UID are not both set (this check calls the real Topview API "
    "with your account, read-only: it spends no credits)"
)


def skip_reason(env: Mapping[str, str]) -> str | None:
    """Why the live check cannot run with ``env``, or ``None`` when it can."""
    if env.get("TOPVIEW_API_KEY", "").strip() and env.get("TOPVIEW_UID", "").strip():
        return None
    return REASON
