"""The announcement use cases on the fakes, with the clock under the test's control."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from sono.application.accounts.messages import SetProfilePicture
from sono.application.accounts.views import UserView
from sono.application.announcements.messages import (
    CreateAnnouncement,
    DeleteAnnouncement,
    GetAnnouncement,
    GetPublished,
    ListAnnouncements,
    ListPublished,
    UpdateAnnouncement,
)
from sono.application.common import Principal
from sono.application.messages import ANONYMOUS
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
    draft = await world.app.bus(CreateAnnouncement("Title", "Body"), root.actor)
    announcement_id = draft.announcement.id
    assert announcement_id is not None
    assert (draft.announcement.created_date, draft.announcement.updated_date) == (created_at, created_at)
    assert draft.author == UserView(root.user, None)  # no picture
    assert (await world.app.bus(ListPublished(0, 20), ANONYMOUS)).page.total == 0
    with pytest.raises(NotFound):
        await world.app.bus(GetPublished(announcement_id), ANONYMOUS)

    world.clock.advance(3600)
    published_at = world.clock.now()
    await world.app.bus(UpdateAnnouncement(announcement_id, is_published=True), root.actor)
    world.clock.advance(3600)
    edited = await world.app.bus(UpdateAnnouncement(announcement_id, content="Fixed"), root.actor)
    assert edited.announcement.published_date == published_at
    assert edited.announcement.updated_date == world.clock.now()
    assert edited.announcement.created_date == created_at
    shown = await world.app.bus(GetPublished(announcement_id), ANONYMOUS)
    assert (shown.announcement.content, shown.author) == ("Fixed", UserView(root.user, None))

    world.clock.advance(3600)
    before = edited.announcement.updated_date
    same = await world.app.bus(UpdateAnnouncement(announcement_id, title="Title", is_published=True), root.actor)
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
    picture = await world.app.bus(SetProfilePicture(io.BytesIO(b"FAKEIMAGE root")), root.actor)
    url = f"memory://media/{picture.user.profile_picture_key}"
    made = await world.app.bus(CreateAnnouncement("Now", "Body", True), root.actor)
    assert made.announcement.published_date == world.clock.now()
    assert made.author is not None and made.author.picture_url == url
    page = await world.app.bus(ListPublished(0, 20), ANONYMOUS)
    assert [a.id for a in page.page.items] == [made.announcement.id]
    assert {user_id: (v.user.username, v.picture_url) for user_id, v in page.authors.items()} == {
        root.user_id: ("root", url)
    }
    shown = await world.app.bus(GetPublished(made.announcement.id), ANONYMOUS)  # type: ignore[arg-type]
    assert shown.author is not None and shown.author.picture_url == url


async def test_titles_and_contents_are_bounded(world: World) -> None:
    root = await _admin(world)
    await world.app.bus(CreateAnnouncement("T" * TITLE_MAX, "C" * CONTENT_MAX), root.actor)
    for title, content, fields in (
        ("", "c", ["title"]),
        (" \t", "c", ["title"]),
        ("T" * (TITLE_MAX + 1), "c", ["title"]),
        ("t", "", ["content"]),
        ("t", "C" * (CONTENT_MAX + 1), ["content"]),
        ("", "", ["title", "content"]),
    ):
        with pytest.raises(ValidationFailed) as refused:
            await world.app.bus(CreateAnnouncement(title, content), root.actor)
        assert [e.field for e in refused.value.errors] == fields
    page = await world.app.bus(ListAnnouncements(False, 0, 10), root.actor)
    assert page.page.total == 1


async def test_only_admins_manage_announcements(world: World) -> None:
    root = await _admin(world)
    alice = await world.principal(await world.register("alice"))
    made = await world.app.bus(CreateAnnouncement("Title", "Body"), root.actor)
    assert made.announcement.id is not None
    for attempt in (
        world.app.bus(CreateAnnouncement("x", "y"), alice.actor),
        world.app.bus(UpdateAnnouncement(made.announcement.id, title="x"), alice.actor),
        world.app.bus(DeleteAnnouncement(made.announcement.id), alice.actor),
        world.app.bus(GetAnnouncement(made.announcement.id), alice.actor),
        world.app.bus(ListAnnouncements(False, 0, 10), alice.actor),
    ):
        with pytest.raises(PermissionDenied):
            await attempt
    assert (await world.app.bus(GetAnnouncement(made.announcement.id), root.actor)).announcement.title == "Title"
    await world.app.bus(DeleteAnnouncement(made.announcement.id), root.actor)
    with pytest.raises(NotFound):
        await world.app.bus(GetAnnouncement(made.announcement.id), root.actor)
