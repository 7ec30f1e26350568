"""Text taken from a request, made safe to write into a log line."""

from __future__ import annotations

_QUOTED = frozenset('"\\')


def printable(text: str) -> str:
    """``text`` with control and other non-printable characters (line breaks, terminal escape
    sequences, bidi overrides), backslashes and double quotes escaped as ``\\xNN``, ``\\uNNNN``
    or ``\\UNNNNNNNN``: a client cannot forge log lines or disguise the one it gets."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return text
    return "".join(ch if ch.isprintable() and ch not in _QUOTED else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
