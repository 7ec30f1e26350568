"""The content inspector: audio identified by content with mutagen, images re-encoded with Pillow."""

from __future__ import annotations

import asyncio
import io
import random
import struct
import threading
from pathlib import Path
from typing import BinaryIO

import pytest
from PIL import Image

from sono.adapters.media import ContentInspector
from sono.domain.errors import PayloadTooLarge, UnsupportedMedia
from sono.domain.media import (
    AUDIO_UNSUPPORTED,
    IMAGE_DIMENSIONS_TOO_LARGE,
    IMAGE_MAX_PIXELS,
    IMAGE_MAX_SIDE,
    IMAGE_UNSUPPORTED,
    ProcessedImage,
)
from tests.fakes.media import FakeMediaInspector
from tests.fixtures import media

inspector = ContentInspector()


def _noise(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


# --------------------------------------------------------------------------- images


async def _process(data: bytes, checker: ContentInspector = inspector) -> tuple[Image.Image, bytes]:
    result = await checker.process_image(io.BytesIO(data))
    assert (result.content_type, result.extension) == ("image/webp", "webp")
    image = Image.open(io.BytesIO(result.data))
    assert image.format == "WEBP"
    assert image.size == (result.width, result.height)
    image.load()
    return image, result.data


@pytest.mark.parametrize(
    "data",
    [
        media.png_bytes(alpha=False),
        media.png_bytes(alpha=True),
        media.image_bytes("PNG", mode="L"),
        media.image_bytes("PNG", mode="P"),
        media.image_bytes("JPEG"),
        media.image_bytes("JPEG", mode="CMYK"),
        media.image_bytes("JPEG", mode="L"),
        media.mpo_bytes(),
        media.webp_bytes(alpha=False),
        media.webp_bytes(alpha=True),
        media.image_bytes("WEBP", quality=50),
    ],
    ids=[
        "png",
        "png-alpha",
        "png-grey",
        "png-palette",
        "jpeg",
        "jpeg-cmyk",
        "jpeg-grey",
        "jpeg-mpo",
        "webp",
        "webp-alpha",
        "webp-lossy",
    ],
)
async def test_allowed_images_are_reencoded(data: bytes) -> None:
    image, _ = await _process(data)
    assert image.size == (64, 48)
    assert image.mode in ("RGB", "RGBA")
    red = image.convert("RGB").getpixel((5, 5))
    blue = image.convert("RGB").getpixel((60, 40))
    if Image.open(io.BytesIO(data)).mode != "L":
        assert red[0] > 200 and red[2] < 60, "the picture survives the round trip"
        assert blue[2] > 150 and blue[0] < 60


async def test_alpha_is_kept() -> None:
    for data in (media.png_bytes(alpha=True), media.webp_bytes(alpha=True)):
        image, _ = await _process(data)
        assert image.mode == "RGBA"
        assert image.getpixel((5, 5))[3] == 255
        assert 100 < image.getpixel((60, 40))[3] < 160  # translucent blue

    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([255, 0, 0, 0, 0, 255])
    palette.putpixel((7, 7), 1)
    buffer = io.BytesIO()
    palette.save(buffer, "PNG", transparency=1)
    image, _ = await _process(buffer.getvalue())
    assert image.mode == "RGBA" and image.getpixel((7, 7))[3] == 0 and image.getpixel((0, 0))[3] == 255

    keyed = Image.new("RGB", (8, 8), (255, 0, 0))
    keyed.putpixel((7, 7), (0, 255, 0))
    buffer = io.BytesIO()
    keyed.save(buffer, "PNG", transparency=(0, 255, 0))  # RGB with a tRNS colour key
    image, _ = await _process(buffer.getvalue())
    assert image.mode == "RGBA" and image.getpixel((7, 7))[3] == 0 and image.getpixel((0, 0))[3] == 255


async def test_metadata_is_stripped() -> None:
    source = media.jpeg_with_metadata()
    original = Image.open(io.BytesIO(source))
    assert original.getexif().get_ifd(0x8825), "the fixture carries GPS data"
    assert {"exif", "xmp", "icc_profile", "comment"} <= set(original.info)

    image, data = await _process(source)

    assert not image.getexif()
    assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)
    for marker in (b"EXIF", b"Exif", b"XMP", b"ICCP", b"secret", b"Test Camera"):
        assert marker not in data


async def test_exif_orientation_is_applied() -> None:
    # 80x40 stored sideways with "rotate 90 CW to display": shown as 40x80, the red
    # top-left quarter of the stored pixels ends up top-right.
    image, _ = await _process(media.jpeg_with_metadata((80, 40), orientation=6))
    assert image.size == (40, 80)
    rgb = image.convert("RGB")
    assert rgb.getpixel((35, 5))[0] > 200 and rgb.getpixel((5, 5))[2] > 150


async def test_longest_side_is_bounded() -> None:
    image, _ = await _process(media.png_bytes((3000, 1000), alpha=False))
    assert IMAGE_MAX_SIDE == 1024
    assert image.size == (1024, 341)
    image, _ = await _process(media.image_bytes("JPEG", (1000, 3000)))
    assert image.size == (341, 1024)
    image, _ = await _process(media.webp_bytes((400, 300)), ContentInspector(max_image_side=100))
    assert image.size == (100, 75)


def _quarters(image: Image.Image) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The pixel in the middle of the top-left quarter and the one in the middle of the bottom-right."""
    width, height = image.size
    return image.getpixel((width // 4, height // 4)), image.getpixel((3 * width // 4, 3 * height // 4))


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (media.png_bytes((4000, 4000), alpha=True), (1024, 1024)),  # the largest image accepted
        (media.png_bytes((5000, 3200), alpha=False), (1024, 655)),
        (media.image_bytes("PNG", (3000, 1200), mode="P"), (1024, 410)),
        (media.image_bytes("PNG", (1200, 3000), mode="L"), (410, 1024)),
        (media.webp_bytes((2600, 2600), alpha=True), (1024, 1024)),
        (media.image_bytes("JPEG", (4000, 2000)), (1024, 512)),
        (media.image_bytes("JPEG", (4000, 2000), mode="CMYK"), (1024, 512)),
    ],
    ids=["png-rgba-max", "png-rgb", "png-palette", "png-grey", "webp-alpha", "jpeg", "jpeg-cmyk"],
)
async def test_large_images_come_out_bounded_and_intact(data: bytes, size: tuple[int, int]) -> None:
    """Shrunk a strip at a time: the output is bounded, the picture (red top-left quarter, blue
    elsewhere, translucent where it has alpha) and its alpha survive."""
    image, _ = await _process(data)
    assert image.size == size
    top_left, bottom_right = _quarters(image.convert("RGBA"))
    if data.startswith(b"\x89PNG") and Image.open(io.BytesIO(data)).mode == "L":  # red and blue as grey
        assert all(abs(a - 76) <= 3 for a in top_left[:3]) and all(abs(b - 29) <= 3 for b in bottom_right[:3])
        return
    assert top_left[0] > 200 and top_left[2] < 60 and top_left[3] == 255
    if image.mode == "RGBA":
        assert bottom_right[2] > 200 and bottom_right[0] < 60 and 100 < bottom_right[3] < 156
    else:
        assert bottom_right[2] > 150 and bottom_right[0] < 60


async def test_exif_orientation_is_applied_to_a_reduced_image() -> None:
    """4000x2000 stored sideways ("rotate 90 CW to display"): shown as 512x1024, the red top-left
    quarter of the stored pixels ends up top-right."""
    image, _ = await _process(media.jpeg_with_metadata((4000, 2000), orientation=6))
    assert image.size == (512, 1024)
    rgb = image.convert("RGB")
    assert rgb.getpixel((384, 256))[0] > 200 and rgb.getpixel((128, 256))[2] > 150
    image, _ = await _process(media.jpeg_with_metadata((4000, 2000), orientation=3))  # upside down
    assert image.size == (1024, 512)
    rgb = image.convert("RGB")
    assert rgb.getpixel((768, 384))[0] > 200 and rgb.getpixel((256, 128))[2] > 150


class _CountingInspector(ContentInspector):
    """Decodes block until released; counts how many run at once."""

    def __init__(self, max_decodes: int) -> None:
        super().__init__(max_decodes=max_decodes)
        self.condition = threading.Condition()
        self.running = 0
        self.most = 0
        self.released = False

    def _process_image(self, data: BinaryIO) -> ProcessedImage:
        with self.condition:
            self.running += 1
            self.most = max(self.most, self.running)
            self.condition.notify_all()
            self.condition.wait_for(lambda: self.released, timeout=60)  # the timeout only guards a broken test
            self.running -= 1
        return super()._process_image(data)


@pytest.mark.parametrize("bound", [1, 2, 3])
async def test_no_more_than_the_bound_decode_at_once(bound: int) -> None:
    checker = _CountingInspector(max_decodes=bound)
    try:
        uploads = [asyncio.ensure_future(checker.process_image(io.BytesIO(media.png_bytes()))) for _ in range(8)]

        def started() -> bool:
            with checker.condition:
                return checker.condition.wait_for(lambda: checker.running >= bound, timeout=60)

        assert await asyncio.to_thread(started)
        for _ in range(20):  # every upload gets its turn on the event loop to ask for a decode
            await asyncio.sleep(0)
        with checker.condition:
            assert checker.running == bound, "the others wait for a free decoder"
            checker.released = True
            checker.condition.notify_all()
        results = await asyncio.gather(*uploads)
    finally:
        checker.close()
    assert checker.most == bound
    assert [(result.width, result.height) for result in results] == [(64, 48)] * 8


def test_the_decode_bound_is_a_setting(tmp_path: Path) -> None:
    from sono.config import load_settings

    assert load_settings({"SONO_DATA_DIR": str(tmp_path)}).image_decodes == 2
    assert load_settings({"SONO_DATA_DIR": str(tmp_path), "SONO_IMAGE_DECODES": "5"}).image_decodes == 5
    with pytest.raises(ValueError, match="must be positive"):
        ContentInspector(max_decodes=0)


async def test_real_file_objects_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    path.write_bytes(media.png_bytes())
    with path.open("rb") as file:
        result = await inspector.process_image(file)
    assert (result.width, result.height) == (64, 48)


@pytest.mark.parametrize(
    "data",
    [
        media.image_bytes("GIF"),
        media.image_bytes("BMP"),
        media.image_bytes("TIFF"),
        media.image_bytes("ICO", (32, 32)),
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
        b"",
        _noise(5000),
        _half(media.png_bytes((200, 200))),  # truncated PNG
        _half(media.image_bytes("JPEG", (200, 200))),  # truncated JPEG
        _half(media.image_bytes("WEBP", (200, 200))),  # truncated WebP
        b"\x89PNG\r\n\x1a\n" + _noise(200),  # PNG signature, garbage after
        media.wav_bytes(0.1),
    ],
    ids=[
        "gif",
        "bmp",
        "tiff",
        "ico",
        "svg",
        "pdf",
        "empty",
        "noise",
        "png-cut",
        "jpeg-cut",
        "webp-cut",
        "png-junk",
        "wav",
    ],
)
async def test_other_content_is_unsupported(data: bytes) -> None:
    with pytest.raises(UnsupportedMedia) as caught:
        await inspector.process_image(io.BytesIO(data))
    assert caught.value.detail == IMAGE_UNSUPPORTED


@pytest.mark.parametrize("size", [(20000, 20000), (8000, 6000), (1, 50_000_000), (6325, 6325), (6300, 6300)])
async def test_decompression_bombs_are_too_large(size: tuple[int, int]) -> None:
    """Whether Pillow's own bound or ours (16 megapixels) catches it: too large, not unsupported.
    6300x6300 (40 megapixels, 160 MB decoded) was accepted before."""
    data = media.png_declaring(*size)
    assert len(data) < 20_000, "the bomb is cheap to build and to send"
    with pytest.raises(PayloadTooLarge) as caught:
        await inspector.process_image(io.BytesIO(data))
    assert caught.value.detail == IMAGE_DIMENSIONS_TOO_LARGE == "Image dimensions too large. Maximum is 16 megapixels"


async def test_the_message_states_the_bound_the_inspector_uses() -> None:
    assert inspector.max_pixels == IMAGE_MAX_PIXELS == 16_000_000
    with pytest.raises(PayloadTooLarge):
        await inspector.process_image(io.BytesIO(media.png_declaring(5000, 3201)))  # 16 005 000 pixels
    with pytest.raises(UnsupportedMedia):  # exactly at the bound: accepted, then found truncated
        await inspector.process_image(io.BytesIO(media.png_declaring(5000, 3200)))


async def test_pixel_bound_is_configurable() -> None:
    with pytest.raises(PayloadTooLarge):
        await ContentInspector(max_pixels=1000).process_image(io.BytesIO(media.png_bytes()))
    await ContentInspector(max_pixels=64 * 48).process_image(io.BytesIO(media.png_bytes()))


async def test_a_huge_image_upload_answers_413(tmp_path: Path) -> None:
    import httpx

    from sono.adapters.sqlalchemy.migrate import upgrade
    from sono.application.accounts.messages import Register
    from sono.application.common import PasswordInput
    from sono.application.messages import ANONYMOUS
    from sono.bootstrap import build_container
    from sono.config import load_settings
    from sono.entrypoints.http.app import create_app

    password = "Str0ng!Passw0rd"
    settings = load_settings(
        {
            "SONO_DATA_DIR": str(tmp_path / "data"),
            "SONO_JOBS_ENABLED": "false",
            "SONO_ARGON2_MEMORY_KIB": "1024",
            "SONO_ARGON2_TIME_COST": "1",
        }
    )
    await upgrade(settings.database_url)
    container = await build_container(settings)
    try:
        await container.bus(Register("alice", "alice@example.com", PasswordInput(password)), ANONYMOUS)
        transport = httpx.ASGITransport(create_app(settings, container=container))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            login = await client.post("/api/v1/users/token", data={"username": "alice", "password": password})
            assert login.status_code == 200, login.text
            response = await client.post(
                "/api/v1/users/me/upload-profile-picture",
                headers={"Authorization": f"Bearer {login.json()['access_token']}"},
                files={"file": ("huge.png", media.png_declaring(20000, 20000), "image/png")},
            )
    finally:
        await container.aclose()
    assert response.status_code == 413
    assert response.json() == {"detail": "Image dimensions too large. Maximum is 16 megapixels"}
    avatars = settings.media_dir / "avatars"
    assert not avatars.exists() or not any(avatars.rglob("*")), "nothing stored"


# --------------------------------------------------------------------------- audio


async def _inspect(tmp_path: Path, data: bytes, name: str = "upload.bin") -> object:
    path = tmp_path / name
    path.write_bytes(data)
    return await inspector.inspect_audio(str(path))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (media.wav_bytes(1.0, 22050, 2), ("wav", "audio/wav", 1.0, 22050, 2, 705_600)),
        (media.wav_bytes(0.5, 8000, 1, sample_width=1), ("wav", "audio/wav", 0.5, 8000, 1, 64_000)),
        (media.mp3_bytes(40), ("mp3", "audio/mpeg", 40 * 1152 / 44100, 44100, 2, 128_000)),
        (
            media.mp3_bytes(40, stereo=False, id3=False, bitrate=64, sample_rate=48000),
            ("mp3", "audio/mpeg", 40 * 1152 / 48000, 48000, 1, 64_000),
        ),
        (media.flac_bytes(1.5, 44100, 2), ("flac", "audio/flac", 1.5, 44100, 2, None)),
        (media.flac_bytes(0.5, 48000, 1), ("flac", "audio/flac", 0.5, 48000, 1, None)),
        (media.ogg_opus_bytes(2.0, 2), ("ogg", "audio/ogg", 2.0, 48000, 2, None)),
        (media.ogg_opus_bytes(1.0, 1), ("ogg", "audio/ogg", 1.0, 48000, 1, None)),
        (media.ogg_vorbis_headers_only(1.5, 44100, 2), ("ogg", "audio/ogg", 1.5, 44100, 2, 128_000)),
        (media.adts_aac_bytes(43, 44100, 2), ("aac", "audio/aac", 43 * 1024 / 44100, 44100, 2, None)),
        (media.adts_aac_bytes(47, 48000, 1), ("aac", "audio/aac", 47 * 1024 / 48000, 48000, 1, None)),
        (media.id3v24_tag() + media.adts_aac_bytes(43), ("aac", "audio/aac", 43 * 1024 / 44100, 44100, 2, None)),
        (media.m4a_bytes(1.0, 44100, 2), ("m4a", "audio/mp4", 43 * 1024 / 44100, 44100, 2, None)),
        (media.webm_bytes(1.5, 2), ("webm", "audio/webm", 1.5, 48000, 2, None)),
        (media.webm_bytes(1.0, 1, trailing_void=3 << 20), ("webm", "audio/webm", 1.0, 48000, 1, None)),
    ],
    ids=[
        "wav",
        "wav-8bit-mono",
        "mp3",
        "mp3-mono-no-id3",
        "flac",
        "flac-mono",
        "ogg-opus",
        "ogg-opus-mono",
        "ogg-vorbis-headers",
        "aac",
        "aac-mono",
        "aac-id3",
        "m4a",
        "webm",
        "webm-large",
    ],
)
async def test_allowed_audio_is_identified_by_content(tmp_path: Path, data: bytes, expected: tuple) -> None:
    fmt, content_type, duration, sample_rate, channels, bitrate = expected
    # The name says nothing (or lies): only the content counts.
    for name in ("upload.bin", "song.txt", "picture.png"):
        info = await _inspect(tmp_path, data, name)
        assert (info.format, info.content_type) == (fmt, content_type)  # type: ignore[attr-defined]
        assert info.sample_rate == sample_rate and info.channels == channels  # type: ignore[attr-defined]
        assert info.duration == pytest.approx(duration, abs=0.03)  # type: ignore[attr-defined]
        if bitrate is not None:
            assert info.bitrate == bitrate  # type: ignore[attr-defined]
        assert info.bitrate is None or info.bitrate > 0  # type: ignore[attr-defined]


def _riff(kind: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", 4 + 8 + 16) + kind + b"LIST" + struct.pack("<I", 16) + b"\x00" * 16


def _aiff() -> bytes:
    comm = struct.pack(">hIh", 2, 0, 16) + b"\x40\x0e\xac\x44" + b"\x00" * 6  # 44100 Hz as 80-bit float
    chunk = b"COMM" + struct.pack(">I", len(comm)) + comm
    return b"FORM" + struct.pack(">I", 4 + len(chunk)) + b"AIFF" + chunk


def _ogg_theora() -> bytes:
    header = b"\x80theora" + bytes((3, 2, 1)) + b"\x00" * 31
    return media.ogg_page(header, serial=1, sequence=0, granule=0, flags=0x02, lacing=[len(header)])


@pytest.mark.parametrize(
    "data",
    [
        b"This is not an MP3, only a text file that says so.\n" * 20,
        media.png_bytes(),
        media.image_bytes("JPEG"),
        b"",
        _noise(20_000),
        b"\xff\xfb" + _noise(20_000),  # one plausible sync word, then noise
        b"\xff\xfb\x90\x00" + _noise(20_000, seed=2),  # a valid first MP3 header, then noise
        media.id3v24_tag() + _noise(20_000),  # a tag and no audio
        media.id3v24_tag(),
        media.mp3_bytes(40)[25 + 100 :],  # starts mid-frame
        b"\x00" * 4096 + media.mp3_bytes(40, id3=False),  # junk before the first frame, no tag
        b"fLaC" + _noise(10),  # truncated FLAC
        b"OggS" + _noise(200),
        _ogg_theora(),  # Ogg, but video
        _riff(b"AVI "),  # RIFF, but not WAVE
        b"RIFF\x00\x00\x00\x00WAVE",  # WAVE without fmt chunk
        _aiff(),  # real audio, not an allowed format
        media.m4a_bytes(handler=b"vide"),  # MP4 without an audio track
        media.webm_bytes(audio=False),  # WebM, video only
        media.webm_bytes(doctype="matroska"),  # Matroska, not WebM
        media.webm_bytes()[:30],  # truncated WebM
        b"ADIF" + _noise(8),
    ],
    ids=[
        "text",
        "png",
        "jpeg",
        "empty",
        "noise",
        "sync-noise",
        "header-noise",
        "id3-noise",
        "id3-only",
        "mid-frame",
        "junk-first",
        "flac-cut",
        "ogg-noise",
        "ogg-theora",
        "avi",
        "wave-no-fmt",
        "aiff",
        "mp4-video",
        "webm-video",
        "matroska",
        "webm-cut",
        "adif-cut",
    ],
)
async def test_other_content_is_unsupported_audio(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(UnsupportedMedia) as caught:
        await _inspect(tmp_path, data, "upload.mp3")
    assert caught.value.detail == AUDIO_UNSUPPORTED


async def test_missing_file_is_an_error_not_unsupported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await inspector.inspect_audio(str(tmp_path / "missing.mp3"))


def test_fixtures_are_well_formed() -> None:
    # Cross-checks of the hand-built files with the standard library and Pillow.
    import wave

    with wave.open(io.BytesIO(media.wav_bytes(1.0, 22050, 2))) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getnframes()) == (22050, 2, 22050)
    flac = media.flac_bytes(1.0)
    assert flac.startswith(b"fLaC") and flac.count(b"\xff\xf8") >= 11  # one frame per 4096 samples
    assert media.crc8(b"123456789") == 0xF4 and media.crc16(b"123456789") == 0xFEE8  # FLAC's CRC variants
    page = media.ogg_opus_bytes(0.1)
    assert media.ogg_crc(page[:22] + b"\x00" * 4 + page[26:47]) == struct.unpack("<I", page[22:26])[0]
    assert struct.unpack(">II", media.png_declaring(20000, 20000)[16:24]) == (20000, 20000)


# --------------------------------------------------------------------------- fake


async def test_fake_media_inspector(tmp_path: Path) -> None:
    fake = FakeMediaInspector()
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.write_bytes(b"FAKEAUDIO and more")
    bad.write_bytes(media.mp3_bytes())
    assert (await fake.inspect_audio(str(good))).format == "mp3"
    with pytest.raises(UnsupportedMedia):
        await fake.inspect_audio(str(bad))
    assert (await fake.process_image(io.BytesIO(b"FAKEIMAGE x"))).data == b"FAKEIMAGE x"
    with pytest.raises(UnsupportedMedia):
        await fake.process_image(io.BytesIO(media.png_bytes()))
