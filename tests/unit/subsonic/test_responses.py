"""Every response element Sono answers with, serialized as XML, JSON and JSONP and checked against
the Subsonic 1.16.1 XSD and the OpenSubsonic documentation (``spec``): the namespace and the root,
scalars as attributes, lists as repeated elements in the XSD's order, JSON types; and both forms
saying the same thing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from xml.etree.ElementTree import Element, fromstring

import pytest

from sono import __version__
from sono.entrypoints.subsonic import errors
from sono.entrypoints.subsonic.model import ResponseElement, Shape, ShapeError
from sono.entrypoints.subsonic.response import (
    JSON,
    OPEN_SUBSONIC_EXTENSIONS,
    XML,
    Form,
    Format,
    Rendered,
    is_plain_identifier,
    render_error,
    render_ok,
)
from sono.entrypoints.subsonic.shapes import Responses
from tests.unit.subsonic.spec import (
    NS,
    REPEATED_RESPONSE_ELEMENTS,
    RESPONSE_ELEMENTS,
    XSD,
    check_json,
    check_xml,
    xml_as_json,
)

WHEN = datetime(2025, 3, 14, 17, 51, 22, 112_827, tzinfo=UTC)
LATER = datetime(2025, 3, 27, 9, 45, 27, tzinfo=UTC)

SONG = {
    "id": "tr-7",
    "parent": "al-3",
    "isDir": False,
    "title": 'Polar "expedition" <live> & more',
    "album": "Live at the Casbah",
    "artist": "The New Deal",
    "track": 4,
    "year": 2005,
    "genre": "Electronic",
    "coverArt": "cv-tr-7-6410b3ce",
    "size": 19_866_778,
    "contentType": "audio/flac",
    "suffix": "flac",
    "transcodedContentType": "audio/mpeg",
    "transcodedSuffix": "mp3",
    "duration": 178,
    "bitRate": 880,
    "path": "The New Deal/Live at the Casbah/04 - Polar expedition.flac",
    "isVideo": False,
    "userRating": 4,
    "averageRating": 4.5,
    "playCount": 8,
    "discNumber": 1,
    "created": WHEN,
    "starred": LATER,
    "albumId": "al-3",
    "artistId": "ar-2",
    "type": "music",
    "bookmarkPosition": 1000,
    "originalWidth": 640,
    "originalHeight": 480,
    "played": LATER,
    "samplingRate": 44_100,
    "channelCount": 2,
    "mediaType": "song",
}
BARE_SONG = {"id": "tr-8", "isDir": False, "title": "Untitled"}
ALBUM_DIRECTORY = {"id": "al-3", "parent": "ar-2", "isDir": True, "title": "Live at the Casbah", "artist": "X"}
ARTIST = {
    "id": "ar-2",
    "name": "The New Deal",
    "artistImageUrl": "https://example.org/a.jpg",
    "starred": LATER,
    "userRating": 5,
    "averageRating": 4.0,
}
ARTIST_ID3 = {
    "id": "ar-2",
    "name": "The New Deal",
    "coverArt": "cv-al-3-640a93a8",
    "artistImageUrl": "https://example.org/a.jpg",
    "albumCount": 1,
    "starred": LATER,
}
ALBUM_ID3 = {
    "id": "al-3",
    "name": "Live at the Casbah",
    "artist": "The New Deal",
    "artistId": "ar-2",
    "coverArt": "cv-al-3-640a93a8",
    "songCount": 8,
    "duration": 1954,
    "playCount": 97,
    "created": WHEN,
    "starred": LATER,
    "year": 2005,
    "genre": "Electronic",
    "played": LATER,
    "userRating": 4,
}
BARE_ALBUM_ID3 = {"id": "al-4", "name": "[Unknown Album]", "songCount": 0, "duration": 0, "created": WHEN}
PLAYLIST = {
    "id": "pl-5",
    "name": "Road trip",
    "comment": "for the car",
    "owner": "alice",
    "public": True,
    "songCount": 2,
    "duration": 356,
    "created": WHEN,
    "changed": LATER,
    "coverArt": "cv-pl-5-0a1b2c",
    "readonly": False,
    "allowedUser": ["bob", "carol"],
}
BARE_PLAYLIST = {"id": "pl-6", "name": "Empty", "songCount": 0, "duration": 0, "created": WHEN, "changed": WHEN}
ROLES = (  # noqa: SIM905 - a list of words, read as one
    "adminRole settingsRole downloadRole uploadRole playlistRole coverArtRole commentRole podcastRole streamRole "
    "jukeboxRole shareRole videoConversionRole"
).split()
USER = {
    "username": "alice",
    "email": "alice@example.org",
    "scrobblingEnabled": True,
    "maxBitRate": 0,
    **{role: role in ("downloadRole", "streamRole", "playlistRole") for role in ROLES},
    "avatarLastChanged": WHEN,
    "folder": [1],
}

# Every response element, with one value that fills every field and one with the fewest.
SAMPLES: dict[str, list[Any]] = {
    "musicFolders": [{"musicFolder": [{"id": 1, "name": "Sono"}]}, {"musicFolder": [{"id": 1}]}, {}],
    "indexes": [
        {
            "lastModified": 1_700_000_000_000,
            "ignoredArticles": "The El La Los Las Le Les",
            "shortcut": [ARTIST],
            "index": [{"name": "N", "artist": [ARTIST, {"id": "ar-9", "name": "Nina"}]}, {"name": "#"}],
            "child": [SONG],
        },
        {"lastModified": 0, "ignoredArticles": ""},
    ],
    "directory": [
        {
            "id": "ar-2",
            "parent": "1",
            "name": "The New Deal",
            "starred": LATER,
            "userRating": 3,
            "averageRating": 3.5,
            "playCount": 2,
            "child": [ALBUM_DIRECTORY, SONG],
        },
        {"id": "al-3", "name": "Live"},
    ],
    "genres": [
        {
            "genre": [
                {"value": "Electronic", "songCount": 8, "albumCount": 1},
                {"value": "Rock & Roll", "songCount": 0, "albumCount": 0},
            ]
        },
        {},
    ],
    "artists": [
        {"ignoredArticles": "The", "index": [{"name": "N", "artist": [ARTIST_ID3]}, {"name": "X", "artist": []}]},
        {"ignoredArticles": ""},
    ],
    "artist": [{**ARTIST_ID3, "album": [ALBUM_ID3, BARE_ALBUM_ID3]}, {"id": "ar-1", "name": "X", "albumCount": 0}],
    "album": [{**ALBUM_ID3, "song": [SONG, BARE_SONG]}, BARE_ALBUM_ID3],
    "song": [SONG, BARE_SONG],
    "albumList": [{"album": [ALBUM_DIRECTORY]}, {}],
    "albumList2": [{"album": [ALBUM_ID3, BARE_ALBUM_ID3]}, {}],
    "randomSongs": [{"song": [SONG, BARE_SONG]}, {}],
    "songsByGenre": [{"song": [SONG]}, {}],
    "starred": [{"artist": [ARTIST], "album": [ALBUM_DIRECTORY], "song": [SONG]}, {}],
    "starred2": [{"song": [SONG], "album": [ALBUM_ID3], "artist": [ARTIST_ID3]}, {}],
    "searchResult2": [{"artist": [ARTIST], "album": [ALBUM_DIRECTORY], "song": [SONG, BARE_SONG]}, {}],
    "searchResult3": [{"song": [SONG], "artist": [ARTIST_ID3], "album": [ALBUM_ID3]}, {}],
    "playlists": [{"playlist": [PLAYLIST, BARE_PLAYLIST]}, {}],
    "playlist": [{**PLAYLIST, "entry": [SONG, BARE_SONG]}, BARE_PLAYLIST],
    "user": [USER, {"username": "bob", "scrobblingEnabled": True, **dict.fromkeys(ROLES, False)}],
    "users": [{"user": [USER]}, {}],
    "license": [
        {"valid": True, "email": "x@example.org", "licenseExpires": LATER, "trialExpires": LATER},
        {"valid": True},
    ],
    "openSubsonicExtensions": [list(OPEN_SUBSONIC_EXTENSIONS), []],
    "tokenInfo": [{"username": "alice"}],
}
ELEMENTS = {element.name: element for element in vars(Responses).values() if isinstance(element, ResponseElement)}
CASES = [(name, index) for name, values in SAMPLES.items() for index in range(len(values))]


def xml_of(rendered: Rendered) -> Element:
    assert rendered.media_type == "application/xml; charset=utf-8"
    assert rendered.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return fromstring(rendered.body)


def json_of(rendered: Rendered) -> dict[str, Any]:
    assert rendered.media_type == "application/json"
    document = json.loads(rendered.body)
    assert list(document) == ["subsonic-response"]
    return document["subsonic-response"]


def check_envelope_xml(root: Element, status: str) -> None:
    check_xml(root, "subsonic-response", "Response")
    assert root.attrib == {
        "status": status,
        "version": "1.16.1",
        "type": "sono",
        "serverVersion": __version__,
        "openSubsonic": "true",
    }


def check_envelope_json(response: dict[str, Any], status: str) -> None:
    assert {key: response[key] for key in ("status", "version", "type", "serverVersion", "openSubsonic")} == {
        "status": status,
        "version": "1.16.1",
        "type": "sono",
        "serverVersion": __version__,
        "openSubsonic": True,
    }


def test_every_response_element_of_the_spec_has_a_sample_and_a_description() -> None:
    assert set(SAMPLES) | {"error"} == set(RESPONSE_ELEMENTS) == set(ELEMENTS)
    for name, element in ELEMENTS.items():
        assert element.shape.type_name == RESPONSE_ELEMENTS[name]
        assert element.repeated == (name in REPEATED_RESPONSE_ELEMENTS)


@pytest.mark.parametrize(("name", "index"), CASES)
def test_xml_follows_the_xsd(name: str, index: int) -> None:
    root = xml_of(render_ok(XML, ELEMENTS[name], SAMPLES[name][index]))

    check_envelope_xml(root, "ok")
    children = list(root)
    if name in REPEATED_RESPONSE_ELEMENTS:
        assert len(children) == len(SAMPLES[name][index])
    else:
        assert len(children) == 1  # the XSD's choice: one element
    for child in children:
        check_xml(child, name, RESPONSE_ELEMENTS[name])


@pytest.mark.parametrize(("name", "index"), CASES)
def test_json_has_the_documented_members_and_types(name: str, index: int) -> None:
    response = json_of(render_ok(JSON, ELEMENTS[name], SAMPLES[name][index]))

    check_envelope_json(response, "ok")
    assert set(response) == {"status", "version", "type", "serverVersion", "openSubsonic", name}
    payload = response[name]
    if name in REPEATED_RESPONSE_ELEMENTS:
        assert isinstance(payload, list)
        for item in payload:
            check_json(item, RESPONSE_ELEMENTS[name])
    else:
        check_json(payload, RESPONSE_ELEMENTS[name])


@pytest.mark.parametrize(("name", "index"), CASES)
def test_both_forms_say_the_same(name: str, index: int) -> None:
    payload = json_of(render_ok(JSON, ELEMENTS[name], SAMPLES[name][index]))[name]
    root = xml_of(render_ok(XML, ELEMENTS[name], SAMPLES[name][index]))

    from_xml = [xml_as_json(child, RESPONSE_ELEMENTS[name]) for child in root]
    assert from_xml == (payload if name in REPEATED_RESPONSE_ELEMENTS else [payload])


def test_a_full_song_carries_every_field_it_was_given_in_both_forms() -> None:
    song = json_of(render_ok(JSON, Responses.SONG, SONG))["song"]
    element = xml_of(render_ok(XML, Responses.SONG, SONG))[0]

    assert song.keys() == SONG.keys() == element.attrib.keys()
    assert song["size"] == 19_866_778
    assert song["isDir"] is False
    assert song["averageRating"] == 4.5
    assert song["created"] == "2025-03-14T17:51:22.112Z"  # milliseconds at most, with a Z
    assert song["starred"] == "2025-03-27T09:45:27Z"
    assert element.get("isDir") == "false"
    assert element.get("title") == 'Polar "expedition" <live> & more'
    assert element.get("created") == "2025-03-14T17:51:22.112Z"


def test_children_follow_the_xsd_order_whatever_the_order_of_the_value() -> None:
    value = {"song": [BARE_SONG], "artist": [ARTIST_ID3], "album": [BARE_ALBUM_ID3]}
    root = xml_of(render_ok(XML, Responses.STARRED2, value))
    assert [child.tag.removeprefix(f"{{{NS}}}") for child in root[0]] == ["artist", "album", "song"]

    playlist = {**PLAYLIST, "entry": [SONG, BARE_SONG], "allowedUser": ["bob"]}
    root = xml_of(render_ok(XML, Responses.PLAYLIST, playlist))
    assert [child.tag.removeprefix(f"{{{NS}}}") for child in root[0]] == ["allowedUser", "entry", "entry"]
    assert root[0][0].text == "bob"
    assert [entry.get("id") for entry in root[0][1:]] == ["tr-7", "tr-8"]


def test_scalars_are_attributes_and_lists_are_elements() -> None:
    root = xml_of(render_ok(XML, Responses.USER, USER))
    user = root[0]
    assert user.get("username") == "alice"
    assert user.get("adminRole") == "false"
    assert user.get("streamRole") == "true"
    assert [(child.tag, child.text, child.attrib) for child in user] == [(f"{{{NS}}}folder", "1", {})]

    genres = xml_of(render_ok(XML, Responses.GENRES, {"genre": [{"value": "Rock", "songCount": 2, "albumCount": 1}]}))
    genre = genres[0][0]
    assert (genre.text, genre.attrib) == ("Rock", {"songCount": "2", "albumCount": "1"})


def test_json_lists_are_arrays_even_when_empty_and_numbers_are_numbers() -> None:
    response = json_of(render_ok(JSON, Responses.SEARCH_RESULT3, {}))
    assert response["searchResult3"] == {"artist": [], "album": [], "song": []}

    user = json_of(render_ok(JSON, Responses.USER, USER))["user"]
    assert user["folder"] == [1]
    assert user["maxBitRate"] == 0
    assert user["adminRole"] is False

    extensions = json_of(render_ok(JSON, Responses.OPEN_SUBSONIC_EXTENSIONS, list(OPEN_SUBSONIC_EXTENSIONS)))
    assert extensions["openSubsonicExtensions"] == [
        {"name": "apiKeyAuthentication", "versions": [1]},
        {"name": "formPost", "versions": [1]},
    ]


def test_datetimes_are_utc_with_a_z() -> None:
    paris = timezone(timedelta(hours=1))
    album = {**BARE_ALBUM_ID3, "created": datetime(2025, 1, 1, 1, 0, tzinfo=paris), "starred": datetime(2025, 6, 1)}
    answer = json_of(render_ok(JSON, Responses.ALBUM, album))["album"]
    assert answer["created"] == "2025-01-01T00:00:00Z"
    assert answer["starred"] == "2025-06-01T00:00:00Z"  # naive: UTC, as the database hands it back


def test_an_answer_without_payload_is_the_bare_envelope() -> None:
    root = xml_of(render_ok(XML))
    check_envelope_xml(root, "ok")
    assert list(root) == []
    assert set(json_of(render_ok(JSON))) == {"status", "version", "type", "serverVersion", "openSubsonic"}


@pytest.mark.parametrize("help_url", [None, "https://sono.example/api/v1/users/me/subsonic-credentials"])
def test_errors_in_both_forms(help_url: str | None) -> None:
    error = errors.wrong_credentials(help_url)

    root = xml_of(render_error(XML, error))
    check_envelope_xml(root, "failed")
    assert len(root) == 1
    check_xml(root[0], "error", "Error")
    expected = {"code": "40", "message": errors.WRONG_CREDENTIALS} | ({"helpUrl": help_url} if help_url else {})
    assert root[0].attrib == expected

    response = json_of(render_error(JSON, error))
    check_envelope_json(response, "failed")
    check_json(response["error"], "Error")
    assert response["error"] == {**expected, "code": 40}


def test_every_error_code_renders() -> None:
    for code in errors.ErrorCode:
        response = json_of(render_error(JSON, errors.SubsonicError(code, "m")))
        assert response["error"] == {"code": int(code), "message": "m"}


@pytest.mark.parametrize(
    "text",
    ['say "hi" & <bye>', "line\nbreak\r\nand\ttab", "  spaced  ", "'single'", "]]>", "&amp; sent", "\u00e9\U0001f3b5"],
)
def test_xml_escapes_markup_and_keeps_whitespace(text: str) -> None:
    song = xml_of(render_ok(XML, Responses.SONG, {**BARE_SONG, "title": text}))[0]
    assert song.get("title") == text  # an XML parser gives back exactly what was sent

    value = {"genre": [{"value": text, "songCount": 1, "albumCount": 1}]}
    genre = xml_of(render_ok(XML, Responses.GENRES, value))[0][0]
    assert genre.text == text

    user = xml_of(render_ok(XML, Responses.PLAYLIST, {**BARE_PLAYLIST, "allowedUser": [text]}))[0]
    assert user[0].text == text


def test_xml_replaces_what_xml_cannot_carry_and_json_escapes_it() -> None:
    song = {**BARE_SONG, "title": "a\x00b\x1bc\ud800d\tok\ufffe"}

    element = xml_of(render_ok(XML, Responses.SONG, song))[0]
    assert element.get("title") == "a\ufffdb\ufffdc\ufffdd\tok\ufffd"

    assert json_of(render_ok(JSON, Responses.SONG, song))["song"]["title"] == "a\x00b\x1bc?d\tok\ufffe"


# --------------------------------------------------------------------------- JSONP


def test_jsonp_wraps_the_json_answer_in_the_callback() -> None:
    rendered = render_ok(Format(Form.JSONP, "onPing"), Responses.LICENSE, {"valid": True})

    assert rendered.media_type == "application/javascript; charset=utf-8"
    body = rendered.body.decode()
    assert body.startswith("/**/onPing(") and body.endswith(");")
    document = json.loads(body.removeprefix("/**/onPing(").removesuffix(");"))
    assert document["subsonic-response"]["license"] == {"valid": True}


def test_jsonp_escapes_the_line_separators_javascript_does_not_allow_in_strings() -> None:
    body = render_ok(Format(Form.JSONP, "cb"), Responses.SONG, {**BARE_SONG, "title": "a\u2028b\u2029c"}).body
    assert "\u2028".encode() not in body and "\u2029".encode() not in body
    assert json.loads(body.decode()[len("/**/cb(") : -2])["subsonic-response"]["song"]["title"] == "a\u2028b\u2029c"


@pytest.mark.parametrize("name", ["cb", "jQuery3310_1700000000000", "$", "_x1", "a" * 128])
def test_plain_identifiers_are_callbacks(name: str) -> None:
    assert is_plain_identifier(name)
    assert Format.requested("jsonp", name) == Format(Form.JSONP, name)


@pytest.mark.parametrize(
    "name",
    [
        "alert(1)",
        "a.b",
        "a[0]",
        "1abc",
        "a b",
        "a;b",
        "a\n",
        "é",
        "a-b",
        "function",
        "this",
        "a" * 129,
        "<script>",
    ],
)
def test_anything_else_is_refused_as_a_callback(name: str) -> None:
    assert not is_plain_identifier(name)
    with pytest.raises(errors.SubsonicError) as refused:
        Format.requested("jsonp", name)
    assert refused.value.code == errors.ErrorCode.GENERIC


def test_jsonp_without_a_callback_is_error_10() -> None:
    for callback in (None, ""):
        with pytest.raises(errors.SubsonicError) as refused:
            Format.requested("jsonp", callback)
        assert refused.value.code == errors.ErrorCode.MISSING_PARAMETER


@pytest.mark.parametrize(("f", "expected"), [(None, XML), ("xml", XML), ("json", JSON), ("yaml", XML), ("JSON", XML)])
def test_f_chooses_the_form_and_xml_is_the_default(f: str | None, expected: Format) -> None:
    assert Format.requested(f, "cb") == expected


# --------------------------------------------------------------------------- refusals of bad values


@pytest.mark.parametrize(
    ("element", "value", "problem"),
    [
        (Responses.SONG, {"id": "tr-1", "isDir": False}, "title is required"),
        (Responses.SONG, {**BARE_SONG, "titel": "typo"}, "no field titel"),
        (Responses.SONG, {**BARE_SONG, "track": "4"}, "track must be int"),
        (Responses.SONG, {**BARE_SONG, "track": True}, "track must be int"),
        (Responses.SONG, {**BARE_SONG, "isDir": 0}, "isDir must be boolean"),
        (Responses.SONG, {**BARE_SONG, "created": "2025-01-01"}, "created must be dateTime"),
        (Responses.SONG, {**BARE_SONG, "averageRating": float("nan")}, "finite"),
        (Responses.SONG, {**BARE_SONG, "id": 7}, "id must be string"),
        (Responses.ALBUM, {**BARE_ALBUM_ID3, "song": BARE_SONG}, "song must be a list"),
        (Responses.ALBUM, {**BARE_ALBUM_ID3, "song": [{"id": "tr-1"}]}, "Child.isDir is required"),
        (Responses.GENRES, {"genre": [{"songCount": 1, "albumCount": 1}]}, "needs its text"),
        (Responses.USER, {**USER, "folder": ["1"]}, "folder must be int"),
        (Responses.OPEN_SUBSONIC_EXTENSIONS, {"name": "formPost"}, "must be a list"),
        (Responses.SONG, [BARE_SONG], "must be a mapping"),
    ],
)
def test_a_value_that_does_not_fit_its_shape_is_refused_in_both_forms(element: Any, value: Any, problem: str) -> None:
    for fmt in (XML, JSON):
        with pytest.raises(ShapeError, match=problem):
            render_ok(fmt, element, value)


def test_errors_go_through_render_error_only() -> None:
    with pytest.raises(ShapeError):
        render_ok(JSON, Responses.ERROR, {"code": 0})
    with pytest.raises(ShapeError):
        render_ok(JSON, None, {"valid": True})


def test_the_spec_tables_cover_every_type_the_shapes_use() -> None:
    """The descriptions name their types as the XSD does, so every check above ran against the
    XSD's own table for that type."""
    seen: set[str] = set()

    def walk(shape: Shape) -> None:
        if shape.type_name in seen:
            return
        seen.add(shape.type_name)
        assert shape.type_name in XSD
        assert [e.name for e in shape.elements] == list(XSD[shape.type_name].sequence)
        for elements in shape.elements:
            if isinstance(elements.of, Shape):
                walk(elements.of)

    for element in ELEMENTS.values():
        walk(element.shape)
    assert seen == set(XSD) - {"Response"}
