"""Input paths: the one check that a path a user gave names a file.

A leaf module (no heavy imports), so the command line can refuse a missing input before
it loads anything else.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from ._errors import MissingDataError


def input_file(path: str | os.PathLike[str], what: str, *, hint: str = "") -> Path:
    """``path`` as a :class:`~pathlib.Path` when it names a file, else a
    :class:`~stationplan.MissingDataError` that says what is there instead.

    Parameters
    ----------
    path
        The path a user gave.
    what
        What the file is for ("station file", "--exclude file"), for the message.
    hint
        Added to the message when nothing is there (e.g. how to download instead).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> input_file("no/such.csv", "station file")
    Traceback (most recent call last):
    ...
    stationplan._errors.MissingDataError: no/such.csv: station file not found
    >>> import tempfile
    >>> input_file(tempfile.mkdtemp(), "station file")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.MissingDataError: ...: a folder, not a station file; give ... (it is empty)
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p.name for p in path.iterdir() if p.is_file())
        held = (f"it holds {', '.join(files[:5])}{' ...' if len(files) > 5 else ''}" if files
                else "it is empty")
        msg = f"{path}: a folder, not a {what}; give the path of the file itself ({held})"
        raise MissingDataError(msg)
    if not path.exists():
        msg = f"{path}: {what} not found{hint}"
        raise MissingDataError(msg)
    return path


def word_hint(value: object, words: tuple[str, ...]) -> str:
    """``"; did you mean WORD?"`` when ``value`` looks like a misspelt one of ``words``, else "".

    An option that takes a word or a file ("auto", "none" or an area file) reads a typo as a
    file name; the message should say which word was meant.

    Examples
    --------
    >>> word_hint("atuo", ("auto", "none"))
    '; did you mean auto?'
    >>> word_hint("core.geojson", ("auto", "none"))
    ''
    """
    close = difflib.get_close_matches(str(value).strip().casefold(), words, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def shown_source(source: object) -> str:
    """A data source as written into outputs: a file's name, never the machine's folders.

    Outputs travel (a report is mailed, a folder is zipped): an absolute path tells where
    the planner's files were and nothing the reader needs. Labels that are not paths
    ("OpenStreetMap bbox:…", "OSMnx graph") stay as they are.

    Examples
    --------
    >>> shown_source("/tmp/work/guixi.osm.bz2"), shown_source("C:\\\\data\\\\city.gpkg")
    ('guixi.osm.bz2', 'city.gpkg')
    >>> shown_source("OpenStreetMap place:贵溪市"), shown_source(None)
    ('OpenStreetMap place:贵溪市', '')
    """
    if source is None:
        return ""
    text = str(source)
    if text.startswith(("OpenStreetMap ", "OSMnx ")) or not any(s in text for s in "/\\"):
        return text
    return text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
