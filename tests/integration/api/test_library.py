"""The library in the JSON API (contract section 12) on SQLite and PostgreSQL: artists, albums and
genres derived from tags, per caller; the search; the read model kept in step with uploads, tag
edits and deletions; and a constant number of SQL statements per page."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from sono.adapters.sqlalchemy import migrate
from sono.adapters.sqlalchemy.engine import create_engine
from sono.application.library.messages import GetAlbums, GetArtists, GetSong, GetSongs, ListAlbums, ListSongs
from sono.application.messages import ANONYMOUS, Actor
from sono.domain.collections import Collection, CollectionType
from sono.domain.errors import NotFound
from sono.domain.library import AlbumSort, SongOrder
from tests.fixtures.media import mp3_bytes, png_bytes
from tests.fixtures.tagged import Tags, tagged
from tests.integration.api.audio_support import upload
from tests.integration.api.catalogue import counting_statements
from tests.integration.api.conftest import Account, Api

LIBRARY = "/api/v1/library"
SEARCH = "/api/v1/search"
AUDIO_SHAPE = {
    "id", "title", "description", "original_filename", "content_type", "file_size", "duration", "bitrate",
    "sample_rate", "channels", "format", "is_public", "owner_id", "owner", "upload_date", "updated_at", "file_url",
    "artist", "album", "track_number", "year", "genre", "cover_art_url",
}  # fmt: skip


async def song(api: Api, account: Account, title: str, *, public: bool = True, cover: bool = False, **tags: Any) -> int:
    data = tagged("mp3", Tags(picture=png_bytes())) if cover else mp3_bytes()
    fields = {"title": title, "is_public": "true" if public else "false"}
    fields.update({name: str(value) for name, value in tags.items()})
    response = await upload(api, account, data, **fields)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def get(api: Api, url: str, account: Account | None = None, **params: Any) -> Any:
    response = await api.client.get(url, params=params, headers=account.headers if account else {})
    assert response.status_code == 200, response.text
    return response.json()


def names(page: dict[str, Any], key: str = "name") -> list[Any]:
    return [item[key] for item in page["items"]]


async def test_artists_and_albums_group_by_normalised_tags_and_count_per_caller(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    await song(api, alice, "One", artist="The Band", album="First", track_number=1)
    await song(api, alice, "Two", artist="the   BAND", album="first ", track_number=2)
    await song(api, alice, "Three", artist="The Band", album="Second", genre="Rock", year=1999)
    await song(api, alice, "Hidden", artist="The Band", album="Secret", public=False)
    await song(api, bob, "Loose")  # no artist or album tag

    for viewer in (bob, None):
        artists = await get(api, f"{LIBRARY}/artists", viewer)
        assert names(artists) == ["[Unknown Artist]", "The Band"]
        band = artists["items"][1]
        assert (band["album_count"], band["song_count"]) == (2, 3)
        assert artists["total"] == 2 and artists["has_more"] is False
    mine = await get(api, f"{LIBRARY}/artists", alice)
    assert [(a["name"], a["album_count"], a["song_count"]) for a in mine["items"]] == [
        ("[Unknown Artist]", 1, 1),
        ("The Band", 3, 4),
    ]

    albums = await get(api, f"{LIBRARY}/albums", bob)
    assert [(a["name"], a["artist"], a["song_count"]) for a in albums["items"]] == [
        ("[Unknown Album]", "[Unknown Artist]", 1),
        ("First", "The Band", 2),
        ("Second", "The Band", 1),
    ]
    second = albums["items"][2]
    assert (second["genre"], second["year"]) == ("Rock", 1999)
    assert set(second) == {
        "id", "name", "artist", "artist_id", "year", "genre", "song_count", "duration", "created", "cover_art_url",
    }  # fmt: skip

    artist = await get(api, f"{LIBRARY}/artists/{band['id']}", bob)
    assert artist["name"] == "The Band"
    assert [a["name"] for a in artist["albums"]] == ["First", "Second"]


async def test_a_private_file_is_never_counted_listed_or_found_by_others(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    await song(api, alice, "Secret Song", artist="Hushed", album="Quiet", genre="Ambient", public=False)
    for viewer in (bob, None):
        assert (await get(api, f"{LIBRARY}/artists", viewer))["total"] == 0
        assert (await get(api, f"{LIBRARY}/albums", viewer))["total"] == 0
        assert (await get(api, f"{LIBRARY}/genres", viewer))["total"] == 0
        found = await get(api, SEARCH, viewer, q="secret")
        assert all(found[kind]["total"] == 0 for kind in ("songs", "albums", "artists"))
        assert (await get(api, SEARCH, viewer, q="quiet", kinds="albums"))["albums"]["total"] == 0
    albums = await get(api, f"{LIBRARY}/albums", alice)
    album_id, artist_id = albums["items"][0]["id"], albums["items"][0]["artist_id"]
    for path in (f"albums/{album_id}", f"artists/{artist_id}", "albums/999999"):
        response = await api.client.get(f"{LIBRARY}/{path}", headers=bob.headers)
        assert response.status_code == 404, path
    assert (await get(api, SEARCH, alice, q="secret"))["songs"]["total"] == 1


async def test_files_shared_through_a_visible_collection_count_and_inactive_owners_hide(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    private = await song(api, alice, "Shared", artist="Duo", album="Together", public=False)
    await song(api, alice, "Open", artist="Duo", album="Together")
    assert (await get(api, f"{LIBRARY}/albums", bob))["items"][0]["song_count"] == 1
    async with api.uow() as uow:
        owner = await uow.users.get_by_username("alice")
        assert owner is not None and owner.id is not None
        collection = await uow.collections.add(
            Collection(owner_id=owner.id, title="mix", collection_type=CollectionType.PLAYLIST, is_public=True)
        )
        collection.add_tracks([private], now=owner.created_at, added_by_id=owner.id)  # type: ignore[arg-type]
        await uow.collections.save(collection)
        await uow.commit()
    assert (await get(api, f"{LIBRARY}/albums", bob))["items"][0]["song_count"] == 2
    assert (await get(api, SEARCH, None, q="shared", kinds="songs"))["songs"]["total"] == 1

    await api.set_active("alice", False)
    assert (await get(api, f"{LIBRARY}/albums", bob))["total"] == 0
    assert (await get(api, SEARCH, bob, q="open"))["songs"]["total"] == 0


async def test_an_album_lists_its_songs_in_track_order_in_the_audio_shape_with_its_cover(api: Api) -> None:
    alice = await api.account("alice")
    await song(api, alice, "b-side", artist="X", album="Y")
    third = await song(api, alice, "Third", artist="X", album="Y", track_number=3, cover=True)
    await song(api, alice, "First", artist="X", album="Y", track_number=1)
    await song(api, alice, "a-side", artist="X", album="Y")
    album = (await get(api, f"{LIBRARY}/albums", alice))["items"][0]
    detail = await get(api, f"{LIBRARY}/albums/{album['id']}", alice)
    assert [s["title"] for s in detail["songs"]] == ["First", "Third", "a-side", "b-side"]
    assert all(set(s) == AUDIO_SHAPE for s in detail["songs"])
    cover = next(s for s in detail["songs"] if s["id"] == third)["cover_art_url"]
    assert cover and detail["cover_art_url"] == cover == album["cover_art_url"]
    artist = (await get(api, f"{LIBRARY}/artists", alice))["items"][0]
    assert artist["cover_art_url"] == cover


async def test_the_read_model_follows_uploads_tag_edits_and_deletions(api: Api) -> None:
    alice = await api.account("alice")
    audio_id = await song(api, alice, "Mover", artist="Before", album="Old")
    assert names(await get(api, f"{LIBRARY}/artists", alice)) == ["Before"]

    response = await api.client.put(
        f"/api/v1/audio/{audio_id}", json={"artist": "After", "album": "New", "title": "Moved"}, headers=alice.headers
    )
    assert response.status_code == 200, response.text
    assert names(await get(api, f"{LIBRARY}/artists", alice)) == ["After"]
    assert names(await get(api, f"{LIBRARY}/albums", alice)) == ["New"]
    found = await get(api, SEARCH, alice, q="moved", kinds="songs")
    assert [s["title"] for s in found["songs"]["items"]] == ["Moved"]

    response = await api.client.put(f"/api/v1/audio/{audio_id}", json={"artist": None}, headers=alice.headers)
    assert response.status_code == 200
    assert names(await get(api, f"{LIBRARY}/artists", alice)) == ["[Unknown Artist]"]

    assert (await api.client.delete(f"/api/v1/audio/{audio_id}", headers=alice.headers)).status_code == 200
    assert (await get(api, f"{LIBRARY}/artists", alice))["total"] == 0
    assert (await get(api, SEARCH, alice, q="moved"))["songs"]["total"] == 0
    async with api.uow() as uow:
        left = await uow.session.scalar(text("SELECT count(*) FROM library_songs"))
    assert left == 0


async def test_search_ranks_exact_prefix_word_substring_ignoring_case_and_accents(api: Api) -> None:
    alice = await api.account("alice")
    for title in ("Mocafe", "Le Café", "Cafeteria", "CAFÉ del Mar", "Café", "Tea"):
        await song(api, alice, title, artist=title, album=title)
    found = await get(api, SEARCH, None, q="cafe")
    expected = ["Café", "CAFÉ del Mar", "Cafeteria", "Le Café", "Mocafe"]
    assert [s["title"] for s in found["songs"]["items"]] == expected
    assert names(found["artists"]) == expected
    assert names(found["albums"]) == expected
    assert found["songs"]["total"] == 5
    short = await get(api, SEARCH, None, q="CA", kinds="songs")  # short: exact and prefix only
    assert [s["title"] for s in short["songs"]["items"]] == ["Café", "CAFÉ del Mar", "Cafeteria"]
    paged = await get(api, SEARCH, None, q="café", kinds="songs", skip=3, limit=1)
    assert [s["title"] for s in paged["songs"]["items"]] == ["Le Café"] and paged["songs"]["has_more"] is True
    assert set(await get(api, SEARCH, None, q="x%_\"'*", kinds="songs,artists")) == {"songs", "artists"}


@pytest.mark.parametrize(
    "params",
    [{"q": ""}, {"q": "x" * 201}, {"q": "ok", "kinds": "songs,planets"}, {"q": "   "}, {"q": "ok", "limit": 101}],
)
async def test_search_refuses_bad_queries_with_422(api: Api, params: dict[str, Any]) -> None:
    response = await api.client.get(SEARCH, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][0] == "query"


async def test_users_are_found_by_signed_in_callers_only(api: Api) -> None:
    alice = await api.account("alice")
    await api.account("alicia")
    assert [u["username"] for u in (await get(api, SEARCH, alice, q="alic", kinds="users"))["users"]["items"]] == [
        "alice",
        "alicia",
    ]
    assert (await get(api, SEARCH, None, q="alic", kinds="users"))["users"]["total"] == 0


async def test_albums_filter_by_artist_genre_and_years_and_sort(api: Api) -> None:
    alice = await api.account("alice")
    await song(api, alice, "a", artist="Zed", album="Alpha", year=2001, genre="Jazz")
    await song(api, alice, "b", artist="Amy", album="Beta", year=1990, genre="Rock")
    await song(api, alice, "c", artist="Amy", album="Gamma", genre="Rock")
    await song(api, alice, "d", artist="Amy", album="Gamma", genre="Pop", year=2010)
    await song(api, alice, "e", artist="Amy", album="Gamma", genre="Pop")

    async def albums(**params: Any) -> list[str]:
        return names(await get(api, f"{LIBRARY}/albums", alice, **params))

    assert await albums() == ["Alpha", "Beta", "Gamma"]
    assert await albums(sort="artist") == ["Beta", "Gamma", "Alpha"]
    assert await albums(sort="year") == ["Beta", "Alpha", "Gamma"]
    assert await albums(sort="newest") == ["Gamma", "Beta", "Alpha"]
    latest_first = await api.container.bus(ListAlbums(sort=AlbumSort.YEAR_DESCENDING), ANONYMOUS)
    assert [a.name for a in latest_first.items] == ["Gamma", "Alpha", "Beta"]
    assert await albums(genre="Rock") == ["Beta", "Gamma"]
    assert await albums(from_year=2000) == ["Alpha", "Gamma"]
    assert await albums(from_year=1995, to_year=2005) == ["Alpha"]
    amy = next(a for a in (await get(api, f"{LIBRARY}/artists", alice))["items"] if a["name"] == "Amy")
    assert await albums(artist_id=amy["id"]) == ["Beta", "Gamma"]
    gamma = (await get(api, f"{LIBRARY}/albums", alice, genre="Pop"))["items"][0]
    assert gamma["genre"] == "Pop" and gamma["year"] == 2010
    genres = await get(api, f"{LIBRARY}/genres", alice)
    assert [(g["name"], g["album_count"], g["song_count"]) for g in genres["items"]] == [
        ("Jazz", 1, 1),
        ("Pop", 1, 2),
        ("Rock", 2, 2),
    ]
    for bad in ({"sort": "random"}, {"from_year": 0}, {"artist_id": 0}, {"skip": -1}):
        assert (await api.client.get(f"{LIBRARY}/albums", params=bad)).status_code == 422, bad
    assert (await get(api, f"{LIBRARY}/albums", alice, skip=10))["total"] == 3


async def test_a_page_costs_the_same_statements_whatever_the_library_holds(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")

    async def statements(url: str, **params: Any) -> int:
        with counting_statements(api) as executed:
            await get(api, url, bob, **params)
        return len(executed)

    async def costs() -> list[int]:
        return [
            await statements(f"{LIBRARY}/artists", limit=5),
            await statements(f"{LIBRARY}/albums", limit=5),
            await statements(f"{LIBRARY}/albums", limit=5, sort="year"),
            await statements(f"{LIBRARY}/genres", limit=5),
            await statements(SEARCH, q="song", limit=5),
        ]

    await song(api, alice, "song 0", artist="A0", album="B0", genre="G0", cover=True)
    small = await costs()
    for n in range(1, 12):
        await song(api, alice, f"song {n}", artist=f"A{n % 6}", album=f"B{n}", genre=f"G{n % 3}", cover=n % 2 == 0)
    await song(api, alice, "private song", artist="P", album="P", public=False)
    assert await costs() == small


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


async def test_the_migration_files_the_audio_files_already_stored(database_url: str) -> None:
    await migrate.upgrade(database_url, "0006")
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO users (id, username, email, password_hash, is_active, is_superuser,"
                    " max_audio_uploads, token_version) VALUES (1, 'a', 'a@x.io', 'h', true, false, 20, 0)"
                )
            )
            for i, (title, artist, album) in enumerate(
                [("One", "Émile", "Live"), ("Two", "émile ", "LIVE"), ("Three", None, None)], start=1
            ):
                await connection.execute(
                    text(
                        "INSERT INTO audio_files (id, owner_id, title, original_filename, storage_key, content_type,"
                        " file_size, format, is_public, artist, album) VALUES"
                        " (:id, 1, :title, 'f.mp3', :key, 'audio/mpeg', 1, 'mp3', true, :artist, :album)"
                    ),
                    {"id": i, "title": title, "key": f"k{i}", "artist": artist, "album": album},
                )
            await connection.execute(
                text(
                    "INSERT INTO collections (owner_id, title, collection_type, is_public, is_collaborative)"
                    " VALUES (1, 'Ça Va', 'playlist', true, false)"
                )
            )
        await migrate.upgrade(database_url)
        async with engine.connect() as connection:
            indexed = (await connection.execute(text("SELECT search FROM library_collections"))).all()
            assert [tuple(row) for row in indexed] == [("ca va",)]
            artists = (await connection.execute(text("SELECT name, search FROM library_artists ORDER BY id"))).all()
            songs = (
                await connection.execute(text("SELECT audio_file_id, album_id FROM library_songs ORDER BY 1"))
            ).all()
        assert [tuple(row) for row in artists] == [("Émile", "emile"), ("[Unknown Artist]", "[unknown artist]")]
        assert songs[0][1] == songs[1][1] != songs[2][1]
        async with engine.begin() as connection:  # new rows get new ids after the backfill
            await connection.execute(
                text("INSERT INTO library_artists (key, name, search) VALUES ('new', 'New', 'new')")
            )
    finally:
        await engine.dispose()


async def test_collections_are_found_by_title_when_the_caller_may_see_them(api: Api) -> None:
    alice, bob, carol = await api.account("alice"), await api.account("bob"), await api.account("carol")

    async def create(title: str, public: bool, **extra: Any) -> int:
        body = {"title": title, "collection_type": "playlist", "is_public": public} | extra
        response = await api.client.post("/api/v1/collections/", json=body, headers=alice.headers)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    await create("Summer Café Hits", True)
    secret = await create("Summer secrets", False, is_collaborative=True)
    response = await api.client.post(
        f"/api/v1/collections/{secret}/collaborators",
        json={"user_id": (await get(api, "/api/v1/users/me", carol))["id"], "permission_level": "view"},
        headers=alice.headers,
    )
    assert response.status_code in (200, 201), response.text

    async def titles(viewer: Account | None, q: str = "summer") -> list[str]:
        found = (await get(api, SEARCH, viewer, q=q, kinds="collections"))["collections"]
        return [c["title"] for c in found["items"]]

    assert await titles(None) == await titles(bob) == ["Summer Café Hits"]
    assert await titles(alice) == await titles(carol) == ["Summer Café Hits", "Summer secrets"]
    assert await titles(None, "cafe hits") == ["Summer Café Hits"]
    item = (await get(api, SEARCH, carol, q="secrets", kinds="collections"))["collections"]["items"][0]
    assert item["collaborators"][0]["user"]["username"] == "carol" and item["can_edit"] is False

    response = await api.client.put(f"/api/v1/collections/{secret}", json={"title": "Winter"}, headers=alice.headers)
    assert response.status_code == 200, response.text
    assert await titles(alice) == ["Summer Café Hits"]
    assert await titles(alice, "winter") == ["Winter"]
    assert (await api.client.delete(f"/api/v1/collections/{secret}", headers=alice.headers)).status_code == 200
    assert await titles(alice, "winter") == []


async def test_the_queries_by_id_give_the_visible_ones_in_the_order_asked(api: Api) -> None:
    """What the Subsonic entrypoint and the stars use, on each database."""
    alice, bob = await api.account("alice"), await api.account("bob")
    public = await song(api, alice, "Open", artist="A", album="X", track_number=2, genre="Pop", year=2000)
    private = await song(api, alice, "Closed", artist="B", album="Y", public=False)
    bob_id = (await get(api, "/api/v1/users/me", bob))["id"]
    as_bob = Actor.user(bob_id)
    bus = api.container.bus

    found = await bus(GetSong(public), as_bob)
    assert (found.audio.title, found.artist, found.album, found.owner.username) == ("Open", "A", "X", "alice")
    with pytest.raises(NotFound):
        await bus(GetSong(private), as_bob)
    assert [s.audio.id for s in await bus(GetSongs((private, public, 2**40, public)), as_bob)] == [public]
    albums = (await get(api, f"{LIBRARY}/albums", alice))["items"]
    artists = (await get(api, f"{LIBRARY}/artists", alice))["items"]
    x, y = (a["id"] for a in albums)
    assert [a.name for a in await bus(GetAlbums((y, x)), as_bob)] == ["X"]
    assert [a.name for a in await bus(GetAlbums((y, x)), ANONYMOUS)] == ["X"]
    assert [a.name for a in await bus(GetArtists(tuple(a["id"] for a in reversed(artists))), as_bob)] == ["A"]
    everything = await bus(ListSongs(order=SongOrder.RANDOM, seed=5), as_bob)
    assert [s.audio.id for s in everything.items] == [public]
    by_year = await bus(ListAlbums(sort=AlbumSort.YEAR_DESCENDING), ANONYMOUS)
    assert [a.name for a in by_year.items] == ["X"]
    owned = await bus(ListSongs(genre="Pop"), Actor.user((await get(api, "/api/v1/users/me", alice))["id"]))
    assert owned.total == 1


async def test_concurrent_uploads_filing_the_same_new_artist_all_succeed_under_one_artist(api: Api) -> None:
    accounts = [await api.account(name) for name in ("ann", "ben", "cat", "dan")]
    responses = await asyncio.gather(
        *(
            upload(api, account, mp3_bytes(), title=f"t{n}", artist="Brand New", album="Debut", is_public="true")
            for n, account in enumerate(accounts)
        )
    )
    assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
    artists = await get(api, f"{LIBRARY}/artists", accounts[0])
    assert [(a["name"], a["album_count"], a["song_count"]) for a in artists["items"]] == [("Brand New", 1, 4)]
