"""URLs and ETags of the media files the simulator serves (results, catalog previews)."""

from __future__ import annotations

import hashlib

__all__ = ["media_etag", "media_url"]


def media_url(base: str, name: str, cdn: bool = False) -> str:
    """A URL of a served media file: S3-style presigned, or CloudFront-style when ``cdn``."""
    if cdn:
        return f"{base}/_cdn/media/{name}"
    signature = hashlib.sha256(f"media:{name}".encode()).hexdigest()
    return (
        f"{base}/_storage/media/{name}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}"
    )


def media_etag(name: str) -> str:
    return hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()
