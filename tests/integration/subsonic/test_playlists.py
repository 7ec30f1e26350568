"""Playlists over ``/rest`` (Sono's collections of every type the caller may see): create, read,
update (add, remove by position, rename, comment, public) and delete through py-opensonic and raw
form POSTs. (knuckles 1.2 refuses the OpenSubsonic ``readonly`` of a playlist, so it reads songs
and the system methods only.)"""

from __future__ import annotations

import pytest

from tests.integration.subsonic.conftest import Deployment, opensonic

pytestmark = pytest.mark.slow


def _entries(deployment: Deployment, who: str, playlist: str) -> list[str]:
    found = deployment.ok("getPlaylist", who, id=playlist)["playlist"]
    return [entry["id"] for entry in found.get("entry", [])]


async def test_create_get_update_and_delete(deployment: Deployment) -> None:
    public, plain, private = (deployment.songs[name].sid for name in ("public", "plain", "private"))
    connection = opensonic(deployment, "alice")
    try:
        assert await connection.create_playlist(name="Road trip", song_ids=[public, plain, public])
        listed = {p.name: p for p in await connection.get_playlists()}
        assert {"Road trip", "Shared", "Open"} <= set(listed)
        made = listed["Road trip"]
        assert (made.owner, made.public, made.song_count) == ("alice", False, 2)  # repeats skipped
        assert made.readonly is False and made.created and made.changed
        playlist = await connection.get_playlist(made.id)
        assert [entry.id for entry in playlist.entry or []] == [public, plain]
        assert await connection.update_playlist(
            made.id,
            name="Long road",
            comment="For the car",
            song_ids_to_add=[private, plain],
            song_indices_to_remove=[0],
        )
        assert _entries(deployment, "alice", made.id) == [plain, private]
        renamed = await connection.get_playlist(made.id)
        assert (renamed.name, renamed.comment, renamed.song_count) == ("Long road", "For the car", 2)
        assert await connection.create_playlist(playlist_id=made.id, song_ids=[private, public])  # replaces
        assert _entries(deployment, "alice", made.id) == [private, public]
    finally:
        await connection.cleanup()
    assert deployment.ok("updatePlaylist", "alice", playlistId=made.id, public="true")
    assert deployment.ok("getPlaylist", "oscar", id=made.id)["playlist"]["public"] is True
    both = deployment.rest(
        "updatePlaylist", "alice", http="POST", playlistId=made.id, songIndexToRemove=["1", "0"], songIdToAdd=[plain]
    )
    assert both.json()["subsonic-response"]["status"] == "ok"
    assert _entries(deployment, "alice", made.id) == [plain]
    assert deployment.code("updatePlaylist", "alice", playlistId=made.id, songIndexToRemove="5") == 0
    hidden = deployment.songs["oscars"].sid
    assert deployment.code("updatePlaylist", "alice", playlistId=made.id, name="Lost", songIdToAdd=hidden) == 70
    unchanged = deployment.ok("getPlaylist", "alice", id=made.id)["playlist"]
    assert unchanged["name"] == "Long road" and [e["id"] for e in unchanged["entry"]] == [plain]
    connection = opensonic(deployment, "alice")
    try:
        assert await connection.delete_playlist(made.id)
    finally:
        await connection.cleanup()
    assert deployment.code("getPlaylist", "alice", id=made.id) == 70


def test_a_playlist_shows_its_collaborators_and_whether_the_caller_may_edit(deployment: Deployment) -> None:
    shared = f"pl-{deployment.playlists['shared']}"
    seen = {who: deployment.ok("getPlaylist", who, id=shared)["playlist"] for who in ("alice", "eddie", "vera")}
    assert {who: p["readonly"] for who, p in seen.items()} == {"alice": False, "eddie": False, "vera": True}
    assert sorted(seen["vera"]["allowedUser"]) == ["eddie", "vera"]
    assert [e["id"] for e in seen["vera"]["entry"]] == [deployment.songs["private"].sid]
    names = [p["name"] for p in deployment.ok("getPlaylists", "vera", http="POST")["playlists"]["playlist"]]
    assert "Shared" in names and "Open" in names


def test_create_playlist_needs_a_name_or_an_id(deployment: Deployment) -> None:
    assert deployment.code("createPlaylist", "alice") == 10
    assert deployment.code("createPlaylist", "alice", playlistId="pl-999999") == 70
    assert deployment.code("createPlaylist", "alice", name="X", songId="tr-999999") == 70
    names = [p["name"] for p in deployment.ok("getPlaylists", "alice")["playlists"]["playlist"]]
    assert "X" not in names  # nothing is made when a song cannot be added
