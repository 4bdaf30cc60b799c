"""Reading inputs: OSM files and downloads, road centerlines, station tables, columns, CRSs.

Private: the public stages (:mod:`stationplan.network`, :mod:`stationplan.stations`) call
these modules; nothing here imports a stage that comes after the network.
"""
