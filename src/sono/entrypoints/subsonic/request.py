"""A Subsonic request as the protocol sees it: the method named by the path (``/rest/<method>`` or
``/rest/<method>.view``), and the parameters of the query string followed by those of an
``application/x-www-form-urlencoded`` body (OpenSubsonic ``formPost``: the same parameters, POSTed),
each repeated parameter (``id``, ``songId``, ``songIdToAdd``, ``songIndexToRemove``) in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from sono.entrypoints.subsonic import errors
from sono.entrypoints.subsonic.errors import ErrorCode, SubsonicError
from sono.entrypoints.subsonic.response import JSON, XML, Format

MAX_FORM_BYTES = 1 << 20
"""The largest form body a POST may carry; the longest real one (a playlist update) is a few KB."""
MAX_PARAMETERS = 1000
SECRET_PARAMETERS = frozenset({"p", "t", "s", "apiKey"})
"""The parameters a log line or a message must never show (see ``redacted``)."""

_PATH = re.compile(r"/rest/([A-Za-z][A-Za-z0-9]{0,63})(?:\.view)?", re.ASCII)
_INTEGER = re.compile(r"-?[0-9]{1,19}", re.ASCII)
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}

Pairs = tuple[tuple[str, str], ...]


class RequestRefused(SubsonicError):
    """A request refused before its method runs, with the format the refusal is answered in (JSON
    when the format asked for is itself what is wrong: a JSONP request without a usable callback)."""

    def __init__(self, error: SubsonicError, fmt: Format) -> None:
        super().__init__(error.code, error.message, help_url=error.help_url)
        self.format = fmt


@dataclass(frozen=True)
class SubsonicRequest:
    method: str  # as the path names it, without ``.view``
    params: Pairs  # query pairs, then form pairs
    format: Format
    version: str  # ``v``: accepted whatever it is (errors 20 and 30 are never sent)
    client: str  # ``c``

    def __repr__(self) -> str:
        return f"SubsonicRequest({self.method!r}, {redacted(self.params)!r})"

    def first(self, name: str) -> str | None:
        """The first value of ``name`` (empty if given empty), ``None`` if not given."""
        for key, value in self.params:
            if key == name:
                return value
        return None

    def all(self, name: str) -> list[str]:
        """Every value of ``name``, in the order sent."""
        return [value for key, value in self.params if key == name]

    def required(self, name: str) -> str:
        """The first value of ``name``; error 10 when it is missing or empty."""
        value = self.first(name)
        if not value:
            raise errors.missing_parameter(name)
        return value

    def integer(
        self, name: str, default: int | None = None, *, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        """``name`` as an integer, clamped into ``[minimum, maximum]`` (``size=1000`` on a list
        that gives 500 at most answers 500, as other servers do); ``default`` when not given or
        empty; error 0 when it is not an integer."""
        text = self.first(name)
        if not text:
            return default
        if _INTEGER.fullmatch(text) is None:
            raise errors.generic(f"Parameter {name} must be an integer")
        value = int(text)
        if minimum is not None:
            value = max(value, minimum)
        if maximum is not None:
            value = min(value, maximum)
        return value

    def boolean(self, name: str, default: bool) -> bool:
        text = self.first(name)
        if not text:
            return default
        value = _BOOLEANS.get(text.lower())
        if value is None:
            raise errors.generic(f"Parameter {name} must be true or false")
        return value


def method_from_path(path: str) -> str | None:
    match = _PATH.fullmatch(path)
    return match.group(1) if match else None


def parse_request(path: str, query: Iterable[tuple[str, str]], form: Iterable[tuple[str, str]] = ()) -> SubsonicRequest:
    """The request for ``path`` with its query and form pairs (already decoded, see
    ``decode_pairs``). Refused, in the format the request asks for, when ``v`` or ``c`` is
    missing (error 10) or the path names no method (error 0); a JSONP request without a plain
    identifier as ``callback`` is refused in JSON."""
    params: Pairs = (*query, *form)
    first = dict(reversed(params))  # the first value of each name
    try:
        fmt = Format.requested(first.get("f"), first.get("callback"))
    except SubsonicError as error:
        raise RequestRefused(error, JSON) from None
    method = method_from_path(path)
    if method is None:
        raise RequestRefused(SubsonicError(ErrorCode.GENERIC, "Unknown method"), fmt)
    version, client = first.get("v"), first.get("c")
    if not version:
        raise RequestRefused(errors.missing_parameter("v"), fmt)
    if not client:
        raise RequestRefused(errors.missing_parameter("c"), fmt)
    return SubsonicRequest(method, params, fmt, version, client)


def decode_pairs(text: str | bytes) -> list[tuple[str, str]]:
    """The name/value pairs of a query string or a form body, in order, blank values kept. Not
    UTF-8, or more than ``MAX_PARAMETERS`` pairs: error 0 (in XML, as nothing of the request
    can be trusted to say otherwise)."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_PARAMETERS)
    except UnicodeDecodeError:
        raise RequestRefused(errors.generic("Parameters must be UTF-8"), XML) from None
    except ValueError:  # max_num_fields
        raise RequestRefused(errors.generic("Too many parameters"), XML) from None


def redacted(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``pairs`` with the value of every secret parameter replaced, for logs."""
    return [(name, "***" if name in SECRET_PARAMETERS else value) for name, value in pairs]
