"""The library on fakes: grouping and normalisation, unknown names, per-caller counts, visibility
(own, public of active owners, shared through collections), ordering, paging and search ranking.
The fake evaluates the same visibility specification the SQL adapter compiles."""

from __future__ import annotations

import io
import itertools
from datetime import timedelta

import pytest

from sono.application.accounts.messages import SetProfilePicture
from sono.application.annotations.messages import RecordPlays
from sono.application.audio.messages import DeleteAudio, UpdateAudio
from sono.application.collections.ports import Listing, Scope
from sono.application.common import Principal
from sono.application.library.messages import (
    GetAlbum,
    GetAlbums,
    GetArtist,
    GetArtists,
    GetSong,
    GetSongs,
    ListAlbums,
    ListArtists,
    ListGenres,
    ListSongs,
    Search,
    ShowAlbum,
    ShowAlbums,
    ShowArtist,
    ShowArtists,
    ShowSearch,
)
from sono.application.messages import ANONYMOUS, Actor
from sono.application.values import UNSET
from sono.domain.access import Viewer
from sono.domain.audio import AudioFile
from sono.domain.collections import Collaborator, Collection, CollectionType, Permission, shared_with
from sono.domain.errors import NotFound, ValidationFailed
from sono.domain.library import (
    LISTED_PUBLICLY,
    UNKNOWN_ALBUM,
    UNKNOWN_ARTIST,
    AlbumSort,
    CollectionFacts,
    Match,
    SearchKind,
    SongFacts,
    SongOrder,
    filing,
    group_key,
    match,
    most_common,
    search_query,
    search_text,
    visible_collections,
    visible_songs,
)
from sono.domain.media import AudioTags
from tests.fakes.media import FAKE_IMAGE
from tests.unit.conftest import World
from tests.unit.test_audio import signed_in, upload

# --------------------------------------------------------------------------- the domain


def test_grouping_keys_ignore_case_and_repeated_whitespace_but_not_accents() -> None:
    assert group_key("  The   Band ") == group_key("the band") == "the band"
    assert group_key("Émile") != group_key("Emile")
    assert filing("t", None, "  ").artist == UNKNOWN_ARTIST
    assert filing("t", "x", None).album == UNKNOWN_ALBUM
    assert filing("t", "  Straße  ", "A").artist_key == "strasse"
    assert filing("t", "  Straße  x", "A").artist == "Straße x"


def test_search_text_strips_accents_and_case() -> None:
    assert search_text("  Café   DEL Mär ") == "cafe del mar"
    assert search_text("\uff26\uff55\uff4c\uff4c") == "full"  # full-width letters
    assert search_query("Beyoncé*") == "beyonce"


@pytest.mark.parametrize(
    ("text", "query", "expected"),
    [
        ("cafe", "cafe", Match.EXACT),
        ("cafeteria", "cafe", Match.PREFIX),
        ("le cafe", "cafe", Match.WORD),
        ("mocafe", "cafe", Match.SUBSTRING),
        ("tea", "cafe", None),
        ("le ca", "ca", None),  # short queries: exact and prefix only
        ("cab", "ca", Match.PREFIX),
        ("x", "", None),
    ],
)
def test_matches_rank_exact_prefix_word_substring(text: str, query: str, expected: Match | None) -> None:
    assert match(text, query) == expected


def test_the_most_common_value_wins_and_ties_go_to_the_smallest() -> None:
    assert most_common(["Rock", "Pop", "Pop", None, None, None]) == "Pop"
    assert most_common(["Rock", "Pop"]) == "Pop"
    assert most_common([None]) is None


def test_the_visibility_specification_agrees_with_the_aggregates_rules() -> None:
    """Every combination of viewer, file and holding collection: the specification says what
    ``AudioFile.visible_to`` and ``shared_with`` say."""
    viewers = [Viewer(), Viewer(1), Viewer(2), Viewer(3), Viewer(9, is_admin=True)]
    for viewer, public, active, holders in itertools.product(
        viewers,
        (False, True),
        (False, True),
        [(), ((2, False, True, ()),), ((2, True, True, ()),), ((2, True, False, ()),), ((4, False, True, (3,)),)],
    ):
        audio = AudioFile(1, "t", "f", "k", "audio/mpeg", 1, "mp3", is_public=public)
        collections = [
            (
                Collection(
                    owner, "c", CollectionType.PLAYLIST, is_public=is_public,
                    collaborators=[Collaborator(None, member, Permission.VIEW) for member in members],
                ),
                owner_active,
            )
            for owner, is_public, owner_active, members in holders
        ]  # fmt: skip
        expected = audio.visible_to(viewer, owner_active=active) or shared_with(viewer, collections)
        facts = SongFacts(
            1,
            public,
            active,
            tuple(
                CollectionFacts(c.owner_id, c.is_public, a, frozenset(m.user_id for m in c.collaborators))
                for c, a in collections
            ),
        )
        assert visible_songs(viewer).holds(facts) == expected, (viewer, public, active, holders)


def test_listed_publicly_is_public_and_of_an_active_owner_and_what_strangers_see() -> None:
    """``LISTED_PUBLICLY`` (the public audio list's rule): only a public file of an active owner,
    whoever owns it; exactly what a stranger or an anonymous caller may see of a file."""
    for public, active in itertools.product((False, True), (False, True)):
        audio = AudioFile(1, "t", "f", "k", "audio/mpeg", 1, "mp3", is_public=public)
        listed = LISTED_PUBLICLY.holds(SongFacts(1, public, active))
        assert listed == (public and active) == audio.listed_publicly(owner_active=active)
        assert audio.visible_to(Viewer(), owner_active=active) == listed
        assert audio.visible_to(Viewer(2), owner_active=active) == listed
        assert audio.visible_to(Viewer(1), owner_active=active)  # its owner sees it anyway


def test_the_collection_specification_is_the_contracts_rule_and_collection_visible_to() -> None:
    viewers = [Viewer(), Viewer(1), Viewer(2), Viewer(3), Viewer(9, is_admin=True)]
    for viewer, public, active, members in itertools.product(viewers, (False, True), (False, True), ((), (3,))):
        collection = Collection(
            1,
            "c",
            CollectionType.ALBUM,
            is_public=public,
            collaborators=[Collaborator(None, member, Permission.EDIT) for member in members],
        )
        facts = CollectionFacts(1, public, active, frozenset(members))
        # the contract (section 6), with a deactivated owner's collections seen by admins only
        seen_by = viewer.user_id == 1 or viewer.user_id in members or public
        expected = viewer.is_admin or (active and seen_by)
        assert visible_collections(viewer).holds(facts) == expected, (viewer, public, active, members)
        assert collection.visible_to(viewer, owner_active=active) == expected, (viewer, public, active, members)
        assert collection.facts(owner_active=active) == facts


def test_a_lists_specification_is_what_its_caller_sees_as_a_member_narrowed_by_its_scope() -> None:
    """``Listing.spec``, which the catalogs compile or evaluate: only the administration's list
    shows a deactivated owner's collections, even to their owner."""
    callers = (None, 1, 2, 3)
    for scope, caller, public, active, members in itertools.product(
        Scope, callers, (False, True), (False, True), ((), (3,))
    ):
        facts = CollectionFacts(1, public, active, frozenset(members))
        own, shared = caller == 1, caller in members
        expected = {
            Scope.ALL: True,
            Scope.PUBLIC: active and public,
            Scope.VISIBLE: active and (public or own or shared),
            Scope.OWNED: active and own,
            Scope.SHARED: active and shared,
        }[scope]
        assert Listing(scope, caller).spec().holds(facts) == expected, (scope, caller, public, active, members)


# --------------------------------------------------------------------------- the queries on fakes


async def song(world: World, who: Principal, tmp_path, title: str, **details: object) -> AudioFile:
    details.setdefault("is_public", True)
    return await upload(world, who, tmp_path, title=title, **details)


async def test_counts_are_per_caller_and_unknown_tags_group_together(world: World, tmp_path) -> None:
    alice, bob = await signed_in(world), await signed_in(world, "bob")
    await song(world, alice, tmp_path, "One", artist="The Band", album="First")
    await song(world, alice, tmp_path, "Two", artist="the  band", album="FIRST")
    await song(world, alice, tmp_path, "Three", artist="The Band", album="Secret", is_public=False)
    await song(world, bob, tmp_path, "Loose")
    await song(world, bob, tmp_path, "Looser")

    seen = await world.app.bus(ListArtists(), Actor.user(bob.user_id))
    assert [(a.name, a.album_count, a.song_count) for a in seen.items] == [
        (UNKNOWN_ARTIST, 1, 2),
        ("The Band", 1, 2),
    ]
    mine = await world.app.bus(ListArtists(), Actor.user(alice.user_id))
    assert [(a.name, a.album_count, a.song_count) for a in mine.items] == [
        (UNKNOWN_ARTIST, 1, 2),
        ("The Band", 2, 3),
    ]
    admin = await signed_in(world, "root", superuser=True)
    everything = await world.app.bus(ListArtists(), Actor.user(admin.user_id, is_admin=True))
    assert everything.items[1].song_count == 3
    anonymous = await world.app.bus(ListAlbums(), ANONYMOUS)
    assert [(a.name, a.artist, a.song_count) for a in anonymous.items] == [
        (UNKNOWN_ALBUM, UNKNOWN_ARTIST, 2),  # "[" sorts before letters
        ("First", "The Band", 2),
    ]


async def test_an_album_or_artist_without_visible_songs_is_not_found(world: World, tmp_path) -> None:
    alice, bob = await signed_in(world), await signed_in(world, "bob")
    await song(world, alice, tmp_path, "Hidden", artist="Quiet", album="Q", is_public=False)
    album = (await world.app.bus(ListAlbums(), Actor.user(alice.user_id))).items[0]
    for message in (GetAlbum(album.id), GetArtist(album.artist_id), GetAlbum(999), GetArtist(0)):
        with pytest.raises(NotFound):
            await world.app.bus(message, Actor.user(bob.user_id))
    detail = await world.app.bus(GetArtist(album.artist_id), Actor.user(alice.user_id))
    assert [a.name for a in detail.albums] == ["Q"]


async def test_private_files_in_a_visible_collection_are_seen_until_its_owner_is_disabled(
    world: World, tmp_path
) -> None:
    alice, bob = await signed_in(world), await signed_in(world, "bob")
    private = await song(world, alice, tmp_path, "Shared", artist="A", album="B", is_public=False)
    async with world.uow() as uow:
        collection = Collection(alice.user_id, "mix", CollectionType.PLAYLIST, is_public=False, is_collaborative=True)
        await uow.collections.add(collection)
        collection.add_tracks([private.id], now=world.clock.now(), added_by_id=alice.user_id)  # type: ignore[list-item]
        collection.add_collaborator(bob.user_id, Permission.VIEW, now=world.clock.now(), added_by_id=alice.user_id)
        await uow.commit()
    bob_actor = Actor.user(bob.user_id)
    assert (await world.app.bus(ListSongs(), bob_actor)).total == 1
    assert (await world.app.bus(ListSongs(), ANONYMOUS)).total == 0
    results = await world.app.bus(Search("shared"), bob_actor)
    assert results.songs is not None and [s.audio.id for s in results.songs.items] == [private.id]

    async with world.uow() as uow:
        owner = await uow.users.get(alice.user_id)
        assert owner is not None
        owner.is_active = False
        await uow.commit()
    assert (await world.app.bus(ListSongs(), bob_actor)).total == 0


async def test_album_songs_are_in_track_order_and_the_cover_is_the_first_with_one(world: World, tmp_path) -> None:
    alice = await signed_in(world)
    await song(world, alice, tmp_path, "b", artist="X", album="Y")
    world.inspector.tags = AudioTags(picture=FAKE_IMAGE + b"cover")
    covered = await song(world, alice, tmp_path, "Third", artist="X", album="Y", track_number=3)
    world.inspector.tags = AudioTags()
    await song(world, alice, tmp_path, "First", artist="X", album="Y", track_number=1)
    await song(world, alice, tmp_path, "a", artist="X", album="Y")
    album = (await world.app.bus(ListAlbums(), Actor.user(alice.user_id))).items[0]
    detail = await world.app.bus(GetAlbum(album.id), Actor.user(alice.user_id))
    assert [s.audio.title for s in detail.songs] == ["First", "Third", "a", "b"]
    assert album.cover is not None and album.cover.audio_id == covered.id
    assert album.duration == 4 * 180.0 and album.song_count == 4
    artist = (await world.app.bus(ListArtists(), Actor.user(alice.user_id))).items[0]
    assert artist.cover == album.cover


async def test_the_screens_carry_the_covers_files_and_pictures_urls(world: World, tmp_path) -> None:
    alice = await signed_in(world)
    await world.send(SetProfilePicture(io.BytesIO(b"FAKEIMAGE alice")), alice.actor)
    world.inspector.tags = AudioTags(picture=FAKE_IMAGE + b"cover")
    covered = await song(world, alice, tmp_path, "Cafe", artist="X", album="Y")
    world.inspector.tags = AudioTags()
    plain = await song(world, alice, tmp_path, "Cafe too", artist="Z", album="W")
    url = world.app.media.url
    stored = await world.user(alice.user_id)
    assert stored is not None and covered.cover_art_key is not None
    picture, cover = await url(stored.profile_picture_key), await url(covered.cover_art_key)
    assert picture is not None and cover is not None

    artists = await world.app.bus(ShowArtists(ListArtists()), ANONYMOUS)
    assert [(c.artist.name, c.cover_url) for c in artists.items] == [("X", cover), ("Z", None)]
    albums = await world.app.bus(ShowAlbums(ListAlbums()), ANONYMOUS)
    assert [(c.album.name, c.cover_url) for c in albums.items] == [("W", None), ("Y", cover)]
    artist = await world.app.bus(ShowArtist(artists.items[0].artist.id), ANONYMOUS)
    assert (artist.artist.cover_url, [(c.album.name, c.cover_url) for c in artist.albums]) == (cover, [("Y", cover)])
    album = await world.app.bus(ShowAlbum(albums.items[1].album.id), ANONYMOUS)
    assert album.album.cover_url == cover
    (shown,) = album.songs
    assert (shown.audio.id, shown.cover_art_url, shown.owner.picture_url) == (covered.id, cover, picture)
    assert shown.file_url == await url(covered.storage_key)

    found = await world.app.bus(ShowSearch(Search("cafe")), alice.actor)
    assert found.songs is not None and found.users is not None and found.artists is not None
    assert [(v.audio.id, v.cover_art_url, v.owner.picture_url) for v in found.songs.items] == [
        (covered.id, cover, picture),
        (plain.id, None, picture),
    ]
    assert found.songs.items[0].owner is found.songs.items[1].owner  # the owner presented once
    assert found.artists.total == 0
    users = await world.app.bus(ShowSearch(Search("alice", frozenset({SearchKind.USERS}))), alice.actor)
    assert users.songs is None and users.users is not None
    assert [(v.user.username, v.picture_url) for v in users.users.items] == [("alice", picture)]
    with pytest.raises(NotFound):
        await world.app.bus(ShowAlbum(999), ANONYMOUS)


async def test_tag_edits_move_a_song_and_deletions_remove_it(world: World, tmp_path) -> None:
    alice = await signed_in(world)
    audio = await song(world, alice, tmp_path, "Mover", artist="Before")
    await world.send(UpdateAudio(audio.id, artist="After", album="New", title=UNSET), alice.actor)  # type: ignore[arg-type]
    actor = Actor.user(alice.user_id)
    assert [a.name for a in (await world.app.bus(ListArtists(), actor)).items] == ["After"]
    await world.send(DeleteAudio(audio.id), alice.actor)  # type: ignore[arg-type]
    assert (await world.app.bus(ListArtists(), actor)).total == 0
    assert world.uow.database.library_songs == {}


async def test_albums_sort_filter_and_page_and_genres_count(world: World, tmp_path) -> None:
    alice = await signed_in(world)
    actor = Actor.user(alice.user_id)
    await song(world, alice, tmp_path, "a", artist="Zed", album="Alpha", year=2001, genre="Jazz")
    world.clock.advance(10)
    await song(world, alice, tmp_path, "b", artist="Amy", album="Beta", year=1990, genre="Rock")
    world.clock.advance(10)
    await song(world, alice, tmp_path, "c", artist="Amy", album="Gamma", genre="Rock")
    await song(world, alice, tmp_path, "d", artist="Amy", album="Gamma", genre="Pop")
    await song(world, alice, tmp_path, "e", artist="Amy", album="Gamma", genre="Pop")

    async def names(**options: object) -> list[str]:
        return [a.name for a in (await world.app.bus(ListAlbums(**options), actor)).items]  # type: ignore[arg-type]

    assert await names() == ["Alpha", "Beta", "Gamma"]
    assert await names(sort=AlbumSort.ARTIST) == ["Beta", "Gamma", "Alpha"]
    assert await names(sort=AlbumSort.YEAR) == ["Beta", "Alpha", "Gamma"]
    assert await names(sort=AlbumSort.YEAR_DESCENDING) == ["Alpha", "Beta", "Gamma"]
    assert await names(sort=AlbumSort.NEWEST) == ["Gamma", "Beta", "Alpha"]
    assert await names(genre="Rock") == ["Beta", "Gamma"]
    assert await names(from_year=1995) == ["Alpha"]
    assert await names(skip=1, limit=1) == ["Beta"]
    shuffled = await names(sort=AlbumSort.RANDOM, seed=7)
    assert sorted(shuffled) == ["Alpha", "Beta", "Gamma"] and await names(sort=AlbumSort.RANDOM, seed=7) == shuffled
    gamma = (await world.app.bus(ListAlbums(genre="Pop"), actor)).items[0]
    assert gamma.genre == "Pop"
    genres = await world.app.bus(ListGenres(), actor)
    assert [(g.name, g.album_count, g.song_count) for g in genres.items] == [
        ("Jazz", 1, 1),
        ("Pop", 1, 2),
        ("Rock", 2, 2),
    ]
    with pytest.raises(ValidationFailed):
        await world.app.bus(ListAlbums(limit=501), actor)


async def test_songs_page_through_everything_once_in_a_stable_order(world: World, tmp_path) -> None:
    alice = await signed_in(world)
    made = [await song(world, alice, tmp_path, f"s{n}", genre="G" if n % 2 else None) for n in range(7)]
    seen: list[int | None] = []
    for skip in range(0, 7, 3):
        seen.extend(s.audio.id for s in (await world.app.bus(ListSongs(skip=skip, limit=3), ANONYMOUS)).items)
    assert seen == [audio.id for audio in made]
    by_genre = await world.app.bus(ListSongs(genre="G"), ANONYMOUS)
    assert by_genre.total == 3
    newest = await world.app.bus(ListSongs(order=SongOrder.NEWEST, limit=2), ANONYMOUS)
    assert [s.audio.id for s in newest.items] == [made[6].id, made[5].id]
    random_order = await world.app.bus(ListSongs(order=SongOrder.RANDOM, seed=3), ANONYMOUS)
    assert sorted(s.audio.id for s in random_order.items) == sorted(a.id for a in made)  # type: ignore[type-var]


async def test_search_ranks_and_ignores_case_and_accents(world: World, tmp_path) -> None:
    alice = await signed_in(world)
    for title in ("Mocafe", "Le Café", "Cafeteria", "CAFÉ del Mar", "Café", "Tea"):
        await song(world, alice, tmp_path, title, artist=title, album=title)
    results = await world.app.bus(Search("cafe"), ANONYMOUS)
    expected = ["Café", "CAFÉ del Mar", "Cafeteria", "Le Café", "Mocafe"]
    assert results.songs is not None and results.albums is not None and results.artists is not None
    assert [s.audio.title for s in results.songs.items] == expected
    assert [a.name for a in results.albums.items] == expected
    assert [a.name for a in results.artists.items] == expected
    assert results.users is not None and results.users.total == 0  # anonymous: no users
    only = await world.app.bus(Search("CAFÉ", frozenset({SearchKind.ARTISTS}), limit=2), ANONYMOUS)
    assert only.songs is None and only.artists is not None and only.artists.total == 5
    for bad in ("", "   ", "*", "x" * 201):
        with pytest.raises(ValidationFailed):
            await world.app.bus(Search(bad), ANONYMOUS)


async def test_collections_are_searched_among_those_the_caller_may_see(world: World, tmp_path) -> None:
    alice, bob = await signed_in(world), await signed_in(world, "bob")
    async with world.uow() as uow:
        for title, public in (("Road Trip", True), ("Road secrets", False), ("Tea", True)):
            await uow.collections.add(Collection(alice.user_id, title, CollectionType.PLAYLIST, is_public=public))
        await uow.commit()

    async def titles(actor: Actor, q: str = "road") -> list[str]:
        found = (await world.app.bus(Search(q, frozenset({SearchKind.COLLECTIONS})), actor)).collections
        assert found is not None
        return [view.collection.title for view in found.items]

    assert await titles(ANONYMOUS) == await titles(Actor.user(bob.user_id)) == ["Road Trip"]
    assert await titles(Actor.user(alice.user_id)) == ["Road secrets", "Road Trip"]
    found = await world.app.bus(Search("trip", frozenset({SearchKind.COLLECTIONS})), Actor.user(alice.user_id))
    assert found.collections is not None and found.collections.items[0].can_edit is True


async def test_songs_albums_and_artists_by_id_are_the_visible_ones_in_order(world: World, tmp_path) -> None:
    alice, bob = await signed_in(world), await signed_in(world, "bob")
    shown = await song(world, alice, tmp_path, "Open", artist="A", album="X")
    hidden = await song(world, alice, tmp_path, "Closed", artist="B", album="Y", is_public=False)
    as_bob = Actor.user(bob.user_id)
    assert (await world.app.bus(GetSong(shown.id), as_bob)).album == "X"  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await world.app.bus(GetSong(hidden.id), as_bob)  # type: ignore[arg-type]
    assert [s.audio.id for s in await world.app.bus(GetSongs((hidden.id, shown.id)), as_bob)] == [shown.id]  # type: ignore[arg-type]
    albums = (await world.app.bus(ListAlbums(), Actor.user(alice.user_id))).items
    assert [a.name for a in await world.app.bus(GetAlbums(tuple(a.id for a in reversed(albums))), as_bob)] == ["X"]
    artists = (await world.app.bus(ListArtists(), Actor.user(alice.user_id))).items
    assert [a.name for a in await world.app.bus(GetArtists(tuple(a.id for a in artists)), as_bob)] == ["A"]
    with pytest.raises(ValidationFailed):
        await world.app.bus(GetSongs(tuple(range(501))), as_bob)


async def test_frequent_and_recent_albums_are_the_callers_own_listens(world: World, tmp_path) -> None:
    alice, bob = await signed_in(world, "alice"), await signed_in(world, "bob")
    one = await song(world, alice, tmp_path, "One", artist="A", album="First")
    two = await song(world, alice, tmp_path, "Two", artist="A", album="Second")
    hidden = await song(world, alice, tmp_path, "Three", artist="A", album="Third")
    start = world.clock.now()
    plays = ((two.id, start), (two.id, start), (one.id, start + timedelta(minutes=5)), (hidden.id, start))
    await world.app.bus(RecordPlays(plays), bob.actor)  # type: ignore[arg-type]
    await world.send(UpdateAudio(hidden.id, is_public=False), alice.actor)  # type: ignore[arg-type]

    async def albums(who: Actor, sort: AlbumSort) -> list[str]:
        return [a.name for a in (await world.app.bus(ListAlbums(sort=sort), who)).items]

    assert await albums(bob.actor, AlbumSort.FREQUENT) == ["Second", "First"]  # no longer visible: Third
    assert await albums(bob.actor, AlbumSort.RECENT) == ["First", "Second"]
    assert await albums(alice.actor, AlbumSort.FREQUENT) == []  # her files, his listens
    assert await albums(ANONYMOUS, AlbumSort.RECENT) == []
