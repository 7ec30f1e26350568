"""Text that people submit, made safe to show: the rule every stored text follows.

Bidirectional formatting characters (embeddings, overrides and isolates U+202A-202E and
U+2066-2069, the marks U+200E, U+200F and U+061C) change how the text *around* them is displayed:
``invoice\u202efdp.mp3`` shows as ``invoice3pm.pdf``. None of them is needed to write any language
(the Unicode bidirectional algorithm orders right-to-left scripts by itself), so they are dropped
from every text field and file name a user submits, as from the tags read from audio files.
Passwords and tokens are not text to show and are kept exactly as sent.
"""

from __future__ import annotations

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")

_DROP_BIDI_CONTROLS = dict.fromkeys(map(ord, BIDI_CONTROLS))


def without_bidi_controls(text: str) -> str:
    """``text`` with every bidirectional formatting character removed."""
    return text.translate(_DROP_BIDI_CONTROLS)
