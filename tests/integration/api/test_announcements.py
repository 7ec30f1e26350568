"""Announcements over HTTP, on SQLite and on PostgreSQL with Redis: the publishing workflow, who
sees what, the bounds of title and content, and the conditional GETs of the public reads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sono.domain.gdpr import AuditEvent
from tests.integration.api.catalogue import counting_statements, new_user, user_id
from tests.integration.api.conftest import Account, Api

PUBLIC = "/api/v1/announcements"
ADMIN = "/api/v1/admin/announcements"
KEYS = {
    "id",
    "title",
    "content",
    "is_published",
    "created_date",
    "updated_date",
    "published_date",
    "created_by_id",
    "created_by",
}


async def create(api: Api, admin: Account, title: str = "News", **fields: Any) -> dict[str, Any]:
    body = {"title": title, "content": fields.pop("content", f"About {title}"), **fields}
    response = await api.client.post(f"{ADMIN}/", headers=admin.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def update(api: Api, admin: Account, announcement_id: int, **fields: Any) -> dict[str, Any]:
    response = await api.client.put(f"{ADMIN}/{announcement_id}", headers=admin.headers, json=fields)
    assert response.status_code == 200, response.text
    return response.json()


async def public_titles(api: Api, **params: Any) -> list[str]:
    response = await api.client.get(PUBLIC, params=params)
    assert response.status_code == 200
    return [a["title"] for a in response.json()["items"]]


# --------------------------------------------------------------------------- access


async def test_admin_routes_need_an_admin_and_public_ones_serve_everyone(api: Api) -> None:
    root = await api.account("root", admin=True)
    alice = await api.account("alice")
    published = await create(api, root, "Hello", is_published=True)
    calls = [
        ("POST", f"{ADMIN}/", {"title": "x", "content": "y"}),
        ("GET", f"{ADMIN}/", None),
        ("GET", f"{ADMIN}/{published['id']}", None),
        ("PUT", f"{ADMIN}/{published['id']}", {"title": "Hacked"}),
        ("DELETE", f"{ADMIN}/{published['id']}", None),
    ]
    for method, url, body in calls:
        anonymous = await api.client.request(method, url, json=body)
        assert anonymous.status_code == 401, (method, url)
        assert anonymous.json() == {"detail": "Not authenticated"}
        user = await api.client.request(method, url, json=body, headers=alice.headers)
        assert user.status_code == 403, (method, url)
    for headers in ({}, alice.headers, {"Authorization": "Bearer expired.or.forged"}, root.headers):
        listed = await api.client.get(PUBLIC, headers=headers)
        assert listed.status_code == 200
        assert [a["title"] for a in listed.json()["items"]] == ["Hello"]
        one = await api.client.get(f"{PUBLIC}/{published['id']}", headers=headers)
        assert one.status_code == 200
        assert one.json()["title"] == "Hello"
    async with api.uow() as uow:
        stored = await uow.announcements.get(published["id"])
        assert stored is not None and stored.title == "Hello"


# --------------------------------------------------------------------------- publishing


async def test_the_publishing_workflow(api: Api) -> None:
    root = await api.account("root", admin=True)
    root_id = await user_id(api, "root")

    draft = await create(api, root, "Maintenance window", content="Tonight **22:00** UTC")
    assert set(draft) == KEYS
    assert (draft["is_published"], draft["published_date"]) == (False, None)
    assert draft["created_by_id"] == root_id
    assert draft["created_by"] == {
        "id": root_id,
        "username": "root",
        "display_name": None,
        "bio": None,
        "profile_picture_url": None,
    }
    assert draft["created_date"].endswith("Z") and draft["updated_date"].endswith("Z")
    assert await public_titles(api) == []
    hidden = await api.client.get(f"{PUBLIC}/{draft['id']}")
    assert hidden.status_code == 404
    assert hidden.json() == {"detail": "Announcement not found"}
    admin_view = await api.client.get(f"{ADMIN}/{draft['id']}", headers=root.headers)
    assert admin_view.json() == draft

    published = await update(api, root, draft["id"], is_published=True)
    first_published = published["published_date"]
    assert published["is_published"] is True and first_published.endswith("Z")
    assert await public_titles(api) == ["Maintenance window"]
    assert (await api.client.get(f"{PUBLIC}/{draft['id']}")).json() == published

    edited = await update(api, root, draft["id"], title="Maintenance moved", is_published=True, unknown="ignored")
    assert (edited["title"], edited["content"]) == ("Maintenance moved", "Tonight **22:00** UTC")
    assert edited["published_date"] == first_published

    unpublished = await update(api, root, draft["id"], is_published=False)
    assert unpublished["is_published"] is False
    assert unpublished["published_date"] == first_published
    assert await public_titles(api) == []
    assert (await api.client.get(f"{PUBLIC}/{draft['id']}")).status_code == 404

    republished = await update(api, root, draft["id"], is_published=True)
    assert republished["published_date"] == first_published
    assert await public_titles(api) == ["Maintenance moved"]

    untouched = await update(api, root, draft["id"])
    assert untouched == republished

    actions = await _actions(api, "root")
    assert [a["action"] for a in actions] == ["announcement.create"] + ["announcement.update"] * 4
    assert all(a["announcement_id"] == draft["id"] for a in actions)
    assert actions[2]["changed"] == ["title"]


async def test_public_lists_are_newest_published_first_twenty_by_default(api: Api) -> None:
    root = await api.account("root", admin=True)
    early_draft = await create(api, root, "Written first, published last")
    published_first = await create(api, root, "Published first", is_published=True)
    await create(api, root, "Never published")
    await update(api, root, early_draft["id"], is_published=True)
    async with api.uow() as uow:  # the clock has whole seconds: spread the events over hours
        early = await uow.announcements.get(early_draft["id"])
        first = await uow.announcements.get(published_first["id"])
        assert early is not None and first is not None and early.created_date and first.published_date
        early.created_date -= timedelta(hours=3)  # written 3 hours ago, published now
        first.created_date = first.published_date = first.published_date - timedelta(hours=2)
        await uow.commit()

    public = (await api.client.get(PUBLIC)).json()
    assert [a["title"] for a in public["items"]] == ["Written first, published last", "Published first"]
    assert (public["total"], public["has_more"]) == (2, False)
    assert public["announcements"] == public["items"]
    admin = (await api.client.get(f"{ADMIN}/", headers=root.headers)).json()
    assert [a["title"] for a in admin["items"]] == [
        "Never published",
        "Published first",
        "Written first, published last",
    ]
    assert admin["announcements"] == admin["items"] and admin["total"] == 3
    published_only = await api.client.get(f"{ADMIN}/", headers=root.headers, params={"published_only": "true"})
    assert published_only.json()["items"] == public["items"]

    for i in range(20):
        await create(api, root, f"Bulk {i}", is_published=True)
    first_page = (await api.client.get(PUBLIC)).json()
    assert len(first_page["items"]) == 20
    assert (first_page["total"], first_page["has_more"]) == (22, True)
    assert first_page["items"][0]["title"] == "Bulk 19"
    last_page = (await api.client.get(PUBLIC, params={"skip": 20, "limit": 20})).json()
    assert [a["title"] for a in last_page["items"]] == ["Written first, published last", "Published first"]
    assert (last_page["total"], last_page["has_more"]) == (22, False)
    assert (await api.client.get(PUBLIC, params={"limit": 100})).json()["total"] == 22
    admin_default = (await api.client.get(f"{ADMIN}/", headers=root.headers)).json()
    assert len(admin_default["items"]) == 23  # admins page by 100


async def test_deleting_an_announcement(api: Api) -> None:
    root = await api.account("root", admin=True)
    gone = await create(api, root, "Soon gone", is_published=True)
    kept = await create(api, root, "Kept", is_published=True)

    deleted = await api.client.delete(f"{ADMIN}/{gone['id']}", headers=root.headers)
    assert deleted.status_code == 200
    assert deleted.json() == {"message": "Announcement deleted successfully"}
    assert (await api.client.get(f"{PUBLIC}/{gone['id']}")).status_code == 404
    assert (await api.client.get(f"{ADMIN}/{gone['id']}", headers=root.headers)).status_code == 404
    assert await public_titles(api) == ["Kept"]
    again = await api.client.delete(f"{ADMIN}/{gone['id']}", headers=root.headers)
    assert again.status_code == 404
    assert again.json() == {"detail": "Announcement not found"}
    missing_put = await api.client.put(f"{ADMIN}/{gone['id']}", headers=root.headers, json={"title": "x"})
    assert missing_put.status_code == 404
    assert [(a["action"], a["announcement_id"]) for a in await _actions(api, "root")][-1] == (
        "announcement.delete",
        gone["id"],
    )
    assert kept["id"] != gone["id"]


async def test_admin_actions_on_announcements_record_the_client_address(api: Api) -> None:
    root = await api.account("root", admin=True)
    made = await create(api, root, "Dated")
    await update(api, root, made["id"], is_published=True)
    assert (await api.client.delete(f"{ADMIN}/{made['id']}", headers=root.headers)).status_code == 200
    root_id = await user_id(api, "root")
    async with api.uow() as uow:
        entries = await uow.audit.list_for_user(root_id)
    recorded = [
        (e.details["action"], e.ip_address)
        for e in reversed(entries)
        if e.event == AuditEvent.ADMIN_ACTION and e.actor_id == root_id
    ]
    assert recorded == [
        ("announcement.create", "127.0.0.1"),
        ("announcement.update", "127.0.0.1"),
        ("announcement.delete", "127.0.0.1"),
    ]


async def test_an_author_erased_leaves_the_announcement_without_an_author(api: Api) -> None:
    root = await api.account("root", admin=True)
    other = await api.account("other", admin=True)
    written = await create(api, other, "From other", is_published=True)
    other_id = await user_id(api, "other")
    async with api.uow() as uow:  # admins cannot delete admins over the API: demote first
        demoted = await uow.users.get(other_id)
        assert demoted is not None
        demoted.is_superuser = False
        await uow.commit()
    assert (await api.client.delete(f"/api/v1/admin/users/{other_id}", headers=root.headers)).status_code == 200
    shown = (await api.client.get(f"{PUBLIC}/{written['id']}")).json()
    assert (shown["created_by_id"], shown["created_by"]) == (None, None)
    assert (await api.client.get(PUBLIC)).json()["items"] == [shown]
    assert other.username == "other"


# --------------------------------------------------------------------------- bounds


async def test_title_and_content_are_bounded_and_content_is_stored_as_given(api: Api) -> None:
    root = await api.account("root", admin=True)
    markdown = "# Title\n\n<script>alert('x')</script> **bold** [link](javascript:x) \u202e\ufeff 🎵 \r\n\t end  "
    stored = await create(api, root, "T" * 200, content=markdown, is_published=True)
    kept = markdown.replace("\u202e", "")  # as given, but for the bidirectional override
    assert stored["content"] == kept
    assert (await api.client.get(f"{PUBLIC}/{stored['id']}")).json()["content"] == kept
    longest = await create(api, root, "Long", content="é" * 20_000)
    assert len(longest["content"]) == 20_000

    refused = [
        ({"title": "", "content": "x"}, "title"),
        ({"title": "   ", "content": "x"}, "title"),
        ({"title": "T" * 201, "content": "x"}, "title"),
        ({"title": "T" * 100_000, "content": "x"}, "title"),
        ({"title": "a\x00b", "content": "x"}, "title"),
        ({"title": None, "content": "x"}, "title"),
        ({"title": 5, "content": "x"}, "title"),
        ({"content": "x"}, "title"),
        ({"title": "x", "content": ""}, "content"),
        ({"title": "x", "content": "c" * 20_001}, "content"),
        ({"title": "x", "content": "c" * 200_000}, "content"),
        ({"title": "x", "content": "nul\x00"}, "content"),
        ({"title": "x"}, "content"),
        ({"title": "x", "content": "y", "is_published": "maybe"}, "is_published"),
    ]
    for body, field in refused:
        created = await api.client.post(f"{ADMIN}/", headers=root.headers, json=body)
        assert created.status_code == 422, (body, created.text)
        assert created.json()["detail"][0]["loc"] == ["body", field], body
        changes = {k: v for k, v in body.items() if k == field}
        if changes:
            updated = await api.client.put(f"{ADMIN}/{stored['id']}", headers=root.headers, json=changes)
            assert updated.status_code == 422, (changes, updated.text)
            assert updated.json()["detail"][0]["loc"] == ["body", field]
    assert (await api.client.get(f"{ADMIN}/", headers=root.headers)).json()["total"] == 2
    unchanged = (await api.client.get(f"{ADMIN}/{stored['id']}", headers=root.headers)).json()
    assert unchanged == stored
    not_json = await api.client.post(
        f"{ADMIN}/", headers={**root.headers, "Content-Type": "application/json"}, content=b"{not json"
    )
    assert not_json.status_code == 400
    assert "detail" in not_json.json()


@pytest.mark.parametrize("bad_id", ["0", "-3", "2147483648", "123456789012345678901234567890"])
async def test_announcement_ids_outside_the_database_range_are_refused(api: Api, bad_id: str) -> None:
    root = await api.account("root", admin=True)
    for method, url, body, headers in (
        ("GET", f"{PUBLIC}/{bad_id}", None, {}),
        ("GET", f"{ADMIN}/{bad_id}", None, root.headers),
        ("PUT", f"{ADMIN}/{bad_id}", {"title": "x"}, root.headers),
        ("DELETE", f"{ADMIN}/{bad_id}", None, root.headers),
    ):
        response = await api.client.request(method, url, json=body, headers=headers)
        assert response.status_code == 422, (method, url, response.text)
        assert response.json()["detail"][0]["loc"] == ["path", "announcement_id"]


async def test_hostile_paging_is_refused(api: Api) -> None:
    root = await api.account("root", admin=True)
    for params in ({"skip": -1}, {"skip": 10**30}, {"limit": 0}, {"limit": 101}, {"limit": "x"}):
        for url, headers in ((PUBLIC, {}), (f"{ADMIN}/", root.headers)):
            response = await api.client.get(url, params=params, headers=headers)
            assert response.status_code == 422, (url, params, response.text)
            assert response.json()["detail"][0]["loc"][0] == "query"
    flag = await api.client.get(f"{ADMIN}/", params={"published_only": "perhaps"}, headers=root.headers)
    assert flag.status_code == 422
    far = await api.client.get(PUBLIC, params={"skip": 2**31 - 1})
    assert far.status_code == 200
    assert far.json() == {"items": [], "total": 0, "has_more": False, "announcements": []}


# --------------------------------------------------------------------------- caching


async def test_public_reads_carry_an_etag_and_answer_conditional_gets_with_304(api: Api) -> None:
    root = await api.account("root", admin=True)
    first = await create(api, root, "First", is_published=True)

    for url in (PUBLIC, f"{PUBLIC}/{first['id']}"):
        fresh = await api.client.get(url)
        assert fresh.status_code == 200
        etag = fresh.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"')
        assert fresh.headers["cache-control"] == "public, max-age=30"
        assert fresh.headers["content-type"].startswith("application/json")
        again = await api.client.get(url)
        assert (again.headers["etag"], again.content) == (etag, fresh.content)  # the same for the same data

        for if_none_match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            cached = await api.client.get(url, headers={"If-None-Match": if_none_match})
            assert cached.status_code == 304, if_none_match
            assert cached.content == b""
            assert cached.headers["etag"] == etag
            assert cached.headers["cache-control"] == "public, max-age=30"
        stale = await api.client.get(url, headers={"If-None-Match": '"something-else"'})
        assert stale.status_code == 200
        assert stale.content == fresh.content

    list_etag = (await api.client.get(PUBLIC)).headers["etag"]
    item_etag = (await api.client.get(f"{PUBLIC}/{first['id']}")).headers["etag"]
    await update(api, root, first["id"], content="Corrected")
    changed = await api.client.get(PUBLIC, headers={"If-None-Match": list_etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != list_etag
    assert changed.json()["items"][0]["content"] == "Corrected"
    item = await api.client.get(f"{PUBLIC}/{first['id']}", headers={"If-None-Match": item_etag})
    assert item.status_code == 200 and item.headers["etag"] != item_etag

    list_etag = changed.headers["etag"]
    await create(api, root, "Draft")  # a draft is not shown: nothing changes for the public
    assert (await api.client.get(PUBLIC, headers={"If-None-Match": list_etag})).status_code == 304
    await create(api, root, "Second", is_published=True)
    assert (await api.client.get(PUBLIC, headers={"If-None-Match": list_etag})).status_code == 200
    page_two = await api.client.get(PUBLIC, params={"skip": 1})
    assert page_two.headers["etag"] != (await api.client.get(PUBLIC)).headers["etag"]


async def test_admin_reads_are_not_cached(api: Api) -> None:
    root = await api.account("root", admin=True)
    made = await create(api, root, "Admin view", is_published=True)
    for url in (f"{ADMIN}/", f"{ADMIN}/{made['id']}"):
        response = await api.client.get(url, headers=root.headers)
        assert response.status_code == 200
        assert "etag" not in response.headers
        assert "public" not in response.headers.get("cache-control", "")


async def test_a_page_of_announcements_costs_the_same_statements_whatever_its_size(api: Api) -> None:
    root = await api.account("root", admin=True)
    authors = [root]
    for name in ("writer1", "writer2", "writer3"):
        await new_user(api, name)
        async with api.uow() as uow:
            user = await uow.users.get_by_username(name)
            assert user is not None
            user.is_superuser = True
            await uow.commit()
        authors.append(await _login(api, name))
    await create(api, root, "Only one", is_published=True)

    async def statements(url: str, headers: dict[str, str]) -> tuple[int, int]:
        with counting_statements(api) as executed:
            response = await api.client.get(url, headers=headers)
        assert response.status_code == 200
        return len(response.json()["items"]), len(executed)

    small_public = await statements(f"{PUBLIC}?limit=50", {})
    small_admin = await statements(f"{ADMIN}/?limit=50", root.headers)
    for i in range(16):
        await create(api, authors[i % len(authors)], f"Item {i}", is_published=True)
    large_public = await statements(f"{PUBLIC}?limit=50", {})
    large_admin = await statements(f"{ADMIN}/?limit=50", root.headers)
    assert (small_public[0], large_public[0]) == (1, 17)
    assert small_public[1] == large_public[1] <= 2
    assert small_admin[1] == large_admin[1] <= 2
    full_page = await statements(f"{PUBLIC}?limit=5", {})
    assert full_page == (5, 3)  # a full page also counts the whole list


# --------------------------------------------------------------------------- helpers


async def _login(api: Api, username: str) -> Account:
    from tests.integration.api.conftest import PASSWORD

    tokens = (await api.login(username, PASSWORD)).json()
    return Account(username, f"{username}@example.com", PASSWORD, tokens["access_token"], tokens["refresh_token"])


async def _actions(api: Api, admin_username: str) -> list[dict[str, Any]]:
    admin_id = await user_id(api, admin_username)
    async with api.uow() as uow:
        entries = await uow.audit.list_for_user(admin_id)
    return [e.details for e in reversed(entries) if e.event == AuditEvent.ADMIN_ACTION and e.actor_id == admin_id]
