/* The plan pages' dragging (docs/web-plan.md#timeline and #board):
 *
 * - Timeline: whoever may reschedule a milestone drags its forecast bar sideways; the bar's end
 *   follows the pointer day by day and a label shows the new dates. On release the page asks
 *   why, POSTs the new forecast due date to the milestone's reschedule.json (the same access rule
 *   and service as the API), and reloads the chart, its table and the board from the server.
 * - Board: a card the reader may move is draggable (HTML5 drag and drop); only the columns the
 *   workflow allows accept it, the others say why. At risk and blocked ask for a reason first.
 *   The drop POSTs to the milestone's move.json; the board reloads on success, the refusal is
 *   shown otherwise.
 *
 * Without this script every page still works: the milestone page's forms do the same.
 * Events are delegated to the document, so parts replaced after a change need no new binding.
 */
(function () {
  "use strict";

  var DAY = 86400000;
  var REFRESHED = ["#timeline-chart", "#timeline-table", "#board-columns", ".plan-facts"];

  function parseDay(text) {
    var parts = text.split("-").map(Number);
    return Date.UTC(parts[0], parts[1] - 1, parts[2]);
  }

  function formatDay(ms) {
    return new Date(ms).toISOString().slice(0, 10);
  }

  function say(id, text, isError) {
    var region = document.getElementById(id);
    if (!region) return;
    region.textContent = text;
    region.classList.toggle("is-error", Boolean(isError));
  }

  function post(url, fields, token) {
    var body = new FormData();
    Object.keys(fields).forEach(function (name) { body.append(name, fields[name]); });
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, "Accept": "application/json" },
    }).then(function (response) {
      return response.json().catch(function () {
        return { message: "The change was not saved (the server answered " + response.status + ")." };
      }).then(function (json) { return { ok: response.ok, json: json }; });
    }, function () {
      return { ok: false, json: { message: "The change was not saved: the server could not be reached." } };
    });
  }

  // Reload the parts a change touches from the server, so rows, arrows and columns are exactly
  // what the page would show after a reload.
  function refresh() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        REFRESHED.forEach(function (selector) {
          var now = document.querySelector(selector);
          var next = fresh.querySelector(selector);
          if (now && next) now.replaceWith(document.importNode(next, true));
        });
      });
  }

  // --- timeline: drag a forecast bar to move its due date ------------------------------------

  document.addEventListener("pointerdown", function (event) {
    var bar = event.target.closest && event.target.closest(".bar-forecast[data-reschedule]");
    if (!bar || event.button !== 0) return;
    var gantt = bar.closest(".gantt");
    var perDay = parseFloat(gantt.dataset.pxPerDay);
    var start = parseDay(bar.dataset.start);
    var due = parseDay(bar.dataset.due);
    var originX = event.clientX;
    var originalWidth = bar.style.width;
    var days = 0;
    var label = document.createElement("span");
    label.className = "drag-label";
    label.style.left = bar.style.left;
    bar.parentNode.appendChild(label);
    bar.classList.add("is-dragging");
    event.preventDefault();

    function newDue() {
      // Never before its start: the service refuses that, so the drag stops there.
      return Math.max(due + days * DAY, start);
    }

    function show() {
      var until = newDue();
      var shift = Math.round((until - due) / DAY);
      bar.style.width = Math.max((until - start) / DAY, 1) * perDay + "px";
      label.textContent = "Forecast " + formatDay(start) + " → " + formatDay(until) +
        (shift ? " (" + (shift > 0 ? "+" : "") + shift + " d)" : "");
    }

    function reset() {
      bar.style.width = originalWidth;
      bar.classList.remove("is-dragging");
      label.remove();
    }

    function move(moved) {
      days = Math.round((moved.clientX - originX) / perDay);
      show();
    }

    function stop() {
      document.removeEventListener("pointermove", move);
      document.removeEventListener("pointerup", up);
      document.removeEventListener("pointercancel", cancel);
    }

    function cancel() {
      stop();
      reset();
    }

    function up(released) {
      stop();
      days = Math.round((released.clientX - originX) / perDay);
      var until = formatDay(newDue());
      if (until === bar.dataset.due) {
        reset();
        return;
      }
      var reason = window.prompt("Why will '" + bar.dataset.title + "' now be done on " + until + "?");
      if (!reason || !reason.trim()) {
        reset();
        say("gantt-status", "Not rescheduled: say why the forecast changes.", true);
        return;
      }
      say("gantt-status", "Rescheduling '" + bar.dataset.title + "'…", false);
      post(bar.dataset.reschedule, { forecast_due: until, reason: reason }, gantt.dataset.csrf)
        .then(function (result) {
          say("gantt-status", result.json.message, !result.ok);
          if (result.ok) return refresh();
          reset();
          return null;
        });
    }

    show();
    document.addEventListener("pointermove", move);
    document.addEventListener("pointerup", up);
    document.addEventListener("pointercancel", cancel);
  });

  // --- board: drag a card to another status column ---------------------------------------------

  var dragged = null;
  var refusedColumn = null;

  function columnLabel(column) {
    var badge = column.querySelector("h3 .badge");
    return badge ? badge.textContent.trim() : column.dataset.status;
  }

  function accepts(column) {
    if (!dragged || !column) return false;
    return dragged.dataset.moves.split(" ").indexOf(column.dataset.status) !== -1;
  }

  function clearDrag() {
    document.querySelectorAll(".board.is-dragging").forEach(function (board) {
      board.classList.remove("is-dragging");
    });
    document.querySelectorAll(".board-column").forEach(function (column) {
      column.classList.remove("drop-ok", "drop-no", "drop-over");
    });
    if (dragged) dragged.classList.remove("is-dragging");
    dragged = null;
    refusedColumn = null;
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".board-card[draggable=true]");
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.id);
    card.classList.add("is-dragging");
    var board = card.closest(".board");
    board.classList.add("is-dragging");
    board.querySelectorAll(".board-column").forEach(function (column) {
      var own = column.dataset.status === card.dataset.from;
      column.classList.toggle("drop-ok", accepts(column));
      column.classList.toggle("drop-no", !own && !accepts(column));
    });
  });

  document.addEventListener("dragend", clearDrag);

  document.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (!accepts(column)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
  });

  document.addEventListener("dragenter", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (!dragged || !column) return;
    document.querySelectorAll(".board-column.drop-over").forEach(function (other) {
      if (other !== column) other.classList.remove("drop-over");
    });
    if (accepts(column)) {
      column.classList.add("drop-over");
    } else if (column.dataset.status !== dragged.dataset.from && column !== refusedColumn) {
      // The workflow's rule, in words, before anything is sent.
      refusedColumn = column;
      var from = dragged.closest(".board-column");
      var allowed = Array.prototype.map.call(
        document.querySelectorAll(".board-column.drop-ok"), columnLabel
      );
      say("board-status", "'" + dragged.dataset.title + "' cannot go from " +
        columnLabel(from).toLowerCase() + " to " + columnLabel(column).toLowerCase() +
        (allowed.length ? "; it may go to: " + allowed.join(", ").toLowerCase() + "." : "."), true);
    }
  });

  document.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (!accepts(column)) return;
    event.preventDefault();
    var card = dragged;
    var board = card.closest(".board");
    var to = column.dataset.status;
    var title = card.dataset.title;
    clearDrag();
    var reason = "";
    if ((board.dataset.needsReason || "").split(" ").indexOf(to) !== -1) {
      reason = window.prompt("Why is '" + title + "' " + columnLabel(column).toLowerCase() + "?") || "";
      if (!reason.trim()) {
        say("board-status", "Not moved: say why '" + title + "' is " +
          columnLabel(column).toLowerCase() + ".", true);
        return;
      }
    }
    board.classList.add("is-busy");
    say("board-status", "Moving '" + title + "'…", false);
    post(card.dataset.moveUrl, { to_status: to, reason: reason }, board.dataset.csrf)
      .then(function (result) {
        say("board-status", result.json.message, !result.ok);
        if (result.ok) {
          var list = column.querySelector(".board-cards");
          if (list) list.appendChild(card);
          return refresh();
        }
        return null;
      })
      .then(function () { board.classList.remove("is-busy"); });
  });
})();
