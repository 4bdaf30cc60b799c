"""Exception classes: few, built on built-in exceptions, each with a distinct CLI exit code."""

from __future__ import annotations


class StationplanError(Exception):
    """Base class of every error stationplan raises on purpose.

    ``zh`` is the message in Chinese when the raiser has it (a message built from a finding
    whose words are in the zh/en table); the command line shows it under ``--lang zh``.
    """

    exit_code = 1

    def __init__(self, *args: object, zh: str | None = None) -> None:
        super().__init__(*args)
        self.zh = zh


class InputError(StationplanError, ValueError):
    """An input file or argument is malformed; the message names it and says what to do."""

    exit_code = 2


class MissingDataError(StationplanError, FileNotFoundError):
    """A file or the data it should contain (streets, stations) is missing."""

    exit_code = 3


class NetworkUnavailableError(StationplanError, ConnectionError):
    """A download was needed but the server could not be reached and nothing is cached."""

    exit_code = 4


class ResourceError(StationplanError, MemoryError):
    """The input is too large for the memory available; refused before the heavy stage."""

    exit_code = 5


class OutputError(StationplanError, OSError):
    """An output cannot be written: the path is a file or an input, the folder is read-only
    or busy with another run, or the disk is full. Raised before the computation where it
    can be foreseen; an interrupted write leaves the earlier outputs as they were."""

    exit_code = 6
