// Progressive helpers for the portal's forms. Every rule here mirrors the server's
// (accounts/validators.py); the server stays the authority and the forms work without
// this file. Inputs opt in with data-filter="cedula|nombre|telefono"; copy buttons
// with data-copy-target="<input id>".
(function () {
  "use strict";

  var CEDULA_MAX_DIGITS = 10;

  function formatCedula(digits) {
    // 1234567 -> 1.234.567, as cédulas are printed in Colombia.
    return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  }

  // Rewrite an input's value keeping the caret after the same number of kept characters.
  function rewrite(input, keep, transform) {
    var value = input.value;
    var caret = input.selectionStart === null ? value.length : input.selectionStart;
    var keptBefore = value.slice(0, caret).split("").filter(keep).length;
    var next = transform(value.split("").filter(keep).join(""));
    if (next === value) return;
    input.value = next;
    var seen = 0;
    var position = 0;
    while (position < next.length && seen < keptBefore) {
      if (keep(next.charAt(position))) seen += 1;
      position += 1;
    }
    try {
      input.setSelectionRange(position, position);
    } catch (e) {
      // type=tel/text support selection; other types may throw: the caret just moves.
    }
  }

  var isDigit = function (ch) { return ch >= "0" && ch <= "9"; };
  // Apostrophes as the server takes them (NOMBRE_HTML_PATTERN): ' ’ ‘ ´ `.
  var letterRe;
  try {
    letterRe = new RegExp("[\\p{L}'\u2019\u2018\u00b4\u0060 ]", "u");
  } catch (e) {
    letterRe = /[A-Za-zÀ-ÖØ-öø-ÿ'\u2019\u2018\u00b4\u0060 ]/;
  }
  var isNameChar = function (ch) { return letterRe.test(ch); };
  var isPhoneChar = function (ch) { return /[0-9+\s\-()]/.test(ch); };

  var filters = {
    cedula: function (input) {
      rewrite(input, isDigit, function (digits) {
        return formatCedula(digits.slice(0, CEDULA_MAX_DIGITS));
      });
    },
    nombre: function (input) {
      // Collapse runs of spaces while typing; trimming happens on blur.
      rewrite(input, isNameChar, function (text) { return text.replace(/ {2,}/g, " "); });
    },
    telefono: function (input) {
      rewrite(input, isPhoneChar, function (text) { return text; });
    },
  };

  document.addEventListener("input", function (event) {
    var input = event.target;
    var filter = input && input.dataset && filters[input.dataset.filter];
    if (filter && !event.isComposing) filter(input);
  });

  document.addEventListener("focusout", function (event) {
    var input = event.target;
    if (input && input.dataset && input.dataset.filter === "nombre") {
      input.value = input.value.replace(/\s+/g, " ").trim();
    }
  });

  // Format values the server sent back (e.g. after a failed submit).
  document.querySelectorAll("[data-filter=cedula]").forEach(function (input) {
    if (input.value) filters.cedula(input);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var source = document.getElementById(button.dataset.copyTarget);
    if (!source) return;
    var done = function () {
      var label = button.dataset.copiedLabel || "¡Copiado!";
      var original = button.textContent;
      button.textContent = label;
      setTimeout(function () { button.textContent = original; }, 2000);
    };
    var fallback = function () {
      source.focus();
      source.select();
      try {
        if (document.execCommand("copy")) done();
      } catch (e) {
        // Selected at least: the member can copy by hand.
      }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(done, fallback);
    } else {
      fallback();
    }
  });
})();
