"""The Subsonic 1.16.1 XSD and the OpenSubsonic additions, written down from the published
specification for the tests (independently of ``sono.entrypoints.subsonic.shapes``), and the
checks of a document against them.

Each type lists its attributes in the XSD's order (``*`` marks ``use="required"``) and its
sequence of child elements in order. OpenSubsonic adds fields the XSD does not have; a
document may carry those too (a strict 1.16.1 validator would refuse them: every OpenSubsonic
server sends them all the same).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

NS = "http://subsonic.org/restapi"


@dataclass(frozen=True)
class XsdType:
    attributes: dict[str, str]  # name -> XSD type, in order
    required: frozenset[str]
    sequence: dict[str, str]  # child element name -> type, in order
    mixed: bool = False


def xsd_type(attributes: str = "", sequence: str = "", *, mixed: bool = False) -> XsdType:
    attrs: dict[str, str] = {}
    required = set()
    for item in attributes.split():
        name, kind = item.split(":")
        if name.endswith("*"):
            name = name[:-1]
            required.add(name)
        attrs[name] = kind
    children = dict(item.split(":", 1) for item in sequence.split())
    return XsdType(attrs, frozenset(required), children, mixed)


def extension(base: XsdType, attributes: str = "", sequence: str = "") -> XsdType:
    more = xsd_type(attributes, sequence)
    return XsdType(
        {**base.attributes, **more.attributes}, base.required | more.required, {**base.sequence, **more.sequence}
    )


CHILD = xsd_type(
    "id*:string parent:string isDir*:boolean title*:string album:string artist:string track:int year:int "
    "genre:string coverArt:string size:long contentType:string suffix:string transcodedContentType:string "
    "transcodedSuffix:string duration:int bitRate:int path:string isVideo:boolean userRating:UserRating "
    "averageRating:AverageRating playCount:long discNumber:int created:dateTime starred:dateTime albumId:string "
    "artistId:string type:MediaType bookmarkPosition:long originalWidth:int originalHeight:int"
)
ARTIST = xsd_type(
    "id*:string name*:string artistImageUrl:string starred:dateTime userRating:UserRating averageRating:AverageRating"
)
ARTIST_ID3 = xsd_type("id*:string name*:string coverArt:string artistImageUrl:string albumCount*:int starred:dateTime")
ALBUM_ID3 = xsd_type(
    "id*:string name*:string artist:string artistId:string coverArt:string songCount*:int duration*:int "
    "playCount:long created*:dateTime starred:dateTime year:int genre:string"
)
PLAYLIST = xsd_type(
    "id*:string name*:string comment:string owner:string public:boolean songCount*:int duration*:int "
    "created*:dateTime changed*:dateTime coverArt:string",
    "allowedUser:xs:string",
)
USER = xsd_type(
    "username*:string email:string scrobblingEnabled*:boolean maxBitRate:int adminRole*:boolean "
    "settingsRole*:boolean downloadRole*:boolean uploadRole*:boolean playlistRole*:boolean coverArtRole*:boolean "
    "commentRole*:boolean podcastRole*:boolean streamRole*:boolean jukeboxRole*:boolean shareRole*:boolean "
    "videoConversionRole*:boolean avatarLastChanged:dateTime",
    "folder:xs:int",
)

XSD: dict[str, XsdType] = {
    "Error": xsd_type("code*:int message:string"),
    "MusicFolders": xsd_type(sequence="musicFolder:MusicFolder"),
    "MusicFolder": xsd_type("id*:int name:string"),
    "Indexes": xsd_type("lastModified*:long ignoredArticles*:string", "shortcut:Artist index:Index child:Child"),
    "Index": xsd_type("name*:string", "artist:Artist"),
    "Artist": ARTIST,
    "Genres": xsd_type(sequence="genre:Genre"),
    "Genre": xsd_type("songCount*:int albumCount*:int", mixed=True),
    "ArtistsID3": xsd_type("ignoredArticles*:string", "index:IndexID3"),
    "IndexID3": xsd_type("name*:string", "artist:ArtistID3"),
    "ArtistID3": ARTIST_ID3,
    "ArtistWithAlbumsID3": extension(ARTIST_ID3, sequence="album:AlbumID3"),
    "AlbumID3": ALBUM_ID3,
    "AlbumWithSongsID3": extension(ALBUM_ID3, sequence="song:Child"),
    "Directory": xsd_type(
        "id*:string parent:string name*:string starred:dateTime userRating:UserRating "
        "averageRating:AverageRating playCount:long",
        "child:Child",
    ),
    "Child": CHILD,
    "SearchResult2": xsd_type(sequence="artist:Artist album:Child song:Child"),
    "SearchResult3": xsd_type(sequence="artist:ArtistID3 album:AlbumID3 song:Child"),
    "Playlists": xsd_type(sequence="playlist:Playlist"),
    "Playlist": PLAYLIST,
    "PlaylistWithSongs": extension(PLAYLIST, sequence="entry:Child"),
    "License": xsd_type("valid*:boolean email:string licenseExpires:dateTime trialExpires:dateTime"),
    "User": USER,
    "Users": xsd_type(sequence="user:User"),
    "AlbumList": xsd_type(sequence="album:Child"),
    "AlbumList2": xsd_type(sequence="album:AlbumID3"),
    "Songs": xsd_type(sequence="song:Child"),
    "Starred": xsd_type(sequence="artist:Artist album:Child song:Child"),
    "Starred2": xsd_type(sequence="artist:ArtistID3 album:AlbumID3 song:Child"),
    # OpenSubsonic response types (no XSD): openSubsonicExtension and tokenInfo.
    "OpenSubsonicExtension": xsd_type("name*:string", "versions:xs:int"),
    "TokenInfo": xsd_type("username*:string"),
}

# The XSD's choice of response elements, and OpenSubsonic's (the extensions sit in the response as
# a list of elements).
RESPONSE_ELEMENTS = {
    "musicFolders": "MusicFolders",
    "indexes": "Indexes",
    "directory": "Directory",
    "genres": "Genres",
    "artists": "ArtistsID3",
    "artist": "ArtistWithAlbumsID3",
    "album": "AlbumWithSongsID3",
    "song": "Child",
    "albumList": "AlbumList",
    "albumList2": "AlbumList2",
    "randomSongs": "Songs",
    "songsByGenre": "Songs",
    "starred": "Starred",
    "starred2": "Starred2",
    "searchResult2": "SearchResult2",
    "searchResult3": "SearchResult3",
    "playlists": "Playlists",
    "playlist": "PlaylistWithSongs",
    "user": "User",
    "users": "Users",
    "license": "License",
    "error": "Error",
    "openSubsonicExtensions": "OpenSubsonicExtension",
    "tokenInfo": "TokenInfo",
}
REPEATED_RESPONSE_ELEMENTS = {"openSubsonicExtensions"}
_envelope = xsd_type("status*:ResponseStatus version*:Version")
XSD["Response"] = XsdType(_envelope.attributes, _envelope.required, RESPONSE_ELEMENTS)

# OpenSubsonic additions (documentation's "OpenS." column) a document may carry.
OPENSUBSONIC: dict[str, dict[str, str]] = {
    "Response": {"type": "string", "serverVersion": "string", "openSubsonic": "boolean"},
    "Error": {"helpUrl": "string"},
    "Child": {
        "played": "dateTime",
        "bitDepth": "int",
        "samplingRate": "int",
        "channelCount": "int",
        "mediaType": "string",
        "sortName": "string",
    },
    "AlbumID3": {"played": "dateTime", "userRating": "UserRating", "sortName": "string"},
    "ArtistID3": {"userRating": "UserRating", "sortName": "string"},
    "Playlist": {"readonly": "boolean"},
}
OPENSUBSONIC["AlbumWithSongsID3"] = OPENSUBSONIC["AlbumID3"]
OPENSUBSONIC["ArtistWithAlbumsID3"] = OPENSUBSONIC["ArtistID3"]
OPENSUBSONIC["PlaylistWithSongs"] = OPENSUBSONIC["Playlist"]


def attributes_of(type_name: str) -> dict[str, str]:
    return {**XSD[type_name].attributes, **OPENSUBSONIC.get(type_name, {})}


# --------------------------------------------------------------------------- lexical forms

DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z")
INTEGER = re.compile(r"-?\d+")
DECIMAL = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


def check_xml_scalar(kind: str, text: str, where: str) -> None:
    if kind in ("string", "xs:string"):
        return
    if kind in ("int", "long", "xs:int"):
        assert INTEGER.fullmatch(text), f"{where}: {text!r} is not an {kind}"
    elif kind == "UserRating":
        assert text in {"1", "2", "3", "4", "5"}, f"{where}: {text!r}"
    elif kind == "AverageRating":
        assert DECIMAL.fullmatch(text) and 1.0 <= float(text) <= 5.0, f"{where}: {text!r}"
    elif kind == "boolean":
        assert text in {"true", "false"}, f"{where}: {text!r} is not an XML boolean"
    elif kind == "dateTime":
        assert DATETIME.fullmatch(text), f"{where}: {text!r} is not an ISO 8601 UTC time"
    elif kind == "MediaType":
        assert text in {"music", "podcast", "audiobook", "video"}, f"{where}: {text!r}"
    elif kind == "ResponseStatus":
        assert text in {"ok", "failed"}, f"{where}: {text!r}"
    elif kind == "Version":
        assert re.fullmatch(r"\d+\.\d+\.\d+", text), f"{where}: {text!r}"
    else:
        raise AssertionError(f"unknown XSD type {kind}")


def check_json_scalar(kind: str, value: Any, where: str) -> None:
    if kind in ("string", "xs:string", "MediaType", "ResponseStatus", "Version"):
        assert isinstance(value, str), f"{where}: {value!r} is not a string"
        if kind != "string" and kind != "xs:string":
            check_xml_scalar(kind, value, where)
    elif kind in ("int", "long", "xs:int", "UserRating"):
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {value!r} is not an integer"
        if kind == "UserRating":
            assert 1 <= value <= 5
    elif kind == "AverageRating":
        assert isinstance(value, int | float) and not isinstance(value, bool), f"{where}: {value!r}"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{where}: {value!r} is not a boolean"
    elif kind == "dateTime":
        assert isinstance(value, str) and DATETIME.fullmatch(value), f"{where}: {value!r}"
    else:
        raise AssertionError(f"unknown XSD type {kind}")


# --------------------------------------------------------------------------- documents


def check_xml(element: Element, name: str, type_name: str) -> None:
    """``element`` is ``name`` in the Subsonic namespace, of ``type_name``: its scalars are
    attributes the type declares (or OpenSubsonic adds), its required attributes are there, its
    child elements are the type's sequence in the sequence's order, recursively."""
    assert element.tag == f"{{{NS}}}{name}", f"{element.tag} is not {name} in the Subsonic namespace"
    spec = XSD[type_name]
    declared = attributes_of(type_name)
    for attribute, text in element.attrib.items():
        assert attribute in declared, f"{type_name} has no attribute {attribute}"
        check_xml_scalar(declared[attribute], text, f"{type_name}.{attribute}")
    missing = spec.required - element.attrib.keys()
    assert not missing, f"{type_name} lacks {sorted(missing)}"
    if spec.mixed:
        assert element.text, f"{type_name} has no text"
    else:
        assert not (element.text or "").strip(), f"{type_name} has text"
    order = list(spec.sequence)
    last = -1
    for child in element:
        assert child.tag.startswith(f"{{{NS}}}"), f"{child.tag} is not in the Subsonic namespace"
        child_name = child.tag.removeprefix(f"{{{NS}}}")
        assert child_name in spec.sequence, f"{type_name} has no child element {child_name}"
        position = order.index(child_name)
        assert position >= last, f"{type_name}: {child_name} after {order[last]}, against the XSD's order"
        last = position
        assert not (child.tail or "").strip()
        child_type = spec.sequence[child_name]
        if child_type.startswith("xs:"):
            assert len(child) == 0 and not child.attrib
            check_xml_scalar(child_type, child.text or "", f"{type_name}.{child_name}")
        else:
            check_xml(child, child_name, child_type)


def check_json(value: Any, type_name: str) -> None:
    """``value`` is a JSON object of ``type_name``: known members only, the required ones there,
    scalars of the right JSON type, every sequence element an array."""
    assert isinstance(value, dict), f"{type_name} is not an object"
    spec = XSD[type_name]
    declared = attributes_of(type_name)
    known = set(declared) | set(spec.sequence) | ({"value"} if spec.mixed else set())
    assert value.keys() <= known, f"{type_name} has no member {sorted(value.keys() - known)}"
    missing = spec.required - value.keys()
    assert not missing, f"{type_name} lacks {sorted(missing)}"
    if spec.mixed:
        assert isinstance(value.get("value"), str)
    for member, item in value.items():
        if member in declared:
            check_json_scalar(declared[member], item, f"{type_name}.{member}")
        elif member in spec.sequence:
            assert isinstance(item, list), f"{type_name}.{member} is not an array"
            child_type = spec.sequence[member]
            for entry in item:
                if child_type.startswith("xs:"):
                    check_json_scalar(child_type, entry, f"{type_name}.{member}")
                else:
                    check_json(entry, child_type)


def xml_as_json(element: Element, type_name: str) -> dict[str, Any]:
    """What ``element`` says, in the JSON form (read through the spec's types), to compare the
    two forms of one answer."""
    declared = attributes_of(type_name)
    spec = XSD[type_name]
    out: dict[str, Any] = {name: _typed(declared[name], text) for name, text in element.attrib.items()}
    if spec.mixed:
        out["value"] = element.text
    for child_name, child_type in spec.sequence.items():
        children = element.findall(f"{{{NS}}}{child_name}")
        if child_type.startswith("xs:"):
            out[child_name] = [_typed(child_type, child.text or "") for child in children]
        else:
            out[child_name] = [xml_as_json(child, child_type) for child in children]
    return out


def _typed(kind: str, text: str) -> Any:
    if kind in ("int", "long", "xs:int", "UserRating"):
        return int(text)
    if kind == "AverageRating":
        return float(text)
    if kind == "boolean":
        return text == "true"
    return text
