"""Content-based media inspection: audio identified with mutagen, images re-encoded with Pillow.

The type of a file is decided from its bytes only, never from its name or the client's
Content-Type. Each audio format is recognised by its magic bytes first, then parsed with the one
mutagen class for that format (``mutagen.File`` would let the file name vote) and checked for a
plausible stream. Audio files are read from disk by mutagen, never loaded whole.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from sono.adapters.allocator import release_memory
from sono.adapters.media import ebml
from sono.domain.errors import PayloadTooLarge, UnsupportedMedia
from sono.domain.media import (
    AUDIO_UNSUPPORTED,
    IMAGE_DIMENSIONS_TOO_LARGE,
    IMAGE_MAX_PIXELS,
    IMAGE_MAX_SIDE,
    IMAGE_UNSUPPORTED,
    AudioInfo,
    AudioTags,
    ProcessedImage,
)

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = IMAGE_MAX_PIXELS
"""Images with more pixels than this are refused (``PayloadTooLarge``) before any pixel is decoded."""

DEFAULT_IMAGE_DECODES = 2
"""Images decoded at once by one inspector; more wait for a free decoder."""

RELEASE_AFTER_PIXELS = 1_000_000
"""A decode of this many pixels or more returns the freed memory to the system when it ends."""

_SNIFF_BYTES = 64 * 1024
_MAX_ID3_SKIP = 8 * 1024 * 1024  # tags with embedded pictures can be large; the file itself is bounded
_IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")
_DECODED_FORMATS = frozenset({*_IMAGE_FORMATS, "MPO"})  # MPO: a JPEG with extra frames (camera photos)
_WEBP_QUALITY = 85


# --------------------------------------------------------------------------- audio


class _Rejected(Exception):
    """Internal: the content is not an allowed audio format."""


@dataclass(frozen=True, slots=True)
class _Stream:
    format: str
    content_type: str
    duration: float | None
    bitrate: int | None
    sample_rate: int | None
    channels: int | None


def _positive_int(value: object) -> int | None:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number > 0 else None


def _positive_float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number > 0 and number != float("inf") else None


def _from_mutagen(fmt: str, content_type: str, info: object, sample_rate: int | None = None) -> _Stream:
    channels = _positive_int(getattr(info, "channels", None))
    rate = sample_rate or _positive_int(getattr(info, "sample_rate", None))
    if channels is None or rate is None:
        raise _Rejected(f"{fmt}: no audio stream parameters")
    return _Stream(
        format=fmt,
        content_type=content_type,
        duration=_positive_float(getattr(info, "length", None)),
        bitrate=_positive_int(getattr(info, "bitrate", None)),
        sample_rate=rate,
        channels=channels,
    )


def _id3_end(fileobj: BinaryIO) -> int:
    """Offset just past any leading ID3v2 tags (and the zero padding some taggers leave)."""
    offset = 0
    while True:
        fileobj.seek(offset)
        header = fileobj.read(10)
        if len(header) < 10 or not header.startswith(b"ID3"):
            break
        size_bytes = header[6:10]
        if header[3] == 0xFF or any(b & 0x80 for b in size_bytes):
            raise _Rejected("malformed ID3v2 header")
        size = (size_bytes[0] << 21) | (size_bytes[1] << 14) | (size_bytes[2] << 7) | size_bytes[3]
        offset += 10 + size + (10 if header[5] & 0x10 else 0)  # footer present
        if offset > _MAX_ID3_SKIP:
            raise _Rejected("ID3 tags too large")
    fileobj.seek(offset)
    padding = fileobj.read(_SNIFF_BYTES)
    skipped = len(padding) - len(padding.lstrip(b"\x00"))
    return offset + skipped if offset else offset


_MPEG_BITRATES = {  # kbit/s, Layer III, indexed by bitrate_index 1..14
    1: (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES = {1: (44100, 48000, 32000), 2: (22050, 24000, 16000), 25: (11025, 12000, 8000)}


def _mp3_frame_length(header: bytes) -> int | None:
    """Length of an MPEG-1/2/2.5 Layer III frame starting with ``header``, or None."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version_bits = (header[1] >> 3) & 0b11
    layer_bits = (header[1] >> 1) & 0b11
    bitrate_index = header[2] >> 4
    rate_index = (header[2] >> 2) & 0b11
    if version_bits == 0b01 or layer_bits != 0b01 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    version = {0b11: 1, 0b10: 2, 0b00: 25}[version_bits]
    bitrate = _MPEG_BITRATES[1 if version == 1 else 2][bitrate_index - 1] * 1000
    sample_rate = _MPEG_RATES[version][rate_index]
    padding = (header[2] >> 1) & 1
    return (144 if version == 1 else 72) * bitrate // sample_rate + padding


def _adts_frame_length(header: bytes) -> int | None:
    """Length of an ADTS frame starting with ``header``, or None."""
    if len(header) < 7 or header[0] != 0xFF or header[1] & 0xF6 != 0xF0:  # sync, layer 00
        return None
    if (header[2] >> 2) & 0x0F > 12:  # sampling_frequency_index
        return None
    length = ((header[3] & 0x03) << 11) | (header[4] << 3) | (header[5] >> 5)
    minimum = 7 if header[1] & 0x01 else 9
    return length if length >= minimum else None


def _frames_chain(fileobj: BinaryIO, start: int, frame_length: Callable[[bytes], int | None], size: int) -> bool:
    """The stream at ``start`` begins with a valid frame, followed by another valid frame (or by
    the end of the file)."""
    fileobj.seek(start)
    first = frame_length(fileobj.read(7))
    if first is None:
        return False
    following = start + first
    if following >= size:
        return following == size
    fileobj.seek(following)
    return frame_length(fileobj.read(7)) is not None


def _inspect_mpeg(fileobj: BinaryIO, start: int, size: int) -> _Stream:
    from mutagen.mp3 import MP3

    if not _frames_chain(fileobj, start, _mp3_frame_length, size):
        raise _Rejected("mp3: no valid frame at the stream start")
    fileobj.seek(0)
    info: Any = MP3(fileobj).info
    if info.layer != 3 or getattr(info, "frame_offset", start) != start:
        raise _Rejected("mp3: mutagen synced elsewhere")
    return _from_mutagen("mp3", "audio/mpeg", info)


def _inspect_adts(fileobj: BinaryIO, start: int, size: int) -> _Stream:
    from mutagen.aac import AAC

    if not _frames_chain(fileobj, start, _adts_frame_length, size):
        raise _Rejected("aac: no valid ADTS frame at the stream start")
    fileobj.seek(0)
    return _from_mutagen("aac", "audio/aac", AAC(fileobj).info)


def _inspect_ogg(fileobj: BinaryIO) -> _Stream:
    from mutagen.oggflac import OggFLAC
    from mutagen.oggopus import OggOpus
    from mutagen.oggvorbis import OggVorbis

    fileobj.seek(0)
    header = fileobj.read(27)
    if len(header) < 27 or not header[5] & 0x02:  # the first page must begin a stream (BOS)
        raise _Rejected("ogg: first page is not a BOS page")
    fileobj.seek(27 + header[26])  # first packet, after the segment table
    packet = fileobj.read(8)
    fileobj.seek(0)
    if packet.startswith(b"\x01vorbis"):
        return _from_mutagen("ogg", "audio/ogg", OggVorbis(fileobj).info)
    if packet.startswith(b"OpusHead"):
        return _from_mutagen("ogg", "audio/ogg", OggOpus(fileobj).info, sample_rate=48000)
    if packet.startswith(b"\x7fFLAC"):
        return _from_mutagen("ogg", "audio/ogg", OggFLAC(fileobj).info)
    raise _Rejected("ogg: not Vorbis, Opus or FLAC")


def _inspect_mp4(fileobj: BinaryIO) -> _Stream:
    from mutagen.mp4 import MP4

    fileobj.seek(0)
    info = MP4(fileobj).info
    if not getattr(info, "codec", ""):
        raise _Rejected("mp4: no audio track")
    return _from_mutagen("m4a", "audio/mp4", info)


# WebM: the header, Segment Info and Tracks, read by the bounded EBML walk (mutagen has no WebM parser).


def _inspect_webm(fileobj: BinaryIO) -> _Stream:
    fileobj.seek(0)
    data = fileobj.read(ebml.SCAN_BYTES)
    top = ebml.elements(data, 0, len(data))
    if len(top) < 2 or top[0][0] != ebml.EBML or top[1][0] != ebml.SEGMENT:
        raise _Rejected("webm: no EBML header followed by a Segment")
    _, head_start, head_end = top[0]
    doctype = next((data[s:e] for i, s, e in ebml.elements(data, head_start, head_end) if i == ebml.DOCTYPE), b"")
    if doctype.rstrip(b"\x00") != b"webm":
        raise _Rejected("webm: DocType is not webm")
    scale, duration, sample_rate, channels, has_audio = 1_000_000, None, None, None, False
    for element_id, start, end in ebml.elements(data, top[1][1], top[1][2]):
        if element_id == ebml.INFO:
            for child, s, e in ebml.elements(data, start, end):
                if child == ebml.TIMECODE_SCALE:
                    scale = ebml.to_uint(data[s:e]) or scale
                elif child == ebml.DURATION:
                    duration = ebml.to_float(data[s:e])
        elif element_id == ebml.TRACKS:
            for entry, s, e in ebml.elements(data, start, end):
                if entry != ebml.TRACK_ENTRY or has_audio:
                    continue
                fields = {child: (cs, ce) for child, cs, ce in ebml.elements(data, s, e)}
                if ebml.TRACK_TYPE not in fields or ebml.to_uint(data[slice(*fields[ebml.TRACK_TYPE])]) != 2:
                    continue
                has_audio = True
                if ebml.AUDIO in fields:
                    for child, cs, ce in ebml.elements(data, *fields[ebml.AUDIO]):
                        if child == ebml.SAMPLING_FREQUENCY:
                            rate = ebml.to_float(data[cs:ce])
                            sample_rate = int(rate) if rate and rate > 0 else None
                        elif child == ebml.CHANNELS:
                            channels = ebml.to_uint(data[cs:ce]) or None
    if not has_audio:
        raise _Rejected("webm: no audio track")
    seconds = duration * scale / 1e9 if duration is not None and duration > 0 else None
    # Matroska defaults when the Audio element leaves them out: 8000 Hz, one channel.
    return _Stream("webm", "audio/webm", seconds, None, sample_rate or 8000, channels or 1)


def _inspect_audio_file(path: str) -> _Stream:
    """Identify ``path`` from its content. Raises ``_Rejected`` or a parser error."""
    from mutagen.aac import AAC
    from mutagen.flac import FLAC
    from mutagen.wave import WAVE

    with open(path, "rb") as fileobj:
        fileobj.seek(0, io.SEEK_END)
        size = fileobj.tell()
        fileobj.seek(0)
        head = fileobj.read(12)
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            fileobj.seek(0)
            return _from_mutagen("wav", "audio/wav", WAVE(fileobj).info)
        if head[:4] == b"OggS":
            return _inspect_ogg(fileobj)
        if head[4:8] == b"ftyp":
            return _inspect_mp4(fileobj)
        if head[:4] == b"\x1a\x45\xdf\xa3":
            return _inspect_webm(fileobj)
        start = _id3_end(fileobj)
        fileobj.seek(start)
        magic = fileobj.read(4)
        fileobj.seek(0)
        if magic == b"fLaC":
            return _from_mutagen("flac", "audio/flac", FLAC(fileobj).info)
        if magic == b"ADIF":
            return _from_mutagen("aac", "audio/aac", AAC(fileobj).info)
        if len(magic) >= 2 and magic[0] == 0xFF:
            if magic[1] & 0xF6 == 0xF0:
                return _inspect_adts(fileobj, start, size)
            return _inspect_mpeg(fileobj, start, size)
    raise _Rejected("no known audio signature")


def _audio_info(path: str) -> AudioInfo:
    try:
        stream = _inspect_audio_file(path)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise  # the caller's mistake, not the content's
    except Exception as exc:  # parsers raise many types on hostile input; all mean "not audio"
        log.debug("audio rejected: %s: %s", type(exc).__name__, exc)
        raise UnsupportedMedia(AUDIO_UNSUPPORTED) from None
    return AudioInfo(
        format=stream.format,
        content_type=stream.content_type,
        duration=stream.duration,
        bitrate=stream.bitrate,
        sample_rate=stream.sample_rate,
        channels=stream.channels,
    )


# --------------------------------------------------------------------------- images

_STRIP_ROWS = 64
"""Output rows reduced per step: the full-size copies a reduction makes are this tall."""
_REDUCIBLE_MODES = frozenset({"L", "LA", "RGB", "RGBA", "CMYK", "I", "F"})
_TRANSPOSE = {  # EXIF orientation -> the Image.Transpose member that displays it upright
    2: "FLIP_LEFT_RIGHT",
    3: "ROTATE_180",
    4: "FLIP_TOP_BOTTOM",
    5: "TRANSPOSE",
    6: "ROTATE_270",
    7: "TRANSVERSE",
    8: "ROTATE_90",
}


def _to_srgb(image: Image.Image, mode: str) -> Image.Image:
    """``image`` in ``mode`` (RGB or RGBA). Pixels with an embedded ICC profile are converted to
    sRGB, so dropping the profile keeps the colours; an unusable profile is ignored."""
    from PIL import ImageCms

    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(image, source, srgb, outputMode=mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None
        if converted is not None:
            image = converted
    return image if image.mode == mode else image.convert(mode)


def _has_alpha(image: Image.Image) -> bool:
    """An alpha channel, or a transparent palette entry / colour key (``tRNS``)."""
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _reducible(image: Image.Image) -> Image.Image:
    """``image`` in a mode that averages well (palettes, bilevel, 16-bit and colour keys
    converted; the one full-size copy of a decode, and only for those modes)."""
    if image.mode in _REDUCIBLE_MODES and "transparency" not in image.info:
        return image
    if _has_alpha(image):
        return image.convert("RGBA")
    return image.convert("L" if image.mode in ("1", "L") or image.mode.startswith("I;16") else "RGB")


def _reduce(image: Image.Image, factor: int) -> Image.Image:
    """``image`` shrunk by an integer ``factor`` (box average), a strip of rows at a time: Pillow's
    own ``reduce`` of an image with alpha first copies it whole, premultiplied."""
    from PIL import Image

    if factor <= 1:
        return image
    width, height = image.size
    out = Image.new(image.mode, (-(-width // factor), -(-height // factor)))
    step = factor * _STRIP_ROWS
    for top in range(0, height, step):
        with image.crop((0, top, width, min(height, top + step))) as strip:
            out.paste(strip.reduce(factor), (0, top // factor))
    return out


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except (TypeError, ValueError, SyntaxError, OSError):  # a malformed EXIF block: as stored
        return 1


def _small_copy(source: Image.Image, max_side: int) -> tuple[Image.Image, int]:
    """The decoded ``source`` at most about twice ``max_side`` on its longest side (from here on
    every copy is small) and its EXIF orientation."""
    orientation = _orientation(source)
    icc = source.info.get("icc_profile")
    image = _reducible(source)
    image = _reduce(image, max(image.size) // max_side)
    if image is source:  # small already: a copy, so that the source's file and metadata can go
        image = source.copy()
    image.info = {"icc_profile": icc} if icc else {}
    return image, orientation


def _decode_small(data: BinaryIO, max_side: int, max_pixels: int, decoded: list[int]) -> tuple[Image.Image, int]:
    """The image in ``data`` decoded and shrunk (see ``_small_copy``), and its EXIF orientation;
    appends the number of pixels decoded to ``decoded``. The full-size decode is freed on return."""
    from PIL import Image

    with Image.open(data, formats=_IMAGE_FORMATS) as source:
        if source.format not in _DECODED_FORMATS:
            raise UnsupportedMedia(IMAGE_UNSUPPORTED)
        width, height = source.size
        if width < 1 or height < 1:
            raise UnsupportedMedia(IMAGE_UNSUPPORTED)
        if width * height > max_pixels:
            log.debug("image rejected: %dx%d exceeds the pixel bound", width, height)
            raise PayloadTooLarge(IMAGE_DIMENSIONS_TOO_LARGE)
        if source.format in ("JPEG", "MPO"):
            source.draft("RGB", (max_side, max_side))  # decoded at 1/2, 1/4 or 1/8 of the size where it can
        decoded.append(source.size[0] * source.size[1])
        source.load()
        try:
            return _small_copy(source, max_side)
        finally:
            source.close()  # the decoded pixels go now, not when the caller's frame ends


def _reencode(data: BinaryIO, max_side: int, max_pixels: int, decoded: list[int]) -> ProcessedImage:
    """The re-encoded image; appends the number of pixels decoded to ``decoded``."""
    from PIL import Image

    image, orientation = _decode_small(data, max_side, max_pixels, decoded)
    if orientation in _TRANSPOSE:
        image = image.transpose(Image.Transpose[_TRANSPOSE[orientation]])
    image = _to_srgb(image, "RGBA" if _has_alpha(image) else "RGB")
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    clean = Image.new(image.mode, image.size)  # a fresh image: no info, EXIF, XMP or ICC to carry over
    clean.paste(image)
    out = io.BytesIO()
    clean.save(out, "WEBP", quality=_WEBP_QUALITY, method=4)
    return ProcessedImage(
        data=out.getvalue(), content_type="image/webp", extension="webp", width=clean.width, height=clean.height
    )


class ContentInspector:
    """``MediaInspector`` for production: mutagen for audio, Pillow for images (both imported on
    first use, not when the process starts).

    Images are decoded only when their declared size is at most ``max_pixels`` (JPEG at the
    smallest scale that still covers ``max_image_side``), shrunk a strip at a time so the longest
    side is at most ``max_image_side``, oriented by their EXIF orientation and re-encoded as WebP
    (alpha kept) without any metadata (EXIF, GPS, XMP, ICC, comments). At most ``max_decodes``
    images are decoded at once (in this inspector's own threads; more wait their turn), and a
    large decode gives its memory back to the system when it ends.
    """

    def __init__(
        self,
        max_image_side: int = IMAGE_MAX_SIDE,
        *,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_decodes: int = DEFAULT_IMAGE_DECODES,
    ) -> None:
        if max_image_side < 1 or max_pixels < 1 or max_decodes < 1:
            raise ValueError("max_image_side, max_pixels and max_decodes must be positive")
        self.max_image_side = max_image_side
        self.max_pixels = max_pixels
        self.max_decodes = max_decodes
        self._decoders = ThreadPoolExecutor(max_workers=max_decodes, thread_name_prefix="sono-image")

    def close(self) -> None:
        """Stop the decoder threads (decodes not started yet are cancelled)."""
        self._decoders.shutdown(wait=False, cancel_futures=True)

    async def inspect_audio(self, path: str) -> AudioInfo:
        """Identify the audio file at ``path`` by content. Raises ``UnsupportedMedia``."""
        return await asyncio.to_thread(_audio_info, path)

    async def read_tags(self, path: str) -> AudioTags:
        """The descriptive tags and embedded picture of an accepted audio file, cleaned and
        bounded; empty tags when there are none, they cannot be read, or the metadata is larger
        than ``TAG_BYTES_MAX`` (never loaded then)."""
        from sono.adapters.media.tags import read_audio_tags

        return await asyncio.to_thread(read_audio_tags, path)

    async def process_image(self, data: BinaryIO) -> ProcessedImage:
        """Decode, bound, strip and re-encode an image. Raises ``UnsupportedMedia``, or
        ``PayloadTooLarge(IMAGE_DIMENSIONS_TOO_LARGE)`` for more than ``max_pixels``."""
        return await asyncio.get_running_loop().run_in_executor(self._decoders, self._process_image, data)

    async def resize_image(self, data: BinaryIO, max_side: int) -> ProcessedImage:
        """``process_image`` with the longest side at most ``max_side`` (and ``max_image_side``)."""
        side = max(1, min(max_side, self.max_image_side))
        return await asyncio.get_running_loop().run_in_executor(self._decoders, self._process_image, data, side)

    def _process_image(self, data: BinaryIO, max_side: int | None = None) -> ProcessedImage:
        from PIL import Image

        decoded: list[int] = []
        try:
            return _reencode(data, max_side or self.max_image_side, self.max_pixels, decoded)
        except (UnsupportedMedia, PayloadTooLarge):
            raise
        except Image.DecompressionBombError:  # Pillow's own bound, far above ours, met on opening
            log.debug("image rejected: Pillow refused its dimensions")
            raise PayloadTooLarge(IMAGE_DIMENSIONS_TOO_LARGE) from None
        except Exception as exc:  # Pillow raises many types on hostile input; all mean "not an image"
            log.debug("image rejected: %s: %s", type(exc).__name__, exc)
            raise UnsupportedMedia(IMAGE_UNSUPPORTED) from None
        finally:
            if decoded and decoded[0] >= RELEASE_AFTER_PIXELS:
                release_memory()
