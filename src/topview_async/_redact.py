"""Masking of secrets for reprs and messages.

The SDK's rule is to never put the API key or uid into text in the first place; masking is
for the few places (the client's repr) where showing *which* key is in use helps.
"""

from __future__ import annotations

__all__ = ["mask_secret"]

_MIN_LENGTH_TO_SHOW_TAIL = 16
"""Short secrets are masked completely: showing four characters of eight gives half away."""


def mask_secret(secret: str) -> str:
    """``"sk-abcdef...wxyz"`` -> ``"sk-...wxyz"``; short secrets become ``"***"``."""
    if len(secret) < _MIN_LENGTH_TO_SHOW_TAIL:
        return "***"
    prefix = "sk-" if secret.startswith("sk-") else ""
    return f"{prefix}...{secret[-4:]}"
