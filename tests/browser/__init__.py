"""Browser tests: folium maps in headless Chromium (see conftest.py).

A package so this conftest.py imports as `browser.conftest`; with --doctest-modules a second
plain `conftest` module would clash with tests/conftest.py.
"""
