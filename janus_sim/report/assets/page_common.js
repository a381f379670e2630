/* janus-sim report pages: the helpers report.js and sweep_report.js share, inlined before
 * either page's own script. It defines one global, JanusPage, and reads no page data. */
var JanusPage = (function () {
  "use strict";
  var CONFIG = { displaylogo: false, responsive: true };

  function el(id) { return document.getElementById(id); }

  /* A page's figure helpers. base(layout): the common layout, legend under the plot at
   * legendY, with layout's own keys on top. draw(id, traces, layout): plots into #id, if
   * the page has it, with Plotly[method] ("newPlot" or "react"). */
  function figures(legendY, method) {
    function base(layout) {
      var out = { margin: { l: 60, r: 20, t: 30, b: 50 }, hovermode: "closest",
                  font: { family: "system-ui, sans-serif", size: 12 },
                  legend: { orientation: "h", y: legendY } };
      for (var k in layout) { out[k] = layout[k]; }
      return out;
    }

    function draw(id, traces, layout) {
      var node = el(id);
      if (!node) { return; }
      Plotly[method](node, traces, base(layout), CONFIG);
    }

    return { base: base, draw: draw };
  }

  /* Every table.sortable sorts by a column when its header is clicked: by the cells'
   * data-v, as numbers when both are numbers, else as text; a second click reverses. */
  function sortableTables() {
    document.querySelectorAll("table.sortable th").forEach(function (th) {
      th.addEventListener("click", function () {
        var table = th.closest("table"), body = table.tBodies[0], col = th.cellIndex;
        var asc = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("th").forEach(function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var u = a.cells[col].getAttribute("data-v"), v = b.cells[col].getAttribute("data-v");
          var nu = Number(u), nv = Number(v);
          var cmp = (u !== "" && v !== "" && !isNaN(nu) && !isNaN(nv)) ? nu - nv : (u < v ? -1 : u > v ? 1 : 0);
          return asc ? cmp : -cmp;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  return { CONFIG: CONFIG, el: el, figures: figures, sortableTables: sortableTables };
})();
