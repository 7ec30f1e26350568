"""The bounded EBML walk (``adapters/media/ebml.py``) that the inspector and the tag reader share:
what it finds in well-formed bytes, and that hostile bytes give at most ``Malformed``, never an
element outside the bytes read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sono.adapters.media import ebml
from tests.fixtures.media import ebml as element
from tests.fixtures.media import webm_bytes


def test_the_walk_finds_the_header_and_the_segment_and_stops_at_the_first_cluster() -> None:
    data = webm_bytes(1.5, 2)
    top = ebml.elements(data, 0, len(data))
    assert [element_id for element_id, _, _ in top] == [ebml.EBML, ebml.SEGMENT]
    tags = element(ebml.TAGS, b"")
    inside = [element_id for element_id, _, _ in ebml.elements(data + tags, top[1][1], len(data) + len(tags))]
    assert inside == [ebml.INFO, ebml.TRACKS, ebml.CLUSTER]  # the Tags after the Cluster are not read


def test_an_element_cut_off_by_the_window_runs_to_its_end_and_a_cut_header_ends_the_walk() -> None:
    data = element(ebml.INFO, b"x" * 100) + element(ebml.TRACKS, b"y" * 10)
    # Info: a 4-byte id and a 1-byte size, then 100 bytes; Tracks' header is 5 bytes too
    assert ebml.elements(data, 0, 50) == [(ebml.INFO, 5, 50)]
    assert ebml.elements(data, 0, 106) == [(ebml.INFO, 5, 105)]  # the next header's first byte only
    assert ebml.elements(data, 0, len(data)) == [(ebml.INFO, 5, 105), (ebml.TRACKS, 110, 120)]


def test_values() -> None:
    assert ebml.to_uint(b"\x01\x00") == 256
    assert ebml.to_uint(b"") == 0 and ebml.to_uint(b"\x01" * 9) == 0
    assert ebml.to_float(b"\x3f\xc0\x00\x00") == 1.5
    assert ebml.to_float(b"\x3f\xf8" + b"\x00" * 6) == 1.5
    assert ebml.to_float(b"\x00" * 3) is None


def test_a_size_with_no_length_marker_is_malformed() -> None:
    with pytest.raises(ebml.Malformed):
        ebml.elements(b"\x1a\x45\xdf\xa3\x00\x00", 0, 6)


@given(st.binary(max_size=256))
def test_hostile_bytes_give_elements_inside_them_or_malformed(data: bytes) -> None:
    try:
        found = ebml.elements(data, 0, len(data))
    except ebml.Malformed:
        return
    position = 0
    for _, start, end in found:
        assert position <= start <= end <= len(data)
        position = end
