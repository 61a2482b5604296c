// The plan page's progress burn-up: one Chart.js line per graph exit criterion, the share of
// teams passing it each week (data from the page's JSON). The same numbers are in the table.
(function () {
  "use strict";

  var COLOURS = ["#0b5cad", "#1e6b34", "#8a5a00", "#b42318", "#5b3cc4", "#0f766e", "#52606d"];

  function draw() {
    var source = document.getElementById("burnup-data");
    var canvas = document.getElementById("burnup-canvas");
    if (!source || !canvas || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: data.lines.map(function (line, index) {
          var colour = COLOURS[index % COLOURS.length];
          return {
            label: line.label,
            data: line.points,
            borderColor: colour,
            backgroundColor: colour,
            pointRadius: 3,
            spanGaps: false,
            stepped: false,
            tension: 0
          };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: function (item) { return item.dataset.label + ": " + item.formattedValue + "%"; } } }
        },
        scales: {
          y: { min: 0, max: 100, title: { display: true, text: "% of teams passing" } },
          x: { ticks: { maxRotation: 0, autoSkip: true } }
        }
      }
    });
    canvas.dataset.drawn = "true";
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
