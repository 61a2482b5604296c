// Wide tables scroll sideways inside their box on a phone (.table-scroll and friends). A keyboard
// can only scroll a box it can focus (WCAG 2.1.1; axe-core's scrollable-region-focusable), so each
// box that is wider than the screen becomes a named region in the tab order, named after its
// table's caption or the nearest heading before it. Boxes that fit lose the tab stop again.
(function () {
  "use strict";
  var SELECTOR = ".table-scroll, .report-heat-wrap";

  function nameOf(box) {
    var caption = box.querySelector("caption");
    if (caption && caption.textContent.trim()) return caption.textContent.trim();
    for (var node = box; node && node !== document.body; node = node.parentElement) {
      for (var before = node.previousElementSibling; before; before = before.previousElementSibling) {
        if (/^H[1-6]$/.test(before.tagName)) return before.textContent.trim();
      }
    }
    return "Table";
  }

  function mark() {
    document.querySelectorAll(SELECTOR).forEach(function (box) {
      // A box the template made focusable itself (tabindex in the markup) is left as it is.
      if (box.hasAttribute("tabindex") && !box.hasAttribute("data-region")) return;
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("data-region")) {
        box.setAttribute("data-region", "");
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        if (!box.hasAttribute("aria-label")) {
          box.setAttribute("aria-label", nameOf(box) + " (scrolls sideways)");
        }
      } else if (!scrolls && box.hasAttribute("data-region")) {
        box.removeAttribute("data-region");
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }

  var pending = null;
  function later() {
    if (pending) window.cancelAnimationFrame(pending);
    pending = window.requestAnimationFrame(function () {
      pending = null;
      mark();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mark);
  else mark();
  window.addEventListener("resize", later);
  // Parts of a page htmx swaps in may hold wide tables too.
  document.addEventListener("htmx:afterSettle", later);
})();
