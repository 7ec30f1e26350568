"""The announcement use cases on the fakes, with the clock under the test's control."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sono.application.common import Principal
from sono.domain.announcements import CONTENT_MAX, TITLE_MAX, Announcement
from sono.domain.errors import NotFound, PermissionDenied, ValidationFailed
from sono.domain.gdpr import AuditEvent
from tests.unit.conftest import World


async def _admin(world: World, name: str = "root") -> Principal:
    return await world.principal(await world.register(name, superuser=True))


def test_the_first_publication_dates_an_announcement_for_good(world: World) -> None:
    announcement = Announcement("t", "c")
    first = world.clock.now()
    announcement.set_published(True, first)
    announcement.set_published(False, first + timedelta(days=1))
    assert (announcement.is_published, announcement.published_date) == (False, first)
    announcement.set_published(True, first + timedelta(days=2))
    assert (announcement.is_published, announcement.published_date) == (True, first)


async def test_drafts_are_hidden_until_published_and_edits_keep_the_date(world: World) -> None:
    root = await _admin(world)
    created_at = world.clock.now()
    draft = await world.app.announcements.create(root, "Title", "Body")
    announcement_id = draft.announcement.id
    assert announcement_id is not None
    assert (draft.announcement.created_date, draft.announcement.updated_date) == (created_at, created_at)
    assert draft.author is root.user
    assert (await world.app.announcements.published(skip=0, limit=20)).page.total == 0
    with pytest.raises(NotFound):
        await world.app.announcements.published_one(announcement_id)

    world.clock.advance(3600)
    published_at = world.clock.now()
    await world.app.announcements.update(root, announcement_id, is_published=True)
    world.clock.advance(3600)
    edited = await world.app.announcements.update(root, announcement_id, content="Fixed")
    assert edited.announcement.published_date == published_at
    assert edited.announcement.updated_date == world.clock.now()
    assert edited.announcement.created_date == created_at
    shown = await world.app.announcements.published_one(announcement_id)
    assert (shown.announcement.content, shown.author) == ("Fixed", root.user)

    world.clock.advance(3600)
    before = edited.announcement.updated_date
    same = await world.app.announcements.update(root, announcement_id, title="Title", is_published=True)
    assert same.announcement.updated_date == before  # nothing changed: no new date, no audit entry
    async with world.uow() as uow:
        entries = await uow.audit.list_for_user(root.user_id)
    details = [e.details for e in entries if e.event == AuditEvent.ADMIN_ACTION]
    assert [d["action"] for d in reversed(details)] == [
        "announcement.create",
        "announcement.update",
        "announcement.update",
    ]


async def test_created_published_announcements_are_dated_at_once(world: World) -> None:
    root = await _admin(world)
    made = await world.app.announcements.create(root, "Now", "Body", True)
    assert made.announcement.published_date == world.clock.now()
    page = await world.app.announcements.published(skip=0, limit=20)
    assert [a.id for a in page.page.items] == [made.announcement.id]
    assert page.authors == {root.user_id: root.user}


async def test_titles_and_contents_are_bounded(world: World) -> None:
    root = await _admin(world)
    await world.app.announcements.create(root, "T" * TITLE_MAX, "C" * CONTENT_MAX)
    for title, content, fields in (
        ("", "c", ["title"]),
        (" \t", "c", ["title"]),
        ("T" * (TITLE_MAX + 1), "c", ["title"]),
        ("t", "", ["content"]),
        ("t", "C" * (CONTENT_MAX + 1), ["content"]),
        ("", "", ["title", "content"]),
    ):
        with pytest.raises(ValidationFailed) as refused:
            await world.app.announcements.create(root, title, content)
        assert [e.field for e in refused.value.errors] == fields
    page = await world.app.announcements.list(root, published_only=False, skip=0, limit=10)
    assert page.page.total == 1


async def test_only_admins_manage_announcements(world: World) -> None:
    root = await _admin(world)
    alice = await world.principal(await world.register("alice"))
    made = await world.app.announcements.create(root, "Title", "Body")
    assert made.announcement.id is not None
    for attempt in (
        world.app.announcements.create(alice, "x", "y"),
        world.app.announcements.update(alice, made.announcement.id, title="x"),
        world.app.announcements.delete(alice, made.announcement.id),
        world.app.announcements.get(alice, made.announcement.id),
        world.app.announcements.list(alice, published_only=False, skip=0, limit=10),
    ):
        with pytest.raises(PermissionDenied):
            await attempt
    assert (await world.app.announcements.get(root, made.announcement.id)).announcement.title == "Title"
    await world.app.announcements.delete(root, made.announcement.id)
    with pytest.raises(NotFound):
        await world.app.announcements.get(root, made.announcement.id)
