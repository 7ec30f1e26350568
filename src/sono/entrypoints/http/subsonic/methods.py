"""The Subsonic methods Sono implements, each a thin mapping onto the core: the use cases decide who
may see or change what (``NotFound`` is error 70, ``PermissionDenied`` 50: see ``endpoint``), this
module only reads parameters and shapes the answers.
"""

from __future__ import annotations

from typing import Any

from litestar import HttpMethod, Response
from litestar.response import Stream

from sono.application.admin.messages import ListUsers
from sono.application.audio.messages import DownloadAudio, GetCoverArt
from sono.application.collections.messages import (
    CreateCollection,
    DeleteCollection,
    EditCollection,
    GetCollection,
    GetCollectionArchive,
    ListCollections,
    NewCollection,
    StreamArchive,
)
from sono.application.media.messages import GetMediaInfo, ResizeImage
from sono.application.media.ports import ObjectInfo
from sono.application.players.messages import GetAccount, GetOwnAccount, GetProfilePicture
from sono.domain.collections import CollectionType
from sono.domain.users import User
from sono.entrypoints.http.audio.controller import content_disposition
from sono.entrypoints.http.collections.controller import ZIP, attachment
from sono.entrypoints.http.media.controller import HeadResponse, etag_matches, media_headers, object_response
from sono.entrypoints.http.subsonic import mapping
from sono.entrypoints.http.subsonic.endpoint import METHODS, Answer, Call
from sono.entrypoints.http.subsonic.library import notes_of
from sono.entrypoints.subsonic import errors, ids
from sono.entrypoints.subsonic.ids import InvalidId, Kind
from sono.entrypoints.subsonic.response import OPEN_SUBSONIC_EXTENSIONS, Rendered, render_ok
from sono.entrypoints.subsonic.shapes import Responses

PAGE = 100
RESIZE_MAX = 2048
"""``getCoverArt?size=`` beyond this is this (the stored pictures are smaller anyway)."""
LIST_MAX = 5000
"""At most this many playlists or users in one answer (a list the protocol does not page)."""


def item(call: Call, name: str, *kinds: Kind) -> ids.ItemId:
    """The id parameter ``name`` of one of ``kinds``; 10 when missing, 70 when it is not an id
    Sono makes (exactly like one that names nothing)."""
    text = call.request.required(name)
    try:
        return ids.parse_item(text, *kinds)
    except InvalidId:
        raise errors.not_found() from None


def song_ids(call: Call, name: str) -> list[int]:
    found = []
    for text in call.request.all(name):
        if not text:
            continue
        try:
            found.append(ids.parse_item(text, Kind.TRACK).number)
        except InvalidId:
            raise errors.not_found() from None
    return found


async def own_account(call: Call) -> User:
    return await call.container.bus(GetOwnAccount(), call.actor)


def ok(call: Call, element: Any = None, value: Any = None) -> Rendered:
    return render_ok(call.format, element, value)


# --------------------------------------------------------------------------- system


@METHODS.add("ping")
async def ping(call: Call) -> Answer:
    return ok(call)


@METHODS.add("getLicense")
async def get_license(call: Call) -> Answer:
    return ok(call, Responses.LICENSE, {"valid": True})


@METHODS.add("getOpenSubsonicExtensions", authenticated=False)
async def get_open_subsonic_extensions(call: Call) -> Answer:
    return ok(call, Responses.OPEN_SUBSONIC_EXTENSIONS, list(OPEN_SUBSONIC_EXTENSIONS))


@METHODS.add("tokenInfo")
async def token_info(call: Call) -> Answer:
    return ok(call, Responses.TOKEN_INFO, {"username": (await own_account(call)).username})


@METHODS.add("getMusicFolders")
async def get_music_folders(call: Call) -> Answer:
    folder = {"id": mapping.MUSIC_FOLDER_ID, "name": mapping.MUSIC_FOLDER_NAME}
    return ok(call, Responses.MUSIC_FOLDERS, {"musicFolder": [folder]})


# --------------------------------------------------------------------------- users


@METHODS.add("getUser")
async def get_user(call: Call) -> Answer:
    username = call.request.required("username")
    return ok(call, Responses.USER, mapping.user(await call.container.bus(GetAccount(username), call.actor)))


@METHODS.add("getUsers")
async def get_users(call: Call) -> Answer:
    users: list[dict[str, Any]] = []
    skip = 0
    while len(users) < LIST_MAX:
        page = await call.container.bus(ListUsers(skip=skip, limit=PAGE), call.actor)
        users.extend(mapping.user(summary.user) for summary in page.items)
        skip += len(page.items)
        if not page.items or not page.has_more:
            break
    return ok(call, Responses.USERS, {"user": users})


# --------------------------------------------------------------------------- songs and media


async def _bytes(call: Call, info: ObjectInfo, *, public: bool, kind: str, **headers: str) -> Response[Any]:
    http = call.http
    return await object_response(
        http,
        call.container.bus,
        call.actor,
        info,
        public=public,
        byte_range=http.headers.get("range"),
        if_none_match=http.headers.get("if-none-match"),
        if_range=http.headers.get("if-range"),
        headers=headers or None,
        kind=kind,
    )


@METHODS.add("stream", binary=True)
async def stream(call: Call) -> Answer:
    """The original bytes (``maxBitRate``, ``format`` and ``timeOffset`` are ignored: Sono does not
    transcode; players seek with Range). Never counts a play: that is ``scrobble``'s."""
    number = item(call, "id", Kind.TRACK).number
    stored = await call.container.bus(DownloadAudio(number), call.actor)
    return await _bytes(call, stored.info, public=False, kind="stream")


@METHODS.add("download", binary=True)
async def download(call: Call) -> Answer:
    """A song as an attachment; a playlist id: its tracks as a ZIP archive."""
    wanted = item(call, "id", Kind.TRACK, Kind.PLAYLIST)
    if wanted.kind is Kind.PLAYLIST:
        archive = await call.container.bus(GetCollectionArchive(wanted.number), call.actor)
        zipped = await call.container.bus(StreamArchive(archive), call.actor)
        return Stream(
            zipped,
            media_type=ZIP,
            headers={"Content-Disposition": attachment(archive.filename), "Cache-Control": "private, no-store"},
        )
    stored = await call.container.bus(DownloadAudio(wanted.number), call.actor)
    disposition = content_disposition(stored.audio.original_filename)
    return await _bytes(call, stored.info, public=False, kind="download", **{"Content-Disposition": disposition})


@METHODS.add("getCoverArt", binary=True)
async def get_cover_art(call: Call) -> Answer:
    """A song's or a playlist's cover. The id carries the cover's version: while it is the current
    one the answer may be cached for good (a new cover gets a new id); an older id is answered
    with the current cover, privately cached."""
    text = call.request.required("id")
    try:
        cover = ids.parse_cover(text)
    except InvalidId:
        raise errors.not_found() from None
    container = call.container
    if cover.kind is Kind.TRACK:
        stored = await container.bus(GetCoverArt(cover.number), call.actor)
        key, info = stored.key, stored.info
    elif cover.kind is Kind.PLAYLIST:
        view = (await container.bus(GetCollection(cover.number), call.actor)).view
        keys = [view.collection.cover_art_key, *(t.audio.cover_art_key for t in view.tracks or ())]
        found = next((k for k in keys if k), None)
        if found is None:
            raise errors.not_found()
        key, info = found, await container.bus(GetMediaInfo(found), call.actor)
    else:
        raise errors.not_found()
    current = ids.cover_version(key) == cover.version
    size = call.request.integer("size", minimum=0, maximum=RESIZE_MAX)
    if not size:
        return await _bytes(call, info, public=current, kind="cover_art")
    return await _resized(call, info, size, public=current)


async def _resized(call: Call, info: ObjectInfo, size: int, *, public: bool) -> Response[Any]:
    """The cover fit into a square of ``size`` (never enlarged): resized once per cover and size
    (then from the cache), and not at all when the client's copy is current (304 by ``ETag``)."""
    headers = media_headers(info, public)
    headers["ETag"] = f'"{info.etag.strip(chr(34))}-{size}"'
    if etag_matches(call.http.headers.get("if-none-match"), headers["ETag"]):
        return Response(None, status_code=304, headers=headers)
    image = await call.container.bus(ResizeImage(info, size), call.actor)
    if call.http.method == HttpMethod.HEAD:
        return HeadResponse(len(image.data), image.content_type, headers)
    call.container.ports.metrics.media_sent("cover_art", len(image.data))
    return Response(image.data, media_type=image.content_type, headers=headers)


@METHODS.add("getAvatar", binary=True)
async def get_avatar(call: Call) -> Answer:
    key = await call.container.bus(GetProfilePicture(call.request.required("username")), call.actor)
    if not key:
        raise errors.not_found()
    info = await call.container.bus(GetMediaInfo(key), call.actor)
    return await _bytes(call, info, public=False, kind="cover_art")


# --------------------------------------------------------------------------- playlists


@METHODS.add("getPlaylists")
async def get_playlists(call: Call) -> Answer:
    """Every collection the caller sees (own, shared with them, public), of all three types."""
    found: list[dict[str, Any]] = []
    skip = 0
    while len(found) < LIST_MAX:
        page = await call.container.bus(ListCollections(skip=skip, limit=PAGE), call.actor)
        found.extend(mapping.playlist(view) for view in page.items)
        skip += len(page.items)
        if not page.items or not page.has_more:
            break
    return ok(call, Responses.PLAYLISTS, {"playlist": found})


async def _playlist(call: Call, number: int) -> Answer:
    view = (await call.container.bus(GetCollection(number), call.actor)).view
    notes = await notes_of(call, [track.audio for track in view.tracks or ()])
    return ok(call, Responses.PLAYLIST, mapping.playlist(view, with_entries=True, notes=notes))


@METHODS.add("getPlaylist")
async def get_playlist(call: Call) -> Answer:
    return await _playlist(call, item(call, "id", Kind.PLAYLIST).number)


@METHODS.add("createPlaylist")
async def create_playlist(call: Call) -> Answer:
    """A new private, non-collaborative playlist named ``name`` with the songs ``songId``; or,
    with ``playlistId``, that playlist's tracks replaced by them (and renamed when ``name`` is
    given)."""
    songs = song_ids(call, "songId")
    if call.request.first("playlistId"):
        number = item(call, "playlistId", Kind.PLAYLIST).number
        name = call.request.first("name")
        changes = {"title": name} if name else {}
        edit = EditCollection(number, changes, add_ids=tuple(songs), replace_tracks=True)
        collection = (await call.container.bus(edit, call.actor)).collection
    else:
        new = NewCollection(title=call.request.required("name"), collection_type=CollectionType.PLAYLIST)
        collection = (await call.container.bus(CreateCollection(new, tuple(songs)), call.actor)).view.collection
    assert collection.id is not None
    return await _playlist(call, collection.id)


@METHODS.add("updatePlaylist")
async def update_playlist(call: Call) -> Answer:
    """``name``, ``comment``, ``public``, then ``songIndexToRemove`` (positions before the call,
    all at once) and ``songIdToAdd`` (appended in order), in one change."""
    number = item(call, "playlistId", Kind.PLAYLIST).number
    request = call.request
    changes: dict[str, Any] = {}
    name, comment = request.first("name"), request.first("comment")
    if name:
        changes["title"] = name
    if comment is not None:
        changes["description"] = comment or None
    if request.first("public"):
        changes["is_public"] = request.boolean("public", False)
    positions = []
    for text in request.all("songIndexToRemove"):
        if not text.isascii() or not text.isdigit() or len(text) > 9:
            raise errors.generic("Parameter songIndexToRemove must be a position in the playlist")
        positions.append(int(text))
    songs = song_ids(call, "songIdToAdd")
    edit = EditCollection(number, changes, remove_positions=tuple(positions), add_ids=tuple(songs))
    await call.container.bus(edit, call.actor)
    return ok(call)


@METHODS.add("deletePlaylist")
async def delete_playlist(call: Call) -> Answer:
    number = item(call, "id", Kind.PLAYLIST).number
    await call.container.bus(DeleteCollection(number), call.actor)
    return ok(call)
