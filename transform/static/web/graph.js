/* The organisation graph (Cytoscape.js) on the graph and scenario pages. No framework: the page
 * works without this script (forms submit, team links open the panel); with it, filters re-fetch
 * the data, the drawing is interactive and can be downloaded as PNG or SVG. */
(function () {
  "use strict";

  var STYLE = [
    { selector: "node.unit", style: {
      "background-color": "#f5f7fa", "background-opacity": 1, "border-width": 1, "border-color": "#cbd2d9",
      "border-style": "solid", shape: "round-rectangle", label: "data(label)", "text-valign": "top",
      "text-halign": "center", "font-size": 13, "font-weight": "bold", color: "#3e4c59", padding: 18,
      "text-margin-y": -4 } },
    { selector: "node.team", style: {
      "background-color": "data(colour)", shape: "data(shape)", label: "data(label)",
      width: 54, height: 54, "border-width": 1.5, "border-color": "#1f2933",
      color: "#1f2933", "font-size": 13, "text-valign": "bottom", "text-margin-y": 5,
      "text-wrap": "wrap", "text-max-width": 160, "text-background-color": "#ffffff",
      "text-background-opacity": 0.9, "text-background-padding": 2, "min-zoomed-font-size": 6 } },
    { selector: "node.added", style: { "border-width": 6, "border-color": "#1e6b34", "border-style": "solid" } },
    { selector: "node.changed", style: { "border-width": 6, "border-color": "#b7791f", "border-style": "double" } },
    { selector: "node.removed", style: { opacity: 0.55, "border-width": 5, "border-color": "#b42318", "border-style": "dashed" } },
    { selector: "node.affected", style: { "underlay-color": "#0b5cad", "underlay-opacity": 0.25, "underlay-padding": 10,
      "underlay-shape": "ellipse", "font-weight": "bold" } },
    { selector: "node:selected", style: { "border-width": 5, "border-color": "#f5a623" } },
    { selector: "edge", style: {
      width: 2, "curve-style": "bezier", "line-color": "#52606d", "target-arrow-color": "#52606d",
      "target-arrow-shape": "triangle", "arrow-scale": 1 } },
    { selector: "edge.collaboration", style: { "line-color": "#674ea7", width: 3, "target-arrow-shape": "none" } },
    { selector: "edge.x_as_a_service", style: { "line-color": "#0b5cad", "target-arrow-color": "#0b5cad" } },
    { selector: "edge.facilitating", style: { "line-color": "#1e6b34", "target-arrow-color": "#1e6b34", "line-style": "dashed" } },
    { selector: "edge.ticket_dependency", style: { "line-color": "#7b8794", "target-arrow-color": "#7b8794", "line-style": "dotted" } },
    { selector: "edge.on-silo", style: { "line-color": "#b42318", "target-arrow-color": "#b42318", "line-style": "solid", width: 6, "z-index": 10 } },
    { selector: "edge.added", style: { "line-color": "#1e6b34", "target-arrow-color": "#1e6b34", width: 5, "line-style": "solid" } },
    { selector: "edge.changed", style: { "line-color": "#b7791f", "target-arrow-color": "#b7791f", width: 5 } },
    { selector: "edge.removed", style: { "line-color": "#b42318", "target-arrow-color": "#b42318", width: 4, "line-style": "dashed", opacity: 0.7 } },
    { selector: ".faded", style: { opacity: 0.12, "text-opacity": 0.12 } }
  ];

  /* Positions come from the server (teams/layout.py): the same topology is always drawn the same. */
  function draw(container, elements) {
    var cy = cytoscape({ container: container, elements: elements, style: STYLE,
      layout: { name: "preset", fit: true, padding: 24 }, boxSelectionEnabled: false, minZoom: 0.05, maxZoom: 4,
      wheelSensitivity: 0.3 });
    return cy;
  }

  function zoomBy(cy, factor) {
    var level = Math.max(cy.minZoom(), Math.min(cy.maxZoom(), cy.zoom() * factor));
    cy.zoom({ level: level, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
  }

  /* The zoom buttons (+, −, fit) of one drawing: the buttons carry data-zoom and data-for. */
  function bindZoom(cy, id) {
    document.querySelectorAll("[data-for='" + id + "'][data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        var action = button.dataset.zoom;
        if (action === "in") { zoomBy(cy, 1.25); }
        else if (action === "out") { zoomBy(cy, 0.8); }
        else { cy.fit(cy.elements(":visible").not(".faded"), 24); }
      });
    });
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
    var cy = draw(root, data.elements);
    root.dataset.state = "ready";
    bindZoom(cy, "org-graph");
    var focusButton = document.getElementById("graph-focus");
    var allButton = document.getElementById("graph-show-all");
    var chosen = null;

    /* Focus mode: the chosen team and its neighbours stand out, every other element fades. */
    function focus(slug) {
      var node = cy.getElementById("team:" + slug);
      if (!node.length) { return; }
      var keep = node.closedNeighborhood().union(node.closedNeighborhood().parents());
      cy.elements().addClass("faded");
      keep.removeClass("faded");
      root.dataset.focus = slug;
      allButton.disabled = false;
      cy.animate({ fit: { eles: keep, padding: 40 }, duration: 0 });
      document.getElementById("graph-focus-status").textContent =
        "Focused on " + node.data("name") + " and its " + (node.neighborhood("node.team").length) + " neighbouring teams.";
    }

    function showAll() {
      cy.elements().removeClass("faded");
      delete root.dataset.focus;
      allButton.disabled = true;
      cy.fit(undefined, 24);
      document.getElementById("graph-focus-status").textContent = "All teams shown.";
    }

    function choose(slug) {
      chosen = slug;
      focusButton.disabled = !slug;
      focusButton.textContent = slug ? "Focus on " + cy.getElementById("team:" + slug).data("name") : "Focus";
    }

    cy.on("tap", "node.team", function (event) {
      choose(event.target.data("slug"));
      showPanel(event.target.data("panel_url"));
    });
    focusButton.addEventListener("click", function () { if (chosen) { focus(chosen); } });
    // A page opened with a team's panel (?team=) can focus on it straight away.
    var opened = document.getElementById("panel-heading");
    if (opened && opened.parentElement && opened.parentElement.dataset.slug) {
      choose(opened.parentElement.dataset.slug);
      cy.getElementById("team:" + chosen).select();
    }
    allButton.addEventListener("click", showAll);

    function render(next) {
      data = next;
      cy.elements().remove();
      cy.add(next.elements);
      cy.layout({ name: "preset", fit: true, padding: 24 }).run();
      delete root.dataset.focus;
      allButton.disabled = true;
      choose(null);
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

    // Keyboard users land on the panel's heading once htmx has swapped it in.
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target && event.detail.target.id === "team-panel") {
        var heading = document.getElementById("panel-heading");
        if (heading) { heading.focus({ preventScroll: false }); }
        var slug = heading && heading.parentElement && heading.parentElement.dataset.slug;
        cy.nodes().unselect();
        if (slug) { cy.getElementById("team:" + slug).select(); choose(slug); }
      }
    });
    window.transformGraph = cy;
  }

  /* Both drawings come with their positions (the target keeps the current ones for every team
   * that stays) and are shown at the same zoom and pan, fitted to both, so they compare by eye. */
  function initScenario(before, after) {
    var current = draw(before, JSON.parse(document.getElementById("scenario-before-data").textContent));
    var target = draw(after, JSON.parse(document.getElementById("scenario-after-data").textContent));
    function fitBoth() {
      var a = current.elements().boundingBox(), b = target.elements().boundingBox();
      var box = { x1: Math.min(a.x1, b.x1), y1: Math.min(a.y1, b.y1), x2: Math.max(a.x2, b.x2), y2: Math.max(a.y2, b.y2) };
      var pad = 20;
      [current, target].forEach(function (cy) {
        var zoom = Math.min((cy.width() - 2 * pad) / (box.x2 - box.x1), (cy.height() - 2 * pad) / (box.y2 - box.y1));
        zoom = Math.max(cy.minZoom(), Math.min(cy.maxZoom(), zoom));
        cy.viewport({ zoom: zoom, pan: {
          x: (cy.width() - zoom * (box.x1 + box.x2)) / 2, y: (cy.height() - zoom * (box.y1 + box.y2)) / 2 } });
      });
    }
    fitBoth();
    // Zooming or panning one drawing moves the other the same way.
    var syncing = false;
    function mirror(from, to) {
      from.on("viewport", function () {
        if (syncing) { return; }
        syncing = true;
        to.viewport({ zoom: from.zoom(), pan: from.pan() });
        syncing = false;
      });
    }
    mirror(current, target);
    mirror(target, current);
    document.querySelectorAll("[data-for='scenario'][data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (button.dataset.zoom === "in") { zoomBy(current, 1.25); }
        else if (button.dataset.zoom === "out") { zoomBy(current, 0.8); }
        else { fitBoth(); }
      });
    });
    window.transformScenario = { current: current, target: target };
    before.dataset.state = "ready";
    after.dataset.state = "ready";
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
