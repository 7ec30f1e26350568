"""Whether a caller may see audio files: the rule of ``AudioFile.visible_to`` (their own, public
ones of active owners, everything for admins) and of ``shared_with`` (files inside a collection
they may see), read through the unit of work."""

from __future__ import annotations

from collections.abc import Iterable

from sono.application.audio.ports import OwnedAudio
from sono.application.uow import UnitOfWork
from sono.domain.access import Viewer
from sono.domain.audio import AUDIO_NOT_FOUND
from sono.domain.collections import shared_with
from sono.domain.errors import NotFound

ID_MAX = 2**31 - 1
"""Ids are 32-bit integers in the schema: a larger one names nothing (and must not reach SQL)."""


async def visible_audio(uow: UnitOfWork, viewer: Viewer, audio_id: int) -> OwnedAudio:
    """A file the viewer may read, with its owner; else 404, whether or not it exists."""
    audio = await uow.audio_files.get(audio_id) if 0 < audio_id <= ID_MAX else None
    owner = await uow.users.get(audio.owner_id) if audio is not None else None
    if audio is None or owner is None:
        raise NotFound(AUDIO_NOT_FOUND)
    if not audio.visible_to(viewer, owner_active=owner.is_active):
        holders = await uow.collection_queries.holding(audio_id)
        if not shared_with(viewer, [(collection, holder.is_active) for collection, holder in holders]):
            raise NotFound(AUDIO_NOT_FOUND)
    return OwnedAudio(audio, owner)


async def visible_audio_ids(uow: UnitOfWork, viewer: Viewer, audio_ids: Iterable[int]) -> set[int]:
    """Those of ``audio_ids`` the viewer may read (the rule of ``visible_audio``): the files and
    their owners in two reads, the collections holding a file only for files not visible otherwise."""
    wanted = sorted({i for i in audio_ids if 0 < i <= ID_MAX})
    files = await uow.audio_files.get_many(wanted) if wanted else {}
    owners = await uow.collection_queries.users({audio.owner_id for audio in files.values()}) if files else {}
    visible = set()
    for audio_id, audio in files.items():
        owner = owners.get(audio.owner_id)
        if owner is None:
            continue
        if audio.visible_to(viewer, owner_active=owner.is_active):
            visible.add(audio_id)
            continue
        holders = await uow.collection_queries.holding(audio_id)
        if shared_with(viewer, [(collection, holder.is_active) for collection, holder in holders]):
            visible.add(audio_id)
    return visible
