// Charts of the overview page, drawn from the JSON the server renders into #overview-charts.
// Redrawn after htmx refreshes the page section (every minute while the page is open).
(function () {
  "use strict";
  const COLOURS = ["#2f5bd3", "#b42318", "#a15c00", "#1e7b45", "#7a3fb8", "#0f7c8c", "#c2185b", "#5b6475", "#8a6d00"];
  const charts = [];

  // Chart.js sizes a canvas through its style attribute. htmx swaps the refreshed section in with each element's
  // old attributes copied onto its namesake (same id), then puts the new ones back when it settles: a chart drawn
  // before then loses its size (a blank 300x150 canvas), and copying the old style attribute is an inline style,
  // which the Content-Security-Policy (style-src 'self') refuses. So the old charts let go of their canvases,
  // style attribute included, before the swap, and the new ones are drawn once it has settled.
  function release() {
    charts.splice(0).forEach(function (chart) {
      const canvas = chart.canvas;
      chart.destroy();
      canvas.removeAttribute("style");
    });
  }

  function draw() {
    const source = document.getElementById("overview-charts");
    if (!source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    release();
    const common = { responsive: true, maintainAspectRatio: false, animation: false,
                     plugins: { legend: { display: false } } };

    charts.push(new Chart(document.getElementById("chart-conversations"), {
      type: "bar",
      data: { labels: data.labels, datasets: [{ label: "Conversations", data: data.conversations, backgroundColor: COLOURS[0] }] },
      options: common,
    }));
    // A bucket without conversations has no average health (null): the line breaks there rather than draw through.
    charts.push(new Chart(document.getElementById("chart-health"), {
      type: "line",
      data: { labels: data.labels, datasets: [{ label: "Average health", data: data.health, borderColor: COLOURS[3], spanGaps: false }] },
      options: Object.assign({}, common, { scales: { y: { min: 0, max: 100 } } }),
    }));
    charts.push(new Chart(document.getElementById("chart-failures"), {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.failures.map(function (row, index) {
          return { label: row.type, backgroundColor: COLOURS[index % COLOURS.length], data: row.counts };
        }),
      },
      options: Object.assign({}, common, { plugins: { legend: { display: true, position: "bottom" } },
                                           scales: { x: { stacked: true }, y: { stacked: true } } }),
    }));
    charts.push(new Chart(document.getElementById("chart-distribution"), {
      type: "bar",
      data: {
        labels: ["0–9", "10–19", "20–29", "30–39", "40–49", "50–59", "60–69", "70–79", "80–89", "90–100"],
        datasets: [{ label: "Conversations", data: data.distribution,
                     backgroundColor: data.distribution.map(function (_, i) { return i < 4 ? COLOURS[1] : i < 7 ? COLOURS[2] : COLOURS[3]; }) }],
      },
      options: common,
    }));
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.shouldSwap && event.detail.target.contains(document.getElementById("overview-charts"))) release();
  });
  document.addEventListener("htmx:afterSettle", draw);
})();
