"""The sharing rules of contract section 6, in the domain: who may put a file into a collection,
which files a collection may keep, and who reads a file through the collections holding it."""

from __future__ import annotations

from sono.domain.access import Viewer
from sono.domain.audio import AudioFile
from sono.domain.collections import (
    Collaborator,
    Collection,
    CollectionTrack,
    CollectionType,
    Permission,
    shareable_by,
    shared_with,
)

OWNER, COLLABORATOR, STRANGER, ADMIN = 1, 2, 3, 4


def _file(audio_id: int, owner_id: int, *, public: bool) -> AudioFile:
    return AudioFile(
        owner_id, f"t{audio_id}", "t.mp3", f"k{audio_id}", "audio/mpeg", 1, "mp3", is_public=public, id=audio_id
    )


def _collection(*files: AudioFile, public: bool = False) -> Collection:
    collection = Collection(OWNER, "Mix", CollectionType.PLAYLIST, is_public=public, is_collaborative=True, id=1)
    collection.collaborators.append(Collaborator(1, COLLABORATOR, Permission.EDIT))
    collection.tracks = [CollectionTrack(1, audio.id or 0, position) for position, audio in enumerate(files, 1)]
    return collection


def test_a_collection_keeps_public_files_and_private_files_of_its_owner_and_collaborators() -> None:
    owners, collaborators, strangers = (_file(i, owner, public=False) for i, owner in ((1, 1), (2, 2), (3, 3)))
    public = _file(4, STRANGER, public=True)
    collection = _collection(owners, collaborators, strangers, public)
    assert [collection.may_hold(audio) for audio in (owners, collaborators, strangers, public)] == [
        True,
        True,
        False,
        True,
    ]
    assert collection.drop_unshared([owners, collaborators, strangers, public]) == 1
    assert [(t.audio_file_id, t.track_order) for t in collection.tracks] == [(1, 1), (2, 2), (4, 3)]
    collection.remove_collaborator(COLLABORATOR)
    assert collection.drop_unshared([owners, collaborators, public]) == 1
    assert [(t.audio_file_id, t.track_order) for t in collection.tracks] == [(1, 1), (4, 2)]
    assert collection.drop_unshared([_file(9, STRANGER, public=False)]) == 0  # not in it: nothing


def test_only_owners_share_private_files_admins_included() -> None:
    private, public = _file(1, OWNER, public=False), _file(2, OWNER, public=True)
    assert shareable_by(private, Viewer(OWNER))
    assert not shareable_by(private, Viewer(ADMIN, is_admin=True))
    assert not shareable_by(private, Viewer(STRANGER))
    assert shareable_by(public, Viewer(STRANGER)) and shareable_by(public, Viewer(ADMIN, is_admin=True))
    assert not shareable_by(public, Viewer(STRANGER), owner_active=False)


def test_a_file_is_read_through_the_collections_the_viewer_sees() -> None:
    private = _collection(public=False)
    public = _collection(public=True)
    assert shared_with(Viewer(STRANGER), [(private, True), (public, True)])
    assert not shared_with(Viewer(STRANGER), [(private, True)])
    assert not shared_with(Viewer(), [(public, False)])  # a deactivated owner's collection shares nothing
    assert shared_with(Viewer(COLLABORATOR), [(private, True)])
    assert not shared_with(Viewer(STRANGER), [])
