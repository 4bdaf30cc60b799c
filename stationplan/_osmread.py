"""Read street ways from OSM XML / PBF files with pyosmium, tolerating clipped extracts."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import osmium

from ._errors import InputError, MissingDataError

log = logging.getLogger(__name__)

_KEEP_TAGS = ("highway", "name", "oneway", "junction", "ref", "service", "access")


def read_osm_ways(
    path: Path, keep: Callable[[Mapping[str, str]], bool]
) -> tuple[list[tuple[int, dict[str, str], list[int]]], dict[int, tuple[float, float]], dict[str, Any]]:
    """Read the ways that ``keep`` accepts, with the lon/lat of their nodes.

    Extracts cut at a bounding box contain ways whose nodes lie outside the file. Those
    node references are dropped; a way is split where nodes are missing (joining across
    the hole would invent a straight street), and fragments of fewer than two nodes go.

    Parameters
    ----------
    path
        OSM XML (optionally .bz2/.gz) or PBF file.
    keep
        Predicate on a way's tags.

    Returns
    -------
    ways
        ``(way_id, tags, node_ids)`` for each kept way or way fragment.
    coords
        ``node_id -> (lon, lat)`` for every node used.
    stats
        Counts of what was read and dropped.
    """
    ways: list[tuple[int, dict[str, str], list[int]]] = []
    coords: dict[int, tuple[float, float]] = {}
    missing_refs = 0
    split_ways = 0
    dropped_fragments = 0
    n_highway = 0
    try:
        processor = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        processor = processor.with_locations()
        for obj in processor:
            if not obj.is_way() or "highway" not in obj.tags:
                continue
            n_highway += 1
            tags = {k: obj.tags[k] for k in _KEEP_TAGS if k in obj.tags}
            for key in ("area", "foot", "bicycle", "sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right", "motor_vehicle", "motorcar"):
                if key in obj.tags:
                    tags[key] = obj.tags[key]
            if not keep(tags):
                continue
            runs: list[list[int]] = [[]]
            for ref in obj.nodes:
                loc = ref.location
                if not loc.valid():
                    missing_refs += 1
                    if runs[-1]:
                        runs.append([])
                    continue
                if runs[-1] and runs[-1][-1] == ref.ref:
                    continue  # repeated node
                coords[ref.ref] = (loc.lon, loc.lat)
                runs[-1].append(ref.ref)
            runs_kept = [r for r in runs if len(r) >= 2]
            dropped_fragments += sum(1 for r in runs if len(r) == 1)
            if len(runs_kept) > 1:
                split_ways += 1
            ways.extend((obj.id, tags, r) for r in runs_kept)
    except RuntimeError as exc:
        msg = f"{path}: cannot read as an OSM file ({exc}); is it a valid .osm/.osm.pbf?"
        raise InputError(msg) from exc
    if n_highway == 0:
        msg = f"{path}: the file contains no highway ways; is it the right area?"
        raise MissingDataError(msg)
    if missing_refs:
        log.warning(
            "%s: %d node references point outside the file (clipped extract); dropped them, "
            "split %d ways at the holes and dropped %d one-node fragments",
            path.name, missing_refs, split_ways, dropped_fragments,
        )
    stats = {
        "highway_ways_in_file": n_highway,
        "ways_kept": len({w[0] for w in ways}),
        "missing_node_refs_dropped": missing_refs,
        "ways_split_at_missing_nodes": split_ways,
        "single_node_fragments_dropped": dropped_fragments,
    }
    return ways, coords, stats
