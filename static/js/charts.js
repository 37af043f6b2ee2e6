// Charts of the overview page, drawn from the JSON the server renders into #overview-charts.
// Redrawn after htmx refreshes the page section (every minute while the page is open).
(function () {
  "use strict";
  const COLOURS = ["#2f5bd3", "#b42318", "#a15c00", "#1e7b45"];
  // One colour per failure type, the same whichever types a timeframe has: Okabe and Ito's palette, told apart
  // with the common colour-vision deficiencies too. Error and frustration, read together most, are far apart.
  const FAILURE_COLOURS = {
    error: "#d55e00",
    user_frustration: "#cc79a7",
    refusal: "#e69f00",
    bot_fallback: "#0072b2",
    irrelevant_answer: "#56b4e9",
    user_correction: "#f0e442",
    human_handoff_request: "#009e73",
    repetition: "#999999",
    abandonment: "#1d2330",
  };
  const UNKNOWN_FAILURE_COLOUR = "#c9cfdb";
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
        datasets: data.failures.map(function (row) {
          return { label: row.type, backgroundColor: FAILURE_COLOURS[row.type] || UNKNOWN_FAILURE_COLOUR, data: row.counts };
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
