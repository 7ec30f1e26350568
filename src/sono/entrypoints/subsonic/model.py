"""A declarative description of Subsonic response elements, and the one serializer that turns a
value described by it into JSON or XML.

A ``Shape`` is an XSD complex type: its scalar fields (XML attributes, JSON members), its repeated
child elements in the order of the XSD's sequence (XML: one element per item, JSON: an array), and
for mixed content (``genre``) its text (JSON: ``value``). A value is a plain mapping keyed by the
protocol's field names. Both forms are made from the same checked JSON-ready dictionary, so they
cannot drift: a missing required field, an unknown field or a value of the wrong type is a
``ShapeError`` for both, never a document a client chokes on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

NAMESPACE = "http://subsonic.org/restapi"
TEXT = "value"
"""The JSON member that holds a mixed-content element's text (``{"value": "Rock", ...}``)."""


class Kind(Enum):
    """A scalar's type, named as in the XSD."""

    STR = "string"
    INT = "int"  # xs:int and xs:long alike
    FLOAT = "float"
    BOOL = "boolean"
    DATETIME = "dateTime"


_NEVER = type(None)  # a value is never None where this is compared
_PLAIN: dict[Kind, type] = {Kind.STR: str, Kind.INT: int, Kind.BOOL: bool, Kind.FLOAT: _NEVER, Kind.DATETIME: _NEVER}
"""The Python type of a kind's values that JSON takes as they are (most of them: no call per value);
any other value goes through ``scalar``, which converts it or refuses it. A float always does (it
must be finite), and so does a datetime."""


@dataclass(frozen=True)
class Attribute:
    """A scalar field: an XML attribute, a JSON member. Omitted when ``None`` unless required."""

    name: str
    kind: Kind = Kind.STR
    required: bool = False
    opensubsonic: bool = False  # an OpenSubsonic addition, not in the 1.16.1 XSD
    plain: type = field(init=False, repr=False, compare=False)  # see _PLAIN

    def __post_init__(self) -> None:
        object.__setattr__(self, "plain", _PLAIN[self.kind])


@dataclass(frozen=True)
class Elements:
    """Repeated child elements of one name, of a shape or of a scalar kind (``folder``,
    ``allowedUser``, ``versions``). JSON always carries the array, empty when there are none."""

    name: str
    of: Shape | Kind
    opensubsonic: bool = False


class ShapeError(ValueError):
    """A value that does not fit its shape: a bug in the code that built it."""


@dataclass(frozen=True)
class Shape:
    type_name: str
    attributes: tuple[Attribute, ...] = ()
    elements: tuple[Elements, ...] = ()  # in the XSD's sequence order
    text: Kind | None = None
    names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [a.name for a in self.attributes] + [e.name for e in self.elements]
        if self.text is not None:
            names.append(TEXT)
        if len(set(names)) != len(names):
            raise ShapeError(f"{self.type_name} declares a field twice")
        object.__setattr__(self, "names", frozenset(names))

    def extended(
        self, type_name: str, attributes: tuple[Attribute, ...] = (), elements: tuple[Elements, ...] = ()
    ) -> Shape:
        """An XSD ``extension`` of this type: its attributes and then the new ones; its sequence
        and then the new one."""
        return Shape(type_name, self.attributes + attributes, self.elements + elements, self.text)


@dataclass(frozen=True)
class ResponseElement:
    """One of the elements a ``subsonic-response`` may hold (the XSD's choice): its name and
    shape; ``repeated`` for the OpenSubsonic lists that sit directly in the response
    (``openSubsonicExtensions``)."""

    name: str
    shape: Shape
    repeated: bool = False


# --------------------------------------------------------------------------- JSON-ready values


def to_json(shape: Shape, value: Mapping[str, Any]) -> dict[str, Any]:
    """``value`` checked against ``shape``, as JSON-ready members in declaration order."""
    if not isinstance(value, Mapping):
        raise ShapeError(f"{shape.type_name} must be a mapping, not {type(value).__name__}")
    unknown = value.keys() - shape.names
    if unknown:
        raise ShapeError(f"{shape.type_name} has no field {', '.join(sorted(unknown))}")
    members: dict[str, Any] = {}
    for attribute in shape.attributes:
        item = value.get(attribute.name)
        if item is None:
            if attribute.required:
                raise ShapeError(f"{shape.type_name}.{attribute.name} is required")
        elif type(item) is attribute.plain:  # most values: taken as they are
            members[attribute.name] = item
        else:
            members[attribute.name] = scalar(attribute.kind, item, f"{shape.type_name}.{attribute.name}")
    if shape.text is not None:
        item = value.get(TEXT)
        if item is None:
            raise ShapeError(f"{shape.type_name} needs its text ({TEXT})")
        members[TEXT] = scalar(shape.text, item, f"{shape.type_name}.{TEXT}")
    for elements in shape.elements:
        items = value.get(elements.name) or ()
        if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
            raise ShapeError(f"{shape.type_name}.{elements.name} must be a list")
        of, where = elements.of, f"{shape.type_name}.{elements.name}"
        if isinstance(of, Shape):
            members[elements.name] = [to_json(of, item) for item in items]
        else:
            members[elements.name] = [scalar(of, item, where) for item in items]
    return members


def scalar(kind: Kind, value: Any, where: str) -> str | int | float | bool:
    """A checked scalar as JSON has it (a datetime as ISO 8601 text ending in ``Z``)."""
    if kind is Kind.STR:
        if isinstance(value, str):
            return value
    elif kind is Kind.BOOL:
        if isinstance(value, bool):
            return value
    elif kind is Kind.INT:
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
    elif kind is Kind.FLOAT:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ShapeError(f"{where} must be a finite number")
            return float(value)
    elif isinstance(value, datetime):
        return iso_utc(value)
    raise ShapeError(f"{where} must be {kind.value}, not {type(value).__name__}")


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, at most millisecond precision (as the JSON API writes its
    timestamps); a naive value is taken as UTC, as the database hands some back."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    text = value.replace(tzinfo=None).isoformat(timespec="seconds")
    milliseconds = value.microsecond // 1000
    return f"{text}.{milliseconds:03d}Z" if milliseconds else f"{text}Z"


# --------------------------------------------------------------------------- XML

# Characters XML 1.0 cannot carry at all, not even escaped (C0 controls but tab and line breaks,
# lone surrogates, U+FFFE/U+FFFF): a tag read from a file may hold them. They become U+FFFD; JSON
# escapes them instead.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_PLAIN_XML = re.compile('[^&<>"\t\n\r\x00-\x1f\ud800-\udfff\ufffe\uffff]*')
# Markup, and the whitespace an XML parser would normalise to a space in an attribute value.
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
)


def xml_text(value: str | int | float | bool) -> str:
    """A JSON-ready scalar as escaped XML text, for an attribute value or element content."""
    if isinstance(value, str):
        if _PLAIN_XML.fullmatch(value):
            return value
        return _NOT_XML.sub("\ufffd", value).translate(_ESCAPES)
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def to_xml(shape: Shape, members: Mapping[str, Any], tag: str, out: list[str]) -> None:
    """Append the element ``tag`` made from the checked ``members`` of ``to_json`` to ``out``:
    scalars as attributes, text as text, each list as repeated child elements in the shape's
    order. (Written directly: ElementTree would build a tree only to walk it again, at twice the
    cost for a page of 500 songs.)"""
    out.append(f"<{tag}")
    for attribute in shape.attributes:
        item = members.get(attribute.name)
        if item is not None:
            out.append(f' {attribute.name}="{xml_text(item)}"')
    if shape.text is None and not any(members[elements.name] for elements in shape.elements):
        out.append("/>")
        return
    out.append(">")
    if shape.text is not None:
        out.append(xml_text(members[TEXT]))
    for elements in shape.elements:
        of, name = elements.of, elements.name
        for item in members[name]:
            if isinstance(of, Shape):
                to_xml(of, item, name, out)
            else:
                out.append(f"<{name}>{xml_text(item)}</{name}>")
    out.append(f"</{tag}>")
