/* The organisation graph (Cytoscape.js) on the graph and scenario pages. No framework: the page
 * works without this script (forms submit, team links open the panel); with it, filters re-fetch
 * the data, the drawing is interactive and can be downloaded as PNG or SVG. */
(function () {
  "use strict";

  var STYLE = [
    { selector: "node.team", style: {
      "background-color": "data(colour)", shape: "data(shape)", label: "data(label)",
      width: 36, height: 36, "border-width": 1, "border-color": "#1f2933",
      color: "#1f2933", "font-size": 11, "text-valign": "bottom", "text-margin-y": 4,
      "text-wrap": "wrap", "text-max-width": 96, "text-background-color": "#ffffff",
      "text-background-opacity": 0.8, "text-background-padding": 1 } },
    { selector: "node.person", style: {
      "background-color": "#9aa5b1", width: 12, height: 12, label: "data(label)",
      "font-size": 8, color: "#52606d", "text-valign": "bottom", "text-margin-y": 2 } },
    { selector: "node.changed", style: { "border-width": 5, "border-color": "#1e6b34", "border-style": "double" } },
    { selector: "node.removed", style: { opacity: 0.45, "border-width": 3, "border-style": "dashed" } },
    { selector: "node:selected", style: { "border-width": 4, "border-color": "#f5a623" } },
    { selector: "edge", style: {
      width: 2, "curve-style": "bezier", "line-color": "#52606d", "target-arrow-color": "#52606d",
      "target-arrow-shape": "triangle", "arrow-scale": 0.9 } },
    { selector: "edge.collaboration", style: { "line-color": "#674ea7", width: 3, "target-arrow-shape": "none" } },
    { selector: "edge.x_as_a_service", style: { "line-color": "#0b5cad", "target-arrow-color": "#0b5cad" } },
    { selector: "edge.facilitating", style: { "line-color": "#1e6b34", "target-arrow-color": "#1e6b34", "line-style": "dashed" } },
    { selector: "edge.ticket_dependency", style: { "line-color": "#7b8794", "target-arrow-color": "#7b8794", "line-style": "dotted" } },
    { selector: "edge.on-silo", style: { "line-color": "#b42318", "target-arrow-color": "#b42318", "line-style": "solid", width: 6, "z-index": 10 } },
    { selector: "edge.member", style: { width: 1, "line-color": "#9aa5b1", "target-arrow-shape": "none" } },
    { selector: "edge.serves", style: { width: 1.5, "line-color": "#8a5a00", "line-style": "dashed", "target-arrow-shape": "none" } }
  ];

  function layoutOptions(name) {
    return name === "grid"
      ? { name: "grid", animate: false, padding: 20 }
      : { name: "cose", animate: false, padding: 24, randomize: true, nodeRepulsion: function () { return 60000; }, nodeOverlap: 40,
          idealEdgeLength: function () { return 140; }, numIter: 2500 };
  }

  function draw(container, elements, layoutName) {
    var cy = cytoscape({ container: container, elements: elements, style: STYLE,
      layout: { name: "preset" }, boxSelectionEnabled: false, minZoom: 0.1, maxZoom: 4 });
    cy.layout(layoutOptions(layoutName)).run();
    return cy;
  }

  function download(href, filename) {
    var link = document.createElement("a");
    link.href = href;
    link.download = filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  function escapeXml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" }[c];
    });
  }

  /* Cytoscape draws on canvas only: a simple SVG from the laid-out positions and computed styles. */
  function toSvg(cy) {
    var box = cy.elements().boundingBox({ includeLabels: true });
    var pad = 20;
    var parts = ['<svg xmlns="http://www.w3.org/2000/svg" viewBox="' + (box.x1 - pad) + " " + (box.y1 - pad) +
      " " + (box.w + 2 * pad) + " " + (box.h + 2 * pad) + '" font-family="sans-serif">',
      '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">' +
      '<path d="M 0 0 L 10 5 L 0 10 z" fill="context-stroke"/></marker></defs>',
      '<rect x="' + (box.x1 - pad) + '" y="' + (box.y1 - pad) + '" width="' + (box.w + 2 * pad) +
      '" height="' + (box.h + 2 * pad) + '" fill="#ffffff"/>'];
    cy.edges().forEach(function (edge) {
      var s = edge.sourceEndpoint(), t = edge.targetEndpoint();
      var dash = { dashed: ' stroke-dasharray="6 4"', dotted: ' stroke-dasharray="2 3"' }[edge.style("line-style")] || "";
      var arrow = edge.style("target-arrow-shape") === "none" ? "" : ' marker-end="url(#arrow)"';
      parts.push('<line x1="' + s.x + '" y1="' + s.y + '" x2="' + t.x + '" y2="' + t.y + '" stroke="' +
        edge.style("line-color") + '" stroke-width="' + parseFloat(edge.style("width")) + '"' + dash + arrow +
        "><title>" + escapeXml(edge.data("label") || edge.data("mode")) + "</title></line>");
    });
    cy.nodes().forEach(function (node) {
      var p = node.position(), w = node.width(), h = node.height();
      var fill = node.style("background-color");
      var shape = node.style("shape");
      if (shape === "ellipse" || node.hasClass("person")) {
        parts.push('<ellipse cx="' + p.x + '" cy="' + p.y + '" rx="' + w / 2 + '" ry="' + h / 2 + '" fill="' + fill + '" stroke="#1f2933"/>');
      } else {
        parts.push('<rect x="' + (p.x - w / 2) + '" y="' + (p.y - h / 2) + '" width="' + w + '" height="' + h +
          '" rx="' + (shape === "round-rectangle" ? 6 : 0) + '" fill="' + fill + '" stroke="#1f2933"/>');
      }
      parts.push('<text x="' + p.x + '" y="' + (p.y + h / 2 + 12) + '" text-anchor="middle" font-size="' +
        parseFloat(node.style("font-size")) + '" fill="#1f2933">' + escapeXml(node.data("label")) + "</text>");
    });
    parts.push("</svg>");
    return parts.join("\n");
  }

  function showPanel(url) {
    window.htmx.ajax("GET", url, { target: "#team-panel", swap: "innerHTML" });
  }

  function teamRow(team) {
    var row = document.createElement("tr");
    var name = document.createElement("td");
    var link = document.createElement("a");
    link.className = "team-link";
    link.href = team.page_url;
    link.setAttribute("hx-get", team.panel_url);
    link.setAttribute("hx-target", "#team-panel");
    link.dataset.slug = team.slug;
    link.textContent = team.name;
    name.appendChild(link);
    var type = document.createElement("td");
    var swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = team.colour;
    swatch.setAttribute("aria-hidden", "true");
    type.appendChild(swatch);
    type.appendChild(document.createTextNode(team.type_label + (team.specialty_label ? " (" + team.specialty_label + ")" : "")));
    row.appendChild(name);
    row.appendChild(type);
    [team.members, team.findings].forEach(function (value) {
      var cell = document.createElement("td");
      cell.textContent = String(value);
      row.appendChild(cell);
    });
    if ("topology" in team) {
      // How current the team's record is (today's topology only: docs/web-graph.md).
      var mark = document.createElement("td");
      mark.className = "topology-mark";
      if (team.topology) {
        mark.textContent = team.topology.label + (team.topology.proposed ? " · changes proposed" : "");
      }
      row.appendChild(mark);
    }
    return row;
  }

  function initGraphPage(root) {
    var form = document.getElementById("graph-filters");
    var data = JSON.parse(document.getElementById("graph-data").textContent);
    var cy = draw(root, data.elements, data.layout);
    root.dataset.state = "ready";

    cy.on("tap", "node.team", function (event) { showPanel(event.target.data("panel_url")); });

    function render(next) {
      data = next;
      cy.elements().remove();
      cy.add(next.elements);
      cy.layout(layoutOptions(next.layout)).run();
      var rows = document.getElementById("team-rows");
      rows.replaceChildren();
      next.teams.forEach(function (team) { rows.appendChild(teamRow(team)); });
      if (!next.teams.length) {
        var empty = document.createElement("tr");
        empty.innerHTML = '<td colspan="4">No team matches these filters.</td>';
        rows.appendChild(empty);
      }
      window.htmx.process(rows);
      document.getElementById("graph-empty").hidden = next.total_teams > 0;
      var problem = document.getElementById("graph-error");
      problem.textContent = next.findings_error || "";
      problem.hidden = !next.findings_error;
      document.getElementById("graph-status").textContent =
        (next.as_of ? "Topology as of " + next.as_of + ": " : "Today's topology: ") +
        next.teams.length + " of " + next.total_teams + " team" + (next.total_teams === 1 ? "" : "s") + " shown" +
        (next.people_shown ? ", " + next.people_shown + " people." : ".");
      document.querySelectorAll(".export-link").forEach(function (link) {
        var url = new URL(link.href);
        if (next.as_of) { url.searchParams.set("as_of", next.as_of); } else { url.searchParams.delete("as_of"); }
        link.href = url.toString();
      });
      root.dataset.state = "ready";
    }

    // Filters change faster than answers come back: only the latest request may draw, so an
    // earlier, slower answer never overwrites what the form now asks for.
    var latest = null;

    function refresh() {
      var params = new URLSearchParams(new FormData(form));
      for (var [key, value] of Array.from(params.entries())) { if (!value) { params.delete(key); } }
      var query = params.toString();
      root.dataset.state = "loading";
      if (latest) { latest.abort(); }
      var request = new AbortController();
      latest = request;
      fetch(form.dataset.dataUrl + (query ? "?" + query : ""), {
        headers: { Accept: "application/json" },
        signal: request.signal,
      })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (result) {
          if (request !== latest) { return; }
          if (!result.ok) {
            var problem = document.getElementById("graph-error");
            var fields = (result.body.extra && result.body.extra.fields) || {};
            problem.textContent = result.body.message + " " + Object.keys(fields).map(function (key) {
              return key + ": " + fields[key].join(" ");
            }).join("; ");
            problem.hidden = false;
            root.dataset.state = "error";
            return;
          }
          render(result.body);
          window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
        })
        .catch(function (error) {
          if (error.name !== "AbortError") { throw error; }
        });
    }

    form.addEventListener("change", refresh);
    form.addEventListener("submit", function (event) { event.preventDefault(); refresh(); });

    document.getElementById("export-png").addEventListener("click", function () {
      var blob = cy.png({ output: "blob", bg: "#ffffff", full: true, scale: 2 });
      download(URL.createObjectURL(blob), data.organization + "-graph.png");
    });
    document.getElementById("export-svg").addEventListener("click", function () {
      var blob = new Blob([toSvg(cy)], { type: "image/svg+xml" });
      download(URL.createObjectURL(blob), data.organization + "-graph.svg");
    });
    document.getElementById("graph-fit").addEventListener("click", function () { cy.fit(undefined, 24); });

    // Keyboard users land on the panel's heading once htmx has swapped it in.
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target && event.detail.target.id === "team-panel") {
        var heading = document.getElementById("panel-heading");
        if (heading) { heading.focus({ preventScroll: false }); }
        var slug = heading && heading.parentElement && heading.parentElement.dataset.slug;
        cy.nodes().unselect();
        if (slug) { cy.getElementById("team:" + slug).select(); }
      }
    });
    window.transformGraph = cy;
  }

  /* The target is drawn with the current drawing's positions, so the two compare at a glance;
   * a new team sits among its neighbours. */
  function initScenario(before, after) {
    var beforeElements = JSON.parse(document.getElementById("scenario-before-data").textContent);
    var afterElements = JSON.parse(document.getElementById("scenario-after-data").textContent);
    var current = cytoscape({ container: before, elements: beforeElements, style: STYLE, layout: { name: "preset" } });
    var layout = current.layout(layoutOptions("cose"));
    layout.one("layoutstop", function () {
      var known = {};
      current.nodes().forEach(function (node) { known[node.id()] = node.position(); });
      var target = cytoscape({ container: after, elements: afterElements, style: STYLE, layout: { name: "preset" } });
      var box = current.elements().boundingBox();
      var spare = 0;
      target.nodes().forEach(function (node) {
        if (known[node.id()]) { node.position(Object.assign({}, known[node.id()])); return; }
        var placed = node.neighborhood("node").filter(function (other) { return known[other.id()]; });
        if (placed.length) {
          var x = 0, y = 0;
          placed.forEach(function (other) { x += known[other.id()].x; y += known[other.id()].y; });
          node.position({ x: x / placed.length + 30, y: y / placed.length + 30 });
        } else {
          node.position({ x: box.x2 + 60, y: box.y1 + 60 * spare++ });
        }
      });
      target.fit(undefined, 20);
      before.dataset.state = "ready";
      after.dataset.state = "ready";
    });
    layout.run();
  }

  function init() {
    var root = document.getElementById("org-graph");
    if (root) { initGraphPage(root); }
    var before = document.getElementById("scenario-before");
    var after = document.getElementById("scenario-after");
    if (before && after) { initScenario(before, after); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
