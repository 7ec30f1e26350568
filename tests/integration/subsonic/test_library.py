"""The library over ``/rest`` (artists, albums and genres from tags; stars and plays): browsing by
ID3 tags down to the bytes of a song, the folder shim, every album list with paging, search (a
term, ``""`` and the empty query paged to the end), star/unstar and the starred lists, scrobble and
play counts; every count and list only of what the caller may see."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.subsonic.conftest import Deployment, knuckles, opensonic

pytestmark = pytest.mark.slow


def _artists(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["name"]: a | {"index": i["name"]} for i in body["artists"]["index"] for a in i["artist"]}


async def test_artists_to_album_to_song_to_stream(deployment: Deployment) -> None:
    body = deployment.ok("getArtists", "oscar")["artists"]
    assert body["ignoredArticles"].split()[0] == "The"
    seen = _artists({"artists": body})
    assert {name: a["index"] for name, a in seen.items()} == {"Ana Lua": "A", "The Testers": "T", "The Zebras": "Z"}
    connection = opensonic(deployment, "oscar")
    try:
        indexes = await connection.get_artists()
        testers = next(a for i in indexes.index for a in i.artist if a.name == "The Testers")
        artist = await connection.get_artist(testers.id)
        (album,) = artist.album
        assert (album.name, album.song_count, album.year, album.genre) == ("First Light", 3, 2024, "Rock")
        full = await connection.get_album(album.id)
        titles = [s.title for s in full.song]
        assert sorted(titles) == ["Hidden", "Plain", "Sunrise"]  # his own private song, not alice's
        sunrise = next(s for s in full.song if s.title == "Sunrise")
        assert (sunrise.album_id, sunrise.artist_id, sunrise.parent) == (album.id, testers.id, album.id)
        response = await connection.stream(sunrise.id, byte_range="bytes=0-")
        assert await response.read() == deployment.songs["public"].data
    finally:
        await connection.cleanup()
    # the same album counted over what each caller may see
    for who, titles in (
        ("alice", ["Plain", "Secret", "Sunrise"]),
        ("vera", ["Plain", "Secret", "Sunrise"]),  # alice's private song, through the collection she may view
        ("root", ["Hidden", "Plain", "Secret", "Sunrise"]),
    ):
        mine = _artists(deployment.ok("getArtists", who))["The Testers"]
        album_id = deployment.ok("getArtist", who, id=mine["id"])["artist"]["album"][0]["id"]
        found = deployment.ok("getAlbum", who, id=album_id)["album"]
        assert (found["songCount"], sorted(s["title"] for s in found["song"])) == (len(titles), titles), who
    assert deployment.code("getArtist", "oscar", id="ar-999999") == 70
    assert deployment.code("getAlbum", "oscar", id="al-999999") == 70
    assert knuckles(deployment, "oscar").browsing.get_song(deployment.songs["jazz"].sid).title == "Night"


def test_the_folder_shim_and_genres(deployment: Deployment) -> None:
    indexes = deployment.ok("getIndexes", "oscar")["indexes"]
    names = {a["name"]: a["id"] for i in indexes["index"] for a in i["artist"]}
    assert set(names) == {"Ana Lua", "The Testers", "The Zebras"}
    directory = deployment.ok("getMusicDirectory", "oscar", id=names["Ana Lua"])["directory"]
    assert directory["name"] == "Ana Lua"
    (album,) = directory["child"]
    assert album["isDir"] is True and album["title"] == "Blue Hour"
    songs = deployment.ok("getMusicDirectory", "oscar", id=album["id"])["directory"]["child"]
    assert [(s["title"], s["isDir"]) for s in songs] == [("Night", False)]
    genres = {
        g["value"]: (g["songCount"], g["albumCount"]) for g in deployment.ok("getGenres", "oscar")["genres"]["genre"]
    }
    assert genres == {"Jazz": (1, 1), "Pop": (1, 1), "Rock": (3, 1)}
    assert deployment.code("getMusicDirectory", "oscar", id=deployment.songs["public"].sid) == 70
    by_genre = deployment.ok("getSongsByGenre", "oscar", genre="Rock", count=10)["songsByGenre"]["song"]
    assert sorted(s["title"] for s in by_genre) == ["Hidden", "Plain", "Sunrise"]
    randoms = deployment.ok("getRandomSongs", "oscar", size=50)["randomSongs"]["song"]
    assert sorted(s["title"] for s in randoms) == ["Hidden", "Night", "Plain", "Stripe", "Sunrise"]


@pytest.mark.parametrize("kind", ["random", "newest", "highest", "alphabeticalByName", "alphabeticalByArtist"])
def test_album_lists_page_through_every_album_once(deployment: Deployment, kind: str) -> None:
    seen: list[str] = []
    for offset in range(10):
        page = deployment.ok("getAlbumList2", "oscar", type=kind, size=1, offset=offset)["albumList2"]["album"]
        if not page:
            break
        seen += [a["name"] for a in page]
    if kind != "random":  # a random list is drawn again on each request
        assert sorted(seen) == ["Blue Hour", "First Light", "Stripes"] and len(seen) == 3
    ordered = [a["name"] for a in deployment.ok("getAlbumList2", "oscar", type=kind, size=10)["albumList2"]["album"]]
    assert sorted(ordered) == ["Blue Hour", "First Light", "Stripes"]
    if kind == "alphabeticalByName":
        assert ordered == ["Blue Hour", "First Light", "Stripes"]
    legacy = deployment.ok("getAlbumList", "oscar", type=kind, size=10)["albumList"]["album"]
    assert sorted(a["title"] for a in legacy) == sorted(ordered) and all(a["isDir"] for a in legacy)


def test_album_lists_by_year_genre_and_the_others(deployment: Deployment) -> None:
    def names(**params: Any) -> list[str]:
        return [a["name"] for a in deployment.ok("getAlbumList2", "oscar", **params)["albumList2"]["album"]]

    assert names(type="byYear", fromYear=1990, toYear=2000) == ["Blue Hour"]
    assert sorted(names(type="byYear", fromYear=2030, toYear=2000)) == ["First Light", "Stripes"]
    assert names(type="byGenre", genre="Jazz") == ["Blue Hour"]
    assert deployment.code("getAlbumList2", "oscar", type="byYear", fromYear=1990) == 10
    assert deployment.code("getAlbumList2", "oscar", type="byGenre") == 10
    assert deployment.code("getAlbumList2", "oscar") == 10
    assert deployment.code("getAlbumList2", "oscar", type="nonsense") == 0


def test_frequent_and_recent_are_the_callers_own_listens(deployment: Deployment) -> None:
    def names(who: str, kind: str) -> list[str]:
        return [a["name"] for a in deployment.ok("getAlbumList2", who, type=kind, size=10)["albumList2"]["album"]]

    assert names("vera", "frequent") == names("vera", "recent") == []  # nothing played yet
    stripes, blue = deployment.songs["pop"].sid, deployment.songs["jazz"].sid
    assert deployment.ok("scrobble", "vera", id=[stripes, stripes], time=["1700000000000", "1700000001000"])
    assert deployment.ok("scrobble", "vera", id=blue, time="1700000500000")

    assert names("vera", "frequent") == ["Stripes", "Blue Hour"]  # two listens, then one
    assert names("vera", "recent") == ["Blue Hour", "Stripes"]  # the latest listen first
    assert "Stripes" not in names("oscar", "frequent")  # another caller's listens are not theirs


def _paged_songs(deployment: Deployment, who: str, **query: str) -> list[str]:
    ids: list[str] = []
    for offset in range(0, 40, 2):
        found = deployment.ok("search3", who, songCount=2, songOffset=offset, artistCount=0, albumCount=0, **query)
        page = found["searchResult3"].get("song", [])
        if not page:
            break
        ids += [s["id"] for s in page]
    return ids


def test_search_with_a_term_with_quotes_and_empty_paged_to_the_end(deployment: Deployment) -> None:
    visible = {deployment.songs[name].sid for name in ("public", "plain", "jazz", "pop", "oscars")}
    for query in ({"query": ""}, {"query": '""'}, {}, {"query": "*"}):
        ids = _paged_songs(deployment, "oscar", **query)
        assert len(ids) == len(set(ids)) and set(ids) == visible, query  # no duplicates, no gaps
    everything = deployment.ok("search3", "alice", query='""', songCount=500)["searchResult3"]
    assert deployment.songs["private"].sid in {s["id"] for s in everything["song"]}
    assert deployment.songs["oscars"].sid not in {s["id"] for s in everything["song"]}
    assert {a["name"] for a in everything["artist"]} == {"Ana Lua", "The Testers", "The Zebras"}
    hit = deployment.ok("search3", "oscar", query="sunri*")["searchResult3"]
    assert [s["title"] for s in hit["song"]] == ["Sunrise"]
    found = deployment.ok("search3", "oscar", query="blue")["searchResult3"]
    assert [a["name"] for a in found["album"]] == ["Blue Hour"]
    assert deployment.ok("search3", "oscar", query="secret")["searchResult3"].get("song", []) == []  # private
    old = deployment.ok("search2", "oscar", query="lua")["searchResult2"]
    assert [a["name"] for a in old["artist"]] == ["Ana Lua"]


async def test_star_unstar_a_song_and_the_starred_lists(deployment: Deployment) -> None:
    song, private = deployment.songs["jazz"].sid, deployment.songs["private"].sid
    connection = opensonic(deployment, "vera")
    try:
        assert await connection.star(sids=[song])
        starred = await connection.get_starred2()
        assert [s.id for s in starred.song or []] == [song] and starred.song[0].starred
        assert [s["id"] for s in deployment.ok("getStarred", "vera")["starred"]["song"]] == [song]
        assert await connection.unstar(sids=[song])
        assert not (await connection.get_starred2()).song
    finally:
        await connection.cleanup()
    assert deployment.code("star", "oscar", id=private) == 70  # not oscar's to see
    assert deployment.code("star", "oscar", id="tr-999999") == 70
    assert deployment.code("star", "oscar") == 10


def test_star_albums_and_artists(deployment: Deployment) -> None:
    artists = _artists(deployment.ok("getArtists", "eddie"))
    album = deployment.ok("getArtist", "eddie", id=artists["Ana Lua"]["id"])["artist"]["album"][0]["id"]
    zebras = artists["The Zebras"]["id"]
    assert deployment.ok("star", "eddie", albumId=album, artistId=zebras)
    starred = deployment.ok("getStarred2", "eddie")["starred2"]
    assert [a["id"] for a in starred["album"]] == [album] and starred["album"][0]["starred"]
    assert [a["id"] for a in starred["artist"]] == [zebras]
    listed = deployment.ok("getAlbumList2", "eddie", type="starred")["albumList2"]["album"]
    assert [a["id"] for a in listed] == [album] and listed[0]["starred"]
    assert deployment.ok("unstar", "eddie", id=[album, zebras])
    assert deployment.ok("getStarred2", "eddie")["starred2"].get("album", []) == []
    assert deployment.code("star", "eddie", albumId="al-999999") == 70


def test_scrobble_counts_plays_and_stream_never_does(deployment: Deployment) -> None:
    song = deployment.songs["pop"]
    artists = _artists(deployment.ok("getArtists", "eddie"))
    album = deployment.ok("getArtist", "eddie", id=artists["The Zebras"]["id"])["artist"]["album"][0]["id"]

    def entry() -> dict[str, Any]:
        return next(s for s in deployment.ok("getAlbum", "eddie", id=album)["album"]["song"] if s["id"] == song.sid)

    assert "playCount" not in entry()
    deployment.rest("stream", "eddie", id=song.sid)
    assert "playCount" not in entry()
    assert deployment.ok("scrobble", "eddie", id=song.sid, submission="false")
    assert "playCount" not in entry()
    assert deployment.ok("scrobble", "eddie", id=[song.sid, song.sid], time=["1700000000000", "1700000100000"])
    played = entry()
    assert played["playCount"] == 2 and played["played"].startswith("2023-11-14T22:")
    assert deployment.code("scrobble", "oscar", id=deployment.songs["private"].sid) == 70
    assert deployment.code("scrobble", "eddie", id=song.sid, time="yesterday") == 0
