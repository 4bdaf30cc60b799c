"""Downloads through OSMnx (place, bounding box, point, polygon), with two caches.

OSMnx keeps the raw Overpass/Nominatim answers in ``CACHE/osmnx``; the street network
built from them is pickled in ``CACHE/networks`` under a hash of everything it depends on
(query, mode filter, margin, endpoints, library versions), so a second run neither
downloads nor rebuilds. The network is built from the Overpass JSON by the same code as
an OSM file (:mod:`stationplan._read.osm`), so a file and a download of one area agree.

OSMnx is configured through its global ``settings`` module; every call here sets what
it needs and puts the settings back afterwards (not thread-safe, like OSMnx itself).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely

from .._errors import InputError, MissingDataError, NetworkUnavailableError
from .._streets import StreetNetwork, TravelMode, network_from_ways
from ..area import buffer_lonlat, read_area
from .cache import cache_path, read_cached, write_cached
from .osm import ways_from_overpass
from .osmfilter import way_filter

log = logging.getLogger(__name__)

DEFAULT_OVERPASS_URL = "https://overpass-api.de/api"
DEFAULT_NOMINATIM_URL = "https://nominatim.openstreetmap.org/"
_PREFIXES = ("place", "bbox", "point", "polygon")
_PROBE_TIMEOUT_S = 10.0
# Offline, OSMnx may still answer from its cache; any request it would send goes to this
# closed local port and fails at once instead of waiting for timeouts.
_NOWHERE = "http://127.0.0.1:9"
_SUGGEST_FILE = (
    "work offline with a local file instead: an .osm.pbf extract (e.g. from "
    "download.geofabrik.de or download.openstreetmap.fr) with --area, or a centerline file"
)


@dataclass(frozen=True)
class Endpoints:
    """Where downloads go and where they are cached."""

    cache_dir: Path
    overpass_url: str = DEFAULT_OVERPASS_URL
    nominatim_url: str = DEFAULT_NOMINATIM_URL

    @classmethod
    def make(
        cls, cache_dir: str | Path | None, overpass_url: str | None, nominatim_url: str | None
    ) -> Endpoints:
        """Fill in the defaults: the user cache directory and OSMnx's public servers."""
        if cache_dir is None:
            import platformdirs

            cache_dir = platformdirs.user_cache_path("stationplan")
        return cls(Path(cache_dir), overpass_url or DEFAULT_OVERPASS_URL,
                   nominatim_url or DEFAULT_NOMINATIM_URL)


@dataclass(frozen=True)
class OsmQuery:
    """An area to download from OpenStreetMap through OSMnx.

    Build one with :meth:`place`, :meth:`bbox`, :meth:`point` or :meth:`polygon`, or
    parse its text form. The query area is also the default planning area.

    Parameters
    ----------
    kind
        ``"place"``, ``"bbox"``, ``"point"`` or ``"polygon"``.
    value
        The place name; (west, south, east, north); (lon, lat, dist_m); or the file.

    Examples
    --------
    >>> OsmQuery.parse("bbox:114.65,38.33,114.70,38.36").value
    (114.65, 38.33, 114.7, 38.36)
    >>> OsmQuery.parse("point:114.68,38.34,800").label()
    'point 114.68,38.34 ± 800 m'
    >>> OsmQuery.parse("roads.osm.pbf") is None
    True
    """

    kind: str
    value: tuple[Any, ...]

    @classmethod
    def place(cls, name: str) -> OsmQuery:
        """A place name that Nominatim resolves to a polygon, e.g. ``"新乐市, 石家庄市"``."""
        if not name.strip():
            msg = "the place name is empty"
            raise InputError(msg)
        return cls("place", (name.strip(),))

    @classmethod
    def bbox(cls, west: float, south: float, east: float, north: float) -> OsmQuery:
        """A lon/lat bounding box (WGS-84 degrees)."""
        w, s, e, n = (float(v) for v in (west, south, east, north))
        _check_lonlat(w, s)
        _check_lonlat(e, n)
        if not (w < e and s < n):
            msg = (f"bbox {w},{s},{e},{n}: give west,south,east,north "
                   "with west < east and south < north")
            raise InputError(msg)
        return cls("bbox", (w, s, e, n))

    @classmethod
    def point(cls, lon: float, lat: float, dist_m: float) -> OsmQuery:
        """A square of ``dist_m`` metres each way around a lon/lat point (OSMnx's bbox)."""
        lon, lat, dist_m = float(lon), float(lat), float(dist_m)
        _check_lonlat(lon, lat)
        if not dist_m > 0:
            msg = f"point query: the distance must be positive, got {dist_m}"
            raise InputError(msg)
        return cls("point", (lon, lat, dist_m))

    @classmethod
    def polygon(cls, path: str | Path) -> OsmQuery:
        """A polygon file in any CRS."""
        return cls("polygon", (str(path),))

    @classmethod
    def parse(cls, text: Any) -> OsmQuery | None:
        """Parse ``place:NAME``, ``bbox:W,S,E,N``, ``point:LON,LAT,DIST_M`` or
        ``polygon:FILE``; ``None`` for anything else (a file name)."""
        if not isinstance(text, str) or ":" not in text:
            return None
        kind, _, rest = text.partition(":")
        kind = kind.strip().lower()
        if kind not in _PREFIXES:
            return None
        if kind == "place":
            return cls.place(rest)
        if kind == "polygon":
            return cls.polygon(rest.strip())
        parts = [p for p in rest.replace("，", ",").split(",") if p.strip()]
        want = 4 if kind == "bbox" else 3
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            numbers = []
        if len(numbers) != want:
            form = "bbox:WEST,SOUTH,EAST,NORTH" if kind == "bbox" else "point:LON,LAT,DIST_M"
            msg = f"cannot read {text!r}; write {form} (degrees, metres)"
            raise InputError(msg)
        return cls.bbox(*numbers) if kind == "bbox" else cls.point(*numbers)

    def label(self) -> str:
        """Short text for logs and reports."""
        if self.kind == "bbox":
            return "bbox " + ",".join(f"{v:g}" for v in self.value)
        if self.kind == "point":
            lon, lat, dist = self.value
            return f"point {lon:g},{lat:g} ± {dist:g} m"
        return f"{self.kind} {self.value[0]}"

    def _key(self) -> list[Any]:
        if self.kind == "polygon":
            data = Path(self.value[0]).read_bytes() if Path(self.value[0]).exists() else b""
            return [self.kind, hashlib.sha256(data).hexdigest()]
        return [self.kind, *self.value]


def _check_lonlat(lon: float, lat: float) -> None:
    if abs(lat) > 90 and abs(lon) <= 90:
        msg = f"latitude {lat} is out of range; are lon and lat swapped? (give lon first)"
        raise InputError(msg)
    if abs(lon) > 180 or abs(lat) > 90:
        msg = f"({lon}, {lat}) is not a WGS-84 lon/lat position"
        raise InputError(msg)


def load_online(
    query: OsmQuery, travel: TravelMode, *, margin_m: float, endpoints: Endpoints
) -> tuple[StreetNetwork, shapely.Geometry]:
    """Download (or take from the cache) the streets of ``query`` plus ``margin_m``.

    Returns
    -------
    network
        Built with the file reader's rules, clipped to the query area plus the margin.
    area
        The query area in lon/lat: the default planning area.
    """
    path = cache_path(endpoints.cache_dir, {
        "query": query._key(),
        "mode": [travel.name, travel.overpass_filter, travel.bidirectional],
        "margin_m": margin_m,
        "servers": [endpoints.overpass_url, endpoints.nominatim_url],
    })
    cached = read_cached(path)
    if cached is not None:
        log.info("network cache hit for %s (mode %s): %s; no download, no rebuild",
                 query.label(), travel.name, path)
        return cached
    with _osmnx_session(endpoints, nominatim=query.kind == "place", what=query.label()):
        from osmnx import _overpass

        area = _query_area(query, endpoints)
        download = buffer_lonlat(area, margin_m)
        responses = list(_overpass._download_overpass_network(
            download, travel.osmnx_network_type, travel.overpass_filter))
    ways, coords, stats = ways_from_overpass(
        responses, way_filter(travel.overpass_filter), clip=download, source=query.label())
    net = network_from_ways(ways, coords, travel, source=f"OpenStreetMap {query.label()}",
                             stats=stats)
    write_cached(path, (net, area))
    log.info("built the network for %s and cached it in %s", query.label(), path)
    return net, area


def geocode(place: str, endpoints: Endpoints) -> shapely.Geometry:
    """Geocode a place name to its lon/lat (Multi)Polygon through OSMnx (cached)."""
    with _osmnx_session(endpoints, nominatim=True, overpass=False, what=f"place {place}"):
        return _geocode(place)


def _query_area(query: OsmQuery, endpoints: Endpoints) -> shapely.Geometry:
    if query.kind == "place":
        return _geocode(query.value[0])
    if query.kind == "bbox":
        return shapely.box(*query.value)
    if query.kind == "point":
        from osmnx import utils_geo

        lon, lat, dist = query.value
        return shapely.box(*utils_geo.bbox_from_point((lat, lon), dist))
    return read_area(query.value[0])


def _geocode(place: str) -> shapely.Geometry:
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    try:
        found = ox.geocode_to_gdf(place)
    except InsufficientResponseError as exc:
        msg = f"place {place!r} was not found by the geocoder; check the spelling or give --area"
        raise MissingDataError(msg) from exc
    except TypeError as exc:
        msg = f"place {place!r} has no boundary polygon in OpenStreetMap; give --area or a bbox"
        raise InputError(msg) from exc
    geom = shapely.make_valid(found.geometry.iloc[0])
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        msg = f"place {place!r} has no boundary polygon in OpenStreetMap; give --area or a bbox"
        raise InputError(msg)
    return geom


@contextlib.contextmanager
def _osmnx_session(
    endpoints: Endpoints, *, nominatim: bool, what: str, overpass: bool = True
) -> Iterator[None]:
    """Set OSMnx's settings for one download and restore them (and its DNS patch) after."""
    import osmnx as ox
    import requests  # (here: a run on local files does not import it)
    from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError

    urls = [u for u, use in ((endpoints.overpass_url, overpass),
                             (endpoints.nominatim_url, nominatim)) if use]
    down = [u for u in urls if not _reachable(u)]
    values: dict[str, Any] = {
        "cache_folder": str(endpoints.cache_dir / "osmnx"),
        "use_cache": True,
        "cache_only_mode": False,
        "overpass_url": endpoints.overpass_url,
        "nominatim_url": endpoints.nominatim_url,
    }
    if down:
        log.info("cannot reach %s; trying OSMnx's cache only", ", ".join(down))
        values |= {"overpass_rate_limit": False, "doh_url_template": None,
                   "requests_kwargs": {"proxies": {"http": _NOWHERE, "https": _NOWHERE}}}
    saved = {k: getattr(ox.settings, k) for k in values}
    getaddrinfo = socket.getaddrinfo  # OSMnx patches it to pin the server's address
    try:
        for k, v in values.items():
            setattr(ox.settings, k, v)
        yield
    except (requests.ConnectionError, requests.Timeout) as exc:
        where = ", ".join(down) or ", ".join(urls)
        msg = (f"cannot download {what}: {where} is unreachable and nothing is cached in "
               f"{endpoints.cache_dir}; {_SUGGEST_FILE}")
        raise NetworkUnavailableError(msg) from exc
    except (ResponseStatusCodeError, InsufficientResponseError) as exc:
        msg = f"cannot download {what}: the server answered {' '.join(str(exc).split())[:200]}"
        raise NetworkUnavailableError(msg) from exc
    finally:
        for k, v in saved.items():
            setattr(ox.settings, k, v)
        socket.getaddrinfo = getaddrinfo


def _reachable(url: str) -> bool:
    """Whether an HTTP server answers at ``url`` at all (any status counts)."""
    import requests

    try:
        requests.head(url, timeout=_PROBE_TIMEOUT_S, allow_redirects=False)
    except requests.RequestException:
        return False
    return True
