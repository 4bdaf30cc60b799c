"""Rendering: map data and styles, map scripts, the check map, the report document and the
network file writer.

Private: :mod:`stationplan.maps`, :mod:`stationplan.staticmap`, :mod:`stationplan.report` and
:mod:`stationplan.outputs` call these; the analysis stages never import them.
"""
