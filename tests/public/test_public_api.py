"""The curated public surface stays complete, sorted and importable."""

from __future__ import annotations

import topview_async
from topview_async._exceptions import TopviewError
from topview_async._generated.error_codes import ERROR_CODES
from topview_async._exceptions import APIError, exception_class_for_code


def test_all_is_sorted_and_every_name_exists() -> None:
    names = topview_async.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), n.startswith("_"), n))
    for name in names:
        assert hasattr(topview_async, name), name


def test_every_public_exception_is_exported() -> None:
    import topview_async._exceptions as exceptions

    public = {
        name
        for name, value in vars(exceptions).items()
        if isinstance(value, type) and issubclass(value, TopviewError) and not name.startswith("_")
    }
    assert public <= set(topview_async.__all__)


def test_every_error_code_in_the_spec_maps_to_a_specific_class() -> None:
    for code in ERROR_CODES:
        cls = exception_class_for_code(code)
        assert cls is not APIError, f"code {code} from the spec has no dedicated exception class"
        assert issubclass(cls, APIError)
