"""``topview tasks get``, ``upload``, ``credit`` and the catalogue listings."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, cast

from rich.console import Console
from rich.table import Table

_out = Console()


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


async def get_task(kind: str, task_id: str, *, wait: bool, download: Path | None) -> int:
    from .. import AsyncTopview, TaskFailedError

    async with AsyncTopview() as client:
        task = client.tasks.get(cast(Any, kind), task_id)  # checked there: UnknownTaskKindError
        try:
            result = await (task.wait() if wait or download else task.refresh())
        except TaskFailedError as exc:
            _out.print_json(json.dumps(_plain(exc.result)))
            raise
        _out.print_json(json.dumps(_plain(result)))
        if download is not None:
            for path in await task.download(download):
                _out.print(str(path))
    return 0


async def upload_files(files: list[Path]) -> None:
    from .. import AsyncTopview

    async with AsyncTopview() as client:
        for path in files:
            file_id = await client.uploads.upload(path)
            _out.print(f"{file_id}\t{path}")


async def show_credit() -> None:
    from .. import AsyncTopview

    async with AsyncTopview() as client:
        detail = _plain(await client.account.credit())
    remaining = detail.get("remainCredit", detail.get("credit"))
    _out.print(f"credit: {remaining}")


async def list_catalogue(
    attribute: str, method_name: str, page: int, page_size: int, as_json: bool
) -> None:
    from .. import AsyncTopview

    async with AsyncTopview() as client:
        method = getattr(getattr(client, attribute), method_name)
        accepted = inspect.signature(method).parameters
        options: dict[str, Any] = {}
        if "page_no" in accepted:
            options |= {"page_no": page, "page_size": page_size}
        if "scene" in accepted:  # ethnicities: the scene is required; list the first
            options["scene"] = "video_avatar"
        result = _plain(await method(**options))
    items = result.get("data", []) if isinstance(result, dict) else result
    if as_json:
        for item in items:
            _out.print(json.dumps(item, ensure_ascii=False), soft_wrap=True)
        return
    columns = list(dict.fromkeys(k for item in items for k in item))[:6]
    table = Table(*columns)
    for item in items:
        table.add_row(*(_cell(item.get(c)) for c in columns))
    _out.print(table)
    if isinstance(result, dict) and "total" in result:
        _out.print(f"page {result.get('pageNo')} of {result.get('total')} items")


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
