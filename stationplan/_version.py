"""The installed version, read once from the package metadata (pyproject.toml is its source)."""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("stationplan")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
