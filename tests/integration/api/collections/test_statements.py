"""A page costs a fixed number of SQL statements whatever its size (owners, collaborators, track
counts and durations are fetched once per page, never once per collection), and so does a
collection with 100 tracks. Counted on the app's engine and on the fast reads' connection, on SQLite
and on PostgreSQL."""

from __future__ import annotations

import pytest

from sono.adapters.sqlalchemy.collection_catalog import SqlCollectionCatalog
from tests.integration.api.collections.conftest import COLLECTIONS, Library, counting
from tests.integration.api.conftest import Account

LIST_STATEMENTS_MAX = 2  # the caller's session; the page with owners, totals, length and collaborators
DETAIL_STATEMENTS_MAX = 3  # the caller's session; the collection with its owner, its collaborators with their
# users and its tracks with their files and the files' owners; the caller's stars and plays of those files


async def _collections(
    library: Library, owner: Account, count: int, tracks: list[int], friends: list[str]
) -> list[int]:
    made = []
    for i in range(count):
        collection = await library.collection(owner, title=f"c{i}", is_collaborative=True)
        await library.add(owner, collection["id"], *tracks)
        for friend in friends:
            await library.share(owner, collection["id"], friend, "view")
        made.append(collection["id"])
    return made


async def test_a_list_page_costs_the_same_statements_whatever_its_size(
    crowd: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = crowd
    monkeypatch.setattr(SqlCollectionCatalog, "PAGES_KEPT", 0)  # every page read (SQLite keeps unchanged ones)
    api, client = library.api, library.client
    owners = [await api.account(f"owner{i}") for i in range(3)]
    friends = [f"friend{i}" for i in range(3)]
    viewer, *_ = [await api.account(name) for name in friends]  # the first friend sees everything shared
    for i, owner in enumerate(owners):
        tracks = await library.audio(owner.username, *[f"{owner.username}-{n}" for n in range(3 + i)])
        await _collections(library, owner, 4, tracks, friends[: i + 1])

    counts = {}
    sizes = {"/": (2, 12, 100), "/collaborative": (2, 12, 50), "/my-collections": (1, 4, 10)}
    for path, limits in sizes.items():
        account = owners[0] if path == "/my-collections" else viewer
        for limit in limits:
            await client.get(f"{COLLECTIONS}{path}", params={"limit": limit}, headers=account.headers)  # warm
            with counting(api) as counter:
                response = await client.get(f"{COLLECTIONS}{path}", params={"limit": limit}, headers=account.headers)
            assert response.status_code == 200
            body = response.json()
            assert len(body["items"]) == min(limit, limits[1]) and body["total"] == limits[1]
            assert all(item["track_count"] >= 3 and item["collaborators"] for item in body["items"])
            counts[path, limit] = counter.count
        assert counts[path, limits[0]] == counts[path, limits[1]] == counts[path, limits[2]], counts
        assert counts[path, limits[0]] <= LIST_STATEMENTS_MAX, counts
    with counting(api) as counter:  # beyond the end: no row carries the length, so it is counted
        beyond = await client.get(f"{COLLECTIONS}/", params={"skip": 50}, headers=viewer.headers)
    assert (beyond.json()["items"], beyond.json()["total"]) == ([], 12)
    assert counter.count == counts["/", 2] + 1, counter.statements  # the page, then the count


async def test_a_collection_with_100_tracks_costs_the_same_statements_as_one_with_1(
    crowd: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = crowd
    monkeypatch.setattr(SqlCollectionCatalog, "SHOWN_KEPT", 0)  # every collection read (SQLite keeps unchanged ones)
    api, client = library.api, library.api.client
    owner = await api.account("owner")
    others = [await api.account(f"artist{i}") for i in range(4)]
    for name in ("fan1", "fan2"):
        await api.account(name)
    files = await library.audio("owner", *[f"o{i}" for i in range(60)])
    for artist in others:
        files += await library.audio(artist.username, *[f"{artist.username}-{i}" for i in range(10)], public=True)
    small = (await _collections(library, owner, 1, files[:1], ["fan1"]))[0]
    large = (await _collections(library, owner, 1, files, ["fan1", "fan2"]))[0]

    counts = {}
    for collection_id in (small, large):
        await client.get(f"{COLLECTIONS}/{collection_id}")  # warm
        with counting(api) as counter:
            response = await client.get(f"{COLLECTIONS}/{collection_id}", headers=owner.headers)
        assert response.status_code == 200
        counts[collection_id] = (counter.count, len(response.json()["tracks"]))
    assert counts[large][1] == 100
    assert counts[small][0] == counts[large][0] <= DETAIL_STATEMENTS_MAX, counts


async def test_an_unchanged_collection_is_kept(crowd: Library) -> None:
    """A collection read once is kept, whatever its size, as is the caller's session, until a
    commit writes a table they are read from (on either database): a request then reads only the
    caller's stars and plays of its files (one statement)."""
    library = crowd
    api, client = library.api, library.api.client
    owner = await api.account("owner")
    files = await library.audio("owner", *[f"o{i}" for i in range(100)])
    collection_id = (await _collections(library, owner, 1, files, []))[0]
    path = f"{COLLECTIONS}/{collection_id}"
    first = await client.get(path, headers=owner.headers)
    with counting(api) as counter:
        again = await client.get(path, headers=owner.headers)
    assert again.content == first.content and len(again.json()["tracks"]) == 100
    reread = any("collection_tracks" in sql for sql in counter.statements)
    assert (counter.count, reread) == (1, False), counter.statements


async def test_the_maintenance_switchs_refresh_is_not_counted(crowd: Library) -> None:
    """The maintenance state is cached a second per process, so its refresh (on SQLite a ``BEGIN``
    and a ``SELECT``) lands in whichever request follows: the counts leave it out, else they would
    depend on the machine's speed."""
    api, client = crowd.api, crowd.api.client
    owner = await api.account("owner")
    await client.get(f"{COLLECTIONS}/my-collections", headers=owner.headers)  # warm
    with counting(api) as cached:
        await client.get(f"{COLLECTIONS}/my-collections", headers=owner.headers)
    api.container.ports.maintenance.invalidate()  # type: ignore[attr-defined]  # as when the second is up
    with counting(api) as refreshed:
        await client.get(f"{COLLECTIONS}/my-collections", headers=owner.headers)
    assert refreshed.count == cached.count, (cached.statements, refreshed.statements)
