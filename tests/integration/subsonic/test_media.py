"""Songs and their bytes over ``/rest``: ``getSong``, ``stream`` (whole, ranges, ``HEAD``, the
same bytes as the upload, never a play), ``download`` (a song as an attachment, a playlist as a
ZIP), ``getCoverArt`` (an image; cached for good while its id is current; 304 by ``ETag``) and
``getAvatar``."""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest
from PIL import Image

from tests.integration.subsonic.conftest import Deployment, knuckles, opensonic

pytestmark = pytest.mark.slow

IMMUTABLE = "public, max-age=31536000, immutable"


async def test_get_song_decodes_as_a_child(deployment: Deployment) -> None:
    song = deployment.songs["public"]
    connection = opensonic(deployment, "oscar")
    try:
        child = await connection.get_song(song.sid)
    finally:
        await connection.cleanup()
    assert (child.id, child.is_dir, child.title, child.artist, child.album) == (
        song.sid,
        False,
        "Sunrise",
        "The Testers",
        "First Light",
    )
    assert (child.track, child.year, child.genre, child.suffix, child.content_type) == (
        3,
        2024,
        "Rock",
        "mp3",
        "audio/mpeg",
    )
    assert (child.size, child.type, child.media_type, child.is_video) == (len(song.data), "music", "song", False)
    assert child.path == "The Testers/First Light/03 - Sunrise.mp3"
    assert child.cover_art is not None and child.cover_art.startswith(f"cv-{song.sid}-")
    assert isinstance(child.duration, int) and child.created
    assert deployment.ok("getSong", "alice", id=deployment.songs["plain"].sid)["song"].get("coverArt") is None
    second = knuckles(deployment, "oscar").browsing.get_song(song.sid)  # a second, independent decoder
    assert (second.id, second.title, second.track, second.year, second.size) == (
        song.sid,
        "Sunrise",
        3,
        2024,
        len(song.data),
    )


async def test_stream_serves_the_uploaded_bytes_with_ranges(deployment: Deployment) -> None:
    song = deployment.songs["public"]
    connection = opensonic(deployment, "oscar")
    try:
        whole = await connection.stream(song.sid, max_bit_rate=128, tformat="ogg")  # accepted, ignored
        assert whole.status == 200 and await whole.read() == song.data
        assert whole.headers["Accept-Ranges"] == "bytes" and whole.headers["ETag"]
        part = await connection.stream(song.sid, byte_range="bytes=100-1099")
        assert part.status == 206 and await part.read() == song.data[100:1100]
        assert part.headers["Content-Range"] == f"bytes 100-1099/{len(song.data)}"
        assert part.headers["Content-Length"] == "1000"
        tail = await connection.stream(song.sid, byte_range="bytes=-10")
        assert tail.status == 206 and await tail.read() == song.data[-10:]
    finally:
        await connection.cleanup()
    head = deployment.rest("stream", "oscar", http="HEAD", id=song.sid)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(song.data))
    beyond = deployment.rest("stream", "oscar", id=song.sid)
    assert beyond.content == song.data


async def test_download_a_song_and_a_playlist(deployment: Deployment) -> None:
    song = deployment.songs["public"]
    connection = opensonic(deployment, "alice")
    try:
        response = await connection.download(song.sid)
        assert await response.read() == song.data
        assert response.headers["Content-Disposition"].startswith("attachment;")
    finally:
        await connection.cleanup()
    archive = deployment.rest("download", "vera", id=f"pl-{deployment.playlists['shared']}")
    assert archive.status_code == 200 and archive.headers["content-type"].startswith("application/zip")
    with zipfile.ZipFile(io.BytesIO(archive.content)) as bundle:
        assert [bundle.read(name) for name in bundle.namelist()] == [deployment.songs["private"].data]


async def test_cover_art_with_and_without_size(deployment: Deployment) -> None:
    song = deployment.songs["public"]
    cover = deployment.ok("getSong", "oscar", id=song.sid)["song"]["coverArt"]
    connection = opensonic(deployment, "oscar")
    try:
        original = await connection.get_cover_art(cover)
        image = Image.open(io.BytesIO(await original.read()))
        assert image.size == (120, 80)
        assert original.headers["Cache-Control"] == IMMUTABLE
        etag = original.headers["ETag"]
        resized = await connection.get_cover_art(cover, size=60)
        small = Image.open(io.BytesIO(await resized.read()))
        assert max(small.size) == 60 and small.size == (60, 40)
        assert resized.headers["Cache-Control"] == IMMUTABLE and resized.headers["ETag"] != etag
        larger = await connection.get_cover_art(cover, size=4000)  # never beyond the stored picture
        assert Image.open(io.BytesIO(await larger.read())).size == (120, 80)
    finally:
        await connection.cleanup()
    cached = _get(deployment, "oscar", cover, {"If-None-Match": etag})
    assert cached.status_code == 304
    stale = cover.rsplit("-", 1)[0] + "-0"
    outdated = deployment.rest("getCoverArt", "oscar", id=stale)
    assert outdated.status_code == 200 and outdated.headers["cache-control"] != IMMUTABLE
    playlist = deployment.ok("getPlaylist", "alice", id=f"pl-{deployment.playlists['open']}")["playlist"]
    assert Image.open(io.BytesIO(deployment.rest("getCoverArt", "alice", id=playlist["coverArt"]).content)).size == (
        120,
        80,
    )
    assert deployment.code("getCoverArt", "alice", id="cv-tr-999999-abc") == 70
    assert deployment.code("getCoverArt", "alice", id="not-an-id") == 70
    assert deployment.code("getCoverArt", "alice") == 10


def _get(deployment: Deployment, who: str, cover: str, headers: dict[str, str]) -> httpx.Response:
    person = deployment.people[who]
    params = {"u": who, "p": person.secret, "v": "1.16.1", "c": "t", "f": "json", "id": cover}
    return httpx.get(f"{deployment.url}/rest/getCoverArt", params=params, headers=headers)


def test_avatar(deployment: Deployment) -> None:
    assert deployment.code("getAvatar", "alice", username="alice") == 70  # none uploaded
    assert deployment.code("getAvatar", "alice", username="nobody") == 70
    assert deployment.code("getAvatar", "alice") == 10
