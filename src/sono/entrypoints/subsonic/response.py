"""The ``subsonic-response`` envelope in the three forms a client may ask for with ``f``: XML (the
default), JSON and JSONP.

Every answer carries ``status``, ``version`` 1.16.1 and the OpenSubsonic ``type``,
``serverVersion`` and ``openSubsonic``. A failure carries ``error {code, message, helpUrl?}``
instead of a payload.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sono import __version__
from sono.entrypoints.subsonic import errors
from sono.entrypoints.subsonic.errors import SubsonicError
from sono.entrypoints.subsonic.model import NAMESPACE, ResponseElement, ShapeError, to_json, to_xml, xml_text
from sono.entrypoints.subsonic.shapes import Responses

API_VERSION = "1.16.1"
SERVER_TYPE = "sono"
ROOT = "subsonic-response"

OPEN_SUBSONIC_EXTENSIONS: tuple[Mapping[str, Any], ...] = (
    {"name": "apiKeyAuthentication", "versions": [1]},
    {"name": "formPost", "versions": [1]},
)
"""What ``getOpenSubsonicExtensions`` advertises: exactly what is implemented. Not
``transcodeOffset`` (Sono does not transcode; players seek with Range) nor ``songLyrics``."""


class Form(Enum):
    XML = "xml"
    JSON = "json"
    JSONP = "jsonp"


@dataclass(frozen=True)
class Format:
    form: Form
    callback: str | None = None  # JSONP only

    @staticmethod
    def requested(f: str | None, callback: str | None) -> Format:
        """The format ``f`` asks for: ``json``, ``jsonp`` (with a ``callback`` that is a plain
        JavaScript identifier, else a ``SubsonicError`` to answer in JSON), or XML for anything
        else, as Subsonic servers do."""
        if f == "json":
            return JSON
        if f != "jsonp":
            return XML
        if not callback:
            raise errors.missing_parameter("callback")
        if not is_plain_identifier(callback):
            raise errors.generic("callback must be a plain JavaScript identifier")
        return Format(Form.JSONP, callback)


XML = Format(Form.XML)
JSON = Format(Form.JSON)

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,127}", re.ASCII)
_RESERVED = frozenset(
    (  # noqa: SIM905 - a list of words, read as one
        "await break case catch class const continue debugger default delete do else enum export extends false "
        "finally for function if implements import in instanceof interface let new null package private protected "
        "public return static super switch this throw true try typeof var void while with yield"
    ).split()
)


def is_plain_identifier(name: str) -> bool:
    """An ASCII JavaScript identifier of at most 128 characters that is not a reserved word: no
    dots, brackets or parentheses, so the callback can only name a function, never run code."""
    return _IDENTIFIER.fullmatch(name) is not None and name not in _RESERVED


@dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str


def render_ok(fmt: Format, element: ResponseElement | None = None, value: Any = None) -> Rendered:
    """A ``status="ok"`` answer, with ``value`` as ``element`` (a mapping, or a list of them for a
    repeated element) or with no payload (``ping``, ``star``, ...)."""
    if element is None:
        if value is not None:
            raise ShapeError("a payload needs its element")
        return _render(fmt, "ok", None, None)
    if element is Responses.ERROR:
        raise ShapeError("errors are answered by render_error")
    return _render(fmt, "ok", element, value)


def render_error(fmt: Format, error: SubsonicError) -> Rendered:
    value = {"code": int(error.code), "message": error.message, "helpUrl": error.help_url}
    return _render(fmt, "failed", Responses.ERROR, value)


def _render(fmt: Format, status: str, element: ResponseElement | None, value: Any) -> Rendered:
    envelope: dict[str, Any] = {
        "status": status,
        "version": API_VERSION,
        "type": SERVER_TYPE,
        "serverVersion": __version__,
        "openSubsonic": True,
    }
    if element is not None:
        envelope[element.name] = _members(element, value)
    if fmt.form is Form.XML:
        return Rendered(_xml(envelope, element), "application/xml; charset=utf-8")
    text = json.dumps({ROOT: envelope}, ensure_ascii=False, separators=(",", ":"))
    if fmt.form is Form.JSON:
        return Rendered(_utf8(text), "application/json")
    # U+2028 and U+2029 end a line in older JavaScript, not in JSON; the leading comment keeps a
    # callback name from becoming the first bytes of the answer (content sniffing attacks).
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Rendered(_utf8(f"/**/{fmt.callback}({text});"), "application/javascript; charset=utf-8")


def _members(element: ResponseElement, value: Any) -> Any:
    if not element.repeated:
        return to_json(element.shape, value)
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise ShapeError(f"{element.name} must be a list")
    return [to_json(element.shape, item) for item in value]


def _xml(envelope: dict[str, Any], element: ResponseElement | None) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<{ROOT} xmlns="{NAMESPACE}"']
    for name in ("status", "version", "type", "serverVersion", "openSubsonic"):
        out.append(f' {name}="{xml_text(envelope[name])}"')
    if element is None:
        out.append("/>")
    else:
        out.append(">")
        members = envelope[element.name]
        for item in members if element.repeated else (members,):
            to_xml(element.shape, item, element.name, out)
        out.append(f"</{ROOT}>")
    return _utf8("".join(out))


def _utf8(text: str) -> bytes:
    # A lone surrogate (a broken tag) has no UTF-8 form: it becomes "?" rather than a 500.
    return text.encode("utf-8", "replace")
