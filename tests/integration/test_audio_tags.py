"""Tags read from audio files of every accepted format by the real inspector: values, the cover
picture, hostile strings cleaned and bounded, and metadata too large to load left unread."""

from __future__ import annotations

import threading
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from sono.adapters.media import tags as tags_module
from sono.adapters.media.inspector import ContentInspector
from sono.adapters.media.tags import clean_text
from sono.domain.audio import GENRE_MAX, TAG_MAX, TITLE_MAX
from sono.domain.media import AudioTags
from tests.fixtures.media import mp3_bytes, png_bytes
from tests.fixtures.tagged import FORMATS, Tags, tagged, untagged

PICTURE = png_bytes((32, 32))
GOOD = Tags(title="Song ü 🎵", artist="The Artist", album="An Album", track="3/12", year="2021-04-05", genre="Jazz")
HOSTILE_TITLE = "\x00Evil\x1b[31m\u202eRTL\u2066\r\n\tline\ufffe\ufeff 🎵 " + "x" * 10_000
HOSTILE = Tags(
    title=HOSTILE_TITLE,
    artist="\x07" * 50 + "A" * 300,
    album=" \t ",
    track="99999999999999999999999",
    year="-5",
    genre="g" * 1000,
)
inspector = ContentInspector()


async def read(tmp_path: Path, data: bytes, name: str = "file") -> AudioTags:
    path = tmp_path / name
    path.write_bytes(data)
    await inspector.inspect_audio(str(path))  # the tags are read from files the inspector accepted
    return await inspector.read_tags(str(path))


@pytest.mark.parametrize("fmt", FORMATS)
async def test_tags_of_every_format(tmp_path: Path, fmt: str) -> None:
    found = await read(tmp_path, tagged(fmt, Tags(**{**GOOD.__dict__, "picture": PICTURE})))

    assert (found.title, found.artist, found.album) == ("Song ü 🎵", "The Artist", "An Album")
    assert (found.track_number, found.year, found.genre) == (3, 2021, "Jazz")
    if fmt == "webm":  # WebM keeps pictures as attachments, which are not read
        assert found.picture is None
    else:
        assert found.picture == PICTURE


@pytest.mark.parametrize("fmt", FORMATS)
async def test_untagged_files_have_empty_tags(tmp_path: Path, fmt: str) -> None:
    assert await read(tmp_path, untagged(fmt)) == AudioTags()


@pytest.mark.parametrize("fmt", FORMATS)
async def test_hostile_strings_are_cleaned_and_bounded(tmp_path: Path, fmt: str) -> None:
    found = await read(tmp_path, tagged(fmt, HOSTILE))

    assert found.title is not None
    assert found.title.startswith("Evil [31mRTL line 🎵 xxx")
    assert len(found.title) == TITLE_MAX
    for text in (found.title, found.artist, found.genre):
        assert text is not None
        assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in text)
        assert not set(text) & {"\u202e", "\u2066", "\ufffe", "\ufeff"}
    assert found.artist == "A" * TAG_MAX
    assert found.genre == "g" * GENRE_MAX
    assert found.album is None  # blank
    assert (found.track_number, found.year) == (None, None)  # out of range


async def test_undecodable_id3_frames_are_skipped(tmp_path: Path) -> None:
    def syncsafe(n: int) -> bytes:
        return bytes(((n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F))

    def frame(frame_id: bytes, payload: bytes) -> bytes:
        return frame_id + syncsafe(len(payload)) + b"\x00\x00" + payload

    frames = (
        frame(b"TIT2", b"\x01\xff\xfe\x00\xd8A\x00")  # UTF-16 with a lone surrogate
        + frame(b"TPE1", b"\x03\xff\xfeBad\xc3(")  # invalid UTF-8
        + frame(b"TALB", b"\x00caf\xe9")  # Latin-1
        + frame(b"TRCK", b"\x03" + b"9" * 5000)  # more digits than Python converts
    )
    tag = b"ID3\x04\x00\x00" + syncsafe(len(frames)) + frames

    found = await read(tmp_path, tag + mp3_bytes(id3=False))

    assert found == AudioTags(album="café")


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "webm"])
async def test_metadata_beyond_the_bound_is_not_loaded(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tagged(fmt, Tags(title="Big", picture=PICTURE * 4))
    monkeypatch.setattr(tags_module, "TAG_BYTES_MAX", len(PICTURE) * 2)

    parsed: list[str] = []
    for parser in ("ID3", "WAVE", "MP4", "FLAC", "OggOpus"):
        monkeypatch.setattr(tags_module, parser, lambda *args, name=parser, **kwargs: parsed.append(name))

    assert await read(tmp_path, data) == AudioTags()
    assert parsed == []  # no parser loaded the metadata


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_picture_beyond_the_image_limit_is_left_out(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tags_module, "IMAGE_MAX_BYTES", len(PICTURE) - 1)

    found = await read(tmp_path, tagged(fmt, Tags(title="T", picture=PICTURE)))

    assert (found.title, found.picture) == ("T", None)


async def test_truncated_tags_are_no_error(tmp_path: Path) -> None:
    data = tagged("flac", Tags(title="T", picture=PICTURE))
    path = tmp_path / "cut.flac"
    path.write_bytes(data[: len(data) // 3])

    assert await inspector.read_tags(str(path)) == AudioTags()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  plain  ", "plain"),
        ("a\x00b\x1fc\x7fd", "a b c d"),
        ("line\u2028break\u2029para", "line break para"),
        ("\u202egnirts\u202c", "gnirts"),
        ("lone \ud800 surrogate", "lone surrogate"),
        ("non\uffffchar\U0001fffe", "nonchar"),
        ("e\u0301", "é"),  # NFC
        ("👩‍👩‍👧 family", "👩‍👩‍👧 family"),  # joiners kept
        ("\t\n ", None),
        (b"bytes \xff", "bytes \ufffd"),
        (42, "42"),
    ],
)
def test_clean_text(value: object, expected: str | None) -> None:
    assert clean_text(value, 100) == expected


def test_clean_text_bounds_after_cleaning() -> None:
    assert clean_text("\x00" * 10 + "abcdef", 3) == "abc"
    assert clean_text("ab    cd", 3) == "ab"


async def test_parsing_runs_off_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sono.adapters.media import inspector as inspector_module

    threads: list[int] = []

    def in_thread(function: Any) -> Any:
        def run(path: str) -> Any:
            threads.append(threading.get_ident())
            return function(path)

        return run

    monkeypatch.setattr(inspector_module, "_audio_info", in_thread(inspector_module._audio_info))
    monkeypatch.setattr(tags_module, "read_audio_tags", in_thread(tags_module.read_audio_tags))

    found = await read(tmp_path, tagged("mp3", GOOD))

    assert found.title == GOOD.title
    assert len(threads) == 2 and threading.get_ident() not in threads
