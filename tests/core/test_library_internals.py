"""The only private internals of other libraries the SDK uses, each behind one module (#21.5).

Each test fails loudly, naming the module to fix, when an installed httpx or aiohttp no
longer has the internal or it behaves differently; the runtime code has no fallback.
"""

from __future__ import annotations

import ast
import asyncio
import re
import tomllib
from pathlib import Path

import aiohttp
import httpx
import pytest
from aiohttp.base_protocol import BaseProtocol

from topview_async import _aiohttp_internals, _httpx_internals

SOURCE = Path(_httpx_internals.__file__).parent
ROOT = SOURCE.parent.parent


def _pinned(package: str) -> str:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for requirement in pyproject["project"]["dependencies"]:
        match = re.fullmatch(rf"{package}(\S*)", requirement)
        if match:
            return match.group(1)
    raise AssertionError(f"{package} is not a dependency")


@pytest.mark.parametrize(
    ("package", "checked"),
    [
        ("httpx", _httpx_internals.CHECKED_VERSIONS),
        ("aiohttp", _aiohttp_internals.CHECKED_VERSIONS),
    ],
)
def test_the_checked_versions_are_the_pinned_ones(package: str, checked: str) -> None:
    assert checked == _pinned(package), (
        f"the {package} internals module was checked for other versions than pyproject.toml "
        "pins: check the internals it uses, then update CHECKED_VERSIONS"
    )


def test_httpx_proxy_helpers_behave_as_the_sdk_expects(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("NO_PROXY", "internal.test")
    mounts = _httpx_internals.get_environment_proxies()
    assert mounts["https://"] == "http://proxy.test:3128", "httpx internals changed"
    assert mounts["all://*internal.test"] is None, "httpx internals changed"
    specific = _httpx_internals.URLPattern("all://*internal.test")
    general = _httpx_internals.URLPattern("https://")
    assert specific.matches(httpx.URL("https://api.internal.test/x"))
    assert not specific.matches(httpx.URL("https://api.topview.ai/x"))
    assert sorted([general, specific])[0] is specific, "URLPattern no longer sorts by priority"


@pytest.mark.anyio
async def test_aiohttp_hands_out_buffered_bytes_after_a_failure() -> None:
    loop = asyncio.get_running_loop()
    reader = aiohttp.StreamReader(BaseProtocol(loop), limit=2**16, loop=loop)
    reader.feed_data(b"good ")
    reader.feed_data(b"bytes")
    reader.set_exception(aiohttp.ClientPayloadError("cut"))
    with pytest.raises(aiohttp.ClientPayloadError):
        reader.read_nowait()  # why the internal is needed: the public read raises first
    assert _aiohttp_internals.buffered_bytes(reader) == b"good bytes", "aiohttp internals changed"
    assert _aiohttp_internals.buffered_bytes(reader) == b""


@pytest.mark.anyio
async def test_aiohttp_session_retry_switch_exists_and_is_off() -> None:
    assert "_retry_connection" in aiohttp.ClientSession.ATTRS, "aiohttp internals changed"
    async with aiohttp.ClientSession() as session:
        assert session._retry_connection is True, "aiohttp internals changed"
        _aiohttp_internals.disable_connection_retry(session)
        assert session._retry_connection is False


def _private_uses(path: Path, libraries: set[str]) -> list[str]:
    where = path.relative_to(SOURCE)
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            top, *rest = node.module.split(".")
            names = rest + [alias.name for alias in node.names]
            if top in libraries and any(name.startswith("_") for name in names):
                found.append(f"{where}:{node.lineno} from {node.module}")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in libraries
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{where}:{node.lineno} {node.value.id}.{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and str(node.args[1].value).startswith("_")
            and not str(node.args[1].value).startswith("__")
        ):
            found.append(f"{where}:{node.lineno} getattr(..., {node.args[1].value!r})")
    return found


def test_no_other_module_touches_a_private_name_of_another_library() -> None:
    """Private names of httpx, aiohttp, asyncio and co. only in the internals modules."""
    libraries = {"httpx", "aiohttp", "asyncio", "anyio", "pydantic", "yarl", "multidict"}
    allowed = {"_httpx_internals.py", "_aiohttp_internals.py"}
    found = [
        use
        for path in sorted(SOURCE.rglob("*.py"))
        if path.name not in allowed and "_generated" not in path.parts
        for use in _private_uses(path, libraries)
    ]
    assert found == []
