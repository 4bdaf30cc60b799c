"""A memory guard: refuse an input that would not fit, before the heavy stage starts.

The estimates are linear in the sizes known before each stage, with coefficients fitted to
the peaks measured by ``benchmarks/limits.py`` (see ``benchmarks/results/limits.md``) and
rounded up. They are the memory the stage adds on top of what is already resident, so
they are compared with the memory available now. When that is unknown, nothing is refused.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np

from ._errors import ResourceError

log = logging.getLogger(__name__)

GB = 1e9
# Coverage, gaps, summary and every output (GeoJSON layers, the map, the PNG): bytes per
# street segment and per station, on top of the loaded network.
COVERAGE_BYTES_PER_EDGE = 4_000
COVERAGE_BYTES_PER_STATION = 40_000
COVERAGE_BYTES_BASE = 300_000_000
# Siting: bytes per candidate-unit pair of the coverage sets (the sparse matrix, its
# reductions and the LP/MILP model), per candidate and per demand unit; the sampled
# pairs per candidate are raised by SITING_SAMPLE_MARGIN.
SITING_BYTES_PER_PAIR = 64
SITING_BYTES_PER_ITEM = 2_000
SITING_BYTES_BASE = 300_000_000
SITING_SAMPLE_MARGIN = 1.25

_MEMINFO = Path("/proc/meminfo")
_CGROUP = Path("/sys/fs/cgroup")


def available_memory() -> int | None:
    """Bytes of memory this process can still use, or ``None`` when unknown.

    Linux's ``MemAvailable`` (``/proc/meminfo``), lowered to what a cgroup (container)
    limit leaves; elsewhere ``os.sysconf`` free pages.
    """
    avail = None
    try:
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        avail = None
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = None
    left = _cgroup_left()
    if left is not None:
        avail = left if avail is None else min(avail, left)
    return avail if avail is None or avail > 0 else None


def _cgroup_left() -> int | None:
    """Bytes a cgroup v2 memory limit still allows (``None`` without a limit)."""
    try:
        limit = (_CGROUP / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(int(limit) - int((_CGROUP / "memory.current").read_text()), 0)
    except (OSError, ValueError):
        return None


def _size(nbytes: int) -> str:
    """Bytes for people.

    Examples
    --------
    >>> _size(4_400_000_000), _size(50_000_000)
    ('4.4 GB', '50 MB')
    """
    return f"{nbytes / GB:.1f} GB" if nbytes >= GB else f"{nbytes / 1e6:.0f} MB"


def coverage_bytes(edges: int, stations: int) -> int:
    """Estimated bytes the coverage stage and its outputs add to a loaded network.

    Examples
    --------
    >>> coverage_bytes(1_000_000, 2_500) / 1e9
    4.4
    >>> coverage_bytes(0, 0) / 1e9
    0.3
    """
    return (COVERAGE_BYTES_BASE + COVERAGE_BYTES_PER_EDGE * edges
            + COVERAGE_BYTES_PER_STATION * stations)


def siting_sizes(network, candidates, *, limit_m: float, resolution_m: float,
                 sample: int = 256, seed: int = 0) -> tuple[int, int]:
    """Estimated candidate-unit pairs of the coverage sets, and the number of demand units.

    The pairs per candidate are measured on a seeded sample of ``sample`` candidates (a
    bounded search each, milliseconds) and raised by a quarter, since street density varies
    across a city far more than any constant allows (25 m units within 500 m: about 170 per
    candidate in central Chengdu, 420 in the synthetic grid, 1,060 in central Helsinki).
    """
    from .demand import coverage_matrix, demand_units

    units = demand_units(network, resolution_m=resolution_m)
    k = len(candidates)
    if k == 0 or len(units) == 0:
        return 0, len(units)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(k, size=min(sample, k), replace=False))
    cover = coverage_matrix(network, units, candidates["edge_id"].to_numpy(np.int64)[pick],
                            candidates["offset_m"].to_numpy(float)[pick], limit_m=limit_m)
    per = SITING_SAMPLE_MARGIN * cover.nnz / len(pick)
    return math.ceil(per * k), len(units)


def siting_bytes(pairs: int, candidates: int, units: int) -> int:
    """Estimated bytes of siting (coverage sets, reductions, search, LP/MILP certificate).

    Examples
    --------
    >>> siting_bytes(100_000_000, 250_000, 400_000) / 1e9
    8.0
    """
    return (SITING_BYTES_BASE + SITING_BYTES_PER_PAIR * pairs
            + SITING_BYTES_PER_ITEM * (candidates + units))


def check_memory(stage: str, size: str, need: int, *, hint: str,
                 available: int | None = None) -> None:
    """Raise :class:`ResourceError` when ``need`` bytes exceed the memory available.

    Parameters
    ----------
    stage
        The stage about to run (``coverage``, ``siting``).
    size
        The input's size in words, e.g. ``"1,006,665 street segments and 2,500 stations"``.
    need
        Estimated bytes the stage needs.
    hint
        What to do instead.
    available
        Bytes available; read with :func:`available_memory` when not given.
    """
    avail = available_memory() if available is None else available
    if avail is None:
        log.debug("memory available unknown; %s of %s not checked", stage, size)
        return
    log.debug("%s of %s: estimated %.2f GB, %.2f GB available", stage, size, need / GB,
              avail / GB)
    if need > avail:
        msg = (f"{stage} of {size} needs about {_size(need)} of memory, but only "
               f"{_size(avail)} is available; {hint}, or use a machine with more memory")
        raise ResourceError(msg)


def check_coverage(edges: int, stations: int) -> None:
    """Refuse coverage (with its outputs) that would not fit in memory."""
    check_memory("coverage", f"{edges:,} street segments and {stations:,} stations",
                 coverage_bytes(edges, stations),
                 hint="clip the network with --area, split the station file")


def exact_sizes(network, candidates, *, limit_m: float, sample: int = 256,
                seed: int = 0) -> tuple[int, int]:
    """Estimated candidate-piece pairs and pieces of the exact siting model.

    A seeded sample of candidates gives their catchment intervals on the demand streets:
    the cuts each adds (interval ends inside an edge) and the street length each covers.
    Pieces are the demand edges plus every cut (none shared, so an upper estimate); a
    candidate's pairs are its covered length over the mean piece length, raised by
    :data:`SITING_SAMPLE_MARGIN`.
    """
    from ._route import catchment
    from .demand import demand_weights

    metres, _ = demand_weights(network)
    length = network.edges["length_m"].to_numpy(float)
    demand = (metres > 0) & (length > 0)
    k = len(candidates)
    n_edges = int(demand.sum())
    if k == 0 or n_edges == 0:
        return 0, n_edges
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(k, size=min(sample, k), replace=False))
    iv = catchment.on_edges(catchment.site_intervals(
        network, candidates["edge_id"].to_numpy(np.int64)[pick],
        candidates["offset_m"].to_numpy(float)[pick], limit_m=limit_m), demand)
    cuts = int((iv.start > 0).sum() + (iv.end < length[iv.edge]).sum())
    pieces = n_edges + math.ceil(cuts / len(pick) * k)
    mean_piece = float(length[demand].sum()) / pieces
    per = SITING_SAMPLE_MARGIN * float((iv.end - iv.start).sum()) / len(pick) / mean_piece
    return math.ceil(per * k), pieces


def siting_model(network, candidates, *, limit_m: float, resolution_m: float,
                 available: int | None = None) -> str:
    """The siting model that fits in memory: "exact", else "units" (said in a warning).

    Raises :class:`ResourceError` when neither fits.
    """
    k = len(candidates)
    pairs, pieces = exact_sizes(network, candidates, limit_m=limit_m)
    avail = available_memory() if available is None else available
    need = siting_bytes(pairs, k, pieces)
    if avail is None or need <= avail:
        return "exact"
    check_siting(network, candidates, limit_m=limit_m, resolution_m=resolution_m,
                 available=avail)
    log.warning("the exact siting model of %s candidates (about %s pieces, %s pairs) needs "
                "about %s of memory, %s available; using street units of %g m instead "
                "(covered when their midpoint is; the shares reported are still the "
                "coverage engine's exact ones)", f"{k:,}", f"{pieces:,}", f"{pairs:,}",
                _size(need), _size(avail), resolution_m)
    return "units"


def check_siting(network, candidates, *, limit_m: float, resolution_m: float,
                 available: int | None = None) -> None:
    """Refuse siting with midpoint units that would not fit in memory."""
    pairs, units = siting_sizes(network, candidates, limit_m=limit_m, resolution_m=resolution_m)
    k = len(candidates)
    check_memory("siting", f"{k:,} candidates and {units:,} demand units "
                 f"(about {pairs:,} candidate-unit pairs)", siting_bytes(pairs, k, units),
                 hint="clip the network with --area, use fewer candidates "
                      "(a larger --candidate-spacing-m) or a larger --resolution-m",
                 available=available)
