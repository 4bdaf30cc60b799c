"""Routing: the street graphs, the searches on them, and their compiled kernels.

Every stage that needs a network distance (coverage, demand, siting, check, catchments)
goes through the names re-exported here; nothing else builds a graph or runs Dijkstra.

- :mod:`.graph`: the routing arrays of a network (built once, kept on the network), the
  reversed street graph, and graphs with site nodes (travel, symmetric or undirected).
- :mod:`.search`: nearest-site search, the nearest node of a set (cross streets),
  bounded searches from sites, batched distances, cutting edges where the distance
  along them crosses a limit, and the farthest point of a piece.
- :func:`join_pieces`: pieces joined where their ends meet (gap runs and gap areas).
- :mod:`.kernels`: the numba loops behind them.
"""

from .graph import Routing, build_routing, csr_min, routing, site_graph, site_seeds
from .kernels import join_pieces
from .search import (
    distance_blocks,
    edge_pieces,
    nearest_distances,
    nearest_sites,
    nearest_targets,
    pair_distances,
    piece_farthest,
    reach_matrix,
    reached_points,
)

__all__ = [
    "Routing",
    "build_routing",
    "csr_min",
    "distance_blocks",
    "edge_pieces",
    "join_pieces",
    "nearest_distances",
    "nearest_sites",
    "nearest_targets",
    "pair_distances",
    "piece_farthest",
    "reach_matrix",
    "reached_points",
    "routing",
    "site_graph",
    "site_seeds",
]
