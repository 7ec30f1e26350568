"""Stars and plays on the fakes: idempotent stars, visibility (404 and nothing changes), play
counters and the latest listen, "now playing" submissions, the starred list, the read port of the
audio shapes, and the user's data (removed with files and accounts, listed in the export)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sono.application.annotations.messages import AnnotateSongs, GetStarred, RecordPlays, StarItems, UnstarItems
from sono.application.audio.messages import DeleteAllAudioOf, DeleteAudio, UpdateAudio
from sono.application.collections.messages import AddTrack, CreateCollection, NewCollection
from sono.application.common import PasswordInput, Principal
from sono.application.gdpr.messages import DeleteAccount, ExportData
from sono.application.messages import ANONYMOUS
from sono.domain.annotations import PLAYS_MAX, STARS_MAX, SongAnnotation, Star, StarKind
from sono.domain.audio import AudioFile
from sono.domain.errors import NotAuthenticated, NotFound, ValidationFailed
from sono.domain.gdpr import DeletionType
from sono.domain.users import User
from tests.unit.conftest import PASSWORD, World
from tests.unit.test_audio import signed_in, upload


def stars(world: World) -> set[tuple[int, str, int]]:
    return set(world.uow.database.stars)


def plays(world: World) -> dict[tuple[int, int], tuple[int, object]]:
    return {key: (row.count, row.last_played) for key, row in world.uow.database.play_counts.items()}


async def starred_songs(world: World, who: Principal) -> list[int]:
    return [star.item_id for star in (await world.app.bus(GetStarred(), who.actor)).songs]


async def files(world: World, tmp_path) -> tuple[Principal, Principal, AudioFile, AudioFile]:
    """alice with a public and a private file, and bob."""
    alice = await signed_in(world, "alice")
    bob = await signed_in(world, "bob")
    public = await upload(world, alice, tmp_path, is_public=True)
    private = await upload(world, alice, tmp_path)
    return alice, bob, public, private


# --------------------------------------------------------------------------- stars


async def test_starring_is_idempotent_and_keeps_the_first_time(world: World, tmp_path) -> None:
    _, bob, public, _ = await files(world, tmp_path)
    assert public.id is not None
    first = world.clock.now()
    await world.app.bus(StarItems(songs=(public.id,)), bob.actor)
    world.clock.advance(60)
    await world.app.bus(StarItems(songs=(public.id, public.id)), bob.actor)

    got = await world.app.bus(GetStarred(), bob.actor)
    assert got.songs == [Star(bob.user_id, StarKind.SONG, public.id, first)]
    notes = await world.app.bus(AnnotateSongs((public.id,)), bob.actor)
    assert notes == {public.id: SongAnnotation(starred=first)}

    await world.app.bus(UnstarItems(songs=(public.id,)), bob.actor)
    await world.app.bus(UnstarItems(songs=(public.id,)), bob.actor)
    assert stars(world) == set()
    assert await world.app.bus(AnnotateSongs((public.id,)), bob.actor) == {}


async def test_a_file_the_caller_may_not_see_is_404_and_nothing_changes(world: World, tmp_path) -> None:
    alice, bob, public, private = await files(world, tmp_path)
    assert public.id is not None and private.id is not None
    for songs in ((public.id, private.id), (public.id, 999), (public.id, 2**40), (-1,)):
        with pytest.raises(NotFound):
            await world.app.bus(StarItems(songs=songs), bob.actor)
        with pytest.raises(NotFound):
            await world.app.bus(RecordPlays(tuple((i, None) for i in songs)), bob.actor)
    assert stars(world) == set() and plays(world) == {}

    # the owner sees it; so do admins
    await world.app.bus(StarItems(songs=(private.id,)), alice.actor)
    root = await signed_in(world, "root", superuser=True)
    await world.app.bus(StarItems(songs=(private.id,)), root.actor)
    assert stars(world) == {(alice.user_id, "song", private.id), (root.user_id, "song", private.id)}


async def test_a_private_file_in_a_collection_the_caller_sees_can_be_starred(world: World, tmp_path) -> None:
    alice, bob, _, private = await files(world, tmp_path)
    assert private.id is not None
    mix = (await world.app.bus(CreateCollection(NewCollection("Mix", is_public=True)), alice.actor)).view
    assert mix.collection.id is not None
    await world.app.bus(AddTrack(mix.collection.id, private.id, None), alice.actor)

    await world.app.bus(StarItems(songs=(private.id,)), bob.actor)
    assert await starred_songs(world, bob) == [private.id]


async def test_a_star_on_a_file_gone_private_stays_hidden_until_it_is_seen_again(world: World, tmp_path) -> None:
    alice, bob, public, private = await files(world, tmp_path)
    assert public.id is not None and private.id is not None
    await world.app.bus(StarItems(songs=(public.id,)), bob.actor)
    await world.send(UpdateAudio(public.id, is_public=False), alice.actor)
    assert await starred_songs(world, bob) == []  # no longer listed: bob may not see it
    assert await world.app.bus(AnnotateSongs((public.id,)), bob.actor) != {}  # only ever asked for files shown

    with pytest.raises(NotFound):  # as if it did not exist
        await world.app.bus(UnstarItems(songs=(public.id,)), bob.actor)
    assert stars(world) == {(bob.user_id, "song", public.id)}
    assert [s.item_id for s in (await world.send(ExportData(), bob.actor)).stars] == [public.id]  # bob's data

    await world.send(UpdateAudio(public.id, is_public=True), alice.actor)
    assert await starred_songs(world, bob) == [public.id]
    await world.app.bus(UnstarItems(songs=(public.id,)), bob.actor)
    assert stars(world) == set()


async def test_albums_and_artists_are_starred_when_the_library_shows_them(world: World, tmp_path) -> None:
    alice = await signed_in(world, "alice")
    bob = await signed_in(world, "bob")
    shown = await upload(world, alice, tmp_path, is_public=True, artist="Nina", album="Shown")
    hidden = await upload(world, alice, tmp_path, artist="Nina", album="Hidden")  # private
    filed = world.uow.database.library_songs
    album, artist = filed[shown.id].album_id, filed[shown.id].artist_id
    hidden_album = filed[hidden.id].album_id

    with pytest.raises(NotFound, match="Album not found"):  # exists, but bob sees none of its songs
        await world.app.bus(StarItems(songs=(shown.id,), albums=(album, hidden_album)), bob.actor)  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="Artist not found"):
        await world.app.bus(StarItems(artists=(artist + 100,)), bob.actor)
    assert stars(world) == set()

    await world.app.bus(StarItems(albums=(album,)), bob.actor)
    world.clock.advance(10)
    await world.app.bus(StarItems(songs=(shown.id,), artists=(artist,)), bob.actor)  # type: ignore[arg-type]
    got = await world.app.bus(GetStarred(), bob.actor)
    assert [s.item_id for s in got.albums] == [album] and [s.item_id for s in got.artists] == [artist]
    assert [s.item_id for s in got.songs] == [shown.id]

    await world.send(UpdateAudio(shown.id, is_public=False), alice.actor)  # type: ignore[arg-type]
    # The album no longer shows bob anything: not listed, and unstarring it is 404.
    assert (await world.app.bus(GetStarred(), bob.actor)).albums == []
    with pytest.raises(NotFound):
        await world.app.bus(UnstarItems(albums=(album,)), bob.actor)


async def test_the_starred_list_is_newest_first(world: World, tmp_path) -> None:
    alice = await signed_in(world, "alice")
    songs = [await upload(world, alice, tmp_path, is_public=True) for _ in range(3)]
    ids = [song.id for song in songs]
    for audio_id in (ids[1], ids[0], ids[2]):
        await world.app.bus(StarItems(songs=(audio_id,)), alice.actor)  # type: ignore[arg-type]
        world.clock.advance(1)
    assert await starred_songs(world, alice) == [ids[2], ids[0], ids[1]]
    await world.app.bus(StarItems(songs=tuple(ids)), alice.actor)  # type: ignore[arg-type]  # same time: by id
    assert await starred_songs(world, alice) == [ids[2], ids[0], ids[1]]


async def test_only_signed_in_users_annotate_and_batches_are_bounded(world: World, tmp_path) -> None:
    _, bob, public, _ = await files(world, tmp_path)
    assert public.id is not None
    for message in (StarItems(songs=(public.id,)), UnstarItems(), RecordPlays(), GetStarred(), AnnotateSongs()):
        with pytest.raises(NotAuthenticated):
            await world.app.bus(message, ANONYMOUS)
    with pytest.raises(ValidationFailed):
        await world.app.bus(StarItems(songs=tuple(range(1, STARS_MAX + 2))), bob.actor)
    with pytest.raises(ValidationFailed):
        await world.app.bus(RecordPlays(tuple((public.id, None) for _ in range(PLAYS_MAX + 1))), bob.actor)


# --------------------------------------------------------------------------- plays


async def test_plays_are_counted_with_the_latest_listen(world: World, tmp_path) -> None:
    alice, bob, public, private = await files(world, tmp_path)
    assert public.id is not None and private.id is not None
    start = world.clock.now()
    await world.app.bus(RecordPlays(((public.id, None),)), bob.actor)
    world.clock.advance(600)
    late = start - timedelta(hours=1)  # an offline player submitting an earlier listen
    future = world.clock.now() + timedelta(days=1)  # a player's clock ahead
    await world.app.bus(RecordPlays(((public.id, late), (public.id, None))), bob.actor)
    assert plays(world) == {(bob.user_id, public.id): (3, world.clock.now())}
    await world.app.bus(RecordPlays(((public.id, future.replace(tzinfo=None)),)), bob.actor)
    assert plays(world) == {(bob.user_id, public.id): (4, world.clock.now())}

    await world.app.bus(RecordPlays(((private.id, start),)), alice.actor)
    notes = await world.app.bus(AnnotateSongs((public.id, private.id)), bob.actor)
    assert notes == {public.id: SongAnnotation(None, 4, world.clock.now())}
    assert await world.app.bus(AnnotateSongs((public.id, private.id)), alice.actor) == {
        private.id: SongAnnotation(None, 1, start)
    }


async def test_now_playing_records_nothing_but_checks_visibility(world: World, tmp_path) -> None:
    _, bob, public, private = await files(world, tmp_path)
    assert public.id is not None and private.id is not None
    await world.app.bus(RecordPlays(((public.id, None),), submission=False), bob.actor)
    assert plays(world) == {}
    with pytest.raises(NotFound):
        await world.app.bus(RecordPlays(((private.id, None),), submission=False), bob.actor)


# --------------------------------------------------------------------------- the user's data


async def test_deleting_files_removes_their_stars_and_plays(world: World, tmp_path) -> None:
    alice, bob, public, private = await files(world, tmp_path)
    assert public.id is not None and private.id is not None
    other = await upload(world, alice, tmp_path, is_public=True)
    assert other.id is not None
    for who in (alice, bob):
        await world.app.bus(StarItems(songs=(public.id, other.id)), who.actor)
        await world.app.bus(RecordPlays(((public.id, None), (other.id, None))), who.actor)

    await world.send(DeleteAudio(public.id), alice.actor)
    assert stars(world) == {(alice.user_id, "song", other.id), (bob.user_id, "song", other.id)}
    assert set(plays(world)) == {(alice.user_id, other.id), (bob.user_id, other.id)}

    root = await signed_in(world, "root", superuser=True)
    await world.send(DeleteAllAudioOf(alice.user_id), root.actor)
    assert stars(world) == set() and plays(world) == {}


async def test_an_erased_account_takes_its_stars_and_plays_and_others_stars_of_its_files(
    world: World, tmp_path
) -> None:
    alice, bob, public, _ = await files(world, tmp_path)
    bobs = await upload(world, bob, tmp_path, is_public=True)
    assert public.id is not None and bobs.id is not None
    for who in (alice, bob):
        await world.app.bus(StarItems(songs=(public.id, bobs.id)), who.actor)
        await world.app.bus(RecordPlays(((public.id, None), (bobs.id, None))), who.actor)

    await world.send(DeleteAccount(PasswordInput(PASSWORD), DeletionType.HARD), alice.actor)
    assert stars(world) == {(bob.user_id, "song", bobs.id)}
    assert set(plays(world)) == {(bob.user_id, bobs.id)}


async def test_stars_and_plays_are_in_the_export(world: World, tmp_path) -> None:
    _, bob, public, _ = await files(world, tmp_path)
    assert public.id is not None
    at = world.clock.now()
    await world.app.bus(StarItems(songs=(public.id,)), bob.actor)
    await world.app.bus(RecordPlays(((public.id, None), (public.id, None))), bob.actor)

    export = await world.send(ExportData(), bob.actor)
    assert export.stars == [Star(bob.user_id, StarKind.SONG, public.id, at)]
    assert [(p.audio_file_id, p.count, p.last_played) for p in export.play_counts] == [(public.id, 2, at)]


async def test_a_users_own_rows_go_with_the_user_row(world: World, tmp_path) -> None:
    """The foreign keys of the fakes, as the schema's: a user row deleted takes its stars and plays."""
    _, bob, public, _ = await files(world, tmp_path)
    assert public.id is not None
    await world.app.bus(StarItems(songs=(public.id,)), bob.actor)
    await world.app.bus(RecordPlays(((public.id, None),)), bob.actor)
    async with world.uow() as uow:
        user: User | None = await uow.users.get(bob.user_id)
        assert user is not None
        await uow.users.delete(user)
        await uow.commit()
    assert stars(world) == set() and plays(world) == {}
