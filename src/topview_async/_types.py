"""Small type aliases shared by generated and handwritten code."""

from __future__ import annotations

import os
from typing import TypeAlias

FileInput: TypeAlias = str | os.PathLike[str]
"""Where Topview wants a file id, the SDK also takes a local file.

A ``pathlib.Path`` (any ``os.PathLike``) is always uploaded first. A ``str`` is uploaded when it
ends with an upload suffix Topview accepts (``.mp4``, ``.png``, ...); any other ``str`` is sent
as a file id (Topview file ids are 32 hex characters with no dot)."""
