/* janus-sim report: draws the figures from the JSON in #report-data with Plotly (embedded
 * above this script) and the helpers of JanusPage (page_common.js, inlined just before it).
 * Nothing here fetches anything; every section's text and tables are already in the page,
 * and a section without data shows its note instead of a figure. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("report-data").textContent);
  var PALETTE = D.colors.palette;
  var NOISE = "#b8bec9";

  var el = JanusPage.el, CONFIG = JanusPage.CONFIG, fig = JanusPage.figures(-0.15, "newPlot");
  var base = fig.base, draw = fig.draw;

  function regimeColor(name) { return D.colors.regime[name] || NOISE; }
  function schemaColor(id) { return D.colors.schema[id] || NOISE; }
  function clusterColor(label) { return label < 0 ? NOISE : PALETTE[label % PALETTE.length]; }

  /* --- 3-D map ------------------------------------------------------------------ */

  function webglAvailable() {
    try {
      var c = document.createElement("canvas");
      return !!(window.WebGLRenderingContext && (c.getContext("webgl") || c.getContext("experimental-webgl")));
    } catch (e) { return false; }
  }

  function mapKey(s, i, mode) {
    if (mode === "regime") { return s.regime[i] || "unknown"; }
    if (mode === "cluster") { return s.cluster[i] < 0 ? "noise" : "cluster " + s.cluster[i]; }
    return s.schema[i] || "no schema";
  }

  function mapColor(s, i, mode) {
    if (mode === "regime") { return regimeColor(s.regime[i]); }
    if (mode === "cluster") { return clusterColor(s.cluster[i]); }
    return schemaColor(s.schema[i]);
  }

  function mapTraces(s, mode) {
    var groups = {}, order = [];
    for (var i = 0; i < s.x.length; i++) {
      var key = mapKey(s, i, mode) + "|" + s.kind[i];
      if (!groups[key]) {
        groups[key] = { x: [], y: [], z: [], text: [], color: mapColor(s, i, mode),
                        label: mapKey(s, i, mode), kind: s.kind[i] };
        order.push(key);
      }
      var g = groups[key];
      g.x.push(s.x[i]); g.y.push(s.y[i]); g.z.push(s.z[i]);
      g.text.push(s.ids[i] + "<br>regime: " + (s.regime[i] || "?") + "<br>schema: " +
                  (s.schema[i] || "-") + "<br>cluster: " + s.cluster[i]);
    }
    order.sort(function (a, b) { return groups[a].kind === groups[b].kind ? 0 : (groups[a].kind === "schema" ? -1 : 1); });
    var listed = {};
    return order.map(function (key) {
      var g = groups[key], isSchema = g.kind === "schema", first = !listed[g.label];
      listed[g.label] = true;
      return { type: "scatter3d", mode: "markers", x: g.x, y: g.y, z: g.z, text: g.text,
               hoverinfo: "text", name: g.label, legendgroup: g.label, showlegend: first,
               marker: { color: g.color, size: isSchema ? 7 : 3, symbol: isSchema ? "diamond" : "circle",
                         opacity: isSchema ? 1 : 0.75,
                         line: isSchema ? { color: "#1d2330", width: 1 } : { width: 0 } } };
    });
  }

  function mapRange(slices, axis) {
    var lo = Infinity, hi = -Infinity;
    slices.forEach(function (s) { s[axis].forEach(function (v) { if (v < lo) { lo = v; } if (v > hi) { hi = v; } }); });
    if (!isFinite(lo)) { return [-1, 1]; }
    var pad = (hi - lo) * 0.05 || 1;
    return [lo - pad, hi + pad];
  }

  function setupMap() {
    var slices = D.map.slices;
    var node = el("map-plot");
    if (!node || !slices.length) { return; }
    if (!webglAvailable()) {
      node.outerHTML = '<p class="note">This browser has no WebGL, which the 3-D map needs.</p>';
      return;
    }
    var state = { i: slices.length - 1, mode: "schema" };
    var ranges = { x: mapRange(slices, "x"), y: mapRange(slices, "y"), z: mapRange(slices, "z") };
    var slider = el("map-cycle"), label = el("map-cycle-label");
    function render() {
      var s = slices[state.i];
      label.textContent = "night " + s.cycle + " (" + s.date + "): " + s.n_points + " points embedded, " +
        s.x.length + " shown, " + s.n_clusters + " clusters, method " + s.method;
      var layout = base({ uirevision: "map", margin: { l: 0, r: 0, t: 10, b: 0 },
        legend: { orientation: "v", x: 1, y: 1 },
        scene: { xaxis: { title: { text: "u1" }, range: ranges.x }, yaxis: { title: { text: "u2" }, range: ranges.y },
                 zaxis: { title: { text: "u3" }, range: ranges.z }, aspectmode: "cube" } });
      Plotly.react(node, mapTraces(s, state.mode), layout, CONFIG);
    }
    slider.max = String(slices.length - 1);
    slider.value = String(state.i);
    slider.addEventListener("input", function () { state.i = Number(slider.value); render(); });
    document.querySelectorAll("#map button[data-mode]").forEach(function (b) {
      b.addEventListener("click", function () {
        state.mode = b.getAttribute("data-mode");
        document.querySelectorAll("#map button[data-mode]").forEach(function (o) {
          o.setAttribute("aria-pressed", String(o === b));
        });
        render();
      });
    });
    render();
  }

  /* --- schema timeline -------------------------------------------------------- */

  function setupTimeline() {
    var t = D.timeline;
    if (!t.cycles.length) { return; }
    var x = t.cycles.map(function (c, i) { return "night " + c + "<br>" + t.dates[i]; });
    draw("timeline-plot", [
      { type: "bar", name: "created", x: x, y: t.created, marker: { color: "#2ca02c" } },
      { type: "bar", name: "updated", x: x, y: t.updated, marker: { color: "#1f77b4" } },
      { type: "bar", name: "pruned", x: x, y: t.pruned, marker: { color: "#d62728" } },
      { type: "scatter", mode: "lines+markers", name: "live schemas", x: x, y: t.live, yaxis: "y2",
        line: { color: "#1d2330" } }
    ], { barmode: "group", yaxis: { title: { text: "schema events" } },
         yaxis2: { title: { text: "live schemas" }, overlaying: "y", side: "right", rangemode: "tozero",
                   tickformat: "d" },
         margin: { l: 60, r: 70, t: 30, b: 50 } });
    if (!t.schema_ids.length) { return; }
    var height = Math.max(320, 14 * t.schema_ids.length + 120);
    el("timeline-sizes").style.height = height + "px";
    draw("timeline-sizes", [{ type: "heatmap", x: x, y: t.schema_ids, z: t.sizes, colorscale: "Viridis",
      hoverongaps: false, colorbar: { title: { text: "points" } },
      hovertemplate: "%{y}<br>%{x}<br>%{z} points<extra></extra>" }],
      { yaxis: { autorange: "reversed", title: { text: "schema" } }, margin: { l: 110, r: 20, t: 20, b: 60 },
        height: height });
  }

  /* --- priorities -------------------------------------------------------------- */

  function shares(counts) {
    return counts.map(function (row) {
      var n = row.reduce(function (a, b) { return a + b; }, 0) || 1;
      return row.map(function (v) { return v / n; });
    });
  }

  function transpose(m) {
    if (!m.length) { return []; }
    return m[0].map(function (_, j) { return m.map(function (row) { return row[j]; }); });
  }

  function setupPriorities() {
    var p = D.priorities;
    if (!p.cycles.length || !p.log10_edges.length) { return; }
    var x = p.cycles.map(function (c, i) { return "night " + c + "<br>" + p.dates[i]; });
    var y = [];
    for (var j = 0; j + 1 < p.log10_edges.length; j++) { y.push((p.log10_edges[j] + p.log10_edges[j + 1]) / 2); }
    function heat(counts, axis, show) {
      return { type: "heatmap", x: x, y: y, z: transpose(shares(counts)), xaxis: "x" + axis, yaxis: "y",
               colorscale: [[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]], zmin: 0, showscale: show, colorbar: { title: { text: "share" } },
               customdata: transpose(counts),
               hovertemplate: "%{x}<br>log10 p ≈ %{y:.2f}<br>%{customdata} transitions (%{z:.1%})<extra></extra>" };
    }
    function median(values, axis) {
      return { type: "scatter", mode: "lines+markers", name: "median", x: x, y: values.map(Math.log10),
               xaxis: "x" + axis, yaxis: "y", line: { color: "#d62728" }, showlegend: axis === "" };
    }
    draw("priorities-plot", [heat(p.before, "", false), heat(p.after, "2", true),
                             median(p.median_before, ""), median(p.median_after, "2")],
      { xaxis: { domain: [0, 0.46], title: { text: "at the start of replay" } },
        xaxis2: { domain: [0.54, 1], title: { text: "after the night's updates" } },
        yaxis: { title: { text: "log10 priority" } } });
  }

  /* --- constraints -------------------------------------------------------------- */

  function setupConstraints() {
    var c = D.constraints;
    if (!c.dates.length || !c.names.length) { return; }
    var rows = c.names.concat(["SatAgg"]), z = c.truth.concat([c.sat_agg]);
    draw("constraints-plot", [{ type: "heatmap", x: c.dates, y: rows, z: z, zmin: 0, zmax: 1,
      colorscale: [[0, "#d73027"], [0.5, "#fee08b"], [1, "#1a9850"]], texttemplate: "%{z:.2f}", colorbar: { title: { text: "truth" } },
      hovertemplate: "%{y}<br>%{x}<br>truth %{z:.3f}<extra></extra>" }],
      { xaxis: { type: "category" }, yaxis: { autorange: "reversed", type: "category" },
        margin: { l: 210, r: 20, t: 20, b: 50 } });
  }

  /* --- price path ---------------------------------------------------------------- */

  function setupPrice() {
    var p = D.price;
    if (!p.bar.length) { return; }
    var shapes = [], legend = {};
    p.segments.forEach(function (s) {
      var first = !legend[s[2]];
      legend[s[2]] = true;
      shapes.push({ type: "rect", xref: "x", yref: "paper", x0: s[0] - 0.5, x1: s[1] + 0.5, y0: 0, y1: 1,
                    fillcolor: regimeColor(s[2]), opacity: 0.18, line: { width: 0 }, layer: "below",
                    name: s[2], legendgroup: "regime " + s[2], showlegend: first });
    });
    p.day_starts.forEach(function (b) {
      shapes.push({ type: "line", xref: "x", yref: "paper", x0: b - 0.5, x1: b - 0.5, y0: 0, y1: 1,
                    line: { color: "#9aa1ad", width: 1, dash: "dot" }, layer: "below" });
    });
    var traces = [{ type: "scatter", mode: "lines", name: "price", x: p.bar, y: p.price, text: p.time,
                    line: { color: "#1d2330", width: 1.2 },
                    hovertemplate: "%{text}<br>bar %{x}<br>price %{y:.4f}<extra></extra>" }];
    if (p.anomalies.length) {
      traces.push({ type: "scatter", mode: "markers", name: "anomaly (eq. 32)",
        x: p.anomalies.map(function (a) { return a.bar; }), y: p.anomalies.map(function (a) { return a.price; }),
        text: p.anomalies.map(function (a) {
          return a.time + "<br>transition " + a.transition_id + "<br>distance " + a.distance.toFixed(3) +
                 " > " + a.threshold; }),
        hovertemplate: "%{text}<extra>anomaly</extra>",
        marker: { symbol: "x", size: 10, color: "#d62728", line: { width: 2, color: "#d62728" } } });
    }
    if (p.lead) {
      traces.push({ type: "scatter", mode: "markers", name: "crash trough", x: [p.lead.trough],
        y: [p.lead.trough_price], marker: { symbol: "star", size: 13, color: "#7b2cbf" },
        hovertemplate: "crash trough<br>bar %{x}<br>price %{y:.4f}<extra></extra>" });
    }
    draw("price-plot", traces, { shapes: shapes,
      xaxis: { title: { text: "bar (trading days back to back)" }, tickvals: p.day_starts, ticktext: p.day_dates },
      yaxis: { title: { text: "price" } } });
  }

  /* --- metrics ---------------------------------------------------------------------- */

  function setupMetrics() {
    var m = D.metrics;
    if (!m.cycles.length) { return; }
    var x = m.cycles.map(function (c, i) { return "night " + c + "<br>" + m.dates[i]; });
    var traces = [];
    [["mean_abs_td_before", "mean |TD| before", "y"], ["mean_abs_td_after", "mean |TD| after", "y"],
     ["ari_regime", "ARI (schemas vs regimes)", "y2"], ["sat_agg", "SatAgg", "y2"],
     ["cluster_stability", "cluster stability (ARI vs last night)", "y2"],
     ["map_trust", "map trustworthiness", "y2"],
     ["projector_trust", "projector trustworthiness", "y2"]].forEach(function (spec) {
      var k = m.names.indexOf(spec[0]);
      if (k >= 0) {
        traces.push({ type: "scatter", mode: "lines+markers", name: spec[1], x: x, y: m.values[k], yaxis: spec[2] });
      }
    });
    draw("metrics-plot", traces, { yaxis: { title: { text: "mean |TD|" }, rangemode: "tozero" },
      yaxis2: { title: { text: "ARI / SatAgg / trust" }, overlaying: "y", side: "right", range: [-0.05, 1.05] },
      margin: { l: 60, r: 70, t: 30, b: 50 } });
  }

  /* --- schema browser ------------------------------------------------------------ */

  function setupSchemas() {
    var select = el("schemas-cycle");
    if (!select) { return; }
    select.addEventListener("change", function () {
      document.querySelectorAll("#schemas .tablewrap").forEach(function (w) {
        w.hidden = w.getAttribute("data-cycle") !== select.value;
      });
    });
    JanusPage.sortableTables();
  }

  [setupMap, setupTimeline, setupPriorities, setupConstraints, setupPrice, setupMetrics, setupSchemas]
    .forEach(function (f) { f(); });
  document.body.setAttribute("data-ready", "true");
})();
