"""Shared fixtures (test data helpers live in handnet.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from handnet import write_hand_stations


@pytest.fixture
def hand_stations_csv(tmp_path: Path) -> Path:
    return write_hand_stations(tmp_path / "stations.csv")
