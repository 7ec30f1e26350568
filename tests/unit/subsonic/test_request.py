"""Request parsing: the method from ``/rest/<method>`` and ``<method>.view``, GET and form-POST
parameters alike, repeated parameters in order, ``v``, ``c``, ``f`` and ``callback``."""

from __future__ import annotations

import pytest

from sono.entrypoints.subsonic.errors import ErrorCode, SubsonicError
from sono.entrypoints.subsonic.request import (
    MAX_PARAMETERS,
    RequestRefused,
    decode_pairs,
    method_from_path,
    parse_request,
    redacted,
)
from sono.entrypoints.subsonic.response import JSON, XML, Form, Format

COMMON = [("u", "alice"), ("t", "26719a1196d2a940705a59634eb18eab"), ("s", "c19b2d"), ("v", "1.16.1"), ("c", "DSub")]


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/rest/ping", "ping"),
        ("/rest/ping.view", "ping"),
        ("/rest/getAlbumList2", "getAlbumList2"),
        ("/rest/getAlbumList2.view", "getAlbumList2"),
        ("/rest/getOpenSubsonicExtensions", "getOpenSubsonicExtensions"),
    ],
)
def test_the_method_comes_from_the_path(path: str, method: str) -> None:
    assert method_from_path(path) == method
    assert parse_request(path, COMMON).method == method


@pytest.mark.parametrize(
    "path",
    [
        "/rest/",
        "/rest",
        "/rest/ping/",
        "/rest/ping.view/",
        "/rest/ping.view.view",
        "/rest/ping.xml",
        "/rest/a/b",
        "/rest/../api/v1/users",
        "/rest/get-album",
        "/rest/2ping",
        "/rest/p\u00efng",
        "/api/v1/ping",
        "/rest/ping\n",
        "/rest/" + "a" * 65,
    ],
)
def test_a_path_that_names_no_method_is_refused(path: str) -> None:
    assert method_from_path(path) is None
    with pytest.raises(RequestRefused) as refused:
        parse_request(path, [*COMMON, ("f", "json")])
    assert (refused.value.code, refused.value.format) == (ErrorCode.GENERIC, JSON)


def test_get_and_form_post_are_the_same_request() -> None:
    params = [*COMMON, ("f", "json"), ("id", "tr-1"), ("id", "tr-2")]

    by_get = parse_request("/rest/star.view", params)
    by_post = parse_request("/rest/star.view", [], params)

    assert by_get == by_post
    assert (by_get.method, by_get.version, by_get.client, by_get.format) == ("star", "1.16.1", "DSub", JSON)
    assert by_get.all("id") == ["tr-1", "tr-2"]


def test_repeated_parameters_keep_their_order_query_first_then_form() -> None:
    query = [*COMMON, ("playlistId", "pl-4"), ("songIndexToRemove", "3"), ("songIdToAdd", "tr-9")]
    form = [("songIndexToRemove", "0"), ("songIdToAdd", "tr-2"), ("songIndexToRemove", "3"), ("songIdToAdd", "tr-5")]

    request = parse_request("/rest/updatePlaylist", query, form)

    assert request.all("songIndexToRemove") == ["3", "0", "3"]
    assert request.all("songIdToAdd") == ["tr-9", "tr-2", "tr-5"]
    assert request.all("missing") == []
    assert request.first("playlistId") == "pl-4"


def test_a_single_valued_parameter_is_its_first_value() -> None:
    request = parse_request("/rest/ping", [*COMMON, ("f", "json")], [("f", "xml"), ("c", "Other")])
    assert request.format == JSON
    assert request.client == "DSub"


@pytest.mark.parametrize(("missing", "f", "fmt"), [("v", None, XML), ("c", None, XML), ("v", "json", JSON)])
def test_v_and_c_are_required(missing: str, f: str | None, fmt: Format) -> None:
    params = [pair for pair in COMMON if pair[0] != missing] + ([("f", f)] if f else [])
    with pytest.raises(RequestRefused) as refused:
        parse_request("/rest/ping", params)
    assert (refused.value.code, refused.value.format) == (ErrorCode.MISSING_PARAMETER, fmt)
    assert refused.value.message.endswith(f": {missing}")

    with pytest.raises(RequestRefused) as refused:
        parse_request("/rest/ping", [*params, (missing, "")])
    assert refused.value.code == ErrorCode.MISSING_PARAMETER


def test_every_v_is_accepted() -> None:
    without_v = [pair for pair in COMMON if pair[0] != "v"]
    for version in ("1.1.0", "1.16.1", "2.0.0", "whatever"):
        assert parse_request("/rest/ping", [*without_v, ("v", version)]).version == version


def test_jsonp_with_a_plain_identifier() -> None:
    request = parse_request("/rest/ping.view", [*COMMON, ("f", "jsonp"), ("callback", "jQuery3310_17")])
    assert request.format == Format(Form.JSONP, "jQuery3310_17")


@pytest.mark.parametrize(("callback", "code"), [(None, 10), ("", 10), ("alert(document.cookie)", 0), ("a.b", 0)])
def test_jsonp_without_a_usable_callback_is_refused_in_json(callback: str | None, code: int) -> None:
    params = [*COMMON, ("f", "jsonp")] + ([("callback", callback)] if callback is not None else [])
    with pytest.raises(RequestRefused) as refused:
        parse_request("/rest/ping", params)
    assert (refused.value.code, refused.value.format) == (code, JSON)


def test_the_format_of_a_refusal_is_decided_before_anything_else() -> None:
    with pytest.raises(RequestRefused) as refused:
        parse_request("/rest/ping", [("f", "jsonp"), ("callback", "x()")])  # no v, no c either
    assert (refused.value.code, refused.value.format) == (ErrorCode.GENERIC, JSON)


# --------------------------------------------------------------------------- typed parameters


def test_required_is_error_10_when_missing_or_empty() -> None:
    request = parse_request("/rest/getSong", [*COMMON, ("id", "tr-1"), ("empty", "")])
    assert request.required("id") == "tr-1"
    for name in ("missing", "empty"):
        with pytest.raises(SubsonicError) as refused:
            request.required(name)
        assert refused.value.code == ErrorCode.MISSING_PARAMETER


def test_integers_default_clamp_and_refuse() -> None:
    request = parse_request(
        "/rest/getAlbumList2",
        [*COMMON, ("size", "1000"), ("offset", "-5"), ("empty", ""), ("time", "1700000000000"), ("bad", "1e3")],
    )
    assert request.integer("size", 10, minimum=0, maximum=500) == 500
    assert request.integer("offset", 0, minimum=0) == 0
    assert request.integer("missing", 10, minimum=0, maximum=500) == 10
    assert request.integer("empty", 10) == 10
    assert request.integer("missing") is None
    assert request.integer("time") == 1_700_000_000_000
    for text in ("1e3", "12a", " 1", "+1", "1.5", "\u0661", "9" * 20, "-"):
        bad = parse_request("/rest/getAlbumList2", [*COMMON, ("size", text)])
        with pytest.raises(SubsonicError) as refused:
            bad.integer("size", 10)
        assert refused.value.code == ErrorCode.GENERIC


def test_booleans() -> None:
    request = parse_request(
        "/rest/scrobble", [*COMMON, ("a", "true"), ("b", "False"), ("c1", "1"), ("d", "0"), ("e", ""), ("x", "yes")]
    )
    assert request.boolean("a", False) is True
    assert request.boolean("b", True) is False
    assert request.boolean("c1", False) is True
    assert request.boolean("d", True) is False
    assert request.boolean("e", True) is True
    assert request.boolean("missing", False) is False
    with pytest.raises(SubsonicError) as refused:
        request.boolean("x", True)
    assert refused.value.code == ErrorCode.GENERIC


# --------------------------------------------------------------------------- decoding and logs


def test_decode_pairs_of_a_query_string_or_a_form_body() -> None:
    text = "u=alice&p=enc%3A736573616d65&query=%22%22&id=tr-1&id=tr-2&empty=&title=a+b%20c&name=%C3%A9t%C3%A9"
    expected = [
        ("u", "alice"),
        ("p", "enc:736573616d65"),
        ("query", '""'),  # Symfonium's empty search: kept as sent, the search decides
        ("id", "tr-1"),
        ("id", "tr-2"),
        ("empty", ""),
        ("title", "a b c"),
        ("name", "\u00e9t\u00e9"),
    ]
    assert decode_pairs(text) == expected
    assert decode_pairs(text.encode()) == expected
    assert decode_pairs("") == []
    assert decode_pairs("a=1;b=2") == [("a", "1;b=2")]  # only & separates


@pytest.mark.parametrize("text", [b"name=%ff", b"name=\xff", "name=%C3%28"])
def test_parameters_that_are_not_utf8_are_refused(text: str | bytes) -> None:
    with pytest.raises(RequestRefused) as refused:
        decode_pairs(text)
    assert refused.value.code == ErrorCode.GENERIC


def test_too_many_parameters_are_refused() -> None:
    assert len(decode_pairs("&".join(["id=tr-1"] * MAX_PARAMETERS))) == MAX_PARAMETERS
    with pytest.raises(RequestRefused):
        decode_pairs("&".join(["id=tr-1"] * (MAX_PARAMETERS + 1)))


def test_redacted_hides_every_secret_parameter() -> None:
    pairs = [*COMMON, ("p", "enc:736573616d65"), ("apiKey", "k" * 32), ("id", "tr-1")]
    assert redacted(pairs) == [
        ("u", "alice"),
        ("t", "***"),
        ("s", "***"),
        ("v", "1.16.1"),
        ("c", "DSub"),
        ("p", "***"),
        ("apiKey", "***"),
        ("id", "tr-1"),
    ]


def test_the_request_never_shows_its_secrets() -> None:
    request = parse_request("/rest/ping", [*COMMON, ("p", "enc:736573616d65"), ("apiKey", "k" * 32)])
    shown = repr(request)
    for secret in ("26719a1196d2a940705a59634eb18eab", "c19b2d", "736573616d65", "k" * 32):
        assert secret not in shown
    assert "alice" in shown and "ping" in shown
