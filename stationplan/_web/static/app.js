/* stationplan serve: the planner's page. Plain JavaScript, no build step, no framework.
 *
 * Every text that comes from a user or a file (station names, sheet and file names,
 * reasons, street names, messages) reaches the document through textContent or DOM nodes
 * built here, never through innerHTML: Leaflet popups and tooltips are given DOM nodes.
 *
 * The map: the layers, colours and panel of coverage_map.html, drawn in WGS-84 on canvas
 * renderers (one per pane); the Gaode tiles (GCJ-02) are moved by the city's offset. An
 * edit's Update replaces only the pieces of the edges it lists.
 *
 * Test and benchmark hook, window.stationplan:
 *   ready                   promise: the first state and coverage are drawn
 *   share, figures          the unrounded figures shown (Figures of the last update/state)
 *   version                 version of the last applied update (or state)
 *   redrawn(v)              promise resolved once the map is redrawn after update v
 *   redrawnVersion()        the latest version drawn; event "stationplan:redrawn" on window
 *                           ({version, at: performance.now()}) after each
 *   lastUpdate              {version, compute_ms (server), edges, sent_at, received_at,
 *                           drawn_ms, redrawn_at} (performance.now() times)
 *   add(lon, lat, name), move(id, lon, lat), remove(id), undo(), redo()
 *                           scripted edits (WGS-84); each resolves once the map shows it
 *   stations(), pieceCount(), lengths(), checkedCount(), reload(), map (the Leaflet map)
 *   drawnLayers()           {held, made}: street layers in the layer groups and those the
 *                           current pieces made (equal unless removed pieces linger)
 */
(function () {
  "use strict";

  // ---- constants (the look of stationplan's coverage_map.html, _render/mapstyle.py) ----
  var STYLE = {
    band_colours: ["#0c2c84", "#225ea8", "#1d91c0", "#41b6c4", "#7fcdbb"],
    gap_colour: "#e31a1c",
    service_colour: "#225ea8",
    station_colour: "#7b1fa2",
    proposal_colour: "#ef6c00",
    rejected_colour: "#757575",
    other_colour: "#9e9e9e",
    street_weight: 3,
    limit_m: 500
  };
  var TILES = {
    osm: ["https://tile.openstreetmap.org/{z}/{x}/{y}.png",
      "&copy; <a href=\"https://www.openstreetmap.org/copyright\">OpenStreetMap</a> contributors",
      19, "abc"],
    carto: ["https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png",
      "&copy; <a href=\"https://www.openstreetmap.org/copyright\">OpenStreetMap</a> contributors" +
      " &copy; <a href=\"https://carto.com/attributions\">CARTO</a>", 20, "abcd"],
    gaode: ["https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
      "&copy; 高德地图 AutoNavi", 18, "1234"],
    gaode_satellite: ["https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}",
      "&copy; 高德地图 AutoNavi", 18, "1234"]
  };

  var params = new URLSearchParams(window.location.search);
  var TOKEN = params.get("token");
  var DICT = {zh: {}, en: {}};
  var lang = "zh";

  // ---- small helpers -------------------------------------------------------------------
  function t(key, vars) {
    var s = (DICT[lang] && DICT[lang][key]) || (DICT.en && DICT.en[key]) || key;
    if (vars) {
      s = s.replace(/\{(\w+)\}/g, function (m, k) {
        return Object.prototype.hasOwnProperty.call(vars, k) ? String(vars[k]) : m;
      });
    }
    return s;
  }
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function num(x, digits) {
    return Number(x).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB",
      {minimumFractionDigits: digits, maximumFractionDigits: digits});
  }
  // A share as a percentage that never rounds to a false 0 or 100 (as _i18n.percent_text).
  function percent(share, digits) {
    if (share === null || share === undefined || !isFinite(share)) return t("share_na");
    var d = digits === undefined ? 2 : digits;
    var v = (100 * share).toFixed(d), top = (100).toFixed(d), zero = (0).toFixed(d);
    if (v === top && share < 1) v = (100 - Math.pow(10, -d)).toFixed(d);
    else if (v === zero && share > 0) v = Math.pow(10, -d).toFixed(d);
    return v + " %";
  }
  function lengthText(m) {
    if (m === null || m === undefined || !isFinite(m)) return "–";
    if (Math.abs(m) < 999.5) return num(m, 0) + " " + t("m");
    return num(m / 1000, 1) + " " + t("km");
  }
  function showError(message) {
    var box = $("sp-error");
    box.textContent = String(message);
    box.hidden = false;
    clearTimeout(showError._timer);
    showError._timer = setTimeout(function () { box.hidden = true; }, 10000);
  }

  function api(method, path, body) {
    var opts = {method: method, headers: {}, credentials: "same-origin"};
    if (TOKEN) opts.headers["X-Stationplan-Token"] = TOKEN;
    if (body instanceof FormData) {
      opts.body = body;
    } else if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!r.ok) {
          var msg = (data && data.error) || (r.status + " " + r.statusText);
          var err = new Error(msg);
          err.status = r.status;
          err.code = data && data.code;
          throw err;
        }
        return data;
      });
    });
  }
  // An edit names the scenario this page shows: when another tab has opened another one
  // since, the server refuses it (409 scenario_changed) rather than change a scenario the
  // user does not see.
  function scoped(path) {
    if (!state || !state.scenario) return path;
    return path + (path.indexOf("?") >= 0 ? "&" : "?") + "scenario=" +
      encodeURIComponent(state.scenario.id);
  }
  function withToken(url) {
    if (!TOKEN) return url;
    return url + (url.indexOf("?") >= 0 ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
  }

  // ---- GCJ-02 (the offset of Chinese map tiles; stationplan.chinacrs) ----------------------
  function outOfChina(lng, lat) {
    return lng < 72.004 || lng > 137.8347 || lat < 0.8293 || lat > 55.8271;
  }
  function tLat(x, y) {
    var P = Math.PI;
    var r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * P) + 20 * Math.sin(2 * x * P)) * 2 / 3;
    r += (20 * Math.sin(y * P) + 40 * Math.sin(y / 3 * P)) * 2 / 3;
    r += (160 * Math.sin(y / 12 * P) + 320 * Math.sin(y * P / 30)) * 2 / 3;
    return r;
  }
  function tLng(x, y) {
    var P = Math.PI;
    var r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * P) + 20 * Math.sin(2 * x * P)) * 2 / 3;
    r += (20 * Math.sin(x * P) + 40 * Math.sin(x / 3 * P)) * 2 / 3;
    r += (150 * Math.sin(x / 12 * P) + 300 * Math.sin(x / 30 * P)) * 2 / 3;
    return r;
  }
  function wgs2gcj(lng, lat) {
    if (outOfChina(lng, lat)) return [lng, lat];
    var a = 6378245.0, ee = 0.00669342162296594323, P = Math.PI;
    var dlat = tLat(lng - 105, lat - 35), dlng = tLng(lng - 105, lat - 35);
    var rad = lat / 180 * P, magic = Math.sin(rad);
    magic = 1 - ee * magic * magic;
    var sq = Math.sqrt(magic);
    dlat = (dlat * 180) / ((a * (1 - ee)) / (magic * sq) * P);
    dlng = (dlng * 180) / (a / sq * Math.cos(rad) * P);
    return [lng + dlng, lat + dlat];
  }

  // ---- the map -------------------------------------------------------------------------
  var map = L.map("sp-map", {zoomControl: true, preferCanvas: true, boxZoom: true,
    zoomSnap: 0.5});
  map.setView([30, 110], 4);
  L.control.scale({imperial: false, maxWidth: 150}).addTo(map);
  [["spAreas", 380], ["spOther", 390], ["spStreets", 400], ["spGaps", 410]].forEach(function (p) {
    map.createPane(p[0]).style.zIndex = p[1];
  });
  // Service areas: opaque strokes on a translucent pane, so that overlaps do not darken.
  map.getPane("spAreas").style.opacity = "0.2";
  var renderers = {
    spAreas: L.canvas({pane: "spAreas"}),
    spOther: L.canvas({pane: "spOther", tolerance: 2}),
    spStreets: L.canvas({pane: "spStreets", tolerance: 4}),
    spGaps: L.canvas({pane: "spGaps", tolerance: 4})
  };
  var groups = {
    service: L.featureGroup().addTo(map),
    other: L.featureGroup().addTo(map),
    paired: L.featureGroup().addTo(map),
    streets: L.featureGroup().addTo(map),
    gaps: L.featureGroup().addTo(map),
    stations: L.featureGroup().addTo(map),
    rejected: L.featureGroup().addTo(map),
    proposals: L.featureGroup().addTo(map),
    checked: L.featureGroup().addTo(map)
  };
  var layerControl = null, baseLayers = null, panel = null;

  // ---- page state ----------------------------------------------------------------------
  var state = null;                 // the last /api/state
  var edgeLayers = new Map();       // edge id -> [layer, ...]
  var catchment = new Map();        // station id -> covered street metres
  var lengths = {covered: 0, gap: 0, other: 0, paired: 0};
  var markers = new Map();          // station id -> marker
  var stations = new Map();         // station id -> Station
  var figures = null;
  var lastUpdate = null;
  var appliedVersion = 0;
  var redrawnVersion = 0;
  var waiters = [];
  var fitted = false;
  var gcjShift = null;              // [lat, lng, dlat, dlng] at the network's centre
  var plan = null;                  // {job, proposals: [...], share_after}
  var editChain = Promise.resolve();
  var gapRuns = [];
  var addMode = false;
  var addCount = 0;
  var watching = false;
  var legendOpen = null;

  // the server's style (mapstyle.py's colours and the rule's limit), when it gives one
  function applyStyle(st) {
    if (!st) return;
    var keys = {bands: "band_colours", gap: "gap_colour", service: "service_colour",
      station: "station_colour", proposal: "proposal_colour", rejected: "rejected_colour",
      other: "other_colour", street_weight: "street_weight", limit_m: "limit_m"};
    Object.keys(keys).forEach(function (k) {
      if (st[k] !== undefined && st[k] !== null) STYLE[keys[k]] = st[k];
    });
    if (Array.isArray(st.band_edges_m) && st.band_edges_m.length) STYLE.band_edges_m = st.band_edges_m;
  }
  function bandEdges() {
    if (STYLE.band_edges_m && STYLE.band_edges_m.length === STYLE.band_colours.length) {
      return STYLE.band_edges_m;
    }
    var lim = STYLE.limit_m, n = STYLE.band_colours.length, out = [];
    for (var k = 0; k < n; k++) out.push(lim * (k + 1) / n);
    return out;
  }
  function bandOf(d) {
    var edges = bandEdges();
    for (var i = 0; i < edges.length; i++) { if (d < edges[i]) return i; }
    return edges.length - 1;
  }
  function zoomScale() {
    var z = map.getZoom();
    return z === undefined ? 1 : Math.min(1, Math.max(0.5, (z - 10) / 5));
  }

  // lines of a feature geometry as arrays of [lat, lng]
  function lines(geometry) {
    if (!geometry) return [];
    var flip = function (c) { return [c[1], c[0]]; };
    if (geometry.type === "LineString") return [geometry.coordinates.map(flip)];
    if (geometry.type === "MultiLineString") {
      return geometry.coordinates.map(function (l) { return l.map(flip); });
    }
    return [];
  }
  // Planar length of a [lat, lng] line in metres (local approximation; only used to place
  // band cuts along a piece whose exact length the server gives).
  function cumulative(line) {
    var out = [0], k = Math.cos(line.length ? line[0][0] * Math.PI / 180 : 0);
    for (var i = 1; i < line.length; i++) {
      var dy = (line[i][0] - line[i - 1][0]) * 111320;
      var dx = (line[i][1] - line[i - 1][1]) * 111320 * k;
      out.push(out[i - 1] + Math.sqrt(dx * dx + dy * dy));
    }
    return out;
  }
  function cut(line, cum, a, b) {
    // the part of `line` between a and b metres along it
    var out = [], i, f;
    function at(s) {
      for (var j = 1; j < line.length; j++) {
        if (cum[j] >= s) {
          f = cum[j] > cum[j - 1] ? (s - cum[j - 1]) / (cum[j] - cum[j - 1]) : 0;
          return [line[j - 1][0] + f * (line[j][0] - line[j - 1][0]),
            line[j - 1][1] + f * (line[j][1] - line[j - 1][1])];
        }
      }
      return line[line.length - 1];
    }
    out.push(at(a));
    for (i = 0; i < line.length; i++) { if (cum[i] > a && cum[i] < b) out.push(line[i]); }
    out.push(at(b));
    return out;
  }
  // Covered pieces split where the distance to the station crosses a band edge: the
  // distance grows from dist_m at the near end by the length along the piece. The near
  // end is the property `dir` when the server gives it, else the end nearer the station.
  function bandParts(f, line) {
    var p = f.properties, near = Number(p.dist_m) || 0, len = Number(p.length_m) || 0;
    var edges = bandEdges(), inner = edges.filter(function (e) {
      return e > near + 0.01 && e < near + len - 0.01;
    });
    if (!inner.length || p.via_twin || line.length < 2) return [[bandOf(near + len / 2), line]];
    var forward = true;
    if (p.dir !== undefined && p.dir !== null) {
      forward = Number(p.dir) >= 0;
    } else {
      var st = stations.get(String(p.station_id));
      if (st) {
        var s = L.latLng(st.lat, st.lon);
        forward = s.distanceTo(line[0]) <= s.distanceTo(line[line.length - 1]);
      }
    }
    var cum = cumulative(line), glen = cum[cum.length - 1], scale = len > 0 ? glen / len : 0;
    var marks = [0].concat(inner.map(function (e) { return e - near; }), [len]);
    var parts = [];
    for (var i = 0; i < marks.length - 1; i++) {
      var lo = marks[i] * scale, hi = marks[i + 1] * scale;
      var seg = forward ? cut(line, cum, lo, hi) : cut(line, cum, glen - hi, glen - lo);
      parts.push([bandOf(near + (marks[i] + marks[i + 1]) / 2), seg]);
    }
    return parts;
  }

  function polyline(latlngs, style, pane, interactive) {
    var s = {};
    for (var k in style) s[k] = style[k];
    s.renderer = renderers[pane];
    s.interactive = !!interactive;
    if (s.weight > 1 && s.baseWeight === undefined) s.baseWeight = s.weight;
    s.weight = s.baseWeight > 1 ? s.baseWeight * zoomScale() : s.weight;
    return L.polyline(latlngs, s);
  }

  function addPiece(f) {
    var p = f.properties || {}, status = p.status, edge = p.edge_id, made = [];
    var len = Number(p.length_m) || 0;
    lines(f.geometry).forEach(function (line) {
      if (status === "covered") {
        bandParts(f, line).forEach(function (part) {
          var l = polyline(part[1], {color: STYLE.band_colours[part[0]], opacity: 0.9,
            weight: STYLE.street_weight, lineCap: "round"}, "spStreets", true);
          l.feature = f;
          l._spGroup = groups.streets;
          l.addTo(groups.streets);
          made.push(l);
        });
        var area = polyline(line, {color: STYLE.service_colour, opacity: 1,
          weight: 16, lineCap: "round", lineJoin: "round"}, "spAreas", false);
        area._spGroup = groups.service;
        area.addTo(groups.service);
        made.push(area);
      } else if (status === "gap") {
        var g = polyline(line, {color: STYLE.gap_colour, opacity: 0.9,
          weight: STYLE.street_weight, lineCap: "round"}, "spGaps", true);
        g.feature = f;
        g._spGroup = groups.gaps;
        g.addTo(groups.gaps);
        made.push(g);
      } else if (status === "paired") {
        var q = polyline(line, {color: STYLE.other_colour, opacity: 0.8, weight: 1.5,
          dashArray: "2 4"}, "spOther", false);
        q._spGroup = groups.paired;
        q.addTo(groups.paired);
        made.push(q);
      } else {
        var o = polyline(line, {color: STYLE.other_colour, opacity: 0.8, weight: 1.5},
          "spOther", false);
        o._spGroup = groups.other;
        o.addTo(groups.other);
        made.push(o);
      }
    });
    if (status === "covered" && p.station_id !== null && p.station_id !== undefined) {
      var sid = String(p.station_id);
      catchment.set(sid, (catchment.get(sid) || 0) + len);
    }
    if (lengths[status] !== undefined) lengths[status] += len;
    else lengths.other += len;
    var list = edgeLayers.get(edge);
    if (!list) { list = []; edgeLayers.set(edge, list); }
    made.forEach(function (l) { l._spStatus = status; l._spLen = len; l._spStation = p.station_id; });
    list.push({layers: made, status: status, len: len, station: p.station_id});
  }

  function removeEdge(edge) {
    var list = edgeLayers.get(edge);
    if (!list) return;
    list.forEach(function (item) {
      // out of its layer group too, or a group toggled off and on would draw it again
      item.layers.forEach(function (l) { l._spGroup.removeLayer(l); });
      if (item.status === "covered" && item.station !== null && item.station !== undefined) {
        var sid = String(item.station);
        catchment.set(sid, (catchment.get(sid) || 0) - item.len);
      }
      if (lengths[item.status] !== undefined) lengths[item.status] -= item.len;
      else lengths.other -= item.len;
    });
    edgeLayers.delete(edge);
  }

  function clearPieces() {
    ["service", "other", "paired", "streets", "gaps"].forEach(function (g) {
      groups[g].clearLayers();
    });
    edgeLayers = new Map();
    catchment = new Map();
    lengths = {covered: 0, gap: 0, other: 0, paired: 0};
  }

  map.on("zoomend", function () {
    var k = zoomScale();
    ["service", "streets", "gaps"].forEach(function (g) {
      groups[g].eachLayer(function (l) {
        if (l.options.baseWeight > 1) l.setStyle({weight: l.options.baseWeight * k});
      });
    });
  });

  // one shared popup for street pieces
  function piecePopup(e) {
    var l = e.layer || e.target, f = l.feature;
    if (!f || addMode) return;
    var p = f.properties, box = el("div", "sp-popup");
    if (p.status === "covered") {
      var st = stations.get(String(p.station_id));
      box.appendChild(el("b", "sp-name", p.name || t("unnamed")));
      var tb = el("table");
      row(tb, t("covered_by"), st ? st.name || st.station_id : p.station_id);
      row(tb, t("dist"), lengthText(p.dist_m) + " – " +
        lengthText(Math.min(Number(p.dist_m) + Number(p.length_m), STYLE.limit_m)));
      row(tb, t("length"), lengthText(p.length_m));
      box.appendChild(tb);
    } else {
      box.appendChild(el("b", "sp-name", t("gap_piece") + " · " + (p.name || t("unnamed"))));
      var tg = el("table");
      row(tg, t("length"), lengthText(p.length_m));
      box.appendChild(tg);
    }
    L.popup({maxWidth: 320}).setLatLng(e.latlng).setContent(box).openOn(map);
  }
  groups.streets.on("click", piecePopup);
  groups.gaps.on("click", piecePopup);

  function row(table, key, value) {
    var tr = el("tr");
    tr.appendChild(el("th", null, key));
    tr.appendChild(el("td", null, value));
    table.appendChild(tr);
    return tr;
  }

  // ---- basemaps -------------------------------------------------------------------------
  var basemapCentre = null;
  function setupBasemaps(centre) {
    if (layerControl) {
      // the same city: keep them; another one (a new network): set them up again
      if (!centre || !basemapCentre || (Math.abs(centre[0] - basemapCentre[0]) < 0.2 &&
          Math.abs(centre[1] - basemapCentre[1]) < 0.2)) return;
      Object.keys(baseLayers).forEach(function (k) { map.removeLayer(baseLayers[k]); });
      map.removeControl(layerControl);
      layerControl = null;
      gcjShift = null;
    }
    basemapCentre = centre;
    var inChina = centre && !outOfChina(centre[0], centre[1]);
    var bases = {};
    var tiles = [];
    function add(kind, name, show) {
      var d = TILES[kind];
      var layer = L.tileLayer(d[0], {attribution: d[1], maxZoom: 19, maxNativeZoom: d[2],
        subdomains: d[3]});
      bases[name] = layer;
      tiles.push([kind, layer]);
      if (show) layer.addTo(map);
    }
    if (inChina) {
      add("gaode", t("gaode"), true);
      add("gaode_satellite", t("gaode_satellite"), false);
      add("osm", "OpenStreetMap", false);
    } else {
      add("osm", "OpenStreetMap", true);
      add("carto", t("carto"), false);
    }
    // Gaode tiles are drawn in GCJ-02; the layers are WGS-84: move the tiles by the
    // offset at the city's centre (it varies by a few metres across a city).
    if (inChina) {
      var g = wgs2gcj(centre[0], centre[1]);
      gcjShift = [centre[1], centre[0], g[1] - centre[1], g[0] - centre[0]];
      var from = L.latLng(g[1], g[0]), to = L.latLng(centre[1], centre[0]);
      var offset = function (layer) {
        var z = layer._tileZoom;
        return map.project(to, z).subtract(map.project(from, z)).round();
      };
      tiles.forEach(function (kt) {
        if (kt[0].indexOf("gaode") !== 0) return;
        var layer = kt[1];
        layer._getTilePos = function (coords) {
          return L.TileLayer.prototype._getTilePos.call(this, coords).add(offset(this));
        };
        layer._getTiledPixelBounds = function (c) {
          var b = L.TileLayer.prototype._getTiledPixelBounds.call(this, c), o = offset(this);
          return L.bounds(b.min.subtract(o), b.max.subtract(o));
        };
      });
    }
    // the note while no tile has loaded
    var note = null, loaded = false;
    function show() {
      if (note || loaded) return;
      note = L.DomUtil.create("div", "sp-nobase", map.getContainer());
      note.setAttribute("role", "status");
      note.textContent = t("no_basemap");
    }
    tiles.forEach(function (kt) {
      kt[1].on("tileerror", show);
      kt[1].on("tileload", function () {
        loaded = true;
        if (note) { L.DomUtil.remove(note); note = null; }
      });
    });
    setTimeout(show, 10000);
    baseLayers = bases;
    var overlays = {};
    overlays[t("service")] = groups.service;
    overlays[t("other")] = groups.other;
    overlays[t("paired")] = groups.paired;
    overlays[t("streets")] = groups.streets;
    overlays[t("gaps")] = groups.gaps;
    overlays[t("stations")] = groups.stations;
    overlays[t("rejected")] = groups.rejected;
    overlays[t("proposals")] = groups.proposals;
    overlays[t("checked")] = groups.checked;
    layerControl = L.control.layers(bases, overlays, {collapsed: true}).addTo(map);
  }

  // ---- the panel on the map (as coverage_map.html's) ---------------------------------------
  function setupPanel() {
    panel = L.control({position: "bottomleft"});
    panel.onAdd = function () {
      var div = L.DomUtil.create("div", "sp-panel leaflet-control");
      div.id = "stationplan-legend";
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
        map.panBy([-overlap, 0], {animate: false});
      }
    });
    renderPanel();
  }
  function swatch(css) {
    var s = el("span", "sp-sw");
    s.setAttribute("style", css);
    return s;
  }
  function renderPanel() {
    if (!panel) return;
    var div = panel.getContainer();
    div.textContent = "";
    var det = el("details");
    det.open = true;
    det.appendChild(el("summary", null, t("panel_title")));
    var f = figures;
    var big = el("div", "sp-big");
    var shareSpan = el("span", null, f ? percent(f.share) : t("share_na"));
    shareSpan.id = "sp-share";
    if (f) shareSpan.setAttribute("data-share", String(f.share));
    if (lang === "zh") {
      big.appendChild(document.createTextNode("覆盖率 "));
      big.appendChild(shareSpan);
    } else {
      big.appendChild(shareSpan);
      big.appendChild(document.createTextNode(" covered"));
    }
    det.appendChild(big);
    det.appendChild(el("div", "sp-what", t("share_what")));
    if (f) {
      var lines1 = [
        ["sp-covered-line", t("covered_line", {covered: num(f.covered_m / 1000, 1),
          total: num(f.demand_m / 1000, 1)})],
        ["sp-gap-line", t("gap_line", {gap: num(f.gap_m / 1000, 1), runs: gapRuns.length})],
        ["sp-stations-line", t("stations_line", {ok: f.stations_ok, n: f.stations})]
      ];
      lines1.forEach(function (l) { var d = el("div", null, l[1]); d.id = l[0]; det.appendChild(d); });
      if (lastUpdate) {
        det.appendChild(el("div", "sp-muted", t("version_line", {v: lastUpdate.version,
          ms: num(lastUpdate.compute_ms || 0, 0)})));
      }
      if (plan && plan.share_after !== undefined && plan.share_after !== null) {
        det.appendChild(el("div", "sp-cert", t("plan_after", {share: percent(plan.share_after)})));
        if (plan.optimal_for) det.appendChild(el("div", "sp-muted", plan.optimal_for));
      }
    }
    // the legend folds away on a narrow map (its state is kept from one drawing to the next)
    var leg = el("details", "sp-legend");
    if (legendOpen === null) legendOpen = map.getSize().x >= 900;
    leg.open = legendOpen;
    leg.addEventListener("toggle", function () { legendOpen = leg.open; });
    leg.appendChild(el("summary", null, t("legend")));
    det.appendChild(leg);
    leg.appendChild(el("h4", null, t("band_title")));
    var tb = el("table"), edges = bandEdges();
    STYLE.band_colours.forEach(function (c, k) {
      var tr = el("tr"), td = el("td");
      td.appendChild(swatch("height:" + STYLE.street_weight + "px;background:" + c));
      tr.appendChild(td);
      tr.appendChild(el("td", null, num(k ? edges[k - 1] : 0, 0) + "–" + lengthText(edges[k])));
      tb.appendChild(tr);
    });
    leg.appendChild(tb);
    var legend = el("table");
    [[swatch("height:" + STYLE.street_weight + "px;background:" + STYLE.gap_colour), t("gap_title")],
      [swatch("height:12px;background:" + STYLE.service_colour + ";opacity:.3"), t("service_legend")],
      [dot("sp-station"), t("station_legend")],
      [dot("sp-station sp-added"), t("new_station_legend")],
      [dot("sp-proposal", "1"), t("proposal_legend")],
      [dot("sp-rejected"), t("rejected_legend")],
      [swatch("height:2px;background:" + STYLE.other_colour), t("other_legend")],
      [swatch("height:0;border-top:2px dotted " + STYLE.other_colour), t("paired_legend")]
    ].forEach(function (item) {
      var tr = el("tr"), td = el("td");
      td.appendChild(item[0]);
      tr.appendChild(td);
      tr.appendChild(el("td", null, item[1]));
      legend.appendChild(tr);
    });
    leg.appendChild(legend);
    if (gcjShift) leg.appendChild(el("div", "sp-note", t("gcj_note")));
    div.appendChild(det);
  }
  function dot(cls, text) {
    return el("span", "sp-marker sp-dot " + cls, text || "");
  }

  // ---- station search (as coverage_map.html's): tips are text, never HTML ------------------
  function setupSearch() {
    var control = L.control({position: "topleft"});
    control.onAdd = function () {
      var box = L.DomUtil.create("div", "sp-search leaflet-bar leaflet-control");
      var input = L.DomUtil.create("input", "sp-search-input", box);
      var list = L.DomUtil.create("ul", "sp-search-tips", box);
      input.type = "search";
      input.id = "sp-search";
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      function open(id) {
        var m = markers.get(id);
        list.textContent = "";
        if (!m) return;
        map.setView(m.getLatLng(), Math.max(map.getZoom(), 16));
        m.openPopup();
      }
      function update() {
        var q = input.value.trim().toLowerCase(), hits = [];
        list.textContent = "";
        if (!q) return;
        stations.forEach(function (st, id) {
          var name = String(st.name || id);
          if (hits.length < 12 && (name.toLowerCase().indexOf(q) >= 0 ||
              String(id).toLowerCase() === q)) hits.push([name, id]);
        });
        if (!hits.length) L.DomUtil.create("li", "sp-search-none", list).textContent = t("not_found");
        hits.forEach(function (h) {
          var li = L.DomUtil.create("li", "sp-search-tip", list);
          li.textContent = h[0];
          li.addEventListener("click", function (e) {
            e.stopPropagation();
            input.value = h[0];
            open(h[1]);
          });
        });
      }
      input.addEventListener("input", update);
      input.addEventListener("keydown", function (e) {
        var first = list.querySelector(".sp-search-tip");
        if (e.key === "Enter" && first) first.click();
        if (e.key === "Escape") { input.value = ""; update(); }
      });
      control.setPlaceholder = function () {
        input.placeholder = t("search");
        input.setAttribute("aria-label", t("search"));
      };
      return box;
    };
    control.addTo(map);
    return control;
  }
  var search = setupSearch();

  // ---- stations --------------------------------------------------------------------------
  function stationIcon(st) {
    var cls = "sp-marker sp-station" + (st.source && st.source !== "sheet" ? " sp-added" : "");
    return L.divIcon({className: cls, html: "", iconSize: [26, 26], iconAnchor: [13, 13],
      popupAnchor: [0, -13], tooltipAnchor: [13, 0]});
  }
  var REJECTED_ICON = L.divIcon({className: "sp-marker sp-rejected", html: "",
    iconSize: [22, 22], iconAnchor: [11, 11], popupAnchor: [0, -11], tooltipAnchor: [11, 0]});

  function stationPopup(st) {
    var box = el("div", "sp-popup");
    box.appendChild(el("b", "sp-name", st.name || st.station_id));
    var tb = el("table");
    row(tb, t("station_id"), st.station_id);
    if (st.status) row(tb, t("status"), t("st_" + st.status));
    if (st.reason) row(tb, t("reason"), st.reason);
    if (st.snap_dist_m !== null && st.snap_dist_m !== undefined) {
      row(tb, t("snap"), lengthText(st.snap_dist_m));
    }
    if (st.source) row(tb, t("source"), t("src_" + st.source));
    var attrs = st.attrs || {};
    ["address", "hours", "services", "phone", "note"].forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === "") return;
      if (k === "services") {  // service keys (stationplan.services) in words
        var list = Array.isArray(v) ? v : String(v).split(/[;；,，、|]/);
        v = list.map(function (x) {
          x = String(x).trim();
          var key = "svc_" + x;
          return DICT[lang] && DICT[lang][key] ? t(key) : x;
        }).filter(Boolean).join(t("list_sep"));
      }
      row(tb, t(k), v);
    });
    if (st.status === "ok") {
      var c = row(tb, t("catchment"), lengthText(catchment.get(String(st.station_id)) || 0));
      c.className = "sp-catchment";
    }
    box.appendChild(tb);
    var btn = el("button", "sp-delete", t("delete"));
    btn.type = "button";
    btn.addEventListener("click", function () {
      map.closePopup();
      deleteStation(st.station_id);
    });
    box.appendChild(btn);
    return box;
  }

  function upsertMarker(st) {
    var id = String(st.station_id);
    stations.set(id, st);
    var old = markers.get(id);
    if (old) old.remove();
    if (st.lat === null || st.lon === null || st.lat === undefined || !isFinite(st.lat)) {
      markers.delete(id);
      return;
    }
    var ok = st.status === "ok";
    var m = L.marker([st.lat, st.lon], {icon: ok ? stationIcon(st) : REJECTED_ICON,
      draggable: true, riseOnHover: true, autoPan: true, keyboard: true,
      title: ""});
    m.bindTooltip(function () { return el("span", null, st.name || st.station_id); },
      {direction: "right"});
    m.bindPopup(function () { return stationPopup(stations.get(id) || st); }, {maxWidth: 320});
    m.on("dragstart", function () { m.closeTooltip(); });
    m.on("dragend", function () {
      var ll = m.getLatLng();
      moveStation(id, ll.lng, ll.lat, [st.lat, st.lon]);
    });
    m.on("add", function () {
      var e = m.getElement();
      if (e) {
        e.setAttribute("data-station", id);
        e.setAttribute("aria-label", st.name || id);
      }
    });
    m.addTo(ok ? groups.stations : groups.rejected);
    markers.set(id, m);
  }
  function removeMarker(id) {
    id = String(id);
    var m = markers.get(id);
    if (m) m.remove();
    markers.delete(id);
    stations.delete(id);
  }
  function syncStations(list) {
    var seen = new Set();
    list.forEach(function (st) {
      var id = String(st.station_id);
      seen.add(id);
      var old = stations.get(id);
      if (!old || old.lon !== st.lon || old.lat !== st.lat || old.name !== st.name ||
          old.status !== st.status || !markers.has(id)) {
        upsertMarker(st);
      } else {
        stations.set(id, st);
      }
    });
    Array.from(stations.keys()).forEach(function (id) { if (!seen.has(id)) removeMarker(id); });
  }

  // ---- updates ---------------------------------------------------------------------------
  function notifyRedrawn(version) {
    return new Promise(function (resolve) {
      requestAnimationFrame(function () {
        requestAnimationFrame(function () {
          redrawnVersion = Math.max(redrawnVersion, version);
          var at = performance.now();
          if (lastUpdate && lastUpdate.version === version) lastUpdate.redrawn_at = at;
          waiters = waiters.filter(function (w) {
            if (w.version <= redrawnVersion) { w.resolve({version: redrawnVersion, at: at}); return false; }
            return true;
          });
          window.dispatchEvent(new CustomEvent("stationplan:redrawn",
            {detail: {version: version, at: at}}));
          resolve(version);
        });
      });
    });
  }

  function setFigures(f) {
    figures = f;
    hook.figures = f;
    hook.share = f ? f.share : null;
    renderPanel();
  }
  function setUndo(canUndo, canRedo) {
    $("sp-undo").disabled = !canUndo;
    $("sp-redo").disabled = !canRedo;
  }

  // Apply the API's Update: replace only the features of the edges it lists.
  function applyUpdate(u, sentAt) {
    if (!u) return Promise.resolve();
    if (u.version <= appliedVersion) return Promise.resolve(appliedVersion);  // stale
    var skipped = appliedVersion && u.version > appliedVersion + 1;
    var t0 = performance.now();
    (u.edges || []).forEach(removeEdge);
    var feats = (u.pieces && u.pieces.features) || [];
    if (u.station) {  // before the pieces: their band direction looks at it
      stations.set(String(u.station.station_id), u.station);
    }
    feats.forEach(addPiece);
    if (u.station) upsertMarker(u.station);
    appliedVersion = u.version;
    hook.version = u.version;
    lastUpdate = {version: u.version, compute_ms: u.compute_ms, edges: (u.edges || []).length,
      sent_at: sentAt, received_at: t0, drawn_ms: performance.now() - t0};
    hook.lastUpdate = lastUpdate;
    setFigures(u.figures);
    setUndo(u.can_undo, u.can_redo);
    refreshGapsSoon();
    var done = notifyRedrawn(u.version);
    if (skipped) {
      // The project changed in between (a job, a sheet read, or another tab's edit): when
      // the stations differ from the ones drawn, load everything again.
      return done.then(function () {
        return api("GET", "/api/state").then(function (s) {
          if (!sameStations(s.stations || [])) return loadAll();
          state = s;
          hook.state = s;
        });
      });
    }
    return done;
  }

  function sameStations(list) {
    if (list.length !== stations.size) return false;
    return list.every(function (st) {
      var mine = stations.get(String(st.station_id));
      return mine && mine.lon === st.lon && mine.lat === st.lat && mine.status === st.status;
    });
  }

  var editsPending = 0;  // edits sent and not yet drawn (the version check waits for them)
  function edit(method, path, body, after) {
    var sentAt = performance.now();
    editsPending += 1;
    editChain = editChain.then(function () {
      return api(method, path, body).then(function (u) {
        if (after) after(u);
        return applyUpdate(u, sentAt);
      });
    }).catch(function (err) {
      showError(err.message);
      return loadAll();
    }).then(function (v) { editsPending -= 1; return v; });
    return editChain;
  }
  function addStation(lon, lat, name) {
    return edit("POST", scoped("/api/stations"), {lon: lon, lat: lat, name: name});
  }
  function moveStation(id, lon, lat) {
    return edit("PATCH", scoped("/api/stations/" + encodeURIComponent(id)), {lon: lon, lat: lat});
  }
  function deleteStation(id) {
    return edit("DELETE", scoped("/api/stations/" + encodeURIComponent(id)), undefined, function () {
      removeMarker(id);
    });
  }
  function undoRedo(which) {
    return edit("POST", scoped("/api/" + which), undefined, null).then(function () {
      // undo/redo may touch any station: take the list from the server
      return api("GET", "/api/state").then(function (s) {
        state = s;
        hook.state = s;
        syncStations(s.stations || []);
        renderSheets();
        return refreshPlan();
      });
    });
  }

  // ---- full load ------------------------------------------------------------------------
  var shownScenario = null;         // the scenario whose plan and check are shown
  function loadAll() {
    return api("GET", "/api/state").then(function (s) {
      state = s;
      hook.state = s;
      var sc = s.scenario ? s.scenario.id : null;
      if (sc !== shownScenario) {  // first load, or another scenario: its own plan and check
        shownScenario = sc;
        if (sc !== null) loadLatest(sc);
      }
      applyStyle(s.style);
      renderScenarios();
      renderNetwork();
      renderSheets();
      setUndo(s.can_undo, s.can_redo);
      if (!s.network && s.loading && !watching) {  // a network is being loaded: follow it
        watching = true;
        runJob("sp-network-job", function () { return Promise.resolve({job: s.loading}); })
          .then(function () { watching = false; fitted = false; return loadAll(); },
            function () { watching = false; });
      }
      if (!s.network) {
        clearPieces();
        syncStations([]);
        setFigures(null);
        appliedVersion = s.version || 0;
        hook.version = appliedVersion;
        return notifyRedrawn(appliedVersion);
      }
      var b = s.network.bounds;
      setupBasemaps(b ? [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] : null);
      if (!fitted && b) map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
      return api("GET", "/api/coverage").then(function (fc) {
        clearPieces();
        // stations first: the band cuts of covered pieces look at them
        syncStations(s.stations || []);
        (fc.features || []).forEach(addPiece);
        appliedVersion = s.version || 0;
        hook.version = appliedVersion;
        setFigures(s.figures);
        if (!fitted) fitDemand();  // once the panel shows its figures: its size is known
        refreshGaps();
        return notifyRedrawn(appliedVersion);
      });
    }).catch(function (err) { showError(err.message); });
  }

  // the streets to be served (covered and gaps), clear of the panel on the left
  function fitDemand() {
    var bounds = L.latLngBounds([]);
    [groups.streets, groups.gaps].forEach(function (g) {
      g.eachLayer(function (l) { bounds.extend(l.getBounds()); });
    });
    if (!bounds.isValid()) return;
    // beside a tall panel, or above a short one
    var box = panel ? panel.getContainer() : null, size = map.getSize();
    var pw = box ? box.offsetWidth : 0, ph = box ? box.offsetHeight : 0;
    var beside = ph > size.y / 2;
    map.fitBounds(bounds, {paddingTopLeft: [beside ? pw + 10 : 10, 10],
      paddingBottomRight: [10, beside ? 10 : ph + 10]});
    fitted = true;
  }

  var gapTimer = null;
  function refreshGapsSoon() {
    clearTimeout(gapTimer);
    gapTimer = setTimeout(refreshGaps, 400);
  }
  function refreshGaps() {
    if (!state || !state.network) return Promise.resolve();
    return api("GET", "/api/gaps").then(function (g) {
      gapRuns = (g && g.gaps) || [];
      var ol = $("sp-gaps");
      ol.textContent = "";
      gapRuns.slice(0, 15).forEach(function (run) {
        var li = el("li");
        var label = (run.name || t("unnamed")) + " · " + lengthText(run.length_m);
        if (run.farthest_m !== null && run.farthest_m !== undefined && isFinite(run.farthest_m)) {
          label += " · " + t("farthest", {d: lengthText(run.farthest_m)});
        } else if (run.beyond) {  // beyond the search: "more than 1.5 km", as gaps.csv says
          label += " · " + t("farthest_beyond", {d: run.beyond});
        }
        var a = el("a", "sp-link", label);  // a link, not a button: it wraps as text
        a.href = "#";
        a.setAttribute("role", "button");
        a.addEventListener("click", function (e) {
          e.preventDefault();
          if (isFinite(run.lat) && isFinite(run.lon)) map.setView([run.lat, run.lon], 17);
        });
        li.appendChild(a);
        ol.appendChild(li);
      });
      renderPanel();
    }).catch(function () { /* the list is a convenience; the figures are elsewhere */ });
  }

  // ---- sidebar renderers -----------------------------------------------------------------
  function renderNetwork() {
    var info = $("sp-network-info");
    info.textContent = "";
    if (!state || !state.network) {
      info.appendChild(el("div", "sp-muted", t("no_network")));
      return;
    }
    var n = state.network;
    info.appendChild(el("div", null, t("network_info", {file: n.file, edges: num(n.edges, 0),
      km: num(n.km, 1), demand_km: num(n.demand_km, 1)})));
  }
  function renderSheets() {
    var box = $("sp-sheets");
    box.textContent = "";
    ((state && state.sheets) || []).forEach(function (sh) {
      box.appendChild(el("div", null, t("sheet_line", {file: sh.file, rows: sh.rows, ok: sh.ok,
        rejected: sh.rejected, crs: crsName(sh.crs)})));
    });
  }
  function renderScenarios() {
    var list = (state && state.scenarios) || [];
    var cur = state && state.scenario ? String(state.scenario.id) : null;
    ["sp-scenario", "sp-cmp-a", "sp-cmp-b"].forEach(function (id, k) {
      var sel = $(id), keep = sel.value;
      sel.textContent = "";
      list.forEach(function (sc) {
        var o = el("option", null, sc.name);
        o.value = String(sc.id);
        sel.appendChild(o);
      });
      if (id === "sp-scenario" && cur !== null) sel.value = cur;
      else if (keep && list.some(function (sc) { return String(sc.id) === keep; })) sel.value = keep;
      else if (k === 2 && list.length > 1) sel.value = String(list[list.length - 1].id);
    });
  }
  function renderRejected(rows) {
    var box = $("sp-rejected-box"), body = $("sp-rejected").tBodies[0];
    body.textContent = "";
    (rows || []).forEach(function (r) {
      var tr = el("tr");
      [r.row, r.station_id, r.name, r.reason].forEach(function (v) {
        tr.appendChild(el("td", null, v === null || v === undefined ? "" : v));
      });
      body.appendChild(tr);
    });
    box.hidden = !(rows && rows.length);
  }

  // the server's warnings on an imported sheet (its words, in the page's language)
  function renderWarnings(list) {
    var box = $("sp-sheet-warnings");
    box.textContent = "";
    (list || []).forEach(function (w) { box.appendChild(el("div", null, w)); });
    box.hidden = !(list && list.length);
  }

  // ---- jobs ------------------------------------------------------------------------------
  function runJob(boxId, start) {
    var box = $(boxId), bar = box.querySelector("progress"), msg = box.querySelector(".sp-job-msg");
    box.hidden = false;
    bar.value = 0;
    msg.textContent = t("working");
    box.classList.remove("sp-failed");
    return start().then(function (r) {
      var id = r.job;
      return new Promise(function (resolve, reject) {
        function poll() {
          api("GET", "/api/jobs/" + encodeURIComponent(id)).then(function (j) {
            bar.value = Number(j.progress) || 0;
            msg.textContent = j.message || t("working");
            if (j.state === "done") {
              bar.value = 1;
              msg.textContent = t("done");
              resolve({id: id, result: j.result});
            } else if (j.state === "failed") {
              box.classList.add("sp-failed");
              msg.textContent = t("failed", {msg: j.message || ""});
              reject(new Error(j.message || "failed"));
            } else {
              setTimeout(poll, 250);
            }
          }).catch(reject);
        }
        poll();
      });
    }).catch(function (err) {
      box.classList.add("sp-failed");
      msg.textContent = t("failed", {msg: err.message});
      throw err;
    });
  }

  // ---- network ---------------------------------------------------------------------------
  function uploadNetwork(file) {
    var fd = new FormData();
    fd.append("file", file, file.name);
    return runJob("sp-network-job", function () { return api("POST", "/api/network", fd); })
      .then(function () { fitted = false; return loadAll(); })
      .then(loadCached)
      .catch(function (err) { showError(err.message); });
  }
  function loadCachedNetwork(name) {
    return runJob("sp-network-job", function () { return api("POST", "/api/network", {cached: name}); })
      .then(function () { fitted = false; return loadAll(); })
      .catch(function (err) { showError(err.message); });
  }
  function loadCached() {
    return api("GET", "/api/networks").then(function (r) {
      var sel = $("sp-cached");
      sel.textContent = "";
      var list = (r && r.cached) || [];
      if (!list.length) sel.appendChild(el("option", null, t("no_cached")));
      list.forEach(function (c) {
        var o = el("option", null, c.name + " (" + num((c.size || 0) / 1e6, 1) + " MB)");
        o.value = c.name;
        sel.appendChild(o);
      });
      $("sp-cached-load").disabled = !list.length;
    }).catch(function () { /* not essential */ });
  }

  // ---- station sheet: read, ask the coordinate system, confirm ---------------------------
  var pendingSheet = null;
  function uploadSheet(file) {
    var fd = new FormData();
    fd.append("file", file, file.name);
    return api("POST", "/api/sheets", fd).then(askCrs).catch(function (err) { showError(err.message); });
  }
  function crsName(c) {
    return {gcj02: "GCJ-02", wgs84: "WGS-84", bd09: "BD-09"}[c] || String(c || "");
  }
  function fromText(f) {
    var key = "from_" + f;
    return DICT[lang] && DICT[lang][key] ? t(key) : String(f);
  }
  function askCrs(r) {
    pendingSheet = r;
    $("sp-crs-file").textContent = r.file || "";
    $("sp-crs-rows").textContent = r.ok === undefined ? String(r.rows)
      : t("rows_ok", {rows: r.rows, ok: r.ok});
    $("sp-crs-read").textContent = crsName(r.crs_read) +
      (r.crs_from ? (lang === "zh" ? "（" : " (") + fromText(r.crs_from) + (lang === "zh" ? "）" : ")") : "");
    $("sp-dup").hidden = true;
    var det = $("sp-crs-detector");
    if (r.detector && r.detector.fired) {
      det.textContent = r.detector.message || "";
      det.hidden = false;
    } else {
      det.textContent = "";
      det.hidden = true;
    }
    var suggest = r.suggest || r.crs_read || "gcj02";
    document.querySelectorAll("input[name=sp-crs]").forEach(function (input) {
      input.checked = input.value === suggest;
      var label = input.parentNode.querySelector("span");
      label.textContent = t("crs_" + input.value) + (input.value === suggest ? t("crs_suggested") : "");
    });
    $("sp-crs-dialog").hidden = false;
    $("sp-crs-ok").focus();
  }
  // duplicates: undefined (ask), "skip" or "keep" the rows that repeat stations already there
  function confirmCrs(duplicates) {
    var r = pendingSheet;
    if (!r) return;
    var chosen = document.querySelector("input[name=sp-crs]:checked");
    var crs = chosen ? chosen.value : "gcj02";
    var body = {crs: crs};
    if (duplicates) body.duplicates = duplicates;
    $("sp-crs-ok").disabled = true;
    $("sp-dup").hidden = true;
    api("POST", scoped("/api/sheets/" + encodeURIComponent(r.sheet_id) + "/confirm"), body)
      .then(function (res) {
        $("sp-crs-dialog").hidden = true;
        pendingSheet = null;
        renderRejected(res.rejected);
        renderWarnings(res.warnings);
        return loadAll();
      })
      .catch(function (err) {
        if (err.code === "duplicate_stations") {  // the server's question, asked here
          $("sp-dup-msg").textContent = err.message;
          $("sp-dup").hidden = false;
          return;
        }
        showError(err.message);
      })
      .then(function () { $("sp-crs-ok").disabled = false; });
  }

  // ---- add mode --------------------------------------------------------------------------
  function setAddMode(on) {
    addMode = on;
    var b = $("sp-add-mode");
    b.setAttribute("aria-pressed", on ? "true" : "false");
    b.textContent = on ? t("add_mode_on") : t("add_mode");
    map.getContainer().classList.toggle("sp-adding", on);
  }
  map.on("click", function (e) {
    if (!addMode) return;
    var ll = e.latlng;
    addCount += 1;
    var form = el("form", "sp-popup sp-add-form");
    form.appendChild(el("b", null, t("add_here")));
    var input = el("input");
    input.type = "text";
    input.maxLength = 200;
    input.value = t("new_name", {n: addCount});
    input.className = "sp-add-name";
    form.appendChild(input);
    var ok = el("button", "sp-primary", t("add"));
    ok.type = "submit";
    form.appendChild(ok);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      map.closePopup();
      setAddMode(false);
      addStation(ll.lng, ll.lat, input.value.trim() || t("new_name", {n: addCount}));
    });
    L.popup({maxWidth: 320}).setLatLng(ll).setContent(form).openOn(map);
    setTimeout(function () { input.focus(); input.select(); }, 0);
  });

  // ---- plan ------------------------------------------------------------------------------
  // One plan at a time: the buttons are off while a plan runs (a double click sends one).
  var planRunning = false;
  function setPlanRunning(on) {
    planRunning = on;
    $("sp-plan-k").disabled = on;
    $("sp-plan-target").disabled = on;
  }
  function showPlan(id, res, fit) {
    res = res || {};
    plan = {job: id, proposals: res.proposals || [], share_after: res.share_after,
      optimal_for: res.optimal_for};
    renderProposals();
    renderPanel();
    var pts = plan.proposals.filter(function (p) { return isFinite(p.lat); })
      .map(function (p) { return [p.lat, p.lon]; });
    if (fit && pts.length) map.fitBounds(L.latLngBounds(pts).pad(0.3), {maxZoom: 16});
  }
  // start: a function returning a promise of {job} (a new plan, or one already running)
  function followPlan(start, fit) {
    if (planRunning) return Promise.resolve();
    setPlanRunning(true);
    groups.proposals.clearLayers();
    plan = null;
    renderProposals();
    renderPanel();
    var sc = shownScenario;
    return runJob("sp-plan-job", start)
      .then(function (r) { if (sc === shownScenario) showPlan(r.id, r.result, fit); })
      .catch(function (err) { showError(err.message); })
      .then(function () { setPlanRunning(false); });
  }
  function runPlan(body) {
    return followPlan(function () { return api("POST", scoped("/api/plan"), body); }, true);
  }
  // the latest plan and check of a scenario (after a reload, a restart or a switch); a
  // plan or check still running is followed
  function loadLatest(sc) {
    plan = null;
    renderProposals();
    renderCheck([]);
    $("sp-check-job").hidden = true;
    if (!planRunning) $("sp-plan-job").hidden = true;
    return api("GET", "/api/scenarios/" + encodeURIComponent(sc) + "/latest").then(function (r) {
      if (sc !== shownScenario) return;
      var p = r.plan, c = r.check;
      if (p && p.state === "done") showPlan(p.id, p.result, false);
      else if (p) followPlan(function () { return Promise.resolve({job: p.id}); }, false);
      if (c && c.state === "done") renderCheck((c.result && c.result.sites) || [], false);
      else if (c) followCheck(function () { return Promise.resolve({job: c.id}); });
    }).catch(function () { /* the tables are a convenience; the map is drawn */ });
  }
  function proposalIcon(p) {
    var cls = "sp-marker sp-proposal" + (p.status === "rejected" ? " sp-rejected" : "") +
      (p.status === "accepted" ? " sp-accepted" : "");
    return L.divIcon({className: cls, html: "", iconSize: [24, 24], iconAnchor: [12, 12],
      popupAnchor: [0, -12]});
  }
  function proposalButtons(p) {
    var span = el("span", "sp-buttons");
    if (p.status === "proposed" || !p.status) {
      var a = el("button", "sp-accept", t("accept"));
      a.type = "button";
      a.addEventListener("click", function () { decide(p, "accept"); });
      var r = el("button", "sp-reject", t("reject"));
      r.type = "button";
      r.addEventListener("click", function () { decide(p, "reject"); });
      span.appendChild(a);
      span.appendChild(r);
    }
    return span;
  }
  function renderProposals() {
    groups.proposals.clearLayers();
    var table = $("sp-proposals"), body = table.tBodies[0];
    body.textContent = "";
    $("sp-plan-summary").textContent = "";
    if (!plan) { table.hidden = true; return; }
    if (plan.share_after !== undefined && plan.share_after !== null) {
      $("sp-plan-summary").appendChild(el("div", null,
        t("plan_after", {share: percent(plan.share_after)})));
    }
    if (plan.optimal_for) {  // the server's sentence (stationplan._i18n.plan_certificate)
      var cert = el("div", "sp-cert", plan.optimal_for);
      cert.id = "sp-plan-cert";
      $("sp-plan-summary").appendChild(cert);
    }
    plan.proposals.forEach(function (p) {
      var tr = el("tr");
      tr.setAttribute("data-rank", String(p.rank));
      tr.appendChild(el("td", null, p.rank));
      tr.appendChild(el("td", null, p.name || ""));
      tr.appendChild(el("td", null, lengthText(p.gain_m)));
      tr.appendChild(el("td", "sp-status", t("st_" + (p.status || "proposed"))));
      var td = el("td");
      td.appendChild(proposalButtons(p));
      tr.appendChild(td);
      body.appendChild(tr);
      if (!isFinite(p.lat) || !isFinite(p.lon) || p.status === "accepted") return;
      var m = L.marker([p.lat, p.lon], {icon: proposalIcon(p), zIndexOffset: 500});
      m.on("add", function () {
        var e = m.getElement();
        e.textContent = String(p.rank);
        e.setAttribute("data-rank", String(p.rank));
      });
      m.bindTooltip(function () { return el("span", null, p.rank + ". " + (p.name || "")); });
      m.bindPopup(function () {
        var box = el("div", "sp-popup");
        box.appendChild(el("b", "sp-name", p.rank + ". " + (p.name || "")));
        var tb = el("table");
        row(tb, t("gain"), lengthText(p.gain_m));
        row(tb, t("status"), t("st_" + (p.status || "proposed")));
        box.appendChild(tb);
        box.appendChild(proposalButtons(p));
        return box;
      });
      m.addTo(groups.proposals);
    });
    table.hidden = false;
  }
  // the proposals' statuses as the server holds them (an undone accept is proposed again)
  function refreshPlan() {
    if (!plan) return Promise.resolve();
    return api("GET", "/api/jobs/" + encodeURIComponent(plan.job)).then(function (j) {
      var byRank = {};
      ((j.result && j.result.proposals) || []).forEach(function (p) { byRank[p.rank] = p.status; });
      plan.proposals.forEach(function (p) { if (byRank[p.rank]) p.status = byRank[p.rank]; });
      renderProposals();
    }).catch(function () {});
  }
  // One decision per proposal: its buttons (table and popup) are disabled from the first
  // click until the answer has come (a double click sends one request).
  function decide(p, what) {
    map.closePopup();
    if (p.deciding) return Promise.resolve();
    p.deciding = true;
    document.querySelectorAll("#sp-proposals tr[data-rank='" + p.rank + "'] button")
      .forEach(function (b) { b.disabled = true; });
    var path = scoped("/api/proposals/" + encodeURIComponent(plan.job) + "/" +
      encodeURIComponent(p.rank) + "/" + what);
    function done() { p.deciding = false; renderProposals(); }
    if (what === "accept") {
      return edit("POST", path, undefined, function () { p.status = "accepted"; })
        .then(done, done);
    }
    return api("POST", path).then(function () {
      p.status = "rejected";
      done();
    }).catch(function (err) {
      done();
      showError(err.message);
      if (err.code === "scenario_changed") return loadAll();
    });
  }

  // ---- check a proposals sheet -----------------------------------------------------------
  var VERDICT_COLOURS = {accept: "#1a9850", redundant: "#fdae61", too_close: "#f46d43",
    off_network: "#757575", outside_area: "#757575", invalid: "#757575"};
  function verdictText(v) {
    if (!v) return "";
    var key = "v_" + v;
    return DICT[lang] && DICT[lang][key] ? t(key) : String(v);
  }
  function uploadCheck(file) {
    var fd = new FormData();
    fd.append("file", file, file.name);
    fd.append("crs", $("sp-check-crs").value);
    return followCheck(function () { return api("POST", scoped("/api/check"), fd); });
  }
  function followCheck(start) {
    groups.checked.clearLayers();
    var sc = shownScenario;
    return runJob("sp-check-job", start)
      .then(function (r) {
        if (sc === shownScenario) renderCheck((r.result && r.result.sites) || [], true);
      })
      .catch(function (err) { showError(err.message); });
  }
  function renderCheck(sites, fit) {
    var table = $("sp-check"), body = table.tBodies[0];
    body.textContent = "";
    groups.checked.clearLayers();
    var pts = [];
    sites.forEach(function (s) {
      var tr = el("tr");
      [s.row, s.name, verdictText(s.verdict), s.reason].forEach(function (v) {
        tr.appendChild(el("td", null, v === null || v === undefined ? "" : v));
      });
      body.appendChild(tr);
      if (!isFinite(s.lat) || !isFinite(s.lon) || s.lat === null) return;
      var colour = VERDICT_COLOURS[s.verdict] || "#ef6c00";
      var m = L.circleMarker([s.lat, s.lon], {radius: 8, color: "#fff", weight: 2,
        fillColor: colour, fillOpacity: 0.95, renderer: renderers.spGaps});
      m.bindTooltip(function () { return el("span", null, (s.name || "") + " · " + verdictText(s.verdict)); });
      m.bindPopup(function () {
        var box = el("div", "sp-popup");
        box.appendChild(el("b", "sp-name", s.name || ""));
        var tb = el("table");
        row(tb, t("row"), s.row);
        row(tb, t("verdict"), verdictText(s.verdict));
        row(tb, t("reason"), s.reason || "");
        box.appendChild(tb);
        return box;
      });
      m.addTo(groups.checked);
      pts.push([s.lat, s.lon]);
    });
    table.hidden = !sites.length;
    if (fit && pts.length) map.fitBounds(L.latLngBounds(pts).pad(0.3), {maxZoom: 16});
  }

  // ---- scenarios -------------------------------------------------------------------------
  function openScenario(id) {
    return api("POST", "/api/scenarios/" + encodeURIComponent(id) + "/open")
      .then(function () {
        plan = null;
        renderProposals();
        return loadAll();
      })
      .catch(function (err) { showError(err.message); });
  }
  // 另存为 is disabled while the copy is made: a double click makes one scenario
  function saveAs() {
    var name = $("sp-scen-name").value.trim(), button = $("sp-scen-save");
    if (!name || !state || !state.scenario || button.disabled) return Promise.resolve();
    button.disabled = true;
    return api("POST", "/api/scenarios", {name: name, from: state.scenario.id})
      .then(function (r) {
        $("sp-scen-name").value = "";
        var id = r && (r.id !== undefined ? r.id : r.scenario && r.scenario.id);
        if (id !== undefined && id !== null) return openScenario(id);
        return loadAll();
      })
      .catch(function (err) { showError(err.message); })
      .then(function () { button.disabled = false; });
  }
  function compare() {
    var a = $("sp-cmp-a").value, b = $("sp-cmp-b").value;
    return api("GET", "/api/compare?a=" + encodeURIComponent(a) + "&b=" + encodeURIComponent(b))
      .then(function (r) {
        var table = $("sp-compare"), body = table.tBodies[0];
        table.querySelector(".sp-cmp-a").textContent = r.a.name;
        table.querySelector(".sp-cmp-b").textContent = r.b.name;
        body.textContent = "";
        // "1 个：西街社区爱心驿站": how many, and their names (an unnamed one by its id)
        function sites(x) {
          if (!Array.isArray(x) || !x.length) return t("cmp_no_sites");
          return t("cmp_sites", {n: x.length, names: x.map(function (s) {
            return s.name || s.station_id;
          }).join(t("list_sep"))});
        }
        [[t("cmp_share"), percent(r.a.share), percent(r.b.share)],
          [t("cmp_covered"), num(r.a.covered_km, 1) + " " + t("km"), num(r.b.covered_km, 1) + " " + t("km")],
          [t("cmp_gap"), num(r.a.gap_km, 1) + " " + t("km"), num(r.b.gap_km, 1) + " " + t("km")],
          [t("cmp_stations"), r.a.stations, r.b.stations],
          [t("cmp_added"), sites(r.a.added), sites(r.b.added)],
          [t("cmp_removed"), sites(r.a.removed), sites(r.b.removed)]
        ].forEach(function (line) {
          var tr = el("tr");
          tr.appendChild(el("th", null, line[0]));
          tr.appendChild(el("td", null, line[1]));
          tr.appendChild(el("td", null, line[2]));
          body.appendChild(tr);
        });
        table.hidden = false;
      })
      .catch(function (err) { showError(err.message); });
  }

  // ---- wiring ----------------------------------------------------------------------------
  function dropZone(zoneId, inputId, handler) {
    var zone = $(zoneId), input = $(inputId);
    input.addEventListener("change", function () {
      if (input.files && input.files[0]) handler(input.files[0]);
      input.value = "";
    });
    zone.addEventListener("dragover", function (e) {
      e.preventDefault();
      e.stopPropagation();
      zone.classList.add("sp-over");
    });
    zone.addEventListener("dragleave", function () { zone.classList.remove("sp-over"); });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      e.stopPropagation();
      zone.classList.remove("sp-over");
      var f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
      if (f) handler(f);
    });
    zone.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); }
    });
  }
  // a file dropped anywhere else: the network first, then station sheets
  document.addEventListener("dragover", function (e) { e.preventDefault(); });
  document.addEventListener("drop", function (e) {
    e.preventDefault();
    var f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (!f) return;
    if (!state || !state.network) uploadNetwork(f);
    else uploadSheet(f);
  });

  function applyLang() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.title = t("title") + " · stationplan";
    document.querySelectorAll("[data-t]").forEach(function (n) {
      n.textContent = t(n.getAttribute("data-t"));
    });
    document.querySelectorAll("[data-tp]").forEach(function (n) {
      n.setAttribute("placeholder", t(n.getAttribute("data-tp")));
    });
    $("sp-lang").value = lang;
    search.setPlaceholder();
    setAddMode(addMode);
  }

  function wire() {
    dropZone("sp-network-drop", "sp-network-file", uploadNetwork);
    dropZone("sp-sheet-drop", "sp-sheet-file", uploadSheet);
    dropZone("sp-check-drop", "sp-check-file", uploadCheck);
    $("sp-cached-load").addEventListener("click", function () {
      var v = $("sp-cached").value;
      if (v) loadCachedNetwork(v);
    });
    $("sp-crs-ok").addEventListener("click", function () { confirmCrs(); });
    $("sp-dup-skip").addEventListener("click", function () { confirmCrs("skip"); });
    $("sp-dup-keep").addEventListener("click", function () { confirmCrs("keep"); });
    $("sp-crs-cancel").addEventListener("click", function () {
      $("sp-crs-dialog").hidden = true;
      pendingSheet = null;
    });
    $("sp-add-mode").addEventListener("click", function () { setAddMode(!addMode); });
    $("sp-undo").addEventListener("click", function () { undoRedo("undo"); });
    $("sp-redo").addEventListener("click", function () { undoRedo("redo"); });
    // the server's limits (1 to 200 sites, above 0 up to 100 %), said on the page
    $("sp-plan-k").addEventListener("click", function () {
      var raw = $("sp-k").value.trim(), k = Number(raw);
      if (!raw || !Number.isInteger(k) || k < 1 || k > 200) { showError(t("bad_k")); return; }
      runPlan({k: k});
    });
    $("sp-plan-target").addEventListener("click", function () {
      var raw = $("sp-target").value.trim(), x = Number(raw);
      if (!raw || !isFinite(x) || x <= 0 || x > 100) { showError(t("bad_target")); return; }
      runPlan({target_share: x / 100});
    });
    $("sp-scenario").addEventListener("change", function () { openScenario($("sp-scenario").value); });
    $("sp-scen-save").addEventListener("click", saveAs);
    $("sp-cmp").addEventListener("click", compare);
    $("sp-lang").addEventListener("change", function () {
      var p = new URLSearchParams(window.location.search);
      p.set("lang", $("sp-lang").value);
      window.location.search = p.toString();
    });
    ["sp-dl-amap", "sp-dl-tables", "sp-dl-report", "sp-dl-gpkg"].forEach(function (id) {
      var a = $(id), base = a.getAttribute("href");
      a.href = withToken(base);
      // the file of the scenario this page shows: fetched, so that a refusal (another tab
      // opened another scenario) is said on the page rather than saved as a file
      a.addEventListener("click", function (e) {
        e.preventDefault();
        var opts = {credentials: "same-origin", headers: {}};
        if (TOKEN) opts.headers["X-Stationplan-Token"] = TOKEN;
        fetch(scoped(base), opts).then(function (r) {
          if (!r.ok) {
            return r.json().catch(function () { return null; }).then(function (data) {
              showError((data && data.error) || (r.status + " " + r.statusText));
              if (data && data.code === "scenario_changed") return loadAll();
            });
          }
          return r.blob().then(function (blob) {
            var url = URL.createObjectURL(blob), save = document.createElement("a");
            save.href = url;
            save.download = base.split("/").pop();
            document.body.appendChild(save);
            save.click();
            save.remove();
            setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
          });
        }).catch(function (err) { showError(err.message); });
      });
    });
    document.addEventListener("keydown", function (e) {
      var tag = (e.target && e.target.tagName) || "";
      if (e.key === "Escape") {
        if (!$("sp-crs-dialog").hidden) { $("sp-crs-dialog").hidden = true; pendingSheet = null; }
        setAddMode(false);
        return;
      }
      if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
      if (!(e.ctrlKey || e.metaKey)) return;
      var k = e.key.toLowerCase();
      if (k === "z" && !e.shiftKey) { e.preventDefault(); if (!$("sp-undo").disabled) undoRedo("undo"); }
      else if (k === "y" || (k === "z" && e.shiftKey)) {
        e.preventDefault();
        if (!$("sp-redo").disabled) undoRedo("redo");
      }
    });
    // another tab may have edited the project: ask for its version (a cheap request)
    // every few seconds while this tab is seen, and when it comes back to the front
    document.addEventListener("visibilitychange", checkVersion);
    window.addEventListener("focus", checkVersion);
    setInterval(checkVersion, VERSION_POLL_MS);
  }
  var VERSION_POLL_MS = 3000, checking = false;
  function checkVersion() {
    if (document.visibilityState !== "visible" || !state || checking || editsPending) return;
    checking = true;
    api("GET", "/api/version").then(function (v) {
      // newer than what this page drew, and no edit of this page on its way
      if (v && v.version > appliedVersion && !editsPending) {
        return loadAll().then(refreshPlan);
      }
    }).catch(function () {}).then(function () { checking = false; });
  }

  // ---- the hook for tests and the latency benchmark ---------------------------------------
  var readyResolve;
  var hook = {
    figures: null,
    share: null,          // unrounded share of the figures shown (Figures.share)
    version: 0,           // version of the last applied update or state
    lastUpdate: null,     // {version, compute_ms, edges, sent_at, received_at, drawn_ms, redrawn_at}
    state: null,
    ready: new Promise(function (r) { readyResolve = r; }),
    lang: function () { return lang; },
    // a promise resolved once the map has been redrawn after update `version` (or later)
    redrawn: function (version) {
      if (version <= redrawnVersion) return Promise.resolve({version: redrawnVersion});
      return new Promise(function (resolve) { waiters.push({version: version, resolve: resolve}); });
    },
    redrawnVersion: function () { return redrawnVersion; },
    // scripted edits (resolve once the map shows them)
    add: function (lon, lat, name) { return addStation(lon, lat, name || ""); },
    move: function (id, lon, lat) { return moveStation(String(id), lon, lat); },
    remove: function (id) { return deleteStation(String(id)); },
    undo: function () { return undoRedo("undo"); },
    redo: function () { return undoRedo("redo"); },
    reload: function () { return loadAll(); },
    stations: function () { return Array.from(stations.values()); },
    pieceCount: function () {
      var n = 0;
      edgeLayers.forEach(function (l) { n += l.length; });
      return n;
    },
    lengths: function () { return {covered: lengths.covered, gap: lengths.gap}; },
    // street layers held by the layer groups, and those the current pieces made
    drawnLayers: function () {
      var held = 0, made = 0;
      ["service", "other", "paired", "streets", "gaps"].forEach(function (g) {
        held += groups[g].getLayers().length;
      });
      edgeLayers.forEach(function (list) {
        list.forEach(function (item) { made += item.layers.length; });
      });
      return {held: held, made: made};
    },
    checkedCount: function () { return groups.checked.getLayers().length; },
    map: map
  };
  window.stationplan = hook;

  // ---- start -----------------------------------------------------------------------------
  wire();
  setupPanel();
  var dictLoad = fetch(withToken("/static/i18n.json"), {credentials: "same-origin"})
    .then(function (r) { return r.json(); })
    .then(function (d) { DICT = d; })
    .catch(function () {});
  var firstState = api("GET", "/api/state").catch(function (err) { showError(err.message); return null; });
  Promise.all([dictLoad, firstState]).then(function (res) {
    var s = res[1];
    var wanted = params.get("lang");
    lang = (wanted === "en" || wanted === "zh") ? wanted : (s && s.lang === "en" ? "en" : "zh");
    applyLang();
    renderPanel();
    loadCached();
    return loadAll();
  }).then(function () { readyResolve(true); });
}());
