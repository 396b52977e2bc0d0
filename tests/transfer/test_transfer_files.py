"""Local validation, format tables and safe destination names (no network involved)."""

from __future__ import annotations

from pathlib import Path

import pytest
from transfer_server import make_png

from topview_async.lib._files import (
    ALLOWED_FORMATS,
    CONTENT_TYPES,
    InvalidFileError,
    MaskSizeMismatchError,
    UnsupportedFormatError,
    check_file,
    content_type_for,
    format_from_path,
    image_size,
    validate_mask_pair,
)
from topview_async.lib._names import safe_destination, safe_filename


def test_every_allowed_format_has_a_content_type() -> None:
    assert set(CONTENT_TYPES) == ALLOWED_FORMATS
    assert content_type_for("PNG") == "image/png"
    assert content_type_for(".mp4") == "video/mp4"
    assert content_type_for("mp3") == "audio/mpeg"
    assert content_type_for("jpeg") == content_type_for("jpg") == "image/jpeg"


@pytest.mark.parametrize(
    ("name", "expected"), [("a.PNG", "png"), ("clip.MoV", "mov"), ("x.tar.mp3", "mp3")]
)
def test_format_from_suffix_is_case_insensitive(name: str, expected: str) -> None:
    assert format_from_path(name) == expected


@pytest.mark.parametrize("name", ["doc.pdf", "movie.mkv", "noextension", "archive.png.zip"])
def test_unsupported_formats_are_refused(name: str) -> None:
    with pytest.raises(UnsupportedFormatError) as caught:
        format_from_path(name)
    assert caught.value.path == Path(name)
    assert isinstance(caught.value, InvalidFileError)


def test_check_file_reports_missing_empty_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidFileError, match="does not exist") as missing:
        check_file(tmp_path / "absent.png")
    assert missing.value.path == tmp_path / "absent.png"

    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(InvalidFileError, match="empty"):
        check_file(empty)

    folder = tmp_path / "folder.png"
    folder.mkdir()
    with pytest.raises(InvalidFileError, match="not a regular file"):
        check_file(folder)

    good = tmp_path / "good.JPG"
    good.write_bytes(b"\xff\xd8data")
    local = check_file(good)
    assert (local.format, local.size) == ("jpg", 6)
    assert check_file(good, format="png").format == "png"


def test_mask_pair_accepts_same_size_paths_and_bytes(tmp_path: Path) -> None:
    image = tmp_path / "product.png"
    mask = tmp_path / "mask.png"
    image.write_bytes(make_png(64, 48))
    mask.write_bytes(make_png(64, 48))
    assert validate_mask_pair(image, mask) == (64, 48)
    assert validate_mask_pair(make_png(3, 2), make_png(3, 2)) == (3, 2)
    assert image_size(make_png(7, 9)) == (7, 9)


def test_mask_pair_refuses_a_different_size(tmp_path: Path) -> None:
    image = tmp_path / "product.png"
    mask = tmp_path / "mask.png"
    image.write_bytes(make_png(64, 48))
    mask.write_bytes(make_png(48, 64))
    with pytest.raises(MaskSizeMismatchError) as caught:
        validate_mask_pair(image, mask)
    assert caught.value.path == mask
    assert caught.value.image_size == (64, 48)
    assert caught.value.mask_size == (48, 64)
    assert "48x64" in str(caught.value)

    with pytest.raises(MaskSizeMismatchError):
        validate_mask_pair(make_png(10, 10), make_png(10, 11))


def test_mask_pair_refuses_unreadable_images(tmp_path: Path) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(InvalidFileError, match="image size"):
        validate_mask_pair(junk, junk)
    with pytest.raises(InvalidFileError, match="does not exist"):
        validate_mask_pair(tmp_path / "nope.png", junk)
    with pytest.raises(InvalidFileError, match="empty"):
        image_size(b"")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://b.s3.amazonaws.com/out/video.mp4?X-Amz-Signature=a%2Fb", "video.mp4"),
        ("https://x/a/..%2F..%2Fetc%2Fpasswd?sig=1", "passwd"),
        ("https://x/a/..%5C..%5Cwin.ini", "win.ini"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("/etc/shadow", "shadow"),
        ("C:\\Windows\\system32\\cmd.exe", "cmd.exe"),
        ("..", "fallback.bin"),
        ("https://x/", "fallback.bin"),
        ("a\x00b\x1fc\x7f.png", "abc.png"),
        ("CON", "_CON"),
        ("lpt1.txt", "_lpt1.txt"),
        ("aux .mp4", "_aux .mp4"),
        ('inva<l>i"d|na:me*.mp4', "inva_l_i_d_na_me_.mp4"),
        ("video.mp4?X-Amz-Signature=x#frag", "video.mp4"),
        ("trailing. . ", "trailing"),
        (".hidden", "hidden"),
        ("r%C3%A9sum%C3%A9.png", "résumé.png"),
    ],
)
def test_safe_filename(raw: str, expected: str) -> None:
    assert safe_filename(raw, "fallback.bin") == expected


def test_safe_filename_caps_length_and_keeps_suffix() -> None:
    name = safe_filename("é" * 300 + ".mp4", "x")
    assert name.endswith(".mp4")
    assert len(name.encode()) <= 255


def test_safe_filename_sanitises_the_default_too() -> None:
    assert safe_filename("..", "../evil") == "evil"
    assert safe_filename("", "..") == "download"


def test_safe_destination_stays_inside_and_dedupes(tmp_path: Path) -> None:
    hostile = [
        "https://x/../../outside.mp4",
        "https://x/%2E%2E%2F%2E%2E%2Foutside.mp4",
        "/abs/outside.mp4",
        "outside.mp4",
    ]
    taken: set[Path] = set()
    for raw in hostile:
        path = safe_destination(tmp_path, raw, taken=taken)
        assert path.parent == tmp_path
        assert path.resolve().is_relative_to(tmp_path.resolve())
        taken.add(path)
    assert sorted(p.name for p in taken) == [
        "outside-1.mp4",
        "outside-2.mp4",
        "outside-3.mp4",
        "outside.mp4",
    ]
    (tmp_path / "clip").write_bytes(b"x")
    assert safe_destination(tmp_path, "clip").name == "clip-1"
