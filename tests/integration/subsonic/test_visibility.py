"""Who sees what over ``/rest``: the owner, an ``edit`` collaborator, a ``view`` collaborator,
another user and an admin, against a public song, a private song shared through a private
collection, another user's private song, a private and a public collection. An id the caller may
not see is 70, exactly like one that does not exist; 50 only where they see it but may not change
it, or for admin-only methods."""

from __future__ import annotations

import pytest

from tests.integration.subsonic.conftest import ADMIN, Deployment, collection

pytestmark = pytest.mark.slow

PEOPLE = ("alice", "eddie", "vera", "oscar", ADMIN)
OK = "ok"

# who sees which song (alice's private one only through the "Shared" collection)
SONGS = {
    "public": {"alice": OK, "eddie": OK, "vera": OK, "oscar": OK, ADMIN: OK},
    "private": {"alice": OK, "eddie": OK, "vera": OK, "oscar": 70, ADMIN: OK},
    "oscars": {"alice": 70, "eddie": 70, "vera": 70, "oscar": OK, ADMIN: OK},
}
PLAYLISTS = {  # getPlaylist, updatePlaylist
    "shared": (
        {"alice": OK, "eddie": OK, "vera": OK, "oscar": 70, ADMIN: OK},
        {"alice": OK, "eddie": OK, "vera": 50, "oscar": 70, ADMIN: OK},
    ),
    "open": (
        {"alice": OK, "eddie": OK, "vera": OK, "oscar": OK, ADMIN: OK},
        {"alice": OK, "eddie": 50, "vera": 50, "oscar": 50, ADMIN: OK},
    ),
}


def outcome(deployment: Deployment, method: str, who: str, **params: str) -> object:
    response = deployment.rest(method, who, **params)
    assert response.status_code in (200, 206), response.text
    if not response.headers["content-type"].startswith("application/json"):
        return OK  # bytes
    body = response.json()["subsonic-response"]
    return OK if body["status"] == "ok" else body["error"]["code"]


@pytest.mark.parametrize("song", sorted(SONGS))
def test_songs(deployment: Deployment, song: str) -> None:
    sid = deployment.songs[song].sid
    cover = f"cv-{sid}-0"
    for method, params in (
        ("getSong", {"id": sid}),
        ("stream", {"id": sid}),
        ("download", {"id": sid}),
        ("getCoverArt", {"id": cover}),
    ):
        seen = {who: outcome(deployment, method, who, **params) for who in PEOPLE}
        assert seen == SONGS[song], method


@pytest.mark.parametrize("playlist", sorted(PLAYLISTS))
def test_playlists(deployment: Deployment, playlist: str) -> None:
    pid = f"pl-{deployment.playlists[playlist]}"
    reads, updates = PLAYLISTS[playlist]
    name = {"shared": "Shared", "open": "Open"}[playlist]
    assert {who: outcome(deployment, "getPlaylist", who, id=pid) for who in PEOPLE} == reads
    assert {who: outcome(deployment, "download", who, id=pid) for who in PEOPLE} == reads
    # the same name again: allowed or refused, nothing changes
    changed = {who: outcome(deployment, "updatePlaylist", who, playlistId=pid, name=name) for who in PEOPLE}
    assert changed == updates
    listed = {
        who: name in [p["name"] for p in deployment.ok("getPlaylists", who)["playlists"]["playlist"]] for who in PEOPLE
    }
    # getPlaylists is the caller's library: own, shared with them, public (an admin's too)
    assert listed == {who: seen == OK and (who != ADMIN or playlist == "open") for who, seen in reads.items()}


def test_public_is_the_owners_and_deleting_is_the_owners_or_an_admins(deployment: Deployment) -> None:
    alice = deployment.people["alice"]
    shared = f"pl-{deployment.playlists['shared']}"
    assert outcome(deployment, "updatePlaylist", "eddie", playlistId=shared, public="true") == 50
    with deployment.json_api() as client:
        made = {}
        for name in ("one", "two"):
            made[name] = collection(client, alice, name, public=False, songs=[])
            added = client.post(
                f"/api/v1/collections/{made[name]}/collaborators",
                json={"username": "eddie", "permission_level": "edit"},
                headers=alice.headers,
            )
            assert added.status_code == 201, added.text
    one, two = (f"pl-{made[name]}" for name in ("one", "two"))
    assert {who: outcome(deployment, "deletePlaylist", who, id=one) for who in ("eddie", "vera", "oscar")} == {
        "eddie": 50,
        "vera": 70,
        "oscar": 70,
    }
    assert outcome(deployment, "deletePlaylist", "alice", id=one) == OK
    assert outcome(deployment, "deletePlaylist", ADMIN, id=two) == OK
    assert outcome(deployment, "getPlaylist", "alice", id=two) == 70


def test_users(deployment: Deployment) -> None:
    assert outcome(deployment, "getUser", "alice", username="alice") == OK
    assert outcome(deployment, "getUser", "alice", username="oscar") == 50
    assert outcome(deployment, "getUser", "alice", username="nobody") == 50
    assert outcome(deployment, "getUser", ADMIN, username="nobody") == 70
    me = deployment.ok("getUser", "alice", username="alice")["user"]
    assert (me["adminRole"], me["uploadRole"], me["streamRole"], me["podcastRole"], me["folder"]) == (
        False,
        True,
        True,
        False,
        [1],
    )
    root = deployment.ok("getUser", ADMIN, username="oscar")["user"]
    assert root["username"] == "oscar"
    assert outcome(deployment, "getUsers", "alice") == 50
    users = deployment.ok("getUsers", ADMIN)["users"]["user"]
    assert {"alice", "oscar", ADMIN} <= {u["username"] for u in users}
    assert deployment.ok("getUser", ADMIN, username=ADMIN)["user"]["adminRole"] is True


def test_malformed_ids_are_not_found(deployment: Deployment) -> None:
    for text in ("1", "tr-0", "tr-01", "tr-99999999999", "al-1", "pl-x", "tr-1 "):
        assert outcome(deployment, "getSong", "alice", id=text) == 70, text
    assert outcome(deployment, "getPlaylist", "alice", id=deployment.songs["public"].sid) == 70
    assert outcome(deployment, "getSong", "alice") == 10
