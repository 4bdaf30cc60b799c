"""Solving: the set-cover model, its reductions, heuristics, bounds and compiled kernels.

Private: :mod:`stationplan.siting` builds the demand and coverage matrices and calls these.
"""
