"""Audio files and the media rules (formats and sizes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MB = 1024 * 1024
AUDIO_MAX_BYTES = 50 * MB
IMAGE_MAX_BYTES = 5 * MB
IMAGE_MAX_SIDE = 2048
IMAGE_MAX_PIXELS = 40_000_000  # width x height an uploaded image may declare (decoded images take memory)
AUDIO_FORMATS = ("MP3", "WAV", "OGG", "M4A", "AAC", "FLAC", "WEBM")
IMAGE_FORMATS = ("PNG", "JPG", "WebP")
AUDIO_UNSUPPORTED = f"Unsupported audio format. Allowed formats: {', '.join(AUDIO_FORMATS)}"
IMAGE_UNSUPPORTED = f"Unsupported image format. Allowed formats: {', '.join(IMAGE_FORMATS)}"
AUDIO_TOO_LARGE = "File too large. Maximum size is 50 MB"
IMAGE_TOO_LARGE = "File too large. Maximum size is 5 MB"
IMAGE_DIMENSIONS_TOO_LARGE = f"Image dimensions too large. Maximum is {IMAGE_MAX_PIXELS // 1_000_000} megapixels"
FILE_EMPTY = "File is empty"


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What the media inspector learned from an audio file's content."""

    format: str  # one of AUDIO_FORMATS, lowercased: mp3, wav, ogg, m4a, aac, flac, webm
    content_type: str
    duration: float | None = None
    bitrate: int | None = None
    sample_rate: int | None = None
    channels: int | None = None


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    """An image decoded, bounded and re-encoded without metadata, ready to store."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


@dataclass(eq=False)
class AudioFile:
    owner_id: int
    title: str
    original_filename: str
    storage_key: str
    content_type: str
    file_size: int
    format: str
    description: str | None = None
    duration: float | None = None
    bitrate: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    is_public: bool = False
    upload_date: datetime | None = None
    updated_at: datetime | None = None
    id: int | None = None
