"""The JavaScript of the coverage map: constant functions that data reach only as arguments.

:class:`stationplan.maps.MapCall` writes ``(FUNCTION)(arg, ...);`` into the page, with
elements by their JavaScript name and everything else as script-safe JSON, so no input
text is ever spliced into code.
"""

from __future__ import annotations

from typing import Any


def number_elements(root: Any) -> None:
    """Replace folium's random element ids by their position in the tree.

    The JavaScript names and HTML ids of elements derive from ``_id``; names are looked
    up when rendering, so renumbering before rendering keeps every reference intact and
    makes the output the same from run to run.
    """
    stack = [root]
    n = 0
    while stack:
        element = stack.pop()
        element._id = f"{n:04d}"
        n += 1
        stack.extend(reversed(list(element._children.values())))

PANES = """function (map) {
  [["spAreas", 380], ["spOther", 390], ["spStreets", 400], ["spGaps", 410], ["spOutline", 420]]
    .forEach(function (p) { map.createPane(p[0]).style.zIndex = p[1]; });
}"""

# Lines thin out when zoomed out (to half their width at zoom 10), so that a whole city
# does not drown in red.
GEOJSON = """function (map, group, rows, styles, pane, scale) {
  // rows: [style index, geometry type, coordinates, tooltip, popup]; coordinates are
  // flat integer deltas per line or ring (see _mapdata.encode_geometries).
  var types = ["LineString", "MultiLineString", "Polygon", "MultiPolygon"];
  function line(flat) {
    var out = [], x = 0, y = 0, i;
    for (i = 0; i < flat.length; i += 2) {
      x += flat[i]; y += flat[i + 1];
      out.push([x / scale, y / scale]);
    }
    return out;
  }
  var data = {type: "FeatureCollection", features: rows.map(function (r) {
    var c = r[2];
    return {type: "Feature", properties: {s: r[0], t: r[3], p: r[4]}, geometry: {
      type: types[r[1]],
      coordinates: r[1] === 0 ? line(c)
        : r[1] === 3 ? c.map(function (p) { return p.map(line); }) : c.map(line)}};
  })};
  function style(f) {
    var s = styles[f.properties.s], z = map.getZoom(), out = {}, key;
    var k = z === undefined ? 1 : Math.min(1, Math.max(0.5, (z - 10) / 5));
    for (key in s) { out[key] = s[key]; }
    if (s.weight > 1) { out.weight = s.weight * k; }
    return out;
  }
  var layer = L.geoJSON(data, {
    pane: pane,
    style: style,
    onEachFeature: function (f, l) {
      if (f.properties.t) l.bindTooltip(f.properties.t, {sticky: true});
      if (f.properties.p) l.bindPopup(f.properties.p, {maxWidth: 320});
    }
  }).addTo(group);
  map.on("zoomend", function () { layer.setStyle(style); });
}"""

MARKERS = """function (group, rows, opts) {
  var half = opts.size / 2;
  function icon(inner) {
    return L.divIcon({className: "sp-marker " + opts.cls, html: inner,
      iconSize: [opts.size, opts.size], iconAnchor: [half, half],
      popupAnchor: [0, -half], tooltipAnchor: [half, 0]});
  }
  var shared = icon(opts.html);
  var markers = rows.map(function (r) {
    var m = L.marker([r[0], r[1]], {icon: r[5] ? icon(r[5]) : shared,
      zIndexOffset: r[6] || 0, riseOnHover: true});
    m.bindTooltip(r[2], {direction: "right"});
    m.bindPopup(r[3], {maxWidth: 320});
    m.on("add", function () { m.getElement().setAttribute("data-sp", r[4]); });
    return m;
  });
  if (group.addLayers) { group.addLayers(markers); }
  else { markers.forEach(function (m) { group.addLayer(m); }); }
  group._spMarkers = markers;
}"""

# The station search: a plain box over the search entries ([text, marker index]); a
# name matches wherever the typed text occurs in it, case-blind. Tips are text, never
# HTML; a click on one (or Enter for the first) opens that station's popup, zooming into
# its cluster if need be. No plugin: nothing to load.
SEARCH = """function (map, group, keys, text) {
  var control = L.control({position: "topleft"});
  control.onAdd = function () {
    var box = L.DomUtil.create("div", "sp-search leaflet-bar leaflet-control");
    var input = L.DomUtil.create("input", "sp-search-input", box);
    var list = L.DomUtil.create("ul", "sp-search-tips", box);
    input.type = "search";
    input.placeholder = text.placeholder;
    input.setAttribute("aria-label", text.placeholder);
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    function open(i) {
      var marker = group._spMarkers[i];
      list.textContent = "";
      if (!map.hasLayer(group)) map.addLayer(group);
      if (group.zoomToShowLayer) {
        group.zoomToShowLayer(marker, function () { marker.openPopup(); });
      } else {
        map.setView(marker.getLatLng(), Math.max(map.getZoom(), 16));
        marker.openPopup();
      }
    }
    function update() {
      var q = input.value.trim().toLowerCase(), hits = [];
      list.textContent = "";
      if (!q) return;
      keys.forEach(function (k) {
        if (hits.length < 12 && k[0].toLowerCase().indexOf(q) >= 0) hits.push(k);
      });
      if (!hits.length) {
        L.DomUtil.create("li", "sp-search-none", list).textContent = text.notFound;
      }
      hits.forEach(function (k) {
        var li = L.DomUtil.create("li", "sp-search-tip", list);
        li.textContent = k[0];
        li.addEventListener("click", function (e) {
          // the tip is gone once the station opens: Leaflet would take the click that
          // bubbles on for a click on the map, which closes the popup
          e.stopPropagation();
          input.value = k[0];
          open(k[1]);
        });
      });
    }
    input.addEventListener("input", update);
    input.addEventListener("keydown", function (e) {
      var first = list.querySelector(".sp-search-tip");
      if (e.key === "Enter" && first) first.click();
      if (e.key === "Escape") { input.value = ""; update(); }
    });
    return box;
  };
  map.addControl(control);
}"""

# Metric only: the planners' rules are in metres. Leaflet's scale writes "m" and "km" and
# has no option for other words, so its metric label is redrawn with the map's own units
# (米/公里 in Chinese; `units`: [metre, kilometre]); the rounding and width are Leaflet's.
SCALE = """function (map, units) {
  var Scale = L.Control.Scale.extend({
    _updateMetric: function (maxMeters) {
      var m = this._getRoundNum(maxMeters);
      this._updateScale(this._mScale, m < 1000 ? m + " " + units[0] : m / 1000 + " " + units[1],
                        m / maxMeters);
    }
  });
  new Scale({imperial: false, maxWidth: 150}).addTo(map);
}"""

# The basemaps. While no tile of theirs has loaded and one failed (or none came within
# 10 s), a one-line note says so; the layers show all the same on the plain background.
# `shifted` are WGS-84 tile layers on a map drawn in GCJ-02: their tiles move by the
# GCJ-02 offset at the data's centre (`shift`: [lat, lng, dlat, dlng]), which varies by
# a few metres across a city. (Leaflet 1.9's GridLayer places tiles in these two methods.)
BASEMAPS = """function (map, layers, note, shifted, shift) {
  var div = null, loaded = false;
  function show() {
    if (div || loaded) return;
    div = L.DomUtil.create("div", "sp-nobase", map.getContainer());
    div.setAttribute("role", "status");
    div.textContent = note;
  }
  layers.forEach(function (layer) {
    layer.on("tileerror", show);
    layer.on("tileload", function () {
      loaded = true;
      if (div) { L.DomUtil.remove(div); div = null; }
    });
  });
  setTimeout(show, 10000);
  if (!shift) return;
  var from = L.latLng(shift[0], shift[1]), to = L.latLng(shift[0] + shift[2], shift[1] + shift[3]);
  function offset(layer) {
    var z = layer._tileZoom;
    return map.project(to, z).subtract(map.project(from, z)).round();
  }
  shifted.forEach(function (layer) {
    layer._getTilePos = function (coords) {
      return L.TileLayer.prototype._getTilePos.call(this, coords).add(offset(this));
    };
    layer._getTiledPixelBounds = function (center) {
      var b = L.TileLayer.prototype._getTiledPixelBounds.call(this, center), o = offset(this);
      return L.bounds(b.min.subtract(o), b.max.subtract(o));
    };
  });
}"""

PANEL = """function (map, inner) {
  var panel = L.control({position: "bottomleft"});
  panel.onAdd = function () {
    var div = L.DomUtil.create("div", "sp-panel leaflet-control");
    div.id = "stationplan-legend";
    div.innerHTML = inner;
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  panel.addTo(map);
  // Controls sit above popups: move the map so that an open popup clears the panel.
  map.on("popupopen", function (e) {
    var box = panel.getContainer().getBoundingClientRect();
    var pop = e.popup.getElement().getBoundingClientRect();
    var overlap = box.right + 8 - pop.left;
    if (overlap > 0 && pop.bottom > box.top && pop.top < box.bottom) {
      map.panBy([-overlap, 0]);
    }
  });
}"""

# The panel's switch between today (coverage by the existing stations) and the plan: each
# side's layers are added and the other side's removed, so the layer control follows.
PHASES = """function (map, before, after) {
  var panel = document.getElementById("stationplan-legend");
  function show(phase) {
    var on = phase === "before" ? before : after, off = phase === "before" ? after : before;
    off.forEach(function (g) { if (map.hasLayer(g)) map.removeLayer(g); });
    on.forEach(function (g) { if (!map.hasLayer(g)) map.addLayer(g); });
    panel.setAttribute("data-phase", phase);
  }
  panel.querySelectorAll("input[name=sp-phase]").forEach(function (input) {
    input.addEventListener("change", function () { if (input.checked) show(input.value); });
  });
  panel.setAttribute("data-phase", "after");
}"""

CLUSTER_ICON = """function (cluster) {
  var n = cluster.getChildCount(), size = n < 10 ? 30 : n < 100 ? 36 : 42;
  return L.divIcon({html: String(n), className: "sp-cluster",
                    iconSize: L.point(size, size)});
}"""
