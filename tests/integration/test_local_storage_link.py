"""Local storage links a whole file already on its file system into place (an upload spooled
under the data directory) instead of copying it; anything else is copied."""

from __future__ import annotations

import io
import os
import stat
import tempfile
from pathlib import Path

from sono.adapters.storage.local import LocalStorage
from sono.adapters.storage.signing import HmacUrlSigner

DATA = bytes(range(256)) * 1000


def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "media", base_url="", signer=HmacUrlSigner(b"k" * 32))


async def read(store: LocalStorage, key: str) -> bytes:
    stored = await store.open(key)
    return b"".join([chunk async for chunk in stored.chunks])


async def test_a_spooled_file_is_linked_not_copied(tmp_path: Path) -> None:
    store = storage(tmp_path)
    (tmp_path / "tmp").mkdir()
    with tempfile.NamedTemporaryFile(dir=tmp_path / "tmp") as spool:
        spool.write(DATA)
        spool.flush()
        spool.seek(0)

        stored = await store.put("audio/1/a.mp3", spool, "audio/mpeg")  # type: ignore[arg-type]

        assert os.stat(store.path("audio/1/a.mp3")).st_ino == os.fstat(spool.fileno()).st_ino
    assert (stored.size, stored.content_type) == (len(DATA), "audio/mpeg")
    assert await read(store, "audio/1/a.mp3") == DATA  # the spool is gone, the object stays
    assert stat.S_IMODE(os.stat(store.path("audio/1/a.mp3")).st_mode) == 0o640
    assert (await store.head("audio/1/a.mp3")).content_type == "audio/mpeg"
    leftovers = [p.name for p in store.path("audio/1/a.mp3").parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


async def test_other_sources_are_copied(tmp_path: Path) -> None:
    store = storage(tmp_path)
    with tempfile.NamedTemporaryFile(dir=tmp_path) as started:
        started.write(DATA)
        started.flush()
        started.seek(100)  # only what remains is stored: no link

        await store.put("audio/1/rest.mp3", started, "audio/mpeg")  # type: ignore[arg-type]

        assert os.stat(store.path("audio/1/rest.mp3")).st_ino != os.fstat(started.fileno()).st_ino
    await store.put("audio/1/memory.mp3", io.BytesIO(DATA), "audio/mpeg")

    assert await read(store, "audio/1/rest.mp3") == DATA[100:]
    assert await read(store, "audio/1/memory.mp3") == DATA
