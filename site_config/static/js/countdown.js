// Counts down [data-countdown-until] elements (an ISO time) once a second, also in
// fragments htmx swaps in later; at zero the whole notice says data-countdown-done.
(function () {
  "use strict";
  function tick() {
    document.querySelectorAll("[data-countdown-until]").forEach(function (el) {
      var left = Math.ceil((Date.parse(el.dataset.countdownUntil) - Date.now()) / 1000);
      if (left > 0) {
        el.textContent = String(left);
      } else if (el.parentElement) {
        el.parentElement.textContent = el.dataset.countdownDone || "";
      }
    });
  }
  setInterval(tick, 1000);
})();
