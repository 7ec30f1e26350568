"""A black-box Sono for the Subsonic suite: ``sono serve`` started as a process on ``127.0.0.1``
with a fresh data directory (SQLite, and PostgreSQL when ``SONO_TEST_POSTGRES_URL`` is set),
arranged only through the JSON API (users, uploads, collections, app passwords), then driven on
``/rest`` by the client libraries (py-opensonic, knuckles) and raw HTTP.

The deployment is made once per test session and backend: the tests read it, and those that
change something change what only they use.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.fixtures.media import png_bytes
from tests.fixtures.tagged import Tags, tagged
from tests.integration.test_serve import Server, base_env, start_server

PASSWORD = "Str0ng!Passw0rd"
ADMIN = "root"
CLIENT = "sono-tests"


@dataclass
class Person:
    username: str
    token: str  # the JSON API's bearer token
    secret: str  # an app password
    user_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Song:
    id: int
    data: bytes
    owner: str
    public: bool
    title: str

    @property
    def sid(self) -> str:
        return f"tr-{self.id}"


@dataclass
class Deployment:
    server: Server
    env: dict[str, str]
    people: dict[str, Person] = field(default_factory=dict)
    songs: dict[str, Song] = field(default_factory=dict)
    playlists: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def json_api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0)

    def rest(self, method: str, who: str | None = None, *, http: str = "GET", **params: Any) -> httpx.Response:
        """``/rest/<method>`` with the app password of ``who`` as ``p`` (JSON unless ``f`` says
        otherwise); ``params`` values may be lists (repeated parameters)."""
        query: list[tuple[str, str]] = [("v", "1.16.1"), ("c", CLIENT), ("f", "json")]
        if who is not None:
            query += [("u", who), ("p", self.people[who].secret)]
        overridden = {name for name in params if name in ("v", "c", "f", "u", "p")}
        query = [(k, v) for k, v in query if k not in overridden]
        for name, value in params.items():
            for item in value if isinstance(value, list) else [value]:
                if item is not None:
                    query.append((name, str(item)))
        with httpx.Client(base_url=self.url, timeout=30.0) as client:
            if http == "POST":
                form = {"Content-Type": "application/x-www-form-urlencoded"}
                return client.post(f"/rest/{method}", content=urlencode(query).encode(), headers=form)
            return client.request(http, f"/rest/{method}", params=query)

    def ok(self, method: str, who: str | None = None, **params: Any) -> dict[str, Any]:
        """The ``subsonic-response`` of a call that must succeed."""
        response = self.rest(method, who, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()["subsonic-response"]
        assert body["status"] == "ok", body
        return body

    def code(self, method: str, who: str | None = None, **params: Any) -> int:
        """The error code of a call that must fail (HTTP 200, ``status="failed"``)."""
        response = self.rest(method, who, **params)
        assert response.status_code == 200, response.text
        body = response.json()["subsonic-response"]
        assert body["status"] == "failed", body
        return int(body["error"]["code"])


# --------------------------------------------------------------------------- the process


async def _create_database(server_url: str, name: str, *, drop: bool = False) -> None:
    import asyncpg

    _, _, rest = server_url.partition("://")
    admin = await asyncpg.connect(f"postgresql://{rest}")
    try:
        if drop:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


def _database_url(server_url: str, name: str) -> str:
    _, _, rest = server_url.partition("://")
    base = rest.split("?", 1)[0].rsplit("/", 1)[0]
    return f"postgresql+asyncpg://{base}/{name}"


@pytest.fixture(
    scope="session",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=[pytest.mark.postgres]),
    ],
)
def backend(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The settings of one backend: SQLite in the data directory, or a fresh PostgreSQL
    database (dropped afterwards)."""
    if request.param == "sqlite":
        yield {}
        return
    server_url = request.getfixturevalue("postgres_server_url")
    name = f"sono_subsonic_{uuid.uuid4().hex[:12]}"
    asyncio.run(_create_database(server_url, name))
    try:
        yield {"SONO_DATABASE_URL": _database_url(server_url, name)}
    finally:
        asyncio.run(_create_database(server_url, name, drop=True))


def serve(tmp: Path, backend: dict[str, str], **settings: str) -> tuple[Server, dict[str, str]]:
    env = base_env(
        tmp / "data",
        SONO_ARGON2_MEMORY_KIB="1024",
        SONO_ARGON2_TIME_COST="1",
        SONO_JOBS_ENABLED="false",
        **backend,
        **settings,
    )
    server = start_server(env, log_dir=tmp)
    server.wait_healthy()
    return server, env


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.stop()


def create_admin(env: dict[str, str], cwd: Path) -> None:
    made = subprocess.run(
        [sys.executable, "-m", "sono", "users", "create-admin", "--username", ADMIN, "--email",
         f"{ADMIN}@example.com", "--password", PASSWORD],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr


def person(client: httpx.Client, username: str, *, register: bool = True) -> Person:
    if register:
        made = client.post(
            "/api/v1/users/", json={"username": username, "email": f"{username}@example.com", "password": PASSWORD}
        )
        assert made.status_code == 201, made.text
    login = client.post("/api/v1/users/token", data={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/v1/users/me", headers=headers).json()
    credential = client.post("/api/v1/users/me/subsonic-credentials", json={"name": "Phone"}, headers=headers)
    assert credential.status_code == 201, credential.text
    return Person(username, token, credential.json()["secret"], me["id"])


def upload(
    client: httpx.Client,
    who: Person,
    title: str,
    *,
    public: bool,
    cover: tuple[int, int] | None,
    artist: str = "The Testers",
    album: str = "First Light",
    track: str = "3",
    year: str = "2024",
    genre: str = "Rock",
) -> Song:
    tags = Tags(
        title=title,
        artist=artist,
        album=album,
        track=track,
        year=year,
        genre=genre,
        picture=png_bytes(cover) if cover else None,
    )
    data = tagged("mp3", tags)
    response = client.post(
        "/api/v1/audio/upload",
        headers=who.headers,
        files={"file": (f"{title}.mp3", data, "audio/mpeg")},
        data={"is_public": "true" if public else "false"},
    )
    assert response.status_code == 201, response.text
    return Song(response.json()["id"], data, who.username, public, title)


def collection(client: httpx.Client, owner: Person, title: str, *, public: bool, songs: list[Song]) -> int:
    body = {"title": title, "collection_type": "playlist", "is_public": public, "is_collaborative": True}
    made = client.post("/api/v1/collections/", json=body, headers=owner.headers)
    assert made.status_code == 201, made.text
    collection_id = int(made.json()["id"])
    for song in songs:
        added = client.post(
            f"/api/v1/collections/{collection_id}/tracks", json={"audio_file_id": song.id}, headers=owner.headers
        )
        assert added.status_code == 201, added.text
    return collection_id


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory, backend: dict[str, str]) -> Iterator[Deployment]:
    """Alice owns songs (public with a cover, private with a cover, public without one, all by "The
    Testers" on "First Light"; and "The Zebras"' "Stripe") and
    playlists: "Shared" (private, Eddie may edit it, Vera may view it, holding her private song)
    and "Open" (public). Oscar owns a private song and a public one by "Ana Lua". Dora exists to be
    disabled; root is an admin."""
    tmp = tmp_path_factory.mktemp("subsonic")
    server, env = serve(tmp, backend, SONO_RATE_LIMITS_ENABLED="false", SONO_PUBLIC_URL="http://127.0.0.1")
    try:
        create_admin(env, tmp)
        world = Deployment(server, env)
        with world.json_api() as client:
            world.people[ADMIN] = person(client, ADMIN, register=False)
            for name in ("alice", "eddie", "vera", "oscar", "dora"):
                world.people[name] = person(client, name)
            alice, oscar = world.people["alice"], world.people["oscar"]
            world.songs["public"] = upload(client, alice, "Sunrise", public=True, cover=(120, 80))
            world.songs["private"] = upload(client, alice, "Secret", public=False, cover=(90, 90))
            world.songs["plain"] = upload(client, alice, "Plain", public=True, cover=None)
            world.songs["oscars"] = upload(client, oscar, "Hidden", public=False, cover=(50, 50))
            world.songs["jazz"] = upload(
                client, oscar, "Night", public=True, cover=None, artist="Ana Lua", album="Blue Hour", track="1",
                year="1999", genre="Jazz",
            )  # fmt: skip
            world.songs["pop"] = upload(
                client, alice, "Stripe", public=True, cover=(40, 40), artist="The Zebras", album="Stripes", track="2",
                year="2010", genre="Pop",
            )  # fmt: skip
            shared = collection(client, alice, "Shared", public=False, songs=[world.songs["private"]])
            for username, level in (("eddie", "edit"), ("vera", "view")):
                added = client.post(
                    f"/api/v1/collections/{shared}/collaborators",
                    json={"username": username, "permission_level": level},
                    headers=alice.headers,
                )
                assert added.status_code == 201, added.text
            world.playlists["shared"] = shared
            world.playlists["open"] = collection(client, alice, "Open", public=True, songs=[world.songs["public"]])
        yield world
    finally:
        stop(server)


def opensonic(world: Deployment, who: str | None = None, *, api_key: bool = False, **options: Any) -> Any:
    """A py-opensonic connection (POST, ``.view`` and token authentication unless ``options``
    say otherwise; the app password as ``apiKey`` with ``api_key``)."""
    from libopensonic import AsyncConnection

    secret = world.people[who].secret if who is not None else None
    if api_key:
        return AsyncConnection("http://127.0.0.1", port=world.port, api_key=secret,
                               app_name=CLIENT, **options)  # fmt: skip
    return AsyncConnection("http://127.0.0.1", who, secret, port=world.port, app_name=CLIENT,
                           **options)  # fmt: skip


def knuckles(world: Deployment, who: str, *, token: bool = True, post: bool = False) -> Any:
    """A knuckles client (GET unless ``post``; token or plain ``p`` authentication)."""
    from knuckles import Subsonic
    from knuckles._api import RequestMethod

    method = RequestMethod.POST if post else RequestMethod.GET
    return Subsonic(f"127.0.0.1:{world.port}", who, world.people[who].secret, CLIENT, use_https=False,
                    use_token=token, request_method=method)  # fmt: skip
