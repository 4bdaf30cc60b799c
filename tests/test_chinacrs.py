"""Tests for stationplan.chinacrs: published vectors, round trips, edge cases."""

import math

import numpy as np
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stationplan import chinacrs
from stationplan.chinacrs import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    convert,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = pyproj.Geod(ellps="WGS84")
ONE_MM = 1e-3

ALL_FUNCTIONS = [
    wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84,
]
ROUND_TRIPS = [
    pytest.param(wgs84_to_gcj02, gcj02_to_wgs84, id="wgs84-gcj02"),
    pytest.param(gcj02_to_bd09, bd09_to_gcj02, id="gcj02-bd09"),
    pytest.param(wgs84_to_bd09, bd09_to_wgs84, id="wgs84-bd09"),
]


def metres(lng1, lat1, lng2, lat2):
    """Geodesic distance in metres between two sets of points."""
    return GEOD.inv(lng1, lat1, lng2, lat2)[2]


@pytest.fixture(scope="module")
def china_grid():
    """A 120 x 120 grid inside the China rectangle, as flat (lng, lat) arrays."""
    lng, lat = np.meshgrid(np.linspace(73.0, 135.0, 120), np.linspace(3.0, 53.5, 120))
    return lng.ravel(), lat.ravel()


# --- published vectors -----------------------------------------------------------------

# WGS-84 -> GCJ-02 from CONTEXT.md, given there as (lat, lng). The formula reproduces
# them to the last bit; 1e-12 degrees leaves room for libm differences only.
@pytest.mark.parametrize(
    ("lat", "lng", "gcj_lat", "gcj_lng"),
    [
        pytest.param(39.911954, 116.377817, 39.91334545536069, 116.38404722455657, id="beijing"),
        pytest.param(31.1774276, 121.5272106, 31.17530398364597, 121.531541859215, id="shanghai"),
        pytest.param(22.543847, 113.912316, 22.540796131694766, 113.9171764808363, id="shenzhen"),
        pytest.param(37.065, 128.543, 37.065651049489816, 128.54820547949757, id="128.543"),
    ],
)
def test_published_wgs84_to_gcj02(lat, lng, gcj_lat, gcj_lng):
    got_lng, got_lat = wgs84_to_gcj02(lng, lat)
    assert got_lng == pytest.approx(gcj_lng, abs=1e-12)
    assert got_lat == pytest.approx(gcj_lat, abs=1e-12)


def test_published_bd09_vectors():
    # CONTEXT.md lists 128.54944656269413, 37.07113427883019 as "GCJ-02 -> BD-09" of the
    # GCJ-02 point above. The source (the coordTransform_utils README) applied every
    # function to the raw input 128.543, 37.065, so that value is gcj02_to_bd09(128.543,
    # 37.065); the same list gives wgs84_to_bd09(128.543, 37.065) = 128.5546819..., which
    # is the chained value. Both reproduce to the last bit.
    lng, lat = gcj02_to_bd09(128.543, 37.065)
    assert lng == pytest.approx(128.54944656269413, abs=1e-12)
    assert lat == pytest.approx(37.07113427883019, abs=1e-12)
    lng, lat = wgs84_to_bd09(128.543, 37.065)
    assert lng == pytest.approx(128.55468192918485, abs=1e-12)
    assert lat == pytest.approx(37.07168344938498, abs=1e-12)
    # The chain is what the composite function computes.
    assert (lng, lat) == gcj02_to_bd09(*wgs84_to_gcj02(128.543, 37.065))


def test_bd09_uses_x_pi_not_pi():
    # The buggy variant with sin(y * pi) is 10-40 m off; ours matches the x_pi vector above.
    x, y = 128.543, 37.065
    z = math.hypot(x, y) + 0.00002 * math.sin(y * math.pi)
    theta = math.atan2(y, x) + 0.000003 * math.cos(x * math.pi)
    buggy = (z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006)
    assert metres(*buggy, *gcj02_to_bd09(x, y)) > 5.0


def test_amap_vector():
    # Amap's own server conversion of GPS 116.481499, 39.990475. It differs from the open
    # formula by 3.9e-7 deg in lng and 2.4e-7 deg in lat (about 4 cm), so 1e-6 holds.
    lng, lat = wgs84_to_gcj02(116.481499, 39.990475)
    assert lng == pytest.approx(116.487585177952, abs=1e-6)
    assert lat == pytest.approx(39.991754014757, abs=1e-6)
    assert metres(lng, lat, 116.487585177952, 39.991754014757) < 0.05


def test_offset_in_hebei_is_about_half_a_kilometre():
    # Shijiazhuang: CONTEXT.md says about 528 m, mostly east.
    lng, lat = wgs84_to_gcj02(114.5149, 38.0428)
    assert 450 < metres(114.5149, 38.0428, lng, lat) < 650
    assert lng > 114.5149


# --- round trips -----------------------------------------------------------------------

@pytest.mark.parametrize(("forward", "inverse"), ROUND_TRIPS)
def test_round_trip_below_one_millimetre_over_china(china_grid, forward, inverse):
    lng, lat = china_grid
    back_lng, back_lat = inverse(*forward(lng, lat))
    # Observed: 1.3e-6 m for GCJ-02, 1.4e-5 m for BD-09.
    assert metres(lng, lat, back_lng, back_lat).max() < ONE_MM


@pytest.mark.parametrize(("forward", "inverse"), ROUND_TRIPS)
def test_inverse_then_forward_below_one_millimetre(china_grid, forward, inverse):
    lng, lat = china_grid
    again_lng, again_lat = forward(*inverse(lng, lat))
    assert metres(lng, lat, again_lng, again_lat).max() < ONE_MM


def test_naive_gcj_inverse_would_fail_the_round_trip(china_grid):
    # The one-step inverse gcj - delta(gcj) that many libraries ship: metres off, so the
    # millimetre test above can tell it from the iterative one.
    lng, lat = china_grid
    gcj_lng, gcj_lat = wgs84_to_gcj02(lng, lat)
    shifted_lng, shifted_lat = wgs84_to_gcj02(gcj_lng, gcj_lat)
    naive_lng, naive_lat = 2 * gcj_lng - shifted_lng, 2 * gcj_lat - shifted_lat
    error = metres(lng, lat, naive_lng, naive_lat)
    assert error.max() > 1.0  # observed 4.9 m on this grid (median 0.65 m)
    assert error.max() > 1000 * ONE_MM


def test_closed_form_bd09_inverse_would_fail_the_round_trip(china_grid):
    # Baidu's closed-form inverse, which the iteration starts from, is decimetres off.
    lng, lat = china_grid
    bd_lng, bd_lat = gcj02_to_bd09(lng, lat)
    x, y = bd_lng - 0.0065, bd_lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * math.pi * 3000 / 180)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * math.pi * 3000 / 180)
    error = metres(lng, lat, z * np.cos(theta), z * np.sin(theta))
    assert error.max() > 0.1  # observed 0.22 m


@settings(max_examples=300, deadline=None)
@given(
    lng=st.floats(min_value=72.1, max_value=137.7),
    lat=st.floats(min_value=0.9, max_value=55.7),
    pair=st.sampled_from([("wgs84", "gcj02"), ("gcj02", "bd09"), ("wgs84", "bd09"),
                          ("gcj02", "wgs84"), ("bd09", "wgs84"), ("bd09", "gcj02")]),
)
def test_round_trip_property(lng, lat, pair):
    src, dst = pair
    out_lng, out_lat = convert(lng, lat, src=src, dst=dst)
    back_lng, back_lat = convert(out_lng, out_lat, src=dst, dst=src)
    assert metres(lng, lat, back_lng, back_lat) < ONE_MM
    # Every shift is a few hundred metres to about 1.5 km, never more.
    assert metres(lng, lat, out_lng, out_lat) < 2500


# --- outside China, shapes, NaN --------------------------------------------------------

@pytest.mark.parametrize(
    ("lng", "lat"),
    [(2.3522, 48.8566), (-74.006, 40.7128), (151.2093, -33.8688), (139.6917, 35.6895),
     (72.0, 30.0), (137.84, 30.0), (100.0, 0.8), (100.0, 55.83)],
    ids=["paris", "new-york", "sydney", "tokyo", "west", "east", "south", "north"],
)
def test_gcj02_is_identity_outside_china(lng, lat):
    assert wgs84_to_gcj02(lng, lat) == (lng, lat)
    assert gcj02_to_wgs84(lng, lat) == (lng, lat)


def test_bd09_shift_applies_outside_china_and_still_inverts():
    lng, lat = gcj02_to_bd09(2.3522, 48.8566)
    assert metres(2.3522, 48.8566, lng, lat) > 100
    assert metres(2.3522, 48.8566, *bd09_to_gcj02(lng, lat)) < ONE_MM


def test_just_inside_the_rectangle_is_shifted():
    assert wgs84_to_gcj02(72.01, 30.0) != (72.01, 30.0)


@pytest.mark.parametrize("func", ALL_FUNCTIONS, ids=lambda f: f.__name__)
def test_vectorised_equals_scalar(func):
    lng = np.array([116.377817, 121.5272106, 113.912316, 2.3522, 128.543, 114.5149])
    lat = np.array([39.911954, 31.1774276, 22.543847, 48.8566, 37.065, 38.0428])
    out_lng, out_lat = func(lng, lat)
    assert isinstance(out_lng, np.ndarray)
    assert out_lng.shape == lng.shape
    for i in range(lng.size):
        one = func(float(lng[i]), float(lat[i]))
        assert type(one[0]) is float
        assert type(one[1]) is float
        assert one == (out_lng[i], out_lat[i])


@pytest.mark.parametrize("func", ALL_FUNCTIONS, ids=lambda f: f.__name__)
def test_shapes_broadcast_and_inputs_unchanged(func):
    lng = np.array([[116.0, 117.0], [118.0, 119.0]])
    lat = 39.5
    kept = lng.copy()
    out_lng, out_lat = func(lng, lat)
    assert out_lng.shape == out_lat.shape == (2, 2)
    np.testing.assert_array_equal(lng, kept)
    flat = func(lng.ravel(), np.full(4, lat))
    np.testing.assert_array_equal(out_lng.ravel(), flat[0])
    np.testing.assert_array_equal(out_lat.ravel(), flat[1])


def test_lists_and_integers_are_accepted():
    lng, lat = wgs84_to_gcj02([116, 117], [40, 40])
    assert lng.dtype == lat.dtype == np.float64
    assert wgs84_to_gcj02(116, 40) == wgs84_to_gcj02(116.0, 40.0)


@pytest.mark.parametrize("func", ALL_FUNCTIONS, ids=lambda f: f.__name__)
def test_nan_in_nan_out(func):
    for point in [(math.nan, 39.9), (116.4, math.nan), (math.nan, math.nan), (math.nan, 80.0)]:
        out = func(*point)
        assert math.isnan(out[0])
        assert math.isnan(out[1])
    lng, lat = func(np.array([116.4, math.nan, 121.5]), np.array([39.9, 31.2, math.nan]))
    assert np.isnan(lng).tolist() == [False, True, True]
    assert np.isnan(lat).tolist() == [False, True, True]
    assert (lng[0], lat[0]) == func(116.4, 39.9)


def test_all_nan_array_does_not_warn():
    # pyproject turns warnings into errors, so this also checks that none is raised.
    lng, lat = gcj02_to_wgs84(np.full(3, math.nan), np.full(3, math.nan))
    assert np.isnan(lng).all()
    assert np.isnan(lat).all()


def test_empty_arrays():
    lng, lat = bd09_to_wgs84(np.array([]), np.array([]))
    assert lng.shape == lat.shape == (0,)


# --- convert ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("src", "dst", "func"),
    [("wgs84", "gcj02", wgs84_to_gcj02), ("GCJ-02", "WGS-84", gcj02_to_wgs84),
     ("gcj02", "bd09", gcj02_to_bd09), ("bd09", "gcj02", bd09_to_gcj02),
     ("cgcs2000", "bd09", wgs84_to_bd09), ("BD_09", "CGCS2000", bd09_to_wgs84)],
)
def test_convert_dispatches(src, dst, func):
    assert convert(116.4, 39.9, src=src, dst=dst) == func(116.4, 39.9)


def test_convert_same_system_and_alias_is_identity():
    assert convert(116.4, 39.9, src="cgcs2000", dst="wgs84") == (116.4, 39.9)
    lng, lat = convert(np.array([116.4]), np.array([39.9]), src="gcj02", dst="gcj02")
    assert (lng.tolist(), lat.tolist()) == ([116.4], [39.9])


def test_convert_rejects_unknown_system_and_names_the_parameter():
    with pytest.raises(ValueError, match=r"dst='mercator'.*'wgs84'.*'gcj02'.*'bd09'"):
        convert(116.4, 39.9, src="wgs84", dst="mercator")
    with pytest.raises(ValueError, match="src="):
        convert(116.4, 39.9, src="epsg:3857", dst="wgs84")


def test_convert_options_are_keyword_only():
    with pytest.raises(TypeError):
        convert(116.4, 39.9, "wgs84", "gcj02")  # type: ignore[misc]


def test_public_names():
    assert sorted(chinacrs.__all__) == chinacrs.__all__
    for name in chinacrs.__all__:
        assert callable(getattr(chinacrs, name))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True)
                | st.floats(-180, 180) | st.integers(-10**9, 10**9).map(lambda n: n / 2e6),
                max_size=50))
def test_link_coordinates_are_written_as_python_formats_them(values):
    # the links' numbers, written by a compiled loop where the rounding is sure (ties at
    # half a millionth, huge and odd numbers by Python): format(x, ".6f") of each
    got = chinacrs._fixed6_texts(np.array(values, dtype=float)).to_pylist()
    assert got == [format(v, ".6f") for v in values]
