"""``SONO_S3_PUBLIC_ENDPOINT``: URLs are presigned against the endpoint clients reach, while bytes
move through the internal one (the compose stack's ``http://minio:9000``), on a moto server on
loopback."""

from __future__ import annotations

import time
import urllib.request
import uuid
from contextlib import AsyncExitStack
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sono.adapters.storage.s3 import S3Storage
from sono.bootstrap import build_ports
from sono.config import load_settings

pytestmark = pytest.mark.slow

CREDENTIALS = {"access_key": "testing", "secret_key": "testing", "region": "us-east-1"}
UNREACHABLE = "http://media.invalid:9000"  # never contacted: signing needs no request


def _fetch(url: str) -> bytes:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as response:
        return response.read()


async def test_urls_are_presigned_against_the_public_endpoint_and_play_there(s3_endpoint: str) -> None:
    port = urlsplit(s3_endpoint).port
    public = f"http://localhost:{port}"  # the same server under the name a client uses
    bucket = f"pub-{uuid.uuid4().hex[:10]}"
    storage = S3Storage(endpoint_url=s3_endpoint, public_endpoint_url=public + "/", bucket=bucket, **CREDENTIALS)  # type: ignore[arg-type]
    async with storage as s3:
        await s3.ensure_bucket()
        await s3.put_bytes("audio/1/song.mp3", b"ID3 song bytes", "audio/mpeg")
        await s3.put_bytes("covers/1/c.webp", b"RIFF cover", "image/webp")

        private = await s3.signed_url("audio/1/song.mp3", int(time.time()) + 300)
        cover = await s3.public_url("covers/1/c.webp")

        for url in (private, cover):
            assert url.startswith(f"{public}/{bucket}/"), url
            assert "X-Amz-Signature=" in url
        assert _fetch(private) == b"ID3 song bytes"
        assert _fetch(cover) == b"RIFF cover"


async def test_bytes_move_through_the_internal_endpoint_only(s3_endpoint: str) -> None:
    bucket = f"int-{uuid.uuid4().hex[:10]}"
    async with S3Storage(endpoint_url=s3_endpoint, public_endpoint_url=UNREACHABLE, bucket=bucket, **CREDENTIALS) as s3:  # type: ignore[arg-type]
        await s3.ensure_bucket()
        await s3.put_bytes("audio/2/a.mp3", b"abc", "audio/mpeg")
        assert await s3.exists("audio/2/a.mp3")
        assert b"".join([c async for c in (await s3.open("audio/2/a.mp3")).chunks]) == b"abc"
        await s3.check()

        url = await s3.signed_url("audio/2/a.mp3", int(time.time()) + 60)
        assert urlsplit(url).netloc == "media.invalid:9000"
        assert urlsplit(url).path == f"/{bucket}/audio/2/a.mp3"


async def test_without_a_public_endpoint_urls_name_the_internal_one(s3_endpoint: str) -> None:
    async with S3Storage(endpoint_url=s3_endpoint, bucket=f"n-{uuid.uuid4().hex[:10]}", **CREDENTIALS) as s3:  # type: ignore[arg-type]
        url = await s3.signed_url("audio/3/a.mp3", int(time.time()) + 60)
    assert url.startswith(s3_endpoint + "/")


async def test_the_setting_reaches_the_storage_the_app_uses(s3_endpoint: str, tmp_path: Path) -> None:
    settings = load_settings(
        {
            "SONO_DATA_DIR": str(tmp_path),
            "SONO_STORAGE": "s3",
            "SONO_S3_ENDPOINT_URL": s3_endpoint,
            "SONO_S3_PUBLIC_ENDPOINT": "https://media.example.com/",
            "SONO_S3_BUCKET": f"app-{uuid.uuid4().hex[:10]}",
            "SONO_S3_ACCESS_KEY": "testing",
            "SONO_S3_SECRET_KEY": "testing",
        }
    )
    assert settings.s3_public_endpoint == "https://media.example.com"
    async with AsyncExitStack() as stack:
        ports = await build_ports(settings, stack)
        await ports.storage.put_bytes("audio/4/a.mp3", b"x", "audio/mpeg")  # through the internal endpoint
        url = await ports.storage.signed_url("audio/4/a.mp3", int(time.time()) + 60)
    assert url.startswith(f"https://media.example.com/{settings.s3_bucket}/audio/4/a.mp3?")


def test_the_setting_must_be_a_url() -> None:
    from sono.config import ConfigError

    with pytest.raises(ConfigError, match="SONO_S3_PUBLIC_ENDPOINT"):
        load_settings({"SONO_S3_PUBLIC_ENDPOINT": "minio:9000"})
