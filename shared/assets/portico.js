// Portico's few behaviours beyond htmx. Every page works without this file:
// it only opens dialogs htmx loaded, prints, and sends LogMeIn's form on. (After a thumb's row is
// swapped, htmx puts the focus back on the thumb: it has a stable id.)
(function () {
  "use strict";
  document.addEventListener("htmx:afterSwap", function (e) {
    var dialog = e.detail.target.closest ? e.detail.target.closest("dialog") : null;
    if (dialog && !dialog.open && dialog.showModal) {
      dialog.showModal();
      var first = dialog.querySelector("input:not([type=hidden]), select, textarea, button");
      if (first) { first.focus(); }
    }
  });
  // LogMeIn's page: the form carries the assertion to the instance at once
  // (its button stays for browsers without scripts).
  document.addEventListener("DOMContentLoaded", function () {
    var f = document.querySelector("form[data-autosubmit]");
    if (f) { f.submit(); }
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
