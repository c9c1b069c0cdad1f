// Small behaviours without inline script (the Content-Security-Policy forbids it).
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.matches && target.matches("[data-autosubmit]")) {
      target.form.submit();
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll("details[data-nav-group][open]").forEach(function (open) { open.removeAttribute("open"); });
    }
  });
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("[data-nav-toggle]");
    if (toggle) {
      var nav = document.getElementById(toggle.getAttribute("aria-controls"));
      var open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", open ? "false" : "true");
      nav.classList.toggle("open", !open);
    }
    // One menu group open at a time; a click anywhere else closes it.
    var group = event.target.closest && event.target.closest("details[data-nav-group]");
    document.querySelectorAll("details[data-nav-group][open]").forEach(function (open) {
      if (open !== group) { open.removeAttribute("open"); }
    });
    var confirmer = event.target.closest && event.target.closest("[data-confirm]");
    if (confirmer && !window.confirm(confirmer.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();
