/* janus-sim sweep report: draws the figures from the JSON in #sweep-data with Plotly
 * (embedded above this script) and the helpers of JanusPage (page_common.js, inlined just
 * before it). Nothing here fetches anything; the text and tables are already in the page,
 * and a part without data shows its note instead of a figure. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("sweep-data").textContent);
  var PALETTE = D.colors.palette;
  var SETTINGS = D.header.settings;

  var el = JanusPage.el, draw = JanusPage.figures(-0.2, "react").draw;

  function scenarioColor(name) { return D.colors.scenario[name] || PALETTE[0]; }

  function rgba(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  function median(values) {
    var v = values.slice().sort(function (a, b) { return a - b; }), h = (v.length - 1) / 2;
    return v[Math.floor(h)] + (h - Math.floor(h)) * (v[Math.ceil(h)] - v[Math.floor(h)]);
  }

  /* --- distributions: box + every point, x = setting, one trace per scenario ------- */

  function setupDistributions() {
    D.metrics.forEach(function (m, k) {
      if (m.note) { return; }
      var traces = D.header.scenarios.map(function (scenario) {
        var t = { type: "box", name: scenario, x: [], y: [], text: [], boxpoints: "all", jitter: 0.35,
                  pointpos: 0, marker: { color: scenarioColor(scenario), size: 6 },
                  line: { color: scenarioColor(scenario) },
                  hovertemplate: "%{text}<br>%{y:.4g}<extra>" + scenario + "</extra>" };
        D.groups.forEach(function (g) {
          if (g.scenario_name !== scenario) { return; }
          var mv = g.metrics[k];
          mv.values.forEach(function (v, i) {
            t.x.push(g.setting); t.y.push(v); t.text.push(mv.trial_ids[i] + " (seed " + mv.seeds[i] + ")");
          });
        });
        return t;
      }).filter(function (t) { return t.y.length > 0; });
      draw("dist-" + m.key, traces, { boxmode: "group", showlegend: true,
        xaxis: { type: "category", categoryorder: "array", categoryarray: SETTINGS, automargin: true },
        yaxis: { title: { text: m.label }, zeroline: false } });
    });
  }

  /* --- night by night: median line and inter-quartile band per group ------------- */

  function setupNights() {
    var keys = D.groups.map(function (g) { return g.scenario_name + "\n" + g.setting; });
    D.nights.metrics.forEach(function (m) {
      var traces = [];
      m.bands.forEach(function (b, j) {
        var key = b.scenario_name + "\n" + b.setting, i = keys.indexOf(key);
        var color = PALETTE[(i < 0 ? keys.length + j : i) % PALETTE.length];
        var name = b.scenario_name + " · " + b.setting;
        var x = b.cycles.map(function (c) { return "night " + c; });
        traces.push({ type: "scatter", mode: "lines", x: x, y: b.q1, line: { width: 0, color: color },
                      legendgroup: key, showlegend: false, hoverinfo: "skip" });
        traces.push({ type: "scatter", mode: "lines", x: x, y: b.q3, line: { width: 0, color: color },
                      fill: "tonexty", fillcolor: rgba(color, 0.18), legendgroup: key,
                      showlegend: false, hoverinfo: "skip" });
        traces.push({ type: "scatter", mode: "lines+markers", name: name, x: x, y: b.median,
                      legendgroup: key, line: { color: color }, customdata: b.n.map(function (n, t) {
                        return [n, b.q1[t], b.q3[t]]; }),
                      hovertemplate: name + "<br>%{x}: median %{y:.4g}<br>IQR %{customdata[1]:.4g} to " +
                                     "%{customdata[2]:.4g}<br>%{customdata[0]} trials<extra></extra>" });
      });
      draw("nights-" + m.metric, traces, { xaxis: { type: "category" }, yaxis: { title: { text: m.label } } });
    });
  }

  /* --- sensitivity: metric against each numeric swept parameter ------------------- */

  function sensitivityTraces(p, metric) {
    var k = p.metrics.indexOf(metric);
    var traces = [];
    D.header.scenarios.forEach(function (scenario) {
      var pts = { x: [], y: [], text: [] }, byX = {};
      p.x.forEach(function (x, i) {
        var y = k < 0 ? null : p.y[k][i];
        if (p.scenario_name[i] !== scenario || y === null) { return; }
        pts.x.push(x); pts.y.push(y);
        pts.text.push(p.trial_ids[i] + "<br>seed " + p.seed[i] + "<br>" + p.setting[i]);
        (byX[x] = byX[x] || []).push(y);
      });
      if (!pts.x.length) { return; }
      var xs = Object.keys(byX).map(Number).sort(function (a, b) { return a - b; });
      var color = scenarioColor(scenario);
      traces.push({ type: "scatter", mode: "markers", name: scenario, x: pts.x, y: pts.y, text: pts.text,
                    legendgroup: scenario, marker: { color: color, size: 7, opacity: 0.75 },
                    hovertemplate: "%{text}<br>" + p.param + " = %{x}<br>%{y:.4g}<extra></extra>" });
      traces.push({ type: "scatter", mode: "lines", name: scenario + " median", x: xs,
                    y: xs.map(function (x) { return median(byX[x]); }), legendgroup: scenario,
                    showlegend: false, line: { color: color }, hoverinfo: "skip" });
    });
    return traces;
  }

  function setupSensitivity() {
    var select = el("sensitivity-metric");
    if (!select) { return; }
    var labels = {};
    D.metrics.forEach(function (m) { labels[m.key] = m.label; });
    function render() {
      D.sensitivity.params.forEach(function (p, i) {
        draw("sensitivity-" + i, sensitivityTraces(p, select.value),
             { xaxis: { title: { text: p.param } }, yaxis: { title: { text: labels[select.value] } } });
      });
    }
    select.addEventListener("change", render);
    render();
  }

  [setupDistributions, setupNights, setupSensitivity, JanusPage.sortableTables].forEach(function (f) { f(); });
  document.body.setAttribute("data-ready", "true");
})();
