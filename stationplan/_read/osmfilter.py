"""OSMnx's way filters, applied to tag dictionaries read from files.

OSMnx states its ``network_type`` rules as Overpass QL filters. We parse those same
strings (from the installed OSMnx) so a file and a download of one area keep the same
streets, and stay in step when OSMnx changes its rules. OSMnx is imported on first use: it
pulls in scikit-learn and matplotlib, half of a start-up otherwise.
"""

from __future__ import annotations

import re
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


@cache
def _osmnx_network_filter(network_type: str) -> str:
    """OSMnx's Overpass filter for ``network_type``, read from OSMnx once per type."""
    from osmnx import _overpass

    return _overpass._get_network_filter(network_type)


@cache
def way_filter(query: str) -> TagTest:
    """Return the (cached) predicate of an Overpass filter string."""
    return tag_filter(query)


@cache
def osmnx_way_filter(network_type: str) -> TagTest:
    """Return OSMnx's own way filter for ``network_type`` ("walk", "bike", "drive", ...)."""
    return way_filter(overpass_filter(network_type))
