// Leadership dashboard: one Chart.js line chart per KPI (data from the page's JSON), and the
// report's Print button. Every chart has a text summary and a data table in the page.
(function () {
  "use strict";

  function drawCharts() {
    var source = document.getElementById("lead-kpi-data");
    if (!source || typeof window.Chart === "undefined") return;
    var kpis = JSON.parse(source.textContent);
    document.querySelectorAll("canvas[data-kpi]").forEach(function (canvas) {
      var kpi = kpis[Number(canvas.dataset.kpi)];
      if (!kpi) return;
      new window.Chart(canvas, {
        type: "line",
        data: {
          labels: kpi.labels,
          datasets: [{
            label: kpi.title + " (" + kpi.unit + ")",
            data: kpi.points,
            borderColor: "#0b5cad",
            backgroundColor: "#0b5cad",
            pointRadius: 4,
            spanGaps: false,
            tension: 0.2
          }]
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: false } },
          scales: { y: { beginAtZero: true, title: { display: true, text: kpi.unit } } }
        }
      });
    });
  }

  function wirePrint() {
    var button = document.getElementById("lead-print");
    if (button) button.addEventListener("click", function () { window.print(); });
  }

  // On a narrow screen the heat map scrolls sideways inside its box: open it on the newest
  // periods (the right end), where the live readings are, not on the oldest columns.
  function showNewestPeriods() {
    document.querySelectorAll("[data-scroll-end]").forEach(function (box) {
      box.scrollLeft = box.scrollWidth;
    });
  }

  function start() { drawCharts(); wirePrint(); showNewestPeriods(); }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
