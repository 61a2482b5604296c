/* The plan pages' dragging (docs/web-plan.md#timeline and #board):
 *
 * - Timeline: whoever may reschedule a milestone drags its forecast bar sideways; the bar's end
 *   follows the pointer day by day and a label shows the new dates. On release the page asks
 *   why (in its own dialog, ``askReason``), POSTs the new forecast due date to the milestone's reschedule.json (the same access rule
 *   and service as the API), and reloads the chart, its table and the board from the server.
 * - Board: a card the reader may move follows the pointer (mouse or pen); only the columns the
 *   workflow allows accept it, the others say why. At risk and blocked ask for a reason first.
 *   The drop POSTs to the milestone's move.json; the board reloads on success, the refusal is
 *   shown otherwise.
 *
 * A redirected answer (an expired session sends the sign-in page) or one that is not JSON is no
 * success: the bar or card goes back and the status line says to sign in again.
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
    // Never throws: a day out of Date's range (a bad scale) reads as nothing.
    return isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString().slice(0, 10) : "";
  }

  // Why a change is made, asked in the page's own dialog (a <dialog>: modal, keyboard-trapped,
  // Escape cancels) rather than window.prompt, which cannot be styled, read as a form or sized
  // for a reason of a few sentences. Resolves to the trimmed text, or null when cancelled.
  function askReason(question) {
    var dialog = document.getElementById("reason-dialog");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "reason-dialog";
      dialog.className = "reason-dialog";
      dialog.setAttribute("aria-labelledby", "reason-dialog-question");
      dialog.innerHTML =
        '<form method="dialog" class="stack">' +
        '<label id="reason-dialog-question" for="reason-dialog-text"></label>' +
        '<textarea id="reason-dialog-text" name="reason" rows="3" maxlength="2000" required></textarea>' +
        '<div class="reason-dialog-actions">' +
        '<button type="submit" value="save">Save</button> ' +
        '<button type="submit" value="cancel" class="secondary" formnovalidate>Cancel</button>' +
        "</div></form>";
      document.body.appendChild(dialog);
    }
    var text = dialog.querySelector("textarea");
    dialog.querySelector("label").textContent = question;
    text.value = "";
    return new Promise(function (resolve) {
      function closed() {
        dialog.removeEventListener("close", closed);
        var given = text.value.trim();
        resolve(dialog.returnValue === "save" && given ? given : null);
      }
      dialog.returnValue = "";
      dialog.addEventListener("close", closed);
      dialog.showModal();
      text.focus();
    });
  }

  var EXPIRED = "Not saved: your session has expired. Sign in again (reload the page), then redo the change.";

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
      // An expired session answers with a redirect to the sign-in page, which fetch follows to
      // a 200 page of HTML: that is no success.
      if (response.redirected) return { ok: false, json: { message: EXPIRED } };
      return response.json().then(function (json) {
        return { ok: response.ok, json: json };
      }, function () {
        var message = response.ok ? EXPIRED :
          "The change was not saved (the server answered " + response.status + ").";
        return { ok: false, json: { message: message } };
      });
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
        var chart = document.getElementById("timeline-chart");
        var scrolled = chart ? chart.scrollLeft : 0;
        REFRESHED.forEach(function (selector) {
          var now = document.querySelector(selector);
          var next = fresh.querySelector(selector);
          if (now && next) now.replaceWith(document.importNode(next, true));
        });
        // The reader stays where they were in the chart.
        chart = document.getElementById("timeline-chart");
        if (chart) chart.scrollLeft = scrolled;
      });
  }

  // A zoomed-in chart opens at today rather than at the plan's first day.
  function scrollToToday() {
    var chart = document.getElementById("timeline-chart");
    var gantt = chart && chart.querySelector(".gantt[data-today-x]");
    if (gantt) chart.scrollLeft = Math.max(parseFloat(gantt.dataset.todayX) - 120, 0);
  }
  scrollToToday();

  // --- timeline: drag a forecast bar to move its due date ------------------------------------

  document.addEventListener("pointerdown", function (event) {
    var bar = event.target.closest && event.target.closest(".bar-forecast[data-reschedule]");
    if (!bar || event.button !== 0) return;
    var gantt = bar.closest(".gantt");
    var perDay = parseFloat(gantt.dataset.pxPerDay);
    // No scale, no drag (the milestone page's form still reschedules): never divide by zero.
    if (!(perDay > 0) || !isFinite(perDay)) return;
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
      var width = Math.max((until - start) / DAY, 1) * perDay;
      // Never past the chart's end (a bar cut at its edge covers dates years away).
      var room = bar.parentNode.offsetWidth - bar.offsetLeft;
      bar.style.width = (room > 0 ? Math.min(width, room) : width) + "px";
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
      askReason("Why will '" + bar.dataset.title + "' now be done on " + until + "?")
        .then(function (reason) {
          if (!reason) {
            reset();
            say("gantt-status", "Not rescheduled: say why the forecast changes.", true);
            return null;
          }
          say("gantt-status", "Rescheduling '" + bar.dataset.title + "'…", false);
          return post(bar.dataset.reschedule, { forecast_due: until, reason: reason }, gantt.dataset.csrf)
            .then(function (result) {
              say("gantt-status", result.json.message, !result.ok);
              if (result.ok) return refresh();
              reset();
              return null;
            });
        });
    }

    show();
    document.addEventListener("pointermove", move);
    document.addEventListener("pointerup", up);
    document.addEventListener("pointercancel", cancel);
  });

  // --- board: drag a card to another status column ---------------------------------------------
  // Pointer events rather than HTML5 drag and drop: one code path for mouse and pen, a card that
  // follows the pointer, and the same behaviour in every browser. Touch keeps scrolling the page
  // (the milestone page's form changes the status on a phone).

  var THRESHOLD = 6;

  function columnLabel(column) {
    var badge = column.querySelector("h3 .badge");
    return badge ? badge.textContent.trim() : column.dataset.status;
  }

  function accepts(card, column) {
    return Boolean(column) && card.dataset.moves.split(" ").indexOf(column.dataset.status) !== -1;
  }

  function columnAt(x, y) {
    var under = document.elementFromPoint(x, y);
    return under && under.closest ? under.closest(".board-column") : null;
  }

  function refusal(card, from, column) {
    var allowed = card.dataset.moves.split(" ").filter(Boolean).map(function (status) {
      var target = document.querySelector('.board-column[data-status="' + status + '"]');
      return target ? columnLabel(target).toLowerCase() : status;
    });
    return "'" + card.dataset.title + "' cannot go from " + columnLabel(from).toLowerCase() +
      " to " + columnLabel(column).toLowerCase() +
      (allowed.length ? "; it may go to: " + allowed.join(", ") + "." : "; it is done.");
  }

  function moveCard(card, board, column) {
    var to = column.dataset.status;
    var title = card.dataset.title;
    if ((board.dataset.needsReason || "").split(" ").indexOf(to) === -1) {
      sendMove(card, board, column, "");
      return;
    }
    askReason("Why is '" + title + "' " + columnLabel(column).toLowerCase() + "?")
      .then(function (reason) {
        if (reason) {
          sendMove(card, board, column, reason);
          return;
        }
        say("board-status", "Not moved: say why '" + title + "' is " +
          columnLabel(column).toLowerCase() + ".", true);
      });
  }

  function sendMove(card, board, column, reason) {
    var to = column.dataset.status;
    var title = card.dataset.title;
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
  }

  // A movable card's link must not start the browser's own link drag, which would end ours.
  document.addEventListener("dragstart", function (event) {
    if (event.target.closest && event.target.closest(".board-card[data-move-url]")) {
      event.preventDefault();
    }
  });

  document.addEventListener("pointerdown", function (event) {
    var card = event.target.closest && event.target.closest(".board-card[data-move-url]");
    if (!card || event.button !== 0 || event.pointerType === "touch") return;
    var board = card.closest(".board");
    var from = card.closest(".board-column");
    var originX = event.clientX;
    var originY = event.clientY;
    var ghost = null;
    var over = null;

    function start() {
      var box = card.getBoundingClientRect();
      ghost = card.cloneNode(true);
      ghost.classList.add("board-ghost");
      ghost.removeAttribute("data-id");
      ghost.setAttribute("aria-hidden", "true");
      ghost.style.width = box.width + "px";
      ghost.style.left = box.left + "px";
      ghost.style.top = box.top + "px";
      document.body.appendChild(ghost);
      card.classList.add("is-dragging");
      board.classList.add("is-dragging");
      board.querySelectorAll(".board-column").forEach(function (column) {
        var own = column === from;
        column.classList.toggle("drop-ok", accepts(card, column));
        column.classList.toggle("drop-no", !own && !accepts(card, column));
      });
    }

    function move(moved) {
      var dx = moved.clientX - originX;
      var dy = moved.clientY - originY;
      if (!ghost) {
        if (Math.abs(dx) + Math.abs(dy) < THRESHOLD) return;
        start();
      }
      moved.preventDefault();
      ghost.style.transform = "translate(" + dx + "px, " + dy + "px)";
      var column = columnAt(moved.clientX, moved.clientY);
      if (column === over) return;
      if (over) over.classList.remove("drop-over");
      over = column;
      if (!column || column === from) return;
      if (accepts(card, column)) {
        column.classList.add("drop-over");
      } else {
        // The workflow's rule, in words, before anything is sent.
        say("board-status", refusal(card, from, column), true);
      }
    }

    function up(released) {
      document.removeEventListener("pointermove", move);
      document.removeEventListener("pointerup", up);
      document.removeEventListener("pointercancel", up);
      if (!ghost) return;
      ghost.remove();
      card.classList.remove("is-dragging");
      board.classList.remove("is-dragging");
      board.querySelectorAll(".board-column").forEach(function (column) {
        column.classList.remove("drop-ok", "drop-no", "drop-over");
      });
      // The drag ends on the card's link, maybe: that click must not follow it.
      // The click, if any, comes right after this pointerup, before the timeout runs.
      function swallow(click) {
        click.preventDefault();
        click.stopPropagation();
      }
      document.addEventListener("click", swallow, { capture: true, once: true });
      window.setTimeout(function () {
        document.removeEventListener("click", swallow, { capture: true });
      }, 0);
      var column = released.type === "pointerup" ? columnAt(released.clientX, released.clientY) : null;
      if (!column || column === from) return;
      if (accepts(card, column)) {
        moveCard(card, board, column);
      } else {
        say("board-status", refusal(card, from, column), true);
      }
    }

    document.addEventListener("pointermove", move);
    document.addEventListener("pointerup", up);
    document.addEventListener("pointercancel", up);
  });
})();
