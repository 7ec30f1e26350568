"""A collection's answer is kept while nothing it shows changes (on SQLite until a commit; on either
database the same rows give the same objects, and the edge reuses the encoded answer): every
change shows at once, and each caller still gets their own ``can_edit`` and visibility."""

from __future__ import annotations

from typing import Any

from tests.integration.api.collections.conftest import COLLECTIONS, Library
from tests.integration.api.conftest import Account


async def _seen(library: Library, collection_id: int, *callers: Account | None) -> list[Any]:
    """Each caller's answer twice (the second from what the first kept): the same both times; the
    JSON, or the status when it is not 200."""
    answers = []
    for caller in callers:
        first, second = [await library.get(collection_id, caller) for _ in range(2)]
        assert (first.status_code, first.content) == (second.status_code, second.content)
        answers.append(_shared(first.json()) if first.status_code == 200 else first.status_code)
    return answers


def _shared(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer without the caller's own stars and plays on the tracks' files (see
    ``tests/integration/api/test_annotations.py``): what every caller shares."""
    for track in answer["tracks"]:
        for name in ("starred", "play_count", "last_played"):
            track["audio_file"].pop(name, None)
    return answer


async def test_a_kept_collection_follows_every_change_and_every_caller(library: Library) -> None:
    api, client = library.api, library.client
    owner, editor, viewer, stranger = [await api.account(name) for name in ("owner", "editor", "viewer", "stranger")]
    own = await library.audio("owner", "mine")
    theirs = await library.audio("stranger", "theirs", public=True)
    collection_id = (await library.collection(owner, is_public=False, is_collaborative=True))["id"]
    await library.add(owner, collection_id, *own)
    await library.share(owner, collection_id, "editor", "edit")
    await library.share(owner, collection_id, "viewer", "view")

    callers = (owner, editor, viewer, stranger, None)
    mine, edits, views, strangers, anonymous = await _seen(library, collection_id, *callers)
    assert [mine["can_edit"], edits["can_edit"], views["can_edit"]] == [True, True, False]
    assert (strangers, anonymous) == (404, 404)
    assert mine | {"can_edit": False} == views and edits == mine
    assert [t["audio_file"]["title"] for t in mine["tracks"]] == ["mine"]

    made_public = await client.put(f"{COLLECTIONS}/{collection_id}", json={"is_public": True}, headers=owner.headers)
    assert made_public.status_code == 200
    strangers, anonymous = await _seen(library, collection_id, stranger, None)
    assert strangers["is_public"] and strangers == anonymous and not strangers["can_edit"]

    await library.add(editor, collection_id, *theirs)
    demoted = await client.put(
        f"{COLLECTIONS}/{collection_id}/collaborators/{edits['collaborators'][0]['user_id']}",
        json={"permission_level": "view"},
        headers=owner.headers,
    )
    assert demoted.status_code == 200
    renamed = await client.put("/api/v1/users/me", json={"display_name": "The Stranger"}, headers=stranger.headers)
    assert renamed.status_code == 200
    mine, edits = await _seen(library, collection_id, owner, editor)
    assert [t["audio_file"]["title"] for t in mine["tracks"]] == ["mine", "theirs"]
    assert mine["track_count"] == 2 and mine["tracks"][1]["audio_file"]["owner"]["display_name"] == "The Stranger"
    assert (mine["can_edit"], edits["can_edit"]) == (True, False)
    assert [c["permission_level"] for c in edits["collaborators"]] == ["view", "view"]

    hidden = await client.put(f"{COLLECTIONS}/{collection_id}", json={"is_public": False}, headers=owner.headers)
    assert hidden.status_code == 200
    assert await _seen(library, collection_id, stranger, None) == [404, 404]
    deleted = await client.delete(f"{COLLECTIONS}/{collection_id}", headers=owner.headers)
    assert deleted.status_code == 200
    assert await _seen(library, collection_id, owner, viewer) == [404, 404]
