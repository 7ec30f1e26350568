"""Collections with their media on S3 (a moto server on loopback), on SQLite and on PostgreSQL:
cover art stored, served and removed; a private file inside a collection playable through its
presigned URL; the ZIP download read from S3."""

from __future__ import annotations

import io
import uuid
import zipfile

import httpx

from tests.fixtures.media import png_bytes
from tests.integration.api.collections.conftest import COLLECTIONS, Library, audio_bytes
from tests.integration.api.conftest import MakeApi


async def test_collections_on_s3(make_api: MakeApi, s3_endpoint: str) -> None:
    api = await make_api(
        SONO_STORAGE="s3",
        SONO_S3_ENDPOINT_URL=s3_endpoint,
        SONO_S3_BUCKET=f"sono-{uuid.uuid4().hex[:12]}",
        SONO_S3_ACCESS_KEY="testing",
        SONO_S3_SECRET_KEY="testing",
    )
    library, client = Library(api), api.client
    storage = api.container.ports.storage
    alice, bob = await api.account("alice"), await api.account("bob")
    ids = await library.audio("alice", "one", "two", public=False)
    made = await library.collection(alice, title="On S3", is_public=False, is_collaborative=True)
    await library.add(alice, made["id"], ids[1], ids[0])
    await library.share(alice, made["id"], "bob", "view")

    covered = await client.post(
        f"{COLLECTIONS}/{made['id']}/cover-art",
        files={"file": ("c.png", png_bytes(), "image/png")},
        headers=alice.headers,
    )
    assert covered.status_code == 200, covered.text
    cover_url = covered.json()["cover_art_url"]
    async with httpx.AsyncClient(timeout=10) as outside:
        picture = await outside.get(cover_url)
        assert picture.status_code == 200 and picture.headers["content-type"].startswith("image/")
        track = (await library.get(made["id"], bob)).json()["tracks"][0]
        played = await outside.get(track["audio_file"]["file_url"], headers={"Range": "bytes=0-9"})
        assert (played.status_code, played.content) == (206, audio_bytes("two")[:10])

    archive = await client.get(f"{COLLECTIONS}/{made['id']}/download", headers=bob.headers)
    assert archive.status_code == 200
    bundle = zipfile.ZipFile(io.BytesIO(archive.content))
    assert [bundle.read(name) for name in bundle.namelist()] == [audio_bytes("two"), audio_bytes("one")]

    cover_key = f"covers/{made['id']}/" + cover_url.split(f"/covers/{made['id']}/", 1)[1].split("?", 1)[0]
    assert await storage.exists(cover_key)
    assert (await client.delete(f"{COLLECTIONS}/{made['id']}", headers=alice.headers)).status_code == 200
    await api.deliver()
    assert not await storage.exists(cover_key)
