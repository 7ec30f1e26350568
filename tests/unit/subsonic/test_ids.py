"""Prefixed Subsonic ids: they round trip, have one spelling each, and anything else is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sono.entrypoints.subsonic import ids
from sono.entrypoints.subsonic.ids import CoverId, InvalidId, ItemId, Kind

NUMBERS = st.integers(min_value=1, max_value=2**31 - 1)
VERSIONS = st.text(alphabet="0123456789abcdef", min_size=1, max_size=64)


@given(kind=st.sampled_from(Kind), number=NUMBERS)
def test_item_ids_round_trip(kind: Kind, number: int) -> None:
    text = ids.item_id(kind, number)
    assert text == f"{kind.value}-{number}"
    assert ids.parse_item(text) == ItemId(kind, number)
    assert ids.parse_item(text, kind) == ItemId(kind, number)
    assert str(ItemId(kind, number)) == text


@given(kind=st.sampled_from(sorted(ids.COVER_KINDS)), number=NUMBERS, version=VERSIONS)
def test_cover_ids_round_trip(kind: Kind, number: int, version: str) -> None:
    text = ids.cover_id(kind, number, version)
    assert text == f"cv-{kind.value}-{number}-{version}"
    assert ids.parse_cover(text) == CoverId(kind, number, version)
    assert str(CoverId(kind, number, version)) == text


def test_the_prefixes() -> None:
    assert ids.item_id(Kind.TRACK, 12) == "tr-12"
    assert ids.item_id(Kind.ALBUM, 3) == "al-3"
    assert ids.item_id(Kind.ARTIST, 4) == "ar-4"
    assert ids.item_id(Kind.PLAYLIST, 5) == "pl-5"
    assert ids.cover_id(Kind.TRACK, 12, "6410b3ce") == "cv-tr-12-6410b3ce"
    assert ids.cover_id(Kind.ALBUM, 3, "0") == "cv-al-3-0"
    assert ids.cover_id(Kind.PLAYLIST, 5, "ab") == "cv-pl-5-ab"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tr",
        "tr-",
        "tr-0",  # not positive
        "tr-01",  # a second spelling of tr-1
        "tr-+1",
        "tr--1",
        "tr-1.0",
        "tr-1e3",
        "tr-1_000",  # int() takes it, an id does not
        "tr-\u0661",  # Arabic-Indic one: int() takes it too
        "tr-\uff11",  # fullwidth one
        "tr-2147483648",  # past 32 bits
        "tr-99999999999",
        "tr-1 ",
        " tr-1",
        "tr-1\n",
        "TR-1",
        "Tr-1",
        "tr_1",
        "tr1",
        "xx-1",
        "1",
        "tr-1-2",
        "cv-tr-1-ab",  # a cover id is not an item id
        "tr-1\x00",
        "tr-" + "1" * 5000,
    ],
)
def test_malformed_item_ids_are_refused(text: str) -> None:
    with pytest.raises(InvalidId):
        ids.parse_item(text)


@pytest.mark.parametrize(
    "text",
    [
        "cv-tr-1",
        "cv-tr-1-",
        "cv-ar-1-ab",  # no artist covers: an artist shows an album's
        "cv-tr-0-ab",
        "cv-tr-01-ab",
        "cv-tr-2147483648-ab",
        "cv-tr-1-AB",  # one spelling: lowercase
        "cv-tr-1-xyz",
        "cv-tr-1-" + "a" * 65,
        "cv-tr-1-ab-cd",
        "cv-tr-1-ab\n",
        "tr-1",
        "cv-al-1",
    ],
)
def test_malformed_cover_ids_are_refused(text: str) -> None:
    with pytest.raises(InvalidId):
        ids.parse_cover(text)


def test_a_parameter_can_take_only_some_kinds() -> None:
    assert ids.parse_item("ar-3", Kind.ARTIST, Kind.ALBUM) == ItemId(Kind.ARTIST, 3)
    assert ids.parse_item("al-3", Kind.ARTIST, Kind.ALBUM) == ItemId(Kind.ALBUM, 3)
    for text in ("tr-3", "pl-3"):
        with pytest.raises(InvalidId):
            ids.parse_item(text, Kind.ARTIST, Kind.ALBUM)


@given(st.text(max_size=40))
def test_any_text_is_an_id_in_its_one_spelling_or_refused(text: str) -> None:
    for parse in (ids.parse_item, ids.parse_cover):
        try:
            parsed = parse(text)
        except InvalidId:
            continue
        assert str(parsed) == text


@pytest.mark.parametrize("number", [0, -1, 2**31, True, "1", 1.0])
def test_only_positive_32_bit_numbers_are_encoded(number: object) -> None:
    with pytest.raises(ValueError, match="positive 32-bit"):
        ids.item_id(Kind.TRACK, number)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive 32-bit"):
        ids.cover_id(Kind.TRACK, number, "ab")  # type: ignore[arg-type]


@pytest.mark.parametrize("version", ["", "AB", "xyz", "a" * 65, "ab\n"])
def test_cover_versions_are_lowercase_hex(version: str) -> None:
    with pytest.raises(ValueError, match="hex"):
        ids.cover_id(Kind.ALBUM, 1, version)


def test_no_artist_cover_ids() -> None:
    with pytest.raises(ValueError, match="ARTIST"):
        ids.cover_id(Kind.ARTIST, 1, "ab")


def test_a_cover_version_follows_the_storage_key() -> None:
    first = ids.cover_version("covers/12/3f2a9c.jpg")
    assert first == ids.cover_version("covers/12/3f2a9c.jpg")
    assert first != ids.cover_version("covers/12/77b1e0.jpg")
    assert len(first) == 16 and ids.parse_cover(ids.cover_id(Kind.PLAYLIST, 12, first)).version == first
    assert "3f2a9c" not in first
