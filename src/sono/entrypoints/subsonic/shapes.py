"""The response elements Sono answers with, described from the Subsonic 1.16.1 XSD (attributes and
child elements in its order) plus the OpenSubsonic fields Sono fills (marked ``opensubsonic``).

Scalars that the XSD has and Sono has no data for (ratings, video sizes, bookmarks) are declared
all the same: they cost nothing when absent, and the order of each type stays the XSD's.
"""

from __future__ import annotations

from sono.entrypoints.subsonic.model import Attribute, Elements, Kind, ResponseElement, Shape

STR, INT, FLOAT, BOOL, DATETIME = Kind.STR, Kind.INT, Kind.FLOAT, Kind.BOOL, Kind.DATETIME


def required(name: str, kind: Kind = STR) -> Attribute:
    return Attribute(name, kind, required=True)


def optional(name: str, kind: Kind = STR) -> Attribute:
    return Attribute(name, kind)


def opensubsonic(name: str, kind: Kind = STR) -> Attribute:
    return Attribute(name, kind, opensubsonic=True)


# --------------------------------------------------------------------------- common types

ERROR = Shape(
    "Error",
    (required("code", INT), optional("message"), opensubsonic("helpUrl")),
)

CHILD = Shape(
    "Child",
    (
        required("id"),
        optional("parent"),
        required("isDir", BOOL),
        required("title"),
        optional("album"),
        optional("artist"),
        optional("track", INT),
        optional("year", INT),
        optional("genre"),
        optional("coverArt"),
        optional("size", INT),
        optional("contentType"),
        optional("suffix"),
        optional("transcodedContentType"),
        optional("transcodedSuffix"),
        optional("duration", INT),
        optional("bitRate", INT),
        optional("path"),
        optional("isVideo", BOOL),
        optional("userRating", INT),
        optional("averageRating", FLOAT),
        optional("playCount", INT),
        optional("discNumber", INT),
        optional("created", DATETIME),
        optional("starred", DATETIME),
        optional("albumId"),
        optional("artistId"),
        optional("type"),
        optional("bookmarkPosition", INT),
        optional("originalWidth", INT),
        optional("originalHeight", INT),
        opensubsonic("played", DATETIME),
        opensubsonic("samplingRate", INT),
        opensubsonic("channelCount", INT),
        opensubsonic("mediaType"),
    ),
)

ARTIST = Shape(
    "Artist",
    (
        required("id"),
        required("name"),
        optional("artistImageUrl"),
        optional("starred", DATETIME),
        optional("userRating", INT),
        optional("averageRating", FLOAT),
    ),
)

ARTIST_ID3 = Shape(
    "ArtistID3",
    (
        required("id"),
        required("name"),
        optional("coverArt"),
        optional("artistImageUrl"),
        required("albumCount", INT),
        optional("starred", DATETIME),
    ),
)

ALBUM_ID3 = Shape(
    "AlbumID3",
    (
        required("id"),
        required("name"),
        optional("artist"),
        optional("artistId"),
        optional("coverArt"),
        required("songCount", INT),
        required("duration", INT),
        optional("playCount", INT),
        required("created", DATETIME),
        optional("starred", DATETIME),
        optional("year", INT),
        optional("genre"),
        opensubsonic("played", DATETIME),
        opensubsonic("userRating", INT),
    ),
)

PLAYLIST = Shape(
    "Playlist",
    (
        required("id"),
        required("name"),
        optional("comment"),
        optional("owner"),
        optional("public", BOOL),
        required("songCount", INT),
        required("duration", INT),
        required("created", DATETIME),
        required("changed", DATETIME),
        optional("coverArt"),
        opensubsonic("readonly", BOOL),
    ),
    (Elements("allowedUser", STR),),
)

USER = Shape(
    "User",
    (
        required("username"),
        optional("email"),
        required("scrobblingEnabled", BOOL),
        optional("maxBitRate", INT),
        required("adminRole", BOOL),
        required("settingsRole", BOOL),
        required("downloadRole", BOOL),
        required("uploadRole", BOOL),
        required("playlistRole", BOOL),
        required("coverArtRole", BOOL),
        required("commentRole", BOOL),
        required("podcastRole", BOOL),
        required("streamRole", BOOL),
        required("jukeboxRole", BOOL),
        required("shareRole", BOOL),
        required("videoConversionRole", BOOL),
        optional("avatarLastChanged", DATETIME),
    ),
    (Elements("folder", INT),),
)

# --------------------------------------------------------------------------- response elements

MUSIC_FOLDERS = Shape(
    "MusicFolders",
    elements=(Elements("musicFolder", Shape("MusicFolder", (required("id", INT), optional("name")))),),
)

INDEXES = Shape(
    "Indexes",
    (required("lastModified", INT), required("ignoredArticles")),
    (
        Elements("shortcut", ARTIST),
        Elements("index", Shape("Index", (required("name"),), (Elements("artist", ARTIST),))),
        Elements("child", CHILD),
    ),
)

DIRECTORY = Shape(
    "Directory",
    (
        required("id"),
        optional("parent"),
        required("name"),
        optional("starred", DATETIME),
        optional("userRating", INT),
        optional("averageRating", FLOAT),
        optional("playCount", INT),
    ),
    (Elements("child", CHILD),),
)

GENRES = Shape(
    "Genres",
    elements=(Elements("genre", Shape("Genre", (required("songCount", INT), required("albumCount", INT)), text=STR)),),
)

ARTISTS_ID3 = Shape(
    "ArtistsID3",
    (required("ignoredArticles"),),
    (Elements("index", Shape("IndexID3", (required("name"),), (Elements("artist", ARTIST_ID3),))),),
)

ARTIST_WITH_ALBUMS_ID3 = ARTIST_ID3.extended("ArtistWithAlbumsID3", elements=(Elements("album", ALBUM_ID3),))
ALBUM_WITH_SONGS_ID3 = ALBUM_ID3.extended("AlbumWithSongsID3", elements=(Elements("song", CHILD),))
PLAYLIST_WITH_SONGS = PLAYLIST.extended("PlaylistWithSongs", elements=(Elements("entry", CHILD),))

ALBUM_LIST = Shape("AlbumList", elements=(Elements("album", CHILD),))
ALBUM_LIST2 = Shape("AlbumList2", elements=(Elements("album", ALBUM_ID3),))
SONGS = Shape("Songs", elements=(Elements("song", CHILD),))

STARRED = Shape("Starred", elements=(Elements("artist", ARTIST), Elements("album", CHILD), Elements("song", CHILD)))
STARRED2 = Shape(
    "Starred2", elements=(Elements("artist", ARTIST_ID3), Elements("album", ALBUM_ID3), Elements("song", CHILD))
)
SEARCH_RESULT2 = Shape(
    "SearchResult2", elements=(Elements("artist", ARTIST), Elements("album", CHILD), Elements("song", CHILD))
)
SEARCH_RESULT3 = Shape(
    "SearchResult3", elements=(Elements("artist", ARTIST_ID3), Elements("album", ALBUM_ID3), Elements("song", CHILD))
)

PLAYLISTS = Shape("Playlists", elements=(Elements("playlist", PLAYLIST),))
USERS = Shape("Users", elements=(Elements("user", USER),))
LICENSE = Shape(
    "License",
    (
        required("valid", BOOL),
        optional("email"),
        optional("licenseExpires", DATETIME),
        optional("trialExpires", DATETIME),
    ),
)
OPEN_SUBSONIC_EXTENSION = Shape("OpenSubsonicExtension", (required("name"),), (Elements("versions", INT),))
TOKEN_INFO = Shape("TokenInfo", (required("username"),))


class Responses:
    """The elements a response may hold, by the name it gives them."""

    MUSIC_FOLDERS = ResponseElement("musicFolders", MUSIC_FOLDERS)
    INDEXES = ResponseElement("indexes", INDEXES)
    DIRECTORY = ResponseElement("directory", DIRECTORY)
    GENRES = ResponseElement("genres", GENRES)
    ARTISTS = ResponseElement("artists", ARTISTS_ID3)
    ARTIST = ResponseElement("artist", ARTIST_WITH_ALBUMS_ID3)
    ALBUM = ResponseElement("album", ALBUM_WITH_SONGS_ID3)
    SONG = ResponseElement("song", CHILD)
    ALBUM_LIST = ResponseElement("albumList", ALBUM_LIST)
    ALBUM_LIST2 = ResponseElement("albumList2", ALBUM_LIST2)
    RANDOM_SONGS = ResponseElement("randomSongs", SONGS)
    SONGS_BY_GENRE = ResponseElement("songsByGenre", SONGS)
    STARRED = ResponseElement("starred", STARRED)
    STARRED2 = ResponseElement("starred2", STARRED2)
    SEARCH_RESULT2 = ResponseElement("searchResult2", SEARCH_RESULT2)
    SEARCH_RESULT3 = ResponseElement("searchResult3", SEARCH_RESULT3)
    PLAYLISTS = ResponseElement("playlists", PLAYLISTS)
    PLAYLIST = ResponseElement("playlist", PLAYLIST_WITH_SONGS)
    USER = ResponseElement("user", USER)
    USERS = ResponseElement("users", USERS)
    LICENSE = ResponseElement("license", LICENSE)
    OPEN_SUBSONIC_EXTENSIONS = ResponseElement("openSubsonicExtensions", OPEN_SUBSONIC_EXTENSION, repeated=True)
    TOKEN_INFO = ResponseElement("tokenInfo", TOKEN_INFO)
    ERROR = ResponseElement("error", ERROR)
