"""Text shown to people: bidirectional isolation of names read from files."""

from __future__ import annotations

import re

# Bidirectional formatting characters (ALM, LRM, RLM, the embeddings and overrides, and
# the isolates). A name holding an unclosed right-to-left override would reverse the text
# after it ("480 m" shown as "m 084").
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_OPEN_ISOLATES = "\u2066\u2067\u2068"
_PDI = "\u2069"


def isolate_bidi(text: str) -> str:
    """``text`` unchanged, or wrapped in FSI … PDI when it holds bidi controls.

    Inside, a PDI with no isolate of its own to close is dropped (it would close the
    wrapper early), and isolates the text opens but never closes are closed, so the
    wrapper's PDI always ends the wrapper.

    >>> isolate_bidi("S1"), isolate_bidi("a\\u202eb")
    ('S1', '\\u2068a\\u202eb\\u2069')
    >>> isolate_bidi("x\\u2069\\u202ey"), isolate_bidi("x\\u2067y")
    ('\\u2068x\\u202ey\\u2069', '\\u2068x\\u2067y\\u2069\\u2069')
    """
    if not _BIDI.search(text):
        return text
    out, depth = [], 0
    for ch in text:
        if ch in _OPEN_ISOLATES:
            depth += 1
        elif ch == _PDI:
            if depth == 0:
                continue
            depth -= 1
        out.append(ch)
    return "\u2068" + "".join(out) + _PDI * depth + _PDI
