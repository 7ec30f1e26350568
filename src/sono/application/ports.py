"""The ports: what the use cases need from the outside world, as ``typing.Protocol``s.

Adapters under ``sono.adapters`` implement them; ``sono.adapters.memory`` has in-memory fakes with
the same behaviour for the unit tests. Repositories return domain objects whose attribute changes
are saved when the unit of work commits (the SQL adapter maps the domain dataclasses imperatively,
the fakes keep the objects themselves), so there is no ``update`` method.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import BinaryIO, Protocol, Self

from sono.domain.announcements import Announcement
from sono.domain.collections import Collaborator, Collection, CollectionTrack
from sono.domain.gdpr import AuditEntry, Consent, DeletionRequest
from sono.domain.maintenance import MaintenanceState
from sono.domain.media import AudioFile, AudioInfo, ProcessedImage
from sono.domain.sessions import PasswordResetToken, RefreshFamily, RevokedToken
from sono.domain.users import User

# --------------------------------------------------------------------------- repositories


class UserRepository(Protocol):
    async def add(self, user: User) -> User:
        """Insert and assign ``user.id``. Raises ``Conflict`` (constraint ``uq_users_email_lower``
        or ``uq_users_username``) when the email or username is taken."""

    async def get(self, user_id: int) -> User | None: ...
    async def get_for_update(self, user_id: int) -> User | None:
        """As ``get``, holding a row lock until the unit of work ends (no-op on SQLite)."""

    async def get_by_username(self, username: str) -> User | None: ...
    async def get_by_email(self, email: str) -> User | None:
        """Case-insensitive."""

    async def get_by_login(self, login: str) -> User | None:
        """By exact username, else by email case-insensitively."""

    async def list(self, *, skip: int, limit: int) -> tuple[list[User], int]:
        """Newest first (``created_at`` desc, ``id`` desc) and the total count."""

    async def delete(self, user: User) -> None:
        """Delete the row; the database cascades to everything the user owns and sets
        ``audit_log.user_id``/``actor_id`` to NULL."""


class RefreshFamilyRepository(Protocol):
    async def add(self, family: RefreshFamily) -> None: ...
    async def get(self, family_id: str) -> RefreshFamily | None: ...
    async def rotate(self, family_id: str, old_jti: str, new_jti: str, now: datetime) -> bool:
        """Atomically replace ``current_jti`` if it is still ``old_jti`` and the family is not
        revoked (compare-and-swap). False when another request won or the family is revoked."""

    async def revoke_all_for_user(self, user_id: int, now: datetime, reason: str) -> int: ...
    async def delete_expired(self, now: datetime) -> int: ...


class RevokedTokenRepository(Protocol):
    async def add(self, token: RevokedToken) -> None:
        """Idempotent: revoking an already revoked jti is not an error."""

    async def is_revoked(self, jti: str) -> bool: ...
    async def delete_expired(self, now: datetime) -> int: ...


class ResetTokenRepository(Protocol):
    async def add(self, token: PasswordResetToken) -> PasswordResetToken: ...
    async def get_by_hash(self, token_hash: str) -> PasswordResetToken | None: ...
    async def consume(self, token_id: int, now: datetime) -> bool:
        """Atomically mark the token used if it is still unused (compare-and-swap): True for
        exactly one of several concurrent callers."""

    async def invalidate_for_user(self, user_id: int, now: datetime) -> int:
        """Mark every unused token of the user as used at ``now``."""

    async def delete_expired(self, now: datetime) -> int:
        """Delete tokens that expired (or were used) before ``now``."""


class ConsentRepository(Protocol):
    async def add(self, consent: Consent) -> Consent: ...
    async def list_for_user(self, user_id: int) -> list[Consent]:
        """Newest first."""

    async def active_of_type(self, user_id: int, consent_type: str) -> list[Consent]: ...


class DeletionRequestRepository(Protocol):
    async def add(self, request: DeletionRequest) -> DeletionRequest:
        """Raises ``Conflict`` when the user already has a pending request
        (a partial unique index guarantees one pending request per user)."""

    async def pending_for_user(self, user_id: int) -> DeletionRequest | None: ...
    async def latest_for_user(self, user_id: int) -> DeletionRequest | None: ...
    async def list_for_user(self, user_id: int) -> list[DeletionRequest]: ...
    async def claim_due(self, now: datetime, limit: int) -> list[DeletionRequest]:
        """Pending requests whose ``scheduled_for`` has passed, locked so that no other
        transaction claims them (``FOR UPDATE SKIP LOCKED`` on PostgreSQL)."""


class AuditLogRepository(Protocol):
    async def add(self, entry: AuditEntry) -> None: ...
    async def list_for_user(self, user_id: int) -> list[AuditEntry]:
        """Entries about or by the user, newest first."""

    async def anonymise_user(self, user_id: int) -> None:
        """Set ``user_id``/``actor_id`` to NULL and drop personal data (IP, details) of the user's
        entries, keeping the event and time."""


class AudioFileRepository(Protocol):
    async def add(self, audio: AudioFile) -> AudioFile: ...
    async def get(self, audio_id: int) -> AudioFile | None: ...
    async def list_for_owner(self, owner_id: int, *, skip: int, limit: int) -> tuple[list[AudioFile], int]: ...
    async def list_public(self, *, skip: int, limit: int) -> tuple[list[AudioFile], int]:
        """Public files of active owners, newest first."""

    async def list_all(self, *, skip: int, limit: int) -> tuple[list[AudioFile], int]: ...
    async def count_for_owner(self, owner_id: int) -> int: ...
    async def total_bytes_for_owner(self, owner_id: int) -> int: ...
    async def storage_keys_for_owner(self, owner_id: int) -> list[str]: ...
    async def get_many(self, audio_ids: Sequence[int]) -> dict[int, AudioFile]: ...
    async def delete(self, audio: AudioFile) -> None:
        """Delete the row; its collection entries go with it (the caller closes up track orders)."""

    async def delete_for_owner(self, owner_id: int) -> list[str]:
        """Delete every file of the owner, returning their storage keys."""


class CollectionRepository(Protocol):
    async def add(self, collection: Collection) -> Collection: ...
    async def get(self, collection_id: int) -> Collection | None: ...
    async def get_for_update(self, collection_id: int) -> Collection | None: ...
    async def list_visible(
        self,
        *,
        viewer_id: int | None,
        viewer_is_admin: bool,
        public_only: bool,
        collection_type: str | None,
        skip: int,
        limit: int,
    ) -> tuple[list[Collection], int]: ...
    async def list_for_owner(self, owner_id: int, *, skip: int, limit: int) -> tuple[list[Collection], int]: ...
    async def list_for_member(self, user_id: int) -> list[Collection]:
        """Collections the user collaborates on."""

    async def cover_keys_for_owner(self, owner_id: int) -> list[str]: ...
    async def delete(self, collection: Collection) -> None: ...
    async def delete_for_owner(self, owner_id: int) -> list[str]:
        """Delete every collection of the owner, returning their cover-art storage keys."""

    # tracks
    async def tracks(self, collection_id: int) -> list[CollectionTrack]:
        """Ordered by ``track_order``."""

    async def add_track(self, track: CollectionTrack) -> CollectionTrack: ...
    async def delete_track(self, track: CollectionTrack) -> None: ...
    async def set_track_orders(self, collection_id: int, order: Sequence[int]) -> None:
        """Renumber the collection's entries: ``order`` lists every track id, position i gets
        ``track_order`` i+1. Never leaves duplicate positions, even transiently visible."""

    async def collection_ids_with_audio(self, audio_id: int) -> list[int]: ...
    async def stats_for(self, collection_ids: Sequence[int]) -> dict[int, tuple[int, float]]:
        """``collection_id -> (track_count, total_duration)``."""

    # collaborators
    async def collaborators(self, collection_id: int) -> list[Collaborator]: ...
    async def get_collaborator(self, collection_id: int, user_id: int) -> Collaborator | None: ...
    async def add_collaborator(self, collaborator: Collaborator) -> Collaborator:
        """Raises ``Conflict`` when the user already collaborates on the collection."""

    async def delete_collaborator(self, collaborator: Collaborator) -> None: ...


class AnnouncementRepository(Protocol):
    async def add(self, announcement: Announcement) -> Announcement: ...
    async def get(self, announcement_id: int) -> Announcement | None: ...
    async def list(self, *, published_only: bool, skip: int, limit: int) -> tuple[list[Announcement], int]:
        """Published only: newest ``published_date`` first; otherwise newest ``created_date`` first."""

    async def delete(self, announcement: Announcement) -> None: ...


class MaintenanceRepository(Protocol):
    """The durable maintenance state (one row)."""

    async def get(self) -> MaintenanceState: ...
    async def set(self, state: MaintenanceState) -> None: ...


class UnitOfWork(Protocol):
    """One use case's transaction. ``async with uow:`` opens it; leaving without ``commit()``
    (or with an exception) rolls back. After ``commit()`` the same object can be reused."""

    users: UserRepository
    families: RefreshFamilyRepository
    revoked_tokens: RevokedTokenRepository
    reset_tokens: ResetTokenRepository
    consents: ConsentRepository
    deletions: DeletionRequestRepository
    audit: AuditLogRepository
    audio_files: AudioFileRepository
    collections: CollectionRepository
    announcements: AnnouncementRepository
    maintenance: MaintenanceRepository

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    async def commit(self) -> None:
        """Raises ``Conflict(constraint=...)`` when a unique constraint is violated."""

    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """A new unit of work. ``read_only`` ones must not write; on SQLite they take no write
        lock, so reads never queue behind writers."""


class SessionLookup(Protocol):
    """The reads on the hot paths (every authenticated request, every login), kept apart from the
    unit of work so that an adapter can answer each in one cheap round trip, outside any
    transaction."""

    async def user_by_login(self, login: str) -> User | None:
        """By exact username, else by email case-insensitively (as ``UserRepository.get_by_login``)."""

    async def principal(self, user_id: int, jti: str) -> tuple[User | None, bool]:
        """The user (None when there is no such user) and whether the access token ``jti`` has
        been revoked, read together."""


# --------------------------------------------------------------------------- infrastructure


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC datetime, microseconds truncated."""

    def monotonic(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...


class PasswordHasher(Protocol):
    """Argon2id; hashing runs off the event loop with bounded concurrency."""

    async def hash(self, password: str) -> str: ...
    async def verify(self, password_hash: str, password: str) -> bool:
        """False on mismatch or a malformed hash, never raises for those."""

    async def verify_dummy(self, password: str) -> None:
        """Spend the cost of one verification (logins of unknown accounts)."""

    def needs_rehash(self, password_hash: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    jti: str
    family_id: str
    token_version: int
    is_superuser: bool
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class RefreshClaims:
    user_id: int
    jti: str
    family_id: str
    token_version: int
    expires_at: datetime


class TokenIssuer(Protocol):
    """Signs and checks JWTs. Access and refresh tokens use different secrets."""

    access_ttl_seconds: int
    refresh_ttl_seconds: int

    def issue_access(self, claims: AccessClaims) -> str: ...
    def issue_refresh(self, claims: RefreshClaims) -> str: ...
    def decode_access(self, token: str) -> AccessClaims:
        """Raises ``NotAuthenticated`` when the token is malformed, forged, expired or not an
        access token."""

    def decode_refresh(self, token: str) -> RefreshClaims:
        """Raises ``NotAuthenticated`` likewise."""


class PasswordDecryptor(Protocol):
    """The deployment's RSA key pair for client-side password encryption (RSA-OAEP-256)."""

    key_id: str
    public_key_pem: str

    def decrypt(self, ciphertext_b64: str) -> str:
        """Raises ``BadRequest("Invalid encrypted password")`` when it does not decrypt."""


class RateLimiter(Protocol):
    async def hit(self, scope: str, key: str, limit: int, period_seconds: int) -> int | None:
        """Count one request of ``key`` (client IP) against ``limit`` per ``period_seconds`` in
        ``scope`` (the endpoint). None when allowed, else seconds until a retry can succeed."""

    async def reset(self) -> None:
        """Forget every counter (tests and operators)."""


class MaintenanceStore(Protocol):
    """Fast, shared view of the maintenance state, backed by the database so it survives
    restarts (Redis-backed when Redis is configured)."""

    async def get(self) -> MaintenanceState: ...
    async def set(self, state: MaintenanceState) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    content_type: str


@dataclass(frozen=True, slots=True)
class ObjectChunks:
    """An object's bytes (possibly a range of them) as an async stream."""

    chunks: AsyncIterator[bytes]
    content_type: str
    total_size: int
    start: int
    end: int  # inclusive


class ObjectStorage(Protocol):
    async def put(self, key: str, data: BinaryIO, content_type: str) -> StoredObject:
        """Store from a readable binary file object (read in chunks, never whole)."""

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> StoredObject: ...
    async def open(self, key: str, start: int = 0, end: int | None = None) -> ObjectChunks:
        """Raises ``NotFound`` when there is no such object."""

    async def delete(self, key: str) -> None:
        """Idempotent."""

    async def delete_many(self, keys: Sequence[str]) -> None: ...
    async def exists(self, key: str) -> bool: ...
    async def url(self, key: str, *, public: bool, expires_in: int = 3600) -> str:
        """A URL a client can fetch: stable for public objects, signed and expiring otherwise."""

    async def check(self) -> None:
        """Raise if the backing store is unreachable (readiness)."""


@dataclass(frozen=True, slots=True)
class EmailMessage:
    to: str
    subject: str
    text: str
    html: str | None = None


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Raises ``DeliveryFailed`` when the transport refuses or cannot be reached."""


class MediaInspector(Protocol):
    """Decides a file's type from its content. CPU-bound work runs off the event loop."""

    async def inspect_audio(self, path: str) -> AudioInfo:
        """Raises ``UnsupportedMedia(AUDIO_UNSUPPORTED)`` for anything but the allowed formats."""

    async def process_image(self, data: BinaryIO) -> ProcessedImage:
        """Decode (refusing decompression bombs), bound the longest side, strip metadata and
        re-encode. Raises ``UnsupportedMedia(IMAGE_UNSUPPORTED)`` for anything else."""


class HealthCheck(Protocol):
    """A backing service's readiness probe."""

    name: str

    async def check(self) -> None: ...
