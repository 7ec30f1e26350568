"""The audio feature through the bus, on the fakes: audiences, the request context's address in
the audit log, and the public list's answers kept behind ``AudioListCache``."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import pytest

from sono.adapters.audio_lists import MemoryAudioListCache
from sono.adapters.media.url_cache import MemorySignedUrlCache
from sono.application import context
from sono.application.audio.messages import (
    AudioDetails,
    CheckUploadQuota,
    DeleteAllAudioOf,
    DeleteAudio,
    GetAudio,
    GetUploadStats,
    ListAllAudio,
    ListMyAudio,
    ListPublicAudio,
    UpdateAudio,
    UploadAudio,
    UploadedFile,
)
from sono.application.audio.ports import ListKey
from sono.application.charts.messages import SearchArtist, TopSongs
from sono.application.messages import ANONYMOUS, Actor, Message
from sono.bootstrap import Container
from sono.domain.errors import NotAuthenticated, NotFound, PermissionDenied, ServiceUnavailable
from sono.domain.gdpr import AuditEvent
from tests.fakes.media import FAKE_AUDIO
from tests.fakes.metrics import RecordingMetrics
from tests.unit.conftest import World


def a_file(tmp_path) -> UploadedFile:
    content = FAKE_AUDIO + b"-" * 100
    path = tmp_path / f"upload-{len(list(tmp_path.iterdir()))}"
    path.write_bytes(content)
    return UploadedFile(path=str(path), data=io.BytesIO(content), filename="song.mp3")


async def actor_of(world: World, name: str, *, superuser: bool = False) -> Actor:
    user = await world.register(name, superuser=superuser)
    assert user.id is not None
    return Actor.user(user.id, is_admin=superuser)


def with_list_cache(world: World) -> tuple[Container, MemoryAudioListCache, RecordingMetrics]:
    metrics = RecordingMetrics()
    cache = MemoryAudioListCache(metrics=metrics)
    return Container(world.app.settings, replace(world.app.ports, audio_lists=cache, metrics=metrics)), cache, metrics


@pytest.mark.parametrize(
    "message", [CheckUploadQuota(), GetUploadStats(), ListMyAudio(), UpdateAudio(1, title="x"), DeleteAudio(1)]
)
async def test_a_signed_in_callers_messages_refuse_an_anonymous_one(world: World, message: Message[Any]) -> None:
    with pytest.raises(NotAuthenticated):
        await world.app.bus(message, ANONYMOUS)


@pytest.mark.parametrize("message", [ListAllAudio(), DeleteAllAudioOf(1)])
async def test_the_admins_messages_refuse_a_user(world: World, message: Message[Any]) -> None:
    alice = await actor_of(world, "alice")
    with pytest.raises(PermissionDenied):
        await world.app.bus(message, alice)


async def test_a_full_quota_is_refused_by_the_check_before_the_upload(world: World, tmp_path) -> None:
    alice = await actor_of(world, "alice")
    async with world.uow() as uow:
        (await uow.users.get(alice.id)).max_audio_uploads = 1  # type: ignore[union-attr]
        await uow.commit()
    await world.app.bus(CheckUploadQuota(), alice)
    await world.app.bus(UploadAudio(a_file(tmp_path), AudioDetails()), alice)
    with pytest.raises(PermissionDenied):
        await world.app.bus(CheckUploadQuota(), alice)


async def test_the_audit_log_names_the_address_of_the_request(world: World, tmp_path) -> None:
    alice = await actor_of(world, "alice")
    with context.bind(ip="192.0.2.7"):
        view = await world.app.bus(UploadAudio(a_file(tmp_path), AudioDetails(title="Song")), alice)
        await world.app.bus(UpdateAudio(view.audio.id, title="New"), alice)  # type: ignore[arg-type]
        await world.app.bus(DeleteAudio(view.audio.id), alice)  # type: ignore[arg-type]

    events = [(e.event, e.ip_address) for e in world.uow.database.audit.values()]
    assert [e for e in events if e[0].startswith("audio")] == [
        (AuditEvent.AUDIO_UPLOADED, "192.0.2.7"),
        (AuditEvent.AUDIO_UPDATED, "192.0.2.7"),
        (AuditEvent.AUDIO_DELETED, "192.0.2.7"),
    ]


async def test_answers_carry_the_urls_and_the_owner(world: World, tmp_path) -> None:
    alice = await actor_of(world, "alice")
    view = await world.app.bus(UploadAudio(a_file(tmp_path), AudioDetails(is_public=True)), alice)
    found = await world.app.bus(GetAudio(view.audio.id), ANONYMOUS)  # type: ignore[arg-type]

    assert found.owner.user.username == "alice" and found.owner.picture_url is None
    assert found.file_url == await world.app.media.url(view.audio.storage_key)
    assert found == view


async def test_the_public_list_is_kept_counted_and_follows_uploads_and_privacy(world: World, tmp_path) -> None:
    app, cache, metrics = with_list_cache(world)
    alice = await actor_of(world, "alice")
    first = await app.bus(UploadAudio(a_file(tmp_path), AudioDetails(title="first", is_public=True)), alice)

    seen = await app.bus(ListPublicAudio(), ANONYMOUS)
    again = await app.bus(ListPublicAudio(), ANONYMOUS)
    assert [v.audio.title for v in seen.items] == ["first"]
    assert again is seen  # the answer kept
    assert (cache.misses, cache.hits) == (1, 1)
    assert metrics.lookups == [("public_audio", False), ("public_audio", True)]
    assert metrics.sizes[-1] == ("public_audio", 1, 0)

    world.clock.advance(1)
    await app.bus(UploadAudio(a_file(tmp_path), AudioDetails(title="second", is_public=True)), alice)
    assert len(cache) == 0  # the upload dropped the kept answers
    listed = await app.bus(ListPublicAudio(), ANONYMOUS)
    assert [v.audio.title for v in listed.items] == ["second", "first"]

    await app.bus(UpdateAudio(first.audio.id, is_public=False), alice)  # type: ignore[arg-type]
    assert [v.audio.title for v in (await app.bus(ListPublicAudio(), ANONYMOUS)).items] == ["second"]
    assert cache.misses == 3 and cache.hits == 1


async def test_a_kept_list_answer_follows_changes_made_elsewhere(world: World, tmp_path) -> None:
    """A change the audio feature did not make (an owner renamed, deactivated) shows at once: an
    answer is given out again only for the same page."""
    app, cache, _ = with_list_cache(world)
    alice = await actor_of(world, "alice")
    await app.bus(UploadAudio(a_file(tmp_path), AudioDetails(is_public=True)), alice)
    await app.bus(ListPublicAudio(), ANONYMOUS)

    async with world.uow() as uow:
        (await uow.users.get(alice.id)).username = "alicia"  # type: ignore[union-attr]
        await uow.commit()
    renamed = await app.bus(ListPublicAudio(), ANONYMOUS)
    assert [v.owner.user.username for v in renamed.items] == ["alicia"]

    async with world.uow() as uow:
        (await uow.users.get(alice.id)).is_active = False  # type: ignore[union-attr]
        await uow.commit()
    assert (await app.bus(ListPublicAudio(), ANONYMOUS)).items == []
    assert (cache.hits, cache.misses) == (0, 3)


async def test_other_pages_and_expiries_are_other_answers(world: World, tmp_path) -> None:
    app, cache, _ = with_list_cache(world)
    alice = await actor_of(world, "alice")
    await app.bus(UploadAudio(a_file(tmp_path), AudioDetails(is_public=True)), alice)
    await app.bus(ListPublicAudio(0, 10), ANONYMOUS)
    await app.bus(ListPublicAudio(0, 5), ANONYMOUS)
    assert (cache.hits, cache.misses) == (0, 2)
    world.clock.advance(24 * 3600)  # URLs signed now expire later
    await app.bus(ListPublicAudio(0, 10), ANONYMOUS)
    assert (cache.hits, cache.misses) == (0, 3)
    await app.bus(ListPublicAudio(0, 10), ANONYMOUS)
    assert (cache.hits, cache.misses) == (1, 3)


async def test_admins_delete_every_file_of_a_user_and_the_list_follows(world: World, tmp_path) -> None:
    app, cache, _ = with_list_cache(world)
    alice = await actor_of(world, "alice")
    admin = await actor_of(world, "root", superuser=True)
    await app.bus(UploadAudio(a_file(tmp_path), AudioDetails(is_public=True)), alice)
    assert len((await app.bus(ListPublicAudio(), ANONYMOUS)).items) == 1

    done = await app.bus(DeleteAllAudioOf(alice.id, reset_quota=True), admin)

    assert (done.deleted, done.user.username) == (1, "alice")
    assert len(cache) == 0
    assert (await app.bus(ListPublicAudio(), ANONYMOUS)).items == []
    with pytest.raises(NotFound):
        await app.bus(DeleteAllAudioOf(10**6), admin)


async def test_charts_without_a_database_are_unavailable_to_anyone(world: World) -> None:
    with pytest.raises(ServiceUnavailable):
        await world.app.bus(TopSongs(), ANONYMOUS)
    with pytest.raises(ServiceUnavailable):
        await world.app.bus(SearchArtist("abba"), ANONYMOUS)


async def test_the_list_cache_keeps_the_latest_answers_up_to_its_bound(world: World, tmp_path) -> None:
    metrics = RecordingMetrics()
    cache = MemoryAudioListCache(2, metrics=metrics)
    alice = await actor_of(world, "alice")
    await world.app.bus(UploadAudio(a_file(tmp_path), AudioDetails(is_public=True)), alice)
    page = await world.app.ports.audio_catalog.public_page(skip=0, limit=10)
    answer = await world.app.bus(ListPublicAudio(), ANONYMOUS)
    keys = [ListKey(0, limit, 1) for limit in (1, 2, 3)]
    for key in keys:
        await cache.put(key, page, answer)

    assert len(cache) == 2 and metrics.sizes[-1] == ("public_audio", 2, 0)
    assert await cache.get(keys[0], page) is None  # the oldest dropped
    assert await cache.get(keys[2], page) is answer
    assert await cache.get(keys[2], replace(page, total=page.total + 1)) is None  # another page
    await cache.invalidate()
    assert len(cache) == 0 and metrics.sizes[-1] == ("public_audio", 0, 0)
    assert [hit for _, hit in metrics.lookups] == [False, True, False]


async def test_signed_urls_are_kept_by_key_and_expiry_and_counted(world: World) -> None:
    metrics = RecordingMetrics()
    urls = MemorySignedUrlCache(2, metrics=metrics)
    app = Container(world.app.settings, replace(world.app.ports, url_cache=urls))
    first = await app.media.url("audio/1/a.mp3")
    assert await app.media.url("audio/1/a.mp3") == first
    assert (urls.hits, urls.misses, len(urls)) == (1, 1, 1)
    world.clock.advance(24 * 3600)  # a later expiry: another URL
    later = await app.media.url("audio/1/a.mp3")
    assert later != first and (urls.hits, urls.misses, len(urls)) == (1, 2, 2)
    await app.media.url("audio/1/b.mp3")
    assert len(urls) == 2 and metrics.sizes[-1][:2] == ("signed_urls", 2)
    assert metrics.lookups[:2] == [("signed_urls", False), ("signed_urls", True)]
