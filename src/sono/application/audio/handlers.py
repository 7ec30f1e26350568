"""Audio files: uploads, reading them as their visibility allows, changing and deleting them, and
the admins' bulk operations, as handlers of ``sono.application.audio.messages``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sono.application.audio.messages import (
    CheckUploadQuota,
    DeleteAllAudioOf,
    DeleteAudio,
    DeletedAudio,
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
)
from sono.application.audio.ports import (
    AudioCatalog,
    AudioList,
    AudioListCache,
    AudioView,
    ListKey,
    NoAudioListCache,
    OwnedAudio,
    OwnerView,
)
from sono.application.audio.uploads import AudioUploads
from sono.application.audio.visibility import ID_MAX, visible_audio
from sono.application.bus import Context, ProcessContext, handles
from sono.application.common import audit
from sono.application.gdpr.erasure import close_gaps
from sono.application.media.service import MediaService
from sono.application.ports import Clock
from sono.application.uow import UnitOfWork
from sono.application.values import Page, Problems
from sono.domain.annotations import StarKind
from sono.domain.audio import (
    AUDIO_NOT_FOUND,
    COVER_ART_NOT_FOUND,
    DESCRIPTION_MAX,
    GENRE_MAX,
    TAG_MAX,
    AudioFile,
    bounded_problems,
    title_problems,
    track_number_problems,
    year_problems,
)
from sono.domain.errors import NotFound, PermissionDenied
from sono.domain.gdpr import AuditEvent
from sono.domain.users import DEFAULT_MAX_AUDIO_UPLOADS, UploadQuota, User

USER_NOT_FOUND = "User not found"
NOT_ALLOWED = "Not enough permissions"


class AudioPresenter:
    """Audio files as their read model: the URLs of each file, its cover art and its owner's
    picture resolved through the media port, each owner presented once."""

    def __init__(self, media: MediaService) -> None:
        self._media = media

    async def views(self, entries: Sequence[OwnedAudio]) -> list[AudioView]:
        owners: dict[int | None, OwnerView] = {}
        views = []
        for entry in entries:
            owner = owners.get(entry.owner.id)
            if owner is None:
                owner = owners[entry.owner.id] = await self.owner(entry.owner)
            views.append(await self.view(entry.audio, owner))
        return views

    async def owner(self, user: User) -> OwnerView:
        return OwnerView(user, await self._media.url(user.profile_picture_key))

    async def view(self, audio: AudioFile, owner: OwnerView) -> AudioView:
        urls = await self._media.urls((audio.storage_key, audio.cover_art_key))
        cover = audio.cover_art_key
        return AudioView(audio, owner, urls[audio.storage_key], urls[cover] if cover else None)

    async def one(self, entry: OwnedAudio) -> AudioView:
        return await self.view(entry.audio, await self.owner(entry.owner))

    async def page(self, page: Page[OwnedAudio]) -> AudioList:
        return AudioList(await self.views(page.items), page.total, page.skip)


class AudioHandlers:
    def __init__(
        self,
        clock: Clock,
        media: MediaService,
        uploads: AudioUploads,
        catalog: AudioCatalog,
        lists: AudioListCache | None = None,
        *,
        default_upload_limit: int = DEFAULT_MAX_AUDIO_UPLOADS,
    ) -> None:
        self._clock = clock
        self._media = media
        self._uploads = uploads
        self._catalog = catalog
        self._lists = lists if lists is not None else NoAudioListCache()
        self._present = AudioPresenter(media)
        self._default_upload_limit = default_upload_limit  # what reset_quota restores

    # ------------------------------------------------------------------ uploading

    @handles(CheckUploadQuota)
    async def check_quota(self, query: CheckUploadQuota, ctx: Context) -> None:
        caller = await _caller(ctx)
        problem = caller.upload_quota_problem(await ctx.uow.audio_files.count_for_owner(ctx.actor.id))
        if problem:
            raise PermissionDenied(problem)

    @handles(UploadAudio)
    async def upload(self, process: UploadAudio, ctx: ProcessContext) -> AudioView:
        """The caller's upload, through the steps of ``AudioUploads``."""
        stored = await self._uploads.upload_for(ctx, ctx.actor.id, process.file, process.details)
        return await self._present.one(stored)

    @handles(GetUploadStats)
    async def stats(self, query: GetUploadStats, ctx: Context) -> UploadQuota:
        return await upload_stats(ctx.uow, await _caller(ctx))

    # ------------------------------------------------------------------ reading

    @handles(ListMyAudio)
    async def mine(self, query: ListMyAudio, ctx: Context) -> AudioList:
        page = await ctx.uow.audio_files.listing(owner_id=ctx.actor.id, skip=query.skip, limit=query.limit)
        return await self._present.page(page)

    @handles(ListPublicAudio)
    async def public(self, query: ListPublicAudio, ctx: Context) -> AudioList:
        """Public files of active owners, newest first, from the catalog. The answer is the same
        for every caller: kept (``AudioListCache``) for the page it was made from and the expiry of
        its URLs."""
        page = await self._catalog.public_page(skip=query.skip, limit=query.limit)
        key = ListKey(query.skip, query.limit, self._media.expiry())
        kept = await self._lists.get(key, page)
        if kept is not None:
            return kept
        answer = await self._present.page(page)
        await self._lists.put(key, page, answer)
        return answer

    @handles(GetAudio)
    async def get(self, query: GetAudio, ctx: Context) -> AudioView:
        return await self._present.one(await visible_audio(ctx.uow, ctx.actor.viewer, query.audio_id))

    @handles(DownloadAudio)
    async def download(self, query: DownloadAudio, ctx: Context) -> StoredMedia:
        audio = (await visible_audio(ctx.uow, ctx.actor.viewer, query.audio_id)).audio
        return StoredMedia(audio, audio.storage_key, await self._media.info(audio.storage_key))

    @handles(GetCoverArt)
    async def cover_art(self, query: GetCoverArt, ctx: Context) -> StoredMedia:
        audio = (await visible_audio(ctx.uow, ctx.actor.viewer, query.audio_id)).audio
        if not audio.cover_art_key:
            raise NotFound(COVER_ART_NOT_FOUND)
        return StoredMedia(audio, audio.cover_art_key, await self._media.info(audio.cover_art_key))

    # ------------------------------------------------------------------ changing

    @handles(UpdateAudio)
    async def update(self, command: UpdateAudio, ctx: Context) -> AudioView:
        changes = command.changes()
        check_changes(changes)
        if "title" in changes:
            changes["title"] = changes["title"].strip()
        audio, owner = await _manageable(ctx, command.audio_id)
        changed = sorted(name for name, value in changes.items() if getattr(audio, name) != value)
        for name in changed:
            setattr(audio, name, changes[name])
        if changed:
            audio.updated_at = self._clock.now()
            if "is_public" in changed and not audio.is_public:
                await _unshare(ctx.uow, audio)
            if {"title", "artist", "album"}.intersection(changed):
                await ctx.uow.library.file(audio)  # filed anew under its tags, in the same transaction
            await audit(
                ctx.uow,
                self._clock,
                AuditEvent.AUDIO_UPDATED,
                user_id=audio.owner_id,
                actor_id=ctx.actor.user_id,
                audio_file_id=audio.id,
                fields=changed,
            )
            ctx.after_commit(self._lists.invalidate)
        return await self._present.one(OwnedAudio(audio, owner))

    @handles(DeleteAudio)
    async def delete(self, command: DeleteAudio, ctx: Context) -> None:
        audio, _ = await _manageable(ctx, command.audio_id)
        assert audio.id is not None
        keys = audio.stored_keys
        await close_gaps(ctx.uow, [audio.id])
        await ctx.uow.annotations.forget_stars(StarKind.SONG, [audio.id])  # song stars have no foreign key
        await ctx.uow.audio_files.delete(audio)
        await audit(
            ctx.uow,
            self._clock,
            AuditEvent.AUDIO_DELETED,
            user_id=audio.owner_id,
            actor_id=ctx.actor.user_id,
            audio_file_id=command.audio_id,
        )
        await self._media.release(ctx.uow, keys)
        ctx.after_commit(self._lists.invalidate)

    # ------------------------------------------------------------------ admins

    @handles(ListAllAudio)
    async def all(self, command: ListAllAudio, ctx: Context) -> AudioList:
        page = await ctx.uow.audio_files.listing(skip=command.skip, limit=command.limit)
        await audit(
            ctx.uow, self._clock, AuditEvent.ADMIN_ACTION, actor_id=ctx.actor.user_id, action="list_audio_files"
        )
        return await self._present.page(page)

    @handles(DeleteAllAudioOf)
    async def delete_all_of(self, command: DeleteAllAudioOf, ctx: Context) -> DeletedAudio:
        user_id = command.user_id
        if ctx.actor.user_id is not None:
            await ctx.uow.users.hold([ctx.actor.user_id])
        user = await ctx.uow.users.get(user_id, for_update=True) if 0 < user_id <= ID_MAX else None
        if user is None:
            raise NotFound(USER_NOT_FOUND)
        audio_ids = await ctx.uow.audio_files.ids_for_owner(user_id)
        await ctx.uow.audio_files.hold(audio_ids, exclusive=True)
        await close_gaps(ctx.uow, audio_ids)
        await ctx.uow.annotations.forget_stars(StarKind.SONG, audio_ids)
        keys = await ctx.uow.audio_files.delete_for_owner(user_id)
        if command.reset_quota:
            user.max_audio_uploads = self._default_upload_limit
            user.updated_at = self._clock.now()
        await audit(
            ctx.uow,
            self._clock,
            AuditEvent.ADMIN_ACTION,
            user_id=user_id,
            actor_id=ctx.actor.user_id,
            action="reset_uploads" if command.reset_quota else "delete_audio_files",
            deleted_count=len(audio_ids),
        )
        await self._media.release(ctx.uow, keys)
        ctx.after_commit(self._lists.invalidate)
        return DeletedAudio(len(audio_ids), user)


async def upload_stats(uow: UnitOfWork, user: User) -> UploadQuota:
    """A user's upload quota and usage."""
    assert user.id is not None
    used = await uow.audio_files.count_for_owner(user.id)
    return user.upload_quota(used, await uow.audio_files.total_bytes_for_owner(user.id))


async def _caller(ctx: Context) -> User:
    """The signed-in caller's account (``NotFound`` when it is gone meanwhile)."""
    user = await ctx.uow.users.get(ctx.actor.id)
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return user


async def _manageable(ctx: Context, audio_id: int) -> tuple[AudioFile, User]:
    """A file the caller may change, locked for the change (after the caller and its owner are
    held: the lock order of ``sono.application.uow``): 404 when they cannot even see it, 403 when
    they see it but it is not theirs."""
    uow, viewer = ctx.uow, ctx.actor.viewer
    audio = await uow.audio_files.get(audio_id) if 0 < audio_id <= ID_MAX else None
    await uow.users.hold({i for i in (ctx.actor.user_id, audio.owner_id if audio else None) if i is not None})
    if audio is not None and await uow.audio_files.get(audio_id, for_update=True) is None:
        raise NotFound(AUDIO_NOT_FOUND)  # deleted meanwhile (the session still holds what it read)
    view = await visible_audio(uow, viewer, audio_id)
    if not view.audio.manageable_by(viewer):
        raise PermissionDenied(NOT_ALLOWED)
    return view.audio, view.owner


async def _unshare(uow: UnitOfWork, audio: AudioFile) -> None:
    """A file made private leaves every collection its owner neither owns nor collaborates on
    (``Collection.may_hold``); the others close up. The file is locked already, so the collections
    are locked after it (the lock order of ``sono.application.uow``)."""
    assert audio.id is not None
    for collection in await uow.collections.containing_audio([audio.id]):
        if collection.drop_unshared([audio]):
            await uow.collections.save(collection)


def check_changes(changes: dict[str, Any]) -> None:
    """Every rule an update breaks, as one 422 (only the fields sent are checked)."""
    problems = Problems()
    if "title" in changes:
        problems.check("title", title_problems(changes["title"] or ""))
    labels = {"description": DESCRIPTION_MAX, "artist": TAG_MAX, "album": TAG_MAX, "genre": GENRE_MAX}
    for name, maximum in labels.items():
        if name in changes:
            problems.check(name, bounded_problems(name.capitalize(), changes[name], maximum))
    if "track_number" in changes:
        problems.check("track_number", track_number_problems(changes["track_number"]))
    if "year" in changes:
        problems.check("year", year_problems(changes["year"]))
    if "is_public" in changes and changes["is_public"] is None:
        problems.check("is_public", ["is_public must be true or false"])
    problems.raise_if_any()
