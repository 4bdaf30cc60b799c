# ruff: noqa: E501, RUF007 - the references are kept verbatim
"""The compiled fast paths (stationplan._solve.kernels, stationplan._route) give exactly the results of the plain
numpy / scipy / Python versions they replaced; those versions are kept here as references."""

from __future__ import annotations

import heapq  # noqa: F401 - used by the copied references
import math

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import coo_array, csc_array, csr_array
from scipy.sparse.csgraph import dijkstra

from stationplan._route import build_routing, edge_pieces, site_graph
from stationplan._solve import solver as _solver
from stationplan._synthetic import synthetic_city
from stationplan.candidates import street_candidates
from stationplan.coverage import EPS_M, station_distances
from stationplan.demand import _same_edge_pairs, coverage_matrix, demand_units

# --- references: the plain versions ---------------------------------------------------------

def _end_costs(network, node_dist):
    """Cost offsets of leaving an edge through ``u`` (a) and through ``v`` (b)."""
    e = network.edges
    a = np.where(e["bwd"].to_numpy(), node_dist[e["u"].to_numpy()], np.inf)
    b = np.where(e["fwd"].to_numpy(), node_dist[e["v"].to_numpy()], np.inf)
    return a, b


def ref_cut_edges(
    network,
    node_dist: np.ndarray,
    node_src: np.ndarray,
    st_edge: np.ndarray,
    st_off: np.ndarray,
    limit: float,
) :
    """Cut every edge into pieces with one nearest station and one coverage status.

    Returns arrays per piece: edge id, start and end (metres from ``u``), distance to the
    nearer end, the nearest station (index into the station arrays, -1 if none), and
    whether the piece is covered (pieces never straddle the limit, so the midpoint decides).
    """
    e = network.edges
    length = e["length_m"].to_numpy()
    a, b = _end_costs(network, node_dist)
    src_a = np.where(np.isfinite(a), node_src[e["u"].to_numpy()], -1)
    src_b = np.where(np.isfinite(b), node_src[e["v"].to_numpy()], -1)
    has_station = np.zeros(len(e), dtype=bool)
    has_station[st_edge] = True

    plain = np.flatnonzero(~has_station)
    out = list(ref_cut_plain(plain, length[plain], a[plain], b[plain], src_a[plain], src_b[plain], limit))
    extra = [
        ref_cut_with_stations(
            edge, length[edge], a[edge], b[edge], src_a[edge], src_b[edge],
            np.flatnonzero(st_edge == edge), st_off, bool(e["fwd"].iat[edge]),
            bool(e["bwd"].iat[edge]), limit,
        )
        for edge in np.flatnonzero(has_station)
    ]
    parts = [tuple(out), *extra]
    merged = tuple(np.concatenate([p[i] for p in parts]) for i in range(6))
    order = np.lexsort((merged[1], merged[0]))
    return tuple(m[order] for m in merged)


def ref_cut_plain(edge, length, a, b, src_a, src_b, limit):
    """Vectorised cutting of edges reached only through their two ends."""
    with np.errstate(invalid="ignore"):
        cands = np.column_stack([
            np.zeros_like(length), limit - a, length - (limit - b), (length + b - a) / 2, length,
        ])
        inside = np.isfinite(cands) & (cands > EPS_M) & (cands < length[:, None] - EPS_M)
        inside[:, 0] = inside[:, -1] = True
        cands = np.sort(np.where(inside, cands, np.inf), axis=1)
        keep = np.isfinite(cands)
        # The edge end always closes the last piece, even on edges shorter than EPS_M.
        keep[:, 1:] &= (np.diff(cands, axis=1) > EPS_M) | (cands[:, 1:] == length[:, None])
    rows = np.nonzero(keep)[0]
    vals = cands[keep]
    same = rows[1:] == rows[:-1]
    r, p, q = rows[:-1][same], vals[:-1][same], vals[1:][same]
    t = (p + q) / 2
    via_u = a[r] + t <= b[r] + length[r] - t
    covered = np.minimum(a[r] + t, b[r] + length[r] - t) <= limit + 1e-9
    dist = np.where(via_u, a[r] + p, b[r] + length[r] - q)
    src = np.where(via_u, src_a[r], src_b[r])
    dist = np.where(np.isfinite(dist), dist, np.nan)
    return edge[r], p, q, dist, np.where(np.isnan(dist), -1, src), covered


def ref_cut_with_stations(edge, length, a, b, src_a, src_b, on_edge, st_off, fwd, bwd, limit):
    """Cut one edge that has stations on it (general lower envelope, few edges)."""
    # Each source reaches the point x at cost c + |x - s|; "left" means x < s, which the
    # rider covers moving forward (u→v), so it needs fwd; "right" needs bwd.
    srcs = [(a, 0.0, False, True, src_a), (b, length, True, False, src_b)]
    srcs += [(0.0, float(st_off[i]), fwd, bwd, int(i)) for i in on_edge]
    srcs = [s for s in srcs if np.isfinite(s[0])]
    marks = {0.0, length}
    stations_at = {min(max(float(st_off[i]), 0.0), length) for i in on_edge}
    marks |= stations_at
    for c, s, left, right, _ in srcs:
        if left:
            marks.add(s - (limit - c))
        if right:
            marks.add(s + (limit - c))
    for ci, si, _, ri, _ in srcs:
        for cj, sj, lj, _, _ in srcs:
            if ri and lj and si < sj:
                marks.add((cj + sj - ci + si) / 2)
    xs = sorted(m for m in marks if 0.0 <= m <= length)
    pts = [xs[0]]
    for x in xs[1:]:
        if x - pts[-1] > EPS_M:
            pts.append(x)
    if length - pts[-1] <= EPS_M:
        pts[-1] = length

    def cost(i, x):
        c, s, left, right, _ = srcs[i]
        if (x < s and not left) or (x > s and not right):
            return np.inf
        return c + abs(x - s)

    pieces = []
    for p, q in zip(pts[:-1], pts[1:], strict=True):
        t = (p + q) / 2
        costs = [cost(i, t) for i in range(len(srcs))]
        best = int(np.argmin(costs)) if costs else -1
        ok = best >= 0 and np.isfinite(costs[best])
        label = (best if ok else -1, ok and costs[best] <= limit + 1e-9)
        if pieces and pieces[-1][2] == label and not any(abs(p - x) <= EPS_M for x in stations_at):
            pieces[-1][1] = q
        else:
            pieces.append([p, q, label])
    edges, ps, qs, dists, srcs_out, covered = [], [], [], [], [], []
    for p, q, (best, is_covered) in pieces:
        if best >= 0:
            d = min(srcs[best][0] + abs(p - srcs[best][1]), srcs[best][0] + abs(q - srcs[best][1]))
            station = srcs[best][4]
        else:
            d, station = np.nan, -1
        edges.append(edge)
        ps.append(p)
        qs.append(q)
        dists.append(d)
        srcs_out.append(station)
        covered.append(is_covered)
    return (np.array(edges, dtype=np.int64), np.array(ps), np.array(qs), np.array(dists, dtype=float),
            np.array(srcs_out, dtype=np.int64), np.array(covered, dtype=bool))


def ref_coverage_matrix(
    network,
    units,
    edge_id: np.ndarray,
    offset_m: np.ndarray,
    *,
    limit_m: float,
    batch_entries: int = 20_000_000,
    progress=None,
):
    """Which units each site covers, as a sparse ``units x sites`` 0/1 matrix.

    Parameters
    ----------
    network, units
        Network and demand units.
    edge_id, offset_m
        Site positions (edge row, metres from ``u``).
    limit_m
        Coverage limit in metres.
    batch_entries
        Size of the dense distance block per batch (sites x nodes); bounds memory.
    progress
        Called as ``progress(done, total)`` after each batch.

    Returns
    -------
    scipy.sparse.csc_array
        ``int8`` matrix; column ``j`` holds the units site ``j`` covers.
    """
    n = len(network.nodes)
    k = len(edge_id)
    graph = site_graph(network, edge_id, offset_m)
    inc_u, inc_v = ref_incidence(network, units)
    batch = max(1, min(k, batch_entries // max(n + k, 1)))
    rows, cols = [], []
    for lo in range(0, k, batch):
        hi = min(k, lo + batch)
        dist = dijkstra(graph, indices=np.arange(n + lo, n + hi), limit=limit_m)[:, :n]
        site, node = np.nonzero(np.isfinite(dist))
        d = dist[site, node]
        for ptr, order, base in (inc_u, inc_v):
            r, s = ref_expand(ptr, order, base, node, site + lo, d, limit_m)
            rows.append(r)
            cols.append(s)
        if progress is not None:
            progress(hi, k)
    su, ss, _ = _same_edge_pairs(network, units, edge_id, offset_m, limit_m)
    rows.append(su)
    cols.append(ss)
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    mat = coo_array((np.ones(len(r), dtype=np.int8), (r, c)), shape=(len(units), k)).tocsc()
    mat.sum_duplicates()
    mat.data[:] = 1
    return mat


def ref_incidence(network, units):
    """Per node, the units reachable by leaving the node along their edge, and the cost base.

    A rider on a unit leaves through ``u`` (needs bwd) at cost ``mid``, or through ``v``
    (needs fwd) at cost ``length - mid``; searches arrive at the node the other way round.
    """
    e = network.edges
    n = len(network.nodes)
    eu, ev = e["u"].to_numpy()[units.edge_id], e["v"].to_numpy()[units.edge_id]
    fwd, bwd = e["fwd"].to_numpy()[units.edge_id], e["bwd"].to_numpy()[units.edge_id]
    length = e["length_m"].to_numpy()[units.edge_id]
    out = []
    for node, ok, base in ((eu, bwd, units.mid_m), (ev, fwd, length - units.mid_m)):
        idx = np.flatnonzero(ok)
        order = idx[np.argsort(node[idx], kind="stable")]
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.add.at(ptr, node[order] + 1, 1)
        out.append((np.cumsum(ptr), order, base))
    return out


def ref_expand(ptr, order, base, node, site, d, limit):
    """Join (site, node, distance) with the units incident to each node; keep covered ones."""
    count = ptr[node + 1] - ptr[node]
    total = int(count.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rep = np.repeat(np.arange(len(node)), count)
    pos = np.arange(total) - np.repeat(np.cumsum(count) - count, count) + ptr[node][rep]
    unit = order[pos]
    ok = base[unit] + d[rep] <= limit + 1e-9
    return unit[ok], site[rep][ok]


def ref_local_search(inst: _solver.Instance, chosen: list[int], *, seed: int = 0,
                 max_rounds: int = 50) -> list[int]:
    """Improve a solution with drop, 2-for-1 and 1-for-1 swap moves until none helps.

    For the fewest-sites objective a move must keep ``need`` covered; it improves when it
    removes a site, or (swap) keeps the count and covers more. For best-k, a swap improves
    when it covers more. Move order is shuffled with ``seed``; the answer never gets worse.
    """
    rng = np.random.default_rng(seed)
    chosen = list(chosen)
    state = RefState(inst, chosen)
    for _ in range(max_rounds):
        improved = False
        if inst.k is None:
            improved |= state.drop_redundant(rng)
            improved |= state.two_for_one(rng)
        improved |= state.swap(rng)
        if not improved:
            break
    return state.chosen


class RefState:
    """Cover counts of the current solution, updated move by move."""

    def __init__(self, inst: _solver.Instance, chosen: list[int]) -> None:
        self.inst = inst
        self.chosen = list(chosen)
        self.count = np.zeros(inst.cover.shape[0], dtype=np.int64)
        for j in self.chosen:
            self.count[inst.col(j)] += 1

    @property
    def covered_w(self) -> float:
        return float(self.inst.weight[self.count > 0].sum())

    def _slack(self) -> float:
        return self.covered_w - (self.inst.need or 0.0)

    def _allowed(self, c: int, without: tuple[int, ...]) -> bool:
        if c in self.chosen:
            return False
        others = set(self.chosen) - set(without)
        return not any(int(x) in others for x in self.inst.neighbours(c))

    def _apply(self, remove: tuple[int, ...], add: int | None) -> None:
        for j in remove:
            self.chosen.remove(j)
            self.count[self.inst.col(j)] -= 1
        if add is not None:
            self.chosen.append(add)
            self.count[self.inst.col(add)] += 1

    def drop_redundant(self, rng: np.random.Generator) -> bool:
        dropped = False
        for j in rng.permutation(self.chosen):
            rows = self.inst.col(int(j))
            lost = float(self.inst.weight[rows][self.count[rows] == 1].sum())
            if lost <= self._slack() + 1e-7:
                self._apply((int(j),), None)
                dropped = True
        return dropped

    def _gain_after(self, remove: tuple[int, ...]) -> tuple[np.ndarray, float]:
        """Weight each column would add after removing ``remove``, and the weight lost."""
        inst = self.inst
        count = self.count.copy()
        for j in remove:
            count[inst.col(j)] -= 1
        lost_rows = np.unique(np.concatenate([inst.col(j) for j in remove]))
        lost_rows = lost_rows[count[lost_rows] == 0]
        w = inst.weight
        gains = self._base_gain.copy()
        if len(lost_rows):
            sub = inst.rows_csr[lost_rows]
            gains += sub.T @ w[lost_rows]
        return gains, float(w[lost_rows].sum())

    @property
    def _base_gain(self) -> np.ndarray:
        uncovered = np.where(self.count == 0, self.inst.weight, 0.0)
        return self.inst.cover.T @ uncovered

    def two_for_one(self, rng: np.random.Generator) -> bool:
        inst = self.inst
        unique = {j: inst.col(j)[self.count[inst.col(j)] == 1] for j in self.chosen}
        reach = {j: set(inst.rows_csr[rows].indices.tolist()) if len(rows) else set()
                 for j, rows in unique.items()}
        order = [int(j) for j in rng.permutation(self.chosen)]
        for a_pos, a in enumerate(order):
            for b in order[a_pos + 1:]:
                if a not in self.chosen or b not in self.chosen:
                    continue
                common = (reach[a] & reach[b]) - {a, b}
                if not common and (reach[a] and reach[b]):
                    continue
                gains, lost = self._gain_after((a, b))
                slack = self._slack()
                best, best_gain = None, -math.inf
                for c in sorted(common) if common else np.argsort(-gains)[:50].tolist():
                    if gains[c] > best_gain and self._allowed(c, (a, b)):
                        best, best_gain = c, float(gains[c])
                if best is not None and best_gain >= lost - slack - 1e-7:
                    self._apply((a, b), best)
                    return True
        return False

    def swap(self, rng: np.random.Generator) -> bool:
        improved = False
        for j in [int(x) for x in rng.permutation(self.chosen)]:
            if j not in self.chosen:
                continue
            gains, lost = self._gain_after((j,))
            gains[j] = -math.inf
            for c in np.argsort(-gains, kind="stable")[:20]:
                c = int(c)
                if gains[c] - lost <= 1e-7:
                    break
                if self._allowed(c, (j,)):
                    self._apply((j,), c)
                    improved = True
                    break
        return improved




# --- the checks -------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["walk", "bike"])
def city(request):
    return synthetic_city(3_000, seed=11, mode=request.param)


def _sites(net, k, seed):
    rng = np.random.default_rng(seed)
    edge = rng.integers(0, len(net.edges), k)
    edge[: k // 4] = edge[0]  # many sites on one edge
    off = rng.random(k) * net.edges["length_m"].to_numpy()[edge]
    off[-1] = 0.0  # a site on a junction
    return edge.astype(np.int64), off


@pytest.mark.parametrize("k", [1, 30, 400])
def test_cut_edges_as_the_plain_version(city, k):
    edge, off = _sites(city, k, k)
    for limit in (150.0, 500.0):
        nd, ns = station_distances(city, edge, off, limit_m=limit)
        fast = edge_pieces(city, nd, ns, edge, off, limit_m=limit, eps_m=EPS_M)
        plain = ref_cut_edges(city, nd, ns, edge, off, limit)
        for a, b in zip(fast, plain, strict=True):
            assert a.dtype.kind == b.dtype.kind
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def test_coverage_sets_as_the_plain_version(city):
    units = demand_units(city)
    cands = street_candidates(city, spacing_m=80)
    e, o = cands["edge_id"].to_numpy(), cands["offset_m"].to_numpy()
    for limit in (200.0, 500.0):
        fast = coverage_matrix(city, units, e, o, limit_m=limit, batch_entries=50_000)
        plain = ref_coverage_matrix(city, units, e, o, limit_m=limit, batch_entries=2_000_000)
        plain.sort_indices()
        assert fast.shape == plain.shape and fast.has_sorted_indices
        assert np.array_equal(fast.indptr, plain.indptr)
        assert np.array_equal(fast.indices, plain.indices)


def test_merge_rows_as_the_plain_version():
    rng = np.random.default_rng(0)
    for t in range(60):
        m, n = rng.integers(1, 50), rng.integers(1, 20)
        dense = rng.random((m, n)) < rng.random() * 0.4
        dense = np.repeat(dense, rng.integers(1, 4, m), axis=0)
        cover = csc_array(dense.astype(np.int8))
        w = rng.random(len(dense)) * 30
        fast, fw = _solver.merge_rows(cover, w)
        plain, pw = _solver._merge_rows_exact(cover.tocsr(), w)
        assert fast.shape == plain.shape, t
        assert (fast != plain).nnz == 0, t
        assert np.array_equal(fw, pw), t


def test_local_search_as_the_plain_version():
    rng = np.random.default_rng(5)
    moved = 0
    for t in range(80):
        m, n = rng.integers(5, 90), rng.integers(3, 30)
        cover = csc_array((rng.random((m, n)) < rng.random() * 0.25 + 0.04).astype(np.int8))
        w = np.ones(m) if t % 3 == 0 else np.round(rng.random(m) * 50, 2)
        cover, w = _solver.merge_rows(cover, w)
        if cover.shape[0] == 0:
            continue
        conflicts = None
        if t % 4 == 1:
            pairs = np.triu(rng.random((n, n)) < 0.06, 1)
            conflicts = csr_array((pairs | pairs.T).astype(np.int8))
        for kw in ({"need": float(w.sum())}, {"need": 0.8 * float(w.sum())},
                   {"k": int(rng.integers(1, 5))}):
            inst = _solver.Instance(cover, w, conflicts=conflicts, **kw)
            start = _solver.greedy(inst)
            for seed in (0, 1):
                fast = _solver.local_search(inst, start, seed=seed)
                assert fast == ref_local_search(inst, start, seed=seed), (t, kw, seed)
                moved += fast != start
    assert moved > 20  # the moves were exercised


def test_cut_edges_grows_its_piece_arrays():
    # Long edges reached at both ends give four pieces each: more than the room the
    # cutting first makes (a quarter more than the edges), so the arrays must grow.
    m = 500
    rng = np.random.default_rng(5)

    class Net:  # the two tables the cutting reads
        pass

    net = Net()
    net.nodes = np.zeros(2 * m)
    net.edges = pd.DataFrame({"u": np.arange(m), "v": np.arange(m) + m,
                              "length_m": rng.uniform(800.0, 1000.0, m), "fwd": True,
                              "bwd": rng.random(m) < 0.9})
    net._routing = build_routing(net)  # a StreetNetwork builds this on first use
    node_dist = rng.uniform(300.0, 450.0, 2 * m)
    node_src = rng.integers(0, 3, 2 * m)
    st_edge, st_off = np.array([7, 300, 7]), np.array([100.0, 0.0, 400.0])
    fast = edge_pieces(net, node_dist, node_src, st_edge, st_off, limit_m=500.0, eps_m=EPS_M)
    plain = ref_cut_edges(net, node_dist, node_src, st_edge, st_off, 500.0)
    assert len(fast[0]) > 1.25 * m + 16 * len(st_edge) + 16
    for a, b in zip(fast, plain, strict=True):
        assert a.dtype.kind == b.dtype.kind
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
