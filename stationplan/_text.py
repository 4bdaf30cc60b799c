"""Text from files and for people: cells and OSM attributes as text, bidi isolation."""

from __future__ import annotations

import math
import re
from typing import Any

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


def cell_text(value: Any) -> str:
    """A cell read from a table as clean text: stripped, integral floats without ``.0``.

    Spreadsheets hand phone numbers and ids over as floats (``13800138000.0``).
    Missing values (see :func:`plain_text`) are empty.

    >>> cell_text(" 站 "), cell_text(13800138000.0), cell_text(1.5), cell_text(3)
    ('站', '13800138000', '1.5', '3')
    >>> cell_text(None), cell_text(float("nan")), cell_text(float("inf"))
    ('', '', 'inf')
    """
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # numpy's float64 too
    return plain_text(value).strip()


def plain_text(value: Any) -> str:
    """The text of a value as it is, for writing: missing values empty, nothing stripped.

    Writers keep leading white space so that, for example, a CSV writer still sees a
    tab that starts a formula. pandas marks empty cells with NaN, ``pd.NA`` or ``NaT``.

    >>> plain_text(" a\\t"), plain_text(None), plain_text(float("nan")), plain_text(2.0)
    (' a\\t', '', '', '2.0')
    """
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    import numpy as np  # deferred: this module is imported at start-up
    import pandas as pd

    if np.ndim(value) == 0 and pd.isna(value):
        return ""
    return str(value)


def osm_text(value: Any) -> str | None:
    """The display text of an OSM attribute, which may be a list after simplification.

    Unlike :func:`cell_text` and :func:`plain_text`, a missing value stays missing
    (``None``); text is kept as it is.

    >>> osm_text(["A Rd", "B St"]), osm_text(" x "), osm_text(float("nan")), osm_text(None)
    ('A Rd;B St', ' x ', None, None)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def distinct_texts(values: Any, clean: Any = None) -> tuple[Any, Any]:
    """The distinct texts of a column and each cell's number among them.

    The same as ``np.unique([clean(x) for x in values], return_inverse=True)`` (object
    arrays), with ``clean`` run once per distinct value rather than once per cell: a
    column of a million street names holds a few thousand. Missing cells are cleaned as
    ``None``.

    Parameters
    ----------
    values
        A pandas Series, an array or a list.
    clean
        Text of one cell; default :func:`cell_text`.

    Returns
    -------
    texts
        The distinct texts, sorted (an object array).
    number
        Per cell, the position of its text in ``texts`` (int64).

    Examples
    --------
    >>> texts, number = distinct_texts(["b ", None, "a", "b", 3.0])
    >>> texts.tolist(), number.tolist()
    (['', '3', 'a', 'b'], [3, 0, 2, 3, 1])
    """
    import numpy as np  # deferred: this module is imported at start-up
    import pandas as pd

    clean = cell_text if clean is None else clean
    if not hasattr(values, "dtype"):
        values = pd.Series(list(values), dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = list(uniques)
    if not all(isinstance(u, str) for u in uniques):
        # factorize holds 1, 1.0 and True as one value, which cell_text tells apart
        cells = np.array([clean(x) for x in values], dtype=object)
        texts, number = np.unique(cells, return_inverse=True)
        return texts, number.ravel().astype(np.int64)
    missing = bool((codes < 0).any())
    cleaned = np.array([clean(u) for u in uniques] + ([clean(None)] if missing else []),
                       dtype=object)
    texts, of_unique = np.unique(cleaned, return_inverse=True)
    codes = np.where(codes < 0, len(uniques), codes)
    return texts, of_unique.ravel().astype(np.int64)[codes]
