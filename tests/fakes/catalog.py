"""The catalogs over the fake database: the public audio list (``AudioCatalog``) and the collection
lists and screens (``CollectionCatalog``), read outside units of work as the SQL catalogs read them
(they see what was committed, and, the fakes having no isolation, what a unit of work has changed
so far)."""

from __future__ import annotations

from dataclasses import replace

from sono.application.audio.ports import OwnedAudio
from sono.application.collections.ports import Listing
from sono.application.collections.views import Listed, Shown
from sono.application.values import Page
from sono.domain.audio import AudioFile
from sono.domain.collections import Collection
from sono.domain.library import LISTED_PUBLICLY, CollectionFacts, SongFacts
from tests.fakes.repositories import FakeDatabase
from tests.fakes.repositories.base import newest, page
from tests.fakes.repositories.collections import listed


class FakeAudioCatalog:
    """The files ``LISTED_PUBLICLY`` (the specification the SQL catalog compiles), evaluated on
    each file's facts; newest first, each with its owner."""

    def __init__(self, database: FakeDatabase) -> None:
        self._database = database

    async def public_page(self, *, skip: int, limit: int) -> Page[OwnedAudio]:
        users = self._database.users
        listed = newest([audio for audio in self._database.audio_files.values() if self._listed(audio)], "upload_date")
        files = page(listed, skip, limit)
        return Page([OwnedAudio(audio, users[audio.owner_id]) for audio in files.items], files.total, files.skip)

    def _listed(self, audio: AudioFile) -> bool:
        owner = self._database.users.get(audio.owner_id)
        return LISTED_PUBLICLY.holds(SongFacts(audio.owner_id, audio.is_public, owner is not None and owner.is_active))


class FakeCollectionCatalog:
    """The collections ``Listing.spec`` holds for (the specification the SQL catalog compiles),
    evaluated on each collection's facts, newest first; a collection's screen as it is now. It
    names no versions (``Shown.version`` is None): what is made of a screen is not kept."""

    def __init__(self, database: FakeDatabase) -> None:
        self._database = database

    async def page(self, listing: Listing, *, skip: int, limit: int) -> Page[Listed]:
        spec, kind = listing.spec(), listing.collection_type

        def chosen(collection: Collection) -> bool:
            return (kind is None or collection.collection_type == kind) and spec.holds(self._facts(collection))

        found = newest([c for c in self._database.collections.values() if chosen(c)], "created_date")
        collections = page(found, skip, limit)
        return Page([listed(self._database, c) for c in collections.items], collections.total, collections.skip)

    async def shown(self, collection_id: int) -> Shown | None:
        database = self._database
        collection = database.collections.get(collection_id)
        if collection is None:
            return None
        files = {i: database.audio_files[i] for i in collection.audio_file_ids if i in database.audio_files}
        wanted = {collection.owner_id, *(c.user_id for c in collection.collaborators)}
        wanted |= {audio.owner_id for audio in files.values()}
        people = {i: database.users[i] for i in wanted if i in database.users}
        copy = replace(collection, tracks=list(collection.tracks), collaborators=list(collection.collaborators))
        return Shown(copy, files, people)

    def _facts(self, collection: Collection) -> CollectionFacts:
        owner = self._database.users.get(collection.owner_id)
        return collection.facts(owner_active=owner is not None and owner.is_active)
