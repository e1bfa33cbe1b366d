/*
 * The wsp page's own script (served at /censo/public/js/functions.js, like the real site's):
 * jQuery, on submit. Without a ticked captcha it says so; otherwise it POSTs FormData(nuip, tipo,
 * token, g-recaptcha-response) to the page's own URL and expects JSON: success -> the message HTML
 * into #success under the "INFORMACIÓN DEL LUGAR DE VOTACIÓN" heading (shown when the message holds a
 * table); reload -> location.reload(); otherwise the message text into the .alert-danger box.
 */
$(function () {
  "use strict";
  var $form = $("#form");
  var CAPTCHA_EMPTY = $form.data("captcha-empty");
  var FAILED = "No fue posible realizar la consulta. Intente nuevamente.";

  function showError(text) {
    $("#error").text(text || "");
    $("#div_error").toggle(!!text);
  }

  $form.on("submit", function (event) {
    event.preventDefault();
    showError("");
    $("#success").html("");
    $("#titulo_resultado").hide();
    var captcha = window.grecaptcha && typeof grecaptcha.getResponse === "function" ? grecaptcha.getResponse() : "";
    if (!captcha) {
      showError(CAPTCHA_EMPTY);
      return;
    }
    var data = new FormData();
    data.append("nuip", $("#nuip").val());
    data.append("tipo", $("#tipo").val());
    data.append("token", $("#token").val());
    data.append("g-recaptcha-response", captcha);
    $("#enviar").prop("disabled", true);
    $.ajax({
      url: window.location.href,
      type: "POST",
      data: data,
      processData: false,
      contentType: false,
      dataType: "json"
    })
      .done(function (body) {
        var message = (body && body.data && body.data.message) || (body && body.message) || "";
        if (body && body.success) {
          $("#success").html(message);
          $("#titulo_resultado").toggle($("#success table").length > 0);
        } else if (body && body.reload) {
          window.location.reload();
        } else {
          showError(String(message).replace(/<[^>]*>/g, " "));
        }
      })
      .fail(function () { showError(FAILED); })
      .always(function () {
        $("#enviar").prop("disabled", false);
        if (window.grecaptcha && typeof grecaptcha.reset === "function") { grecaptcha.reset(); }
      });
  });
});
