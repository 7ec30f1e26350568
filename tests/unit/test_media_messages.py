"""Serving stored objects through the bus, on the fakes: the media route's ``AuthorizeMedia``
(public keys to anyone, private ones with a valid signature only), the bytes of an object a use
case let the caller have (``OpenMedia``, ranges included), its metadata, a resized image, and a
collection's archive streamed. None of them opens a unit of work."""

from __future__ import annotations

import io
import zipfile

import pytest

from sono.adapters.media.image_cache import MemoryImageCache
from sono.application.collections.messages import Archive, ArchiveEntry, StreamArchive
from sono.application.media.messages import AuthorizeMedia, GetMediaInfo, OpenMedia, ResizeImage
from sono.application.media.ports import ObjectChunks, RangeNotSatisfiable
from sono.application.messages import ANONYMOUS, Actor
from sono.domain.errors import NotFound, PermissionDenied
from tests.unit.conftest import World

PRIVATE, PUBLIC = "audio/7/a.mp3", "covers/7/c.webp"


@pytest.fixture
async def stored(world: World) -> World:
    await world.storage.put_bytes(PRIVATE, b"0123456789", "audio/mpeg")
    await world.storage.put_bytes(PUBLIC, b"FAKEIMAGE cover", "image/webp")
    return world


async def _read(chunks: ObjectChunks) -> bytes:
    return b"".join([chunk async for chunk in chunks.chunks])


def test_serving_opens_no_unit_of_work() -> None:
    for message in (AuthorizeMedia, GetMediaInfo, OpenMedia, ResizeImage, StreamArchive):
        assert message.unit_of_work is False, message


async def test_a_public_object_is_anyones_a_private_one_needs_a_valid_signature(stored: World) -> None:
    access = await stored.app.bus(AuthorizeMedia(PUBLIC), ANONYMOUS)
    assert access.public and (access.info.key, access.info.size) == (PUBLIC, 15)

    with pytest.raises(PermissionDenied):
        await stored.app.bus(AuthorizeMedia(PRIVATE), ANONYMOUS)
    expires = str(int(stored.clock.now().timestamp()) + 3600)
    signature = stored.app.ports.signer.sign(PRIVATE, int(expires))
    with pytest.raises(PermissionDenied):
        await stored.app.bus(AuthorizeMedia(PRIVATE, expires, signature[:-1] + "x"), Actor.operator())

    access = await stored.app.bus(AuthorizeMedia(PRIVATE, expires, signature), ANONYMOUS)
    assert not access.public and access.info.size == 10

    stored.clock.advance(3601)  # the link has expired
    with pytest.raises(PermissionDenied):
        await stored.app.bus(AuthorizeMedia(PRIVATE, expires, signature), ANONYMOUS)


async def test_a_missing_or_refused_key_is_not_found(stored: World) -> None:
    with pytest.raises(NotFound):
        await stored.app.bus(AuthorizeMedia("covers/7/gone.webp"), ANONYMOUS)
    with pytest.raises(NotFound):
        await stored.app.bus(AuthorizeMedia("covers/../secret"), ANONYMOUS)
    with pytest.raises(NotFound):
        await stored.app.bus(GetMediaInfo("audio/7/gone.mp3"), ANONYMOUS)


async def test_an_object_is_read_whole_or_by_range(stored: World) -> None:
    info = await stored.app.bus(GetMediaInfo(PRIVATE), ANONYMOUS)

    assert await _read(await stored.app.bus(OpenMedia(info), ANONYMOUS)) == b"0123456789"
    part = await stored.app.bus(OpenMedia(info, 2, 4), ANONYMOUS)
    assert (await _read(part), part.start, part.end, part.total_size) == (b"234", 2, 4, 10)
    assert await _read(await stored.app.bus(OpenMedia(info, -3), ANONYMOUS)) == b"789"
    with pytest.raises(RangeNotSatisfiable):
        await stored.app.bus(OpenMedia(info, 10), ANONYMOUS)

    await stored.storage.delete(PRIVATE)
    with pytest.raises(NotFound):
        await stored.app.bus(OpenMedia(info), ANONYMOUS)


async def test_a_resized_image_is_made_once_per_object_and_size(stored: World) -> None:
    cache = stored.app.ports.image_cache = MemoryImageCache()  # before the container makes its services
    info = (await stored.app.bus(AuthorizeMedia(PUBLIC), ANONYMOUS)).info

    image = await stored.app.bus(ResizeImage(info, 32), ANONYMOUS)
    assert (image.width, image.data) == (32, b"FAKEIMAGE cover")
    await stored.storage.delete(PUBLIC)  # from the cache now
    assert await stored.app.bus(ResizeImage(info, 32), ANONYMOUS) == image
    with pytest.raises(NotFound):
        await stored.app.bus(ResizeImage(info, 16), ANONYMOUS)
    assert cache is stored.app.ports.image_cache


async def test_an_archive_is_streamed_with_a_missing_object_left_out(stored: World) -> None:
    archive = Archive(
        "mix.zip",
        [ArchiveEntry("01 - a.mp3", PRIVATE, 10, None), ArchiveEntry("02 - gone.mp3", "audio/7/gone.mp3", 1, None)],
    )

    zipped = await stored.app.bus(StreamArchive(archive), ANONYMOUS)
    data = b"".join([piece async for piece in zipped])

    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        assert bundle.namelist() == ["01 - a.mp3"]
        assert bundle.read("01 - a.mp3") == b"0123456789"
