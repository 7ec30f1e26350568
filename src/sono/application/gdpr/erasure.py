"""Carrying out an account deletion, inside the caller's unit of work."""

from __future__ import annotations

from sono.application.common import audit
from sono.application.ports import Clock
from sono.application.uow import UnitOfWork
from sono.domain.annotations import StarKind
from sono.domain.gdpr import AuditEntry, AuditEvent, DeletionType
from sono.domain.users import User


class AccountEraser:
    """Soft deletion deactivates the account (its public content is hidden with it); hard
    deletion erases the account and everything it owns, and closes the gaps its tracks leave in
    other people's collections. Returns the stored objects' keys to remove once the unit of work
    has committed."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def erase(
        self, uow: UnitOfWork, user: User, deletion_type: DeletionType, *, actor_id: int | None = None
    ) -> list[str]:
        assert user.id is not None
        now = self._clock.now()
        await uow.families.revoke_all_for_user(user.id, now, f"deletion:{deletion_type}")
        await uow.app_passwords.delete_for_user(user.id)
        user.deletion_requested_at = None
        if deletion_type == DeletionType.SOFT:
            user.deactivate(now)
            await audit(
                uow, self._clock, AuditEvent.DELETION_EXECUTED, user_id=user.id, actor_id=actor_id, deletion_type="soft"
            )
            return []
        keys = await uow.audio_files.keys_for_owner(user.id)
        keys += await uow.collections.cover_keys_for_owner(user.id)
        if user.profile_picture_key:
            keys.append(user.profile_picture_key)
        audio_ids = await uow.audio_files.ids_for_owner(user.id)
        await uow.audio_files.hold(audio_ids, exclusive=True)  # before the collections holding them
        await close_gaps(uow, audio_ids, keep_owner=user.id)
        await uow.annotations.forget_stars(StarKind.SONG, audio_ids)  # others' stars on them (no foreign key)
        await uow.audit.anonymise_user(user.id)
        await uow.users.delete(user)
        # anonymous: neither the user nor the request's address (which would name them again)
        entry = AuditEntry(AuditEvent.DELETION_EXECUTED, now, actor_id=actor_id, details={"deletion_type": "hard"})
        await uow.audit.add(entry)
        return keys


async def close_gaps(uow: UnitOfWork, audio_file_ids: list[int], *, keep_owner: int | None = None) -> int:
    """Take these audio files (about to be deleted) out of every collection holding them, so the
    remaining track orders close up in the same transaction. Collections of ``keep_owner`` are
    skipped (they are being deleted too). Returns the number of entries removed."""
    if not audio_file_ids:
        return 0
    removed = 0
    for collection in await uow.collections.containing_audio(audio_file_ids):
        if collection.owner_id != keep_owner:
            removed += collection.remove_audio(audio_file_ids)
            await uow.collections.save(collection)
    return removed
