"""The curated public surface stays complete, sorted and importable."""

from __future__ import annotations

import topview_async
from topview_async._exceptions import APIError, TopviewError
from topview_async._generated.error_codes import ERROR_CODES
from topview_async._retrying import exception_class_for_code


def test_all_is_sorted_and_every_name_exists() -> None:
    names = topview_async.__all__
    # isort-style, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions.
    assert names == sorted(
        names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)
    )
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(topview_async, name), name


def test_every_public_exception_is_exported() -> None:
    import topview_async._exceptions as exceptions
    import topview_async.webhooks

    public = {
        name
        for name, value in vars(exceptions).items()
        if isinstance(value, type) and issubclass(value, TopviewError) and not name.startswith("_")
    }
    # Callback errors are public through topview_async.webhooks, beside the receiver.
    assert public <= set(topview_async.__all__) | set(topview_async.webhooks.__all__)


def test_every_error_code_in_the_spec_maps_to_a_specific_class() -> None:
    for code in ERROR_CODES:
        cls = exception_class_for_code(code)
        assert cls is not APIError, f"code {code} from the spec has no dedicated exception class"
        assert issubclass(cls, APIError)
