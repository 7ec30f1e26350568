"""The former call surface of the audio feature, kept for callers not yet moved to the bus: each
method sends the message of ``sono.application.audio.messages`` for the principal (an ``ip`` is
bound to the request context, where the audit log reads it) and answers as before. New code sends
the messages itself (see ``sono.entrypoints.http.audio``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sono.application import context
from sono.application.audio.messages import (
    AudioDetails,
    AudioList,
    AudioView,
    CheckUploadQuota,
    DeleteAllAudioOf,
    DeleteAudio,
    DownloadAudio,
    GetAudio,
    GetCoverArt,
    GetUploadStats,
    ListAllAudio,
    ListMyAudio,
    ListPublicAudio,
    StoredMedia,
    UpdateAudio,
    UploadAudio,
    UploadedFile,
)
from sono.application.audio.ports import OwnedAudio
from sono.application.bus import MessageBus
from sono.application.common import Page, Principal
from sono.application.messages import Actor, Via
from sono.domain.access import Viewer
from sono.domain.audio import AudioFile
from sono.domain.users import UploadQuota, User

__all__ = ["AudioDetails", "AudioService", "StoredMedia", "UploadedFile"]


class AudioService:
    def __init__(self, bus: MessageBus) -> None:
        self._bus = bus

    async def check_quota(self, principal: Principal) -> None:
        await self._bus(CheckUploadQuota(), principal.actor)

    async def upload(
        self, principal: Principal, file: UploadedFile, details: AudioDetails, *, ip: str | None = None
    ) -> OwnedAudio:
        with _from(ip):
            return _owned(await self._bus(UploadAudio(file, details), principal.actor))

    async def get(self, viewer: Viewer, audio_id: int) -> OwnedAudio:
        return _owned(await self._bus(GetAudio(audio_id), _actor(viewer)))

    async def my_files(self, principal: Principal, *, skip: int, limit: int) -> Page[AudioFile]:
        found = await self._bus(ListMyAudio(skip, limit), principal.actor)
        return Page([view.audio for view in found.items], found.total, found.skip)

    async def public_files(self, *, skip: int, limit: int) -> Page[OwnedAudio]:
        return _page(await self._bus(ListPublicAudio(skip, limit), Actor()))

    async def stats(self, principal: Principal) -> UploadQuota:
        return await self._bus(GetUploadStats(), principal.actor)

    async def download(self, viewer: Viewer, audio_id: int) -> StoredMedia:
        return await self._bus(DownloadAudio(audio_id), _actor(viewer))

    async def cover_art(self, viewer: Viewer, audio_id: int) -> StoredMedia:
        return await self._bus(GetCoverArt(audio_id), _actor(viewer))

    async def update(self, principal: Principal, audio_id: int, *, ip: str | None = None, **changes: Any) -> OwnedAudio:
        with _from(ip):
            return _owned(await self._bus(UpdateAudio(audio_id, **changes), principal.actor))

    async def delete(self, principal: Principal, audio_id: int, *, ip: str | None = None) -> None:
        with _from(ip):
            await self._bus(DeleteAudio(audio_id), principal.actor)

    async def all_files(
        self, principal: Principal, *, skip: int, limit: int, ip: str | None = None
    ) -> Page[OwnedAudio]:
        with _from(ip):
            return _page(await self._bus(ListAllAudio(skip, limit), principal.actor))

    async def delete_all_of(
        self, principal: Principal, user_id: int, *, reset_quota: bool = False, ip: str | None = None
    ) -> tuple[int, User]:
        with _from(ip):
            done = await self._bus(DeleteAllAudioOf(user_id, reset_quota), principal.actor)
        return done.deleted, done.user


def _actor(viewer: Viewer) -> Actor:
    if viewer.user_id is None:
        return Actor()
    return Actor.user(viewer.user_id, is_admin=viewer.is_admin, via=Via.TOKEN)


def _owned(view: AudioView) -> OwnedAudio:
    return OwnedAudio(view.audio, view.owner.user)


def _page(found: AudioList) -> Page[OwnedAudio]:
    return Page([_owned(view) for view in found.items], found.total, found.skip)


@contextmanager
def _from(ip: str | None) -> Iterator[None]:
    if ip is None:
        yield
        return
    with context.bind(ip=ip):
        yield
