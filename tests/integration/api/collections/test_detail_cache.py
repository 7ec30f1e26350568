"""The collection details kept for later callers (``CollectionDetails``): a read of an unchanged
collection is a hit, a change to it shows on the next read (a miss, made again), on SQLite and
PostgreSQL, and the cache reports what it holds."""

from __future__ import annotations

from sono.adapters.collection_details import MemoryCollectionDetails
from tests.integration.api.collections.conftest import Library


async def test_a_kept_detail_is_a_hit_until_the_collection_changes(library: Library) -> None:
    api = library.api
    details = api.container.ports.collection_details
    assert isinstance(details, MemoryCollectionDetails)
    owner = await api.account("owner")
    first_file, second_file = await library.audio("owner", "one", "two")
    collection_id = (await library.collection(owner))["id"]
    await library.add(owner, collection_id, first_file)

    hits, misses = details.hits, details.misses
    before = await library.get(collection_id, owner)
    again = await library.get(collection_id, owner)
    assert (before.status_code, again.content) == (200, before.content)
    assert (details.hits - hits, details.misses - misses) == (1, 1)
    assert len(details) >= 1 and details.size_bytes > 0

    await library.add(owner, collection_id, second_file)
    after = await library.get(collection_id, owner)
    assert [t["audio_file_id"] for t in after.json()["tracks"]] == [first_file, second_file]
    assert after.json()["track_count"] == 2
    assert (details.hits - hits, details.misses - misses) == (1, 2)

    renamed = await library.client.put("/api/v1/users/me", json={"display_name": "The Owner"}, headers=owner.headers)
    assert renamed.status_code == 200  # what the collection shows of its people changes it too
    shown = (await library.get(collection_id, None)).json()
    assert shown["owner"]["display_name"] == "The Owner"
    assert shown["tracks"][0]["audio_file"]["owner"]["display_name"] == "The Owner"
    assert (details.hits - hits, details.misses - misses) == (1, 3)
