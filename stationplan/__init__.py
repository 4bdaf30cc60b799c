"""stationplan."""
