"""File names that are safe to create: nothing from a URL or id can leave the target directory.

Used by downloads (``client.download`` callers, ``task.download``) to turn URLs and task ids
into file names.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Collection
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["safe_destination", "safe_filename"]


_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)
_UNSAFE_CHARS = re.compile(r'[<>:"/\\|?*]')
_MAX_NAME_BYTES = 255


def safe_filename(url_or_name: str, default: str = "download") -> str:
    """A file name from a URL or name that is safe to create inside any directory.

    Keeps only the last path segment (query and fragment dropped, percent-escapes
    decoded), removes NUL and control characters, replaces characters Windows forbids,
    strips leading/trailing dots and spaces (so ``..`` becomes nothing), prefixes Windows
    reserved names (``CON``, ``LPT1``...), and caps the length at 255 bytes. Falls back
    to ``default`` (made safe the same way) when nothing is left::

        safe_filename("https://x/a/..%2F..%2Fetc%2Fpasswd?sig=1", "out")  # "passwd"
    """
    name = _clean(url_or_name)
    if not name:
        name = _clean(default)
    return name or "download"


def safe_destination(
    dest_dir: str | os.PathLike[str],
    url_or_name: str,
    *,
    default: str = "download",
    taken: Collection[Path] = (),
) -> Path:
    """A path inside ``dest_dir`` for ``url_or_name`` that no URL can steer outside it.

    Uses :func:`safe_filename`; when the name exists already (or is in ``taken``, for
    names handed out but not yet written) a suffix ``-1``, ``-2``... is added before the
    extension.
    """
    directory = Path(dest_dir)
    name = safe_filename(url_or_name, default)
    stem, dot, suffix = name.rpartition(".")
    if not stem:  # no extension, or a name like ".bashrc" that became "bashrc"
        stem, dot, suffix = name, "", ""
    candidate = directory / name
    counter = 0
    while candidate in taken or candidate.exists() or candidate.is_symlink():
        counter += 1
        candidate = directory / f"{stem}-{counter}{dot}{suffix}"
    # Belt and braces: the name has no separator, so this always holds.
    assert candidate.parent == directory, url_or_name
    assert candidate.name not in ("", ".", ".."), url_or_name
    return candidate


def _clean(url_or_name: str) -> str:
    if "://" in url_or_name:
        text = urlsplit(url_or_name).path
    else:
        text = url_or_name.split("?", 1)[0].split("#", 1)[0]
    # Decode first, then split: %2F and %5C must not smuggle a directory in.
    text = unquote(text)
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
    text = _UNSAFE_CHARS.sub("_", text)
    text = text.strip(" .")
    if not text:
        return ""
    base = text.split(".", 1)[0].rstrip(" ").upper()
    if base in _WINDOWS_RESERVED:
        text = f"_{text}"
    return _truncate(text)


def _truncate(name: str) -> str:
    if len(name.encode()) <= _MAX_NAME_BYTES:
        return name
    stem, dot, suffix = name.rpartition(".")
    if not stem or len(suffix) > 16:
        stem, dot, suffix = name, "", ""
    room = _MAX_NAME_BYTES - len((dot + suffix).encode())
    return stem.encode()[:room].decode(errors="ignore").rstrip(" .") + dot + suffix
