"""A media inspector for unit tests that recognises marker bytes instead of real media."""

from __future__ import annotations

import asyncio
from typing import BinaryIO

from sono.domain.errors import UnsupportedMedia
from sono.domain.media import AUDIO_UNSUPPORTED, IMAGE_UNSUPPORTED, AudioInfo, AudioTags, ProcessedImage

FAKE_AUDIO = b"FAKEAUDIO"
FAKE_IMAGE = b"FAKEIMAGE"


def _read_head(path: str, size: int) -> bytes:
    with open(path, "rb") as file:
        return file.read(size)


class FakeMediaInspector:
    """``MediaInspector`` fake: audio files must start with ``b"FAKEAUDIO"``, images with
    ``b"FAKEIMAGE"``; anything else raises ``UnsupportedMedia`` like the real inspector.

    Audio is reported as ``self.audio`` (an MP3 by default); an image comes back with its bytes
    unchanged as a 64x64 ``image/webp``. ``inspected`` lists the audio paths seen.
    """

    def __init__(
        self, *, duration: float = 180.0, bitrate: int = 128_000, sample_rate: int = 44_100, channels: int = 2
    ) -> None:
        self.audio = AudioInfo(
            format="mp3",
            content_type="audio/mpeg",
            duration=duration,
            bitrate=bitrate,
            sample_rate=sample_rate,
            channels=channels,
        )
        self.inspected: list[str] = []
        self.tags = AudioTags()

    async def inspect_audio(self, path: str) -> AudioInfo:
        head = await asyncio.to_thread(_read_head, path, len(FAKE_AUDIO))
        self.inspected.append(path)
        if head != FAKE_AUDIO:
            raise UnsupportedMedia(AUDIO_UNSUPPORTED)
        return self.audio

    async def read_tags(self, path: str) -> AudioTags:
        return self.tags

    async def process_image(self, data: BinaryIO) -> ProcessedImage:
        content = data.read()
        if not content.startswith(FAKE_IMAGE):
            raise UnsupportedMedia(IMAGE_UNSUPPORTED)
        return ProcessedImage(data=content, content_type="image/webp", extension="webp", width=64, height=64)

    async def resize_image(self, data: BinaryIO, max_side: int) -> ProcessedImage:
        processed = await self.process_image(data)
        side = min(max_side, processed.width)
        return ProcessedImage(processed.data, processed.content_type, processed.extension, side, side)
