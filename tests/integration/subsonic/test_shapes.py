"""The shapes of the answers, checked from the published specifications: every JSON answer of the
calls below has the fields the OpenSubsonic documentation marks required, with JSON types (numbers
as numbers, booleans as booleans, lists as arrays); the same calls in XML are in the namespace
``http://subsonic.org/restapi`` under ``subsonic-response``, with scalars as attributes, lists as
repeated child elements in the order the Subsonic 1.16.1 XSD declares them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.integration.subsonic.conftest import ADMIN, Deployment

pytestmark = pytest.mark.slow

NS = "http://subsonic.org/restapi"
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z")

# required fields per response type (OpenSubsonic "Responses" pages)
CHILD = {"id": str, "isDir": bool, "title": str}
PLAYLIST = {"id": str, "name": str, "songCount": int, "duration": int, "created": str, "changed": str}
USER = {
    "username": str,
    "scrobblingEnabled": bool,
    "adminRole": bool,
    "settingsRole": bool,
    "downloadRole": bool,
    "uploadRole": bool,
    "playlistRole": bool,
    "coverArtRole": bool,
    "commentRole": bool,
    "podcastRole": bool,
    "streamRole": bool,
    "jukeboxRole": bool,
    "shareRole": bool,
    "videoConversionRole": bool,
}
OPTIONAL_CHILD = {"track": int, "year": int, "size": int, "duration": int, "bitRate": int, "samplingRate": int}
# XSD sequence order of child elements
ORDER = {"playlist": ["allowedUser", "entry"], "user": ["folder"], "musicFolders": ["musicFolder"]}


def required(value: dict[str, Any], fields: dict[str, type]) -> None:
    for name, kind in fields.items():
        assert name in value, name
        assert type(value[name]) is kind, (name, value[name])


def child(value: dict[str, Any]) -> None:
    required(value, CHILD)
    for name, kind in OPTIONAL_CHILD.items():
        if name in value:
            assert type(value[name]) is kind, (name, value[name])
    assert ISO.fullmatch(value["created"])


def calls(deployment: Deployment) -> list[tuple[str, str, dict[str, str]]]:
    return [
        ("ping", "alice", {}),
        ("getLicense", "alice", {}),
        ("getMusicFolders", "alice", {}),
        ("getOpenSubsonicExtensions", "alice", {}),
        ("getSong", "alice", {"id": deployment.songs["public"].sid}),
        ("getPlaylist", "alice", {"id": f"pl-{deployment.playlists['shared']}"}),
        ("getPlaylists", "alice", {}),
        ("getUser", "alice", {"username": "alice"}),
        ("getUsers", ADMIN, {}),
        ("tokenInfo", "alice", {}),
        ("getSong", "alice", {"id": "tr-999999"}),  # an error
    ]


def test_json_required_fields_and_types(deployment: Deployment) -> None:
    for method, who, params in calls(deployment):
        body = deployment.rest(method, who, **params).json()["subsonic-response"]
        required(body, {"status": str, "version": str, "type": str, "serverVersion": str, "openSubsonic": bool})
        if body["status"] == "failed":
            required(body["error"], {"code": int, "message": str})
            continue
        if method == "getSong":
            child(body["song"])
        elif method == "getPlaylist":
            required(body["playlist"], PLAYLIST)
            assert isinstance(body["playlist"]["allowedUser"], list) and isinstance(body["playlist"]["entry"], list)
            for entry in body["playlist"]["entry"]:
                child(entry)
        elif method == "getPlaylists":
            assert isinstance(body["playlists"]["playlist"], list)
            for playlist in body["playlists"]["playlist"]:
                required(playlist, PLAYLIST)
        elif method == "getUser":
            required(body["user"], USER)
            assert body["user"]["folder"] == [1]
        elif method == "getUsers":
            for user in body["users"]["user"]:
                required(user, USER)
        elif method == "getOpenSubsonicExtensions":
            for extension in body["openSubsonicExtensions"]:
                required(extension, {"name": str, "versions": list})
        elif method == "tokenInfo":
            required(body["tokenInfo"], {"username": str})


def _children_in_order(element: ET.Element, order: list[str]) -> None:
    names = [c.tag.removeprefix(f"{{{NS}}}") for c in element]
    assert set(names) <= set(order), names
    positions = [order.index(name) for name in names]
    assert positions == sorted(positions), names


def test_xml_namespace_root_attributes_and_element_order(deployment: Deployment) -> None:
    for method, who, params in calls(deployment):
        response = deployment.rest(method, who, f="xml", **params)
        assert response.headers["content-type"].startswith("application/xml")
        root = ET.fromstring(response.content)
        assert root.tag == f"{{{NS}}}subsonic-response"
        assert root.get("version") == "1.16.1" and root.get("type") == "sono" and root.get("openSubsonic") == "true"
        assert root.get("status") in ("ok", "failed") and root.text is None
        payload = list(root)
        if root.get("status") == "failed":
            (error,) = payload
            assert error.tag == f"{{{NS}}}error" and error.get("code") == "70" and error.get("message")
            continue
        if method == "ping":
            assert payload == []
            continue
        if method == "getOpenSubsonicExtensions":
            names = [(e.get("name"), [v.text for v in e]) for e in payload]
            assert names == [("apiKeyAuthentication", ["1"]), ("formPost", ["1"])]
            assert all(v.tag == f"{{{NS}}}versions" for e in payload for v in e)
            continue
        (element,) = payload
        tag = element.tag.removeprefix(f"{{{NS}}}")
        if tag == "song":
            assert list(element) == []  # a Child has attributes only
            assert element.get("isDir") == "false" and element.get("size", "").isdigit()
        elif tag == "playlist":
            _children_in_order(element, ORDER["playlist"])
            assert element.get("songCount", "").isdigit() and ISO.fullmatch(element.get("changed", ""))
            assert [e.get("id") for e in element.iter(f"{{{NS}}}entry")] == [deployment.songs["private"].sid]
            assert sorted(a.text or "" for a in element.iter(f"{{{NS}}}allowedUser")) == ["eddie", "vera"]
        elif tag == "user":
            _children_in_order(element, ORDER["user"])
            assert [f.text for f in element] == ["1"] and element.get("adminRole") == "false"
        elif tag == "users":
            for user in element:
                assert user.tag == f"{{{NS}}}user"
                _children_in_order(user, ORDER["user"])
        elif tag == "playlists":
            assert all(p.tag == f"{{{NS}}}playlist" and p.get("id") for p in element)
        elif tag == "musicFolders":
            (folder,) = element
            assert folder.tag == f"{{{NS}}}musicFolder" and folder.attrib == {"id": "1", "name": "Sono"}
        elif tag == "license":
            assert element.get("valid") == "true"
        elif tag == "tokenInfo":
            assert element.get("username") == "alice"
        else:
            pytest.fail(f"unexpected {tag}")
