// Check-in at a visit: ask the browser for the position, put it in the form's hidden fields, then send the form.
// Without permission (or without a position in time) the form is sent anyway, saying so: the check-in is
// recorded without a location, never refused. No inline script (the Content-Security-Policy forbids it).
(function () {
  "use strict";
  function field(form, name) { return form.querySelector('input[name="' + name + '"]'); }
  function say(form, text) {
    var status = form.querySelector("[data-checkin-status]");
    if (status) { status.textContent = text || ""; }
  }
  function send(form) {
    form.setAttribute("data-located", "1");
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    form.submit();
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-checkin]") || form.getAttribute("data-located") === "1") {
      return;
    }
    event.preventDefault();
    if (!("geolocation" in navigator)) {
      say(form, form.getAttribute("data-unavailable"));
      send(form);
      return;
    }
    say(form, form.getAttribute("data-locating"));
    navigator.geolocation.getCurrentPosition(function (position) {
      field(form, "latitude").value = String(position.coords.latitude);
      field(form, "longitude").value = String(position.coords.longitude);
      field(form, "accuracy_m").value = String(Math.round(position.coords.accuracy || 0));
      send(form);
    }, function (error) {
      if (error && error.code === 1) {  // PERMISSION_DENIED
        field(form, "location_denied").value = "1";
        say(form, form.getAttribute("data-denied"));
      } else {
        say(form, form.getAttribute("data-unavailable"));
      }
      send(form);
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });
})();
