"""OSMnx's way filters, applied to tag dictionaries read from files.

OSMnx states its ``network_type`` rules as Overpass QL filters. We parse those same
strings (from the installed OSMnx) so a file and a download of one area keep the same
streets, and stay in step when OSMnx changes its rules. OSMnx is imported on first use: it
pulls in scikit-learn when that is installed, a second of every run. So the filters of the
OSMnx releases in :data:`OSMNX_FILTERS` are kept here (the tests compare them with OSMnx
itself) and used while OSMnx is not imported, that is while its settings are its own.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import cache
from typing import Protocol

_CLAUSE = re.compile(r'\["(?P<key>[^"]+)"(?:(?P<op>!?~)"(?P<value>[^"]*)")?\]')



class Tags(Protocol):
    """What a way filter reads: a ``dict`` of tags, or pyosmium's ``TagList``."""

    def __contains__(self, key: str, /) -> bool: ...

    def __getitem__(self, key: str, /) -> str: ...

    def get(self, key: str, /) -> str | None: ...


TagTest = Callable[[Tags], bool]


def parse_overpass_filter(query: str) -> list[tuple[str, str | None, re.Pattern[str] | None]]:
    """Parse an Overpass QL tag filter into ``(key, op, regex)`` clauses.

    Parameters
    ----------
    query
        A filter such as ``'["highway"]["area"!~"yes"]'``.

    Returns
    -------
    list of (key, op, pattern)
        ``op`` is ``None`` (key must exist), ``"~"`` or ``"!~"``.

    Examples
    --------
    >>> [(k, op) for k, op, _ in parse_overpass_filter('["highway"]["foot"!~"no"]')]
    [('highway', None), ('foot', '!~')]
    >>> parse_overpass_filter("")
    []
    """
    clauses = []
    consumed = 0
    for match in _CLAUSE.finditer(query):
        if match.start() != consumed:
            msg = f"cannot parse Overpass filter {query!r} at position {consumed}"
            raise ValueError(msg)
        consumed = match.end()
        op = match.group("op")
        pattern = re.compile(match.group("value")) if op else None
        clauses.append((match.group("key"), op, pattern))
    if consumed != len(query.strip()):
        msg = f"cannot parse Overpass filter {query!r} at position {consumed}"
        raise ValueError(msg)
    return clauses


def tag_filter(query: str) -> TagTest:
    """Return a predicate on a tag mapping that follows Overpass semantics.

    Overpass regexes are unanchored searches; ``!~`` also passes when the key is absent.

    Examples
    --------
    >>> keep = tag_filter('["highway"]["highway"!~"motor"]')
    >>> keep({"highway": "residential"}), keep({"highway": "motorway_link"}), keep({})
    (True, False, False)
    """
    clauses = parse_overpass_filter(query)

    def keep(tags: Tags) -> bool:
        for key, op, pattern in clauses:
            value = tags.get(key)
            if op is None:
                if value is None:
                    return False
            elif op == "~":
                if value is None or not pattern.search(value):  # type: ignore[union-attr]
                    return False
            elif value is not None and pattern.search(value):  # type: ignore[union-attr]
                return False
        return True

    return keep


def overpass_filter(network_type: str, extra: str = "") -> str:
    """OSMnx's Overpass filter for ``network_type`` with ``extra`` clauses appended.

    Examples
    --------
    >>> overpass_filter("bike", '["highway"!~"path"]').endswith('["highway"!~"path"]')
    True
    """
    return _osmnx_network_filter(network_type) + extra


#: OSMnx's Overpass way filters with its default settings, by OSMnx release and
#: ``network_type``: ``osmnx._overpass._get_network_filter(network_type)`` of that release.
OSMNX_FILTERS: dict[str, dict[str, str]] = {
    "2.1.1": {
        "walk": (
            '["highway"]["area"!~"yes"]["access"!~"private"]["highway"!~"abandoned|'
            'bus_guideway|construction|cycleway|motor|no|planned|platform|proposed|'
            'raceway|razed|rest_area|services"]["foot"!~"no"]["service"!~"private"]'
            '["sidewalk"!~"separate"]["sidewalk:both"!~"separate"]'
            '["sidewalk:left"!~"separate"]["sidewalk:right"!~"separate"]'),
        "bike": (
            '["highway"]["area"!~"yes"]["access"!~"private"]["highway"!~"abandoned|'
            'bus_guideway|construction|corridor|elevator|escalator|footway|motor|no|'
            'planned|platform|proposed|raceway|razed|rest_area|services|steps"]'
            '["bicycle"!~"no"]["service"!~"private"]'),
        "drive": (
            '["highway"]["area"!~"yes"]["access"!~"private"]["highway"!~"abandoned|'
            'bridleway|bus_guideway|construction|corridor|cycleway|elevator|'
            'escalator|footway|no|path|pedestrian|planned|platform|proposed|raceway|'
            'razed|rest_area|service|services|steps|track"]["motor_vehicle"!~"no"]'
            '["motorcar"!~"no"]["service"!~"alley|driveway|emergency_access|parking|'
            'parking_aisle|private"]'),
        "drive_service": (
            '["highway"]["area"!~"yes"]["access"!~"private"]["highway"!~"abandoned|'
            'bridleway|bus_guideway|construction|corridor|cycleway|elevator|'
            'escalator|footway|no|path|pedestrian|planned|platform|proposed|raceway|'
            'razed|rest_area|services|steps|track"]["motor_vehicle"!~"no"]'
            '["motorcar"!~"no"]["service"!~"emergency_access|parking|parking_aisle|'
            'private"]'),
        "all": (
            '["highway"]["area"!~"yes"]["highway"!~"abandoned|construction|no|'
            'planned|platform|proposed|raceway|razed|rest_area|services"]'),
        "all_public": (
            '["highway"]["area"!~"yes"]["access"!~"private"]["highway"!~"abandoned|'
            'construction|no|planned|platform|proposed|raceway|razed|rest_area|'
            'services"]["service"!~"private"]'),
    },
}


@cache
def _osmnx_network_filter(network_type: str) -> str:
    """OSMnx's Overpass filter for ``network_type``: from :data:`OSMNX_FILTERS` for the
    installed release while OSMnx is not imported (its settings are then its defaults),
    else read from OSMnx; once per type."""
    if "osmnx" not in sys.modules:
        stored = OSMNX_FILTERS.get(_osmnx_release(), {}).get(network_type)
        if stored is not None:
            return stored
    from osmnx import _overpass

    return _overpass._get_network_filter(network_type)


def _osmnx_release() -> str:
    """The installed OSMnx's version, read from its package metadata (no import); "" when
    that is missing."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("osmnx")
    except PackageNotFoundError:
        return ""


@cache
def way_filter(query: str) -> TagTest:
    """Return the (cached) predicate of an Overpass filter string."""
    return tag_filter(query)


@cache
def osmnx_way_filter(network_type: str) -> TagTest:
    """Return OSMnx's own way filter for ``network_type`` ("walk", "bike", "drive", ...)."""
    return way_filter(overpass_filter(network_type))
