"""Input paths: the one check that a path a user gave names a file.

A leaf module (no heavy imports), so the command line can refuse a missing input before
it loads anything else.
"""

from __future__ import annotations

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
