"""The public API is exactly the sorted __all__."""

import stationplan


def test_all_is_sorted_and_complete():
    names = stationplan.__all__
    assert names == sorted(names)
    for name in names:
        assert hasattr(stationplan, name), name
    public = {n for n in dir(stationplan) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(stationplan, n)).__name__ == "module"}
    assert public - modules == set(names) - {"__version__"}
