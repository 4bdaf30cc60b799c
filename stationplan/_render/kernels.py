"""Compiled map-drawing loops (numba): the walk that chains merged lines through junctions.

Each kernel repeats, step for step, the Python loop it replaces, so the map's bytes stay
the same (the tests check the chains against the segments they are made of). Kernels
release the GIL, so callers may run them on several threads.
"""

from __future__ import annotations

import numpy as np

from .._numba import jit as _jit


@_jit
def chain_walk(mate):
    """Walk ``m`` lines into chains through the ends they are paired at.

    Half-edge ``h < m`` is the start of line ``h``, ``h >= m`` the end of line ``h - m``;
    ``mate[h]`` is the half-edge ``h`` is paired with at its point, or -1. Chains start at
    the unpaired ends in order, then at each line not yet walked (closed chains); a walk
    enters a line by one end and leaves it by the other.

    Returns
    -------
    seq : numpy.ndarray
        The lines in chain order, a line walked from its end as ``-1 - line``.
    chain : numpy.ndarray
        The chain of each entry of ``seq``, numbered from 0.
    """
    m = len(mate) // 2
    seen = np.zeros(m, dtype=np.bool_)
    seq = np.empty(m, dtype=np.int64)
    chain = np.empty(m, dtype=np.int64)
    k = 0
    n_chains = 0
    for h0 in range(3 * m):  # the unpaired ends, then every line
        if h0 < 2 * m:
            if mate[h0] >= 0 or seen[h0 % m]:
                continue
            h = h0
        else:
            if seen[h0 - 2 * m]:
                continue
            h = h0 - 2 * m
        while h >= 0 and not seen[h % m]:
            p = h % m
            seen[p] = True
            seq[k] = -1 - p if h >= m else p
            chain[k] = n_chains
            k += 1
            h = mate[p] if h >= m else mate[p + m]  # leave by the other end
        n_chains += 1
    return seq, chain
