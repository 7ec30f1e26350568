"""``ObjectStorage`` on any S3-compatible service (AWS S3, MinIO, ...) via aioboto3.

One long-lived client is shared by every call: ``await storage.start()`` at start-up (or let the
first call create it) and ``await storage.close()`` at shutdown; ``async with`` does both.
Bodies are streamed both ways: uploads are read in parts of ``part_size`` bytes (a multipart
upload once the body is larger than one part), downloads are yielded in chunks.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, BinaryIO
from urllib.parse import quote

import aioboto3
from aiobotocore.config import AioConfig
from botocore.exceptions import BotoCoreError, ClientError

from sono.adapters.storage import (
    CHUNK_SIZE,
    InvalidKey,
    RangeNotSatisfiable,
    bytes_chunks,
    range_header,
    resolve_range,
    validate_key,
)
from sono.application.media.ports import ObjectChunks, ObjectInfo, StoredObject
from sono.domain.errors import NotFound, ServiceUnavailable
from sono.domain.media import is_public_key

log = logging.getLogger(__name__)

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3's minimum for every part but the last
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4 limit
DELETE_BATCH = 1000  # DeleteObjects limit
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NotFound", "404", "NoSuchBucket"})
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _is_not_found(exc: ClientError) -> bool:
    return _error_code(exc) in _NOT_FOUND_CODES or _status(exc) == 404


def _read_part(source: BinaryIO, size: int) -> tuple[io.BytesIO, int]:
    """Up to ``size`` bytes from ``source`` (short only at the end of the stream) in one buffer,
    rewound, and their number. The buffer is sent as a file (signed and streamed from it in
    chunks), so a part is held once, not also joined, copied into a body or a socket buffer."""
    part = io.BytesIO()
    remaining = size
    while remaining > 0:
        chunk = source.read(min(remaining, CHUNK_SIZE * 4))
        if not chunk:
            break
        part.write(chunk)
        remaining -= len(chunk)
    length = part.tell()
    part.seek(0)
    return part, length


async def _body_chunks(body: Any, chunk_size: int, skip: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
    """Yield an aiobotocore ``StreamingBody`` in chunks, dropping the first ``skip`` bytes and
    stopping after ``length`` (for services that answer a ranged GET with the whole object).
    The connection is released when the stream is stopped early."""
    finished = False
    remaining = length
    try:
        while remaining is None or remaining > 0:
            chunk = await body.read(chunk_size)
            if not chunk:
                break
            if skip:
                dropped = min(skip, len(chunk))
                chunk, skip = chunk[dropped:], skip - dropped
            if remaining is not None:
                chunk, remaining = chunk[:remaining], remaining - min(remaining, len(chunk))
            if chunk:
                yield chunk
        finished = remaining is None
    finally:
        if not finished:
            body.close()


class S3Storage:
    """Objects in ``bucket``. Public URLs are ``{public_base_url}/{key}`` when a public base URL
    (a CDN or a public-read bucket) is configured, else presigned GETs valid for 7 days; private
    URLs are presigned GETs valid for ``expires_in`` seconds.

    ``endpoint_url`` is where this process moves bytes (``http://minio:9000`` inside a compose
    network); ``public_endpoint_url``, when given, is where clients fetch them (``http://192.168.1.20:9000``,
    ``https://media.example.com``): URLs are presigned against it, by a second client that never
    sends a request (signing is local), so a phone on the LAN can play what the API hands out.

    Transport failures and unexpected service errors raise ``ServiceUnavailable``.
    """

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str = "us-east-1",
        public_base_url: str | None = None,
        public_endpoint_url: str | None = None,
        session: aioboto3.Session | None = None,
        addressing_style: str | None = None,
        part_size: int = 8 * MiB,
        chunk_size: int = CHUNK_SIZE,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_pool_connections: int = 20,
        max_attempts: int = 3,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes")
        self.bucket = bucket
        self.region = region
        self.endpoint_url = endpoint_url
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.public_endpoint_url = public_endpoint_url.rstrip("/") if public_endpoint_url else None
        self._session = session or aioboto3.Session()
        self._credentials = {"aws_access_key_id": access_key, "aws_secret_access_key": secret_key}
        self._config = AioConfig(
            signature_version="s3v4",
            # Path-style for custom endpoints (MinIO and friends), virtual hosts on AWS.
            s3={"addressing_style": addressing_style or ("path" if endpoint_url or public_endpoint_url else "auto")},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            max_pool_connections=max_pool_connections,
            # Checksums only where the API requires them: many S3-compatible services reject
            # the newer default (CRC trailers on every upload).
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._part_size = part_size
        self._chunk_size = chunk_size
        self._client: Any = None
        self._signer: Any = None  # the client that presigns, on the public endpoint (if one is set)
        self._stack: contextlib.AsyncExitStack | None = None
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Create the shared client (idempotent)."""
        await self._s3()

    async def close(self) -> None:
        """Close the shared client (idempotent); a later call creates a new one."""
        async with self._lock:
            stack, self._stack, self._client, self._signer = self._stack, None, None, None
            if stack is not None:
                await stack.aclose()

    async def __aenter__(self) -> S3Storage:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _s3(self) -> Any:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                stack = contextlib.AsyncExitStack()
                self._client = await stack.enter_async_context(self._new_client(self.endpoint_url))
                self._signer = (
                    await stack.enter_async_context(self._new_client(self.public_endpoint_url))
                    if self.public_endpoint_url
                    else self._client
                )
                self._stack = stack
            return self._client

    def _new_client(self, endpoint_url: str | None) -> Any:
        return self._session.client(
            "s3", endpoint_url=endpoint_url, region_name=self.region, config=self._config, **self._credentials
        )

    async def _presigner(self) -> Any:
        await self._s3()
        return self._signer

    # ------------------------------------------------------------------ writing

    async def put(self, key: str, data: BinaryIO, content_type: str) -> StoredObject:
        """Upload what remains of ``data``: one PUT when it fits in a part, else a multipart
        upload, reading one part at a time in a worker thread (aborted on any failure)."""
        validate_key(key)
        client = await self._s3()
        part, length = await asyncio.to_thread(_read_part, data, self._part_size)
        if length < self._part_size:
            with self._unavailable_on_error():
                await client.put_object(
                    Bucket=self.bucket, Key=key, Body=part, ContentLength=length, ContentType=content_type
                )
            return StoredObject(key=key, size=length, content_type=content_type)
        with self._unavailable_on_error():
            upload = await client.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=content_type)
        upload_id = upload["UploadId"]
        size, parts = 0, list[dict[str, Any]]()
        try:
            with self._unavailable_on_error():
                while length:
                    number = len(parts) + 1
                    response = await client.upload_part(
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=part,
                        ContentLength=length,
                    )
                    parts.append({"ETag": response["ETag"], "PartNumber": number})
                    size += length
                    part.close()  # the next part is read before this one could be collected
                    part, length = await asyncio.to_thread(_read_part, data, self._part_size)
                await client.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
        except BaseException:
            await asyncio.shield(self._abort(client, key, upload_id))
            raise
        return StoredObject(key=key, size=size, content_type=content_type)

    async def _abort(self, client: Any, key: str, upload_id: str) -> None:
        try:
            await client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except (BotoCoreError, ClientError) as exc:
            log.warning("could not abort multipart upload of %s: %s", key, type(exc).__name__)

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> StoredObject:
        validate_key(key)
        client = await self._s3()
        with self._unavailable_on_error():
            await client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        return StoredObject(key=key, size=len(data), content_type=content_type)

    # ------------------------------------------------------------------ reading

    async def _head(self, key: str) -> dict[str, Any] | None:
        client = await self._s3()
        try:
            with self._unavailable_on_error(passthrough=_is_not_found):
                return dict(await client.head_object(Bucket=self.bucket, Key=key))
        except ClientError as exc:
            if _is_not_found(exc):
                return None
            raise

    async def open(self, key: str, start: int = 0, end: int | None = None) -> ObjectChunks:
        """Stream ``key``'s bytes ``start..end`` (inclusive) with one ranged GET. Raises
        ``NotFound``, or ``RangeNotSatisfiable`` for a range beyond the end."""
        validate_key(key)
        client = await self._s3()
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if (header := range_header(start, end)) is not None:
            request["Range"] = header
        try:
            with self._unavailable_on_error(passthrough=lambda e: _is_not_found(e) or _status(e) == 416):
                response = await client.get_object(**request)
        except ClientError as exc:
            if _is_not_found(exc):
                raise NotFound() from None
            # 416: find the size to tell the client; an empty object has only the empty range.
            head = await self._head(key)
            if head is None:
                raise NotFound() from None
            total = int(head["ContentLength"])
            first, last = resolve_range(total, start, end)  # raises RangeNotSatisfiable
            if total:  # the object changed between the two requests
                raise RangeNotSatisfiable(total) from None
            return ObjectChunks(
                chunks=bytes_chunks(b"", first, last),
                content_type=str(head.get("ContentType") or "application/octet-stream"),
                total_size=total,
                start=first,
                end=last,
            )
        match = _CONTENT_RANGE.fullmatch(str(response.get("ContentRange") or ""))
        if match:
            first, last, total = (int(group) for group in match.groups())
            chunks = _body_chunks(response["Body"], self._chunk_size)
        else:  # the whole object, whether or not a range was asked for
            total = int(response["ContentLength"])
            try:
                first, last = resolve_range(total, start, end)
            except BaseException:
                response["Body"].close()
                raise
            whole = first == 0 and last == total - 1
            chunks = _body_chunks(response["Body"], self._chunk_size, first, None if whole else last - first + 1)
        return ObjectChunks(
            chunks=chunks,
            content_type=str(response.get("ContentType") or "application/octet-stream"),
            total_size=total,
            start=first,
            end=last,
        )

    async def head(self, key: str) -> ObjectInfo:
        """Size, content type and ETag. Raises ``NotFound``."""
        validate_key(key)
        head = await self._head(key)
        if head is None:
            raise NotFound()
        etag = str(head.get("ETag") or "")
        return ObjectInfo(
            key=key,
            size=int(head["ContentLength"]),
            content_type=str(head.get("ContentType") or "application/octet-stream"),
            etag=etag if etag.startswith('"') else f'"{etag}"',
        )

    async def exists(self, key: str) -> bool:
        validate_key(key)
        return await self._head(key) is not None

    # ------------------------------------------------------------------ deleting

    async def delete(self, key: str) -> None:
        """Idempotent."""
        validate_key(key)
        client = await self._s3()
        with self._unavailable_on_error():
            await client.delete_object(Bucket=self.bucket, Key=key)

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Delete in batches of 1000 (``DeleteObjects``); missing keys are fine. Raises
        ``ServiceUnavailable`` when the service reports keys it could not delete."""
        for key in keys:
            validate_key(key)
        if not keys:
            return
        client = await self._s3()
        unique = list(dict.fromkeys(keys))
        failed = 0
        for offset in range(0, len(unique), DELETE_BATCH):
            batch = unique[offset : offset + DELETE_BATCH]
            with self._unavailable_on_error():
                response = await client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
                )
            failed += len(response.get("Errors") or [])
        if failed:
            log.warning("S3 refused to delete %d of %d objects", failed, len(unique))
            raise ServiceUnavailable("Storage unavailable")

    # ------------------------------------------------------------------ URLs

    async def public_url(self, key: str) -> str:
        """``{public_base_url}/{key}`` when a public base URL is configured, else a presigned GET
        valid for 7 days. Refuses keys that are not public."""
        if not is_public_key(validate_key(key)):
            raise InvalidKey("Not a public object")
        if self.public_base_url:
            return f"{self.public_base_url}/{quote(key, safe='/')}"
        return await self._presign(key, MAX_PRESIGN_SECONDS)

    async def signed_url(self, key: str, expires_at: int) -> str:
        """A presigned GET valid until ``expires_at`` (at most 7 days from now, S3's limit)."""
        validate_key(key)
        return await self._presign(key, int(expires_at - time.time()))

    async def _presign(self, key: str, seconds: int) -> str:
        client = await self._presigner()
        return str(
            await client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=max(1, min(int(seconds), MAX_PRESIGN_SECONDS)),
            )
        )

    # ------------------------------------------------------------------ readiness and set-up

    async def check(self) -> None:
        """Raise ``ServiceUnavailable`` unless the bucket is reachable."""
        client = await self._s3()
        with self._unavailable_on_error():
            await client.head_bucket(Bucket=self.bucket)

    async def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist (development and compose set-ups)."""
        client = await self._s3()
        try:
            await client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if not _is_not_found(exc):
                raise ServiceUnavailable("Storage unavailable") from exc
        except BotoCoreError as exc:
            raise ServiceUnavailable("Storage unavailable") from exc
        request: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            request["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            await client.create_bucket(**request)
        except ClientError as exc:
            if _error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise ServiceUnavailable("Storage unavailable") from exc
        log.info("created bucket %s", self.bucket)

    # ------------------------------------------------------------------ errors

    @contextlib.contextmanager
    def _unavailable_on_error(self, passthrough: Callable[[ClientError], bool] | None = None) -> Iterator[None]:
        """Turn transport failures and unexpected service errors into ``ServiceUnavailable``;
        ``ClientError``s matching ``passthrough`` are re-raised for the caller to handle."""
        try:
            yield
        except ClientError as exc:
            if passthrough is not None and passthrough(exc):
                raise
            log.warning("S3 error: %s (HTTP %s)", _error_code(exc), _status(exc))
            raise ServiceUnavailable("Storage unavailable") from exc
        except BotoCoreError as exc:
            log.warning("S3 unreachable: %s", type(exc).__name__)
            raise ServiceUnavailable("Storage unavailable") from exc
