"""topview-async: the async, typed Python SDK for the Topview AI video API."""

from ._version import __version__

__all__ = ["__version__"]
