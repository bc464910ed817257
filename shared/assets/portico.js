// Portico's few behaviours beyond htmx. Every page works without this file:
// it only opens dialogs htmx loaded, prints, and moves focus to swapped content.
(function () {
  "use strict";
  document.addEventListener("htmx:afterSwap", function (e) {
    var dialog = e.detail.target.closest ? e.detail.target.closest("dialog") : null;
    if (dialog && !dialog.open && dialog.showModal) {
      dialog.showModal();
      var first = dialog.querySelector("input, select, textarea, button");
      if (first) { first.focus(); }
    }
    var focus = e.detail.target.querySelector ? e.detail.target.querySelector("[data-focus]") : null;
    if (focus) { focus.focus(); }
  });
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!(t instanceof Element)) { return; }
    if (t.matches("[data-close-dialog]")) {
      var d = t.closest("dialog");
      if (d) { e.preventDefault(); d.close(); }
    }
    if (t.matches("[data-print]")) {
      e.preventDefault();
      window.print();
    }
  });
})();
