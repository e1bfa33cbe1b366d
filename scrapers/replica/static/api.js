/*
 * Local stand-in for Google's reCAPTCHA v2 api.js (https://www.google.com/recaptcha/api.js).
 *
 * Renders, inside every div.g-recaptcha, a checkbox a person can tick and the hidden
 * textarea#g-recaptcha-response that Google's widget renders; defines grecaptcha.render(),
 * getResponse(), reset(), ready() and execute(). Ticking the box asks the replica for a token
 * (POST /recaptcha/api2/demo-verify). Like Google, a browser under automation
 * (navigator.webdriver) gets no token from the checkbox: automated clients must use the 2captcha
 * stand-in and put the token into the textarea, as they do against the real site.
 * getResponse() returns the textarea's value; a token lives two minutes.
 *
 * Loaded as api.js?render=<sitekey> it is the v3 stand-in: no checkbox is rendered, and
 * grecaptcha.execute(sitekey, {action}) resolves to a v3 token whose score says whether the browser
 * is under automation (0.1) or not (0.9), as Google's own scoring would.
 */
(function () {
  "use strict";
  if (window.grecaptcha && window.grecaptcha.__replica) { return; }

  var script = document.currentScript;
  var scriptUrl = new URL(script && script.src ? script.src : "/recaptcha/api.js", window.location.href);
  var params = scriptUrl.searchParams;
  var verifyUrl = new URL("/recaptcha/api2/demo-verify", scriptUrl).href;
  var renderParam = params.get("render");
  var v3Key = renderParam && renderParam !== "explicit" && renderParam !== "onload" ? renderParam : "";
  var LIFETIME_MS = 120000;
  var TEXTAREA_STYLE = "width: 250px; height: 40px; border: 1px solid rgb(193, 193, 193); " +
    "margin: 10px 25px; padding: 0px; resize: none; display: none;";
  var widgets = [];

  function el(tag, css, text) {
    var node = document.createElement(tag);
    if (css) { node.style.cssText = css; }
    if (text) { node.textContent = text; }
    return node;
  }

  function newTextarea(id) {
    var area = el("textarea", TEXTAREA_STYLE);
    area.id = id === 0 ? "g-recaptcha-response" : "g-recaptcha-response-" + id;
    area.name = "g-recaptcha-response";
    area.className = "g-recaptcha-response";
    return area;
  }

  function callNamed(fn, arg) {
    if (typeof fn === "string") { fn = window[fn]; }
    if (typeof fn === "function") { try { fn(arg); } catch (e) { console.error(e); } }
  }

  function widgetFor(id) {
    return widgets[id === undefined || id === null ? 0 : id];
  }

  function setChecked(widget, checked, message) {
    widget.check.style.borderColor = checked ? "#009688" : "#c1c1c1";
    widget.check.textContent = checked ? "\u2714" : "";
    widget.check.setAttribute("aria-checked", checked ? "true" : "false");
    widget.status.textContent = message || "";
  }

  function clearWidget(widget, message) {
    if (widget.timer) { clearTimeout(widget.timer); widget.timer = null; }
    // A fresh textarea: scripts that inject a token via innerHTML keep working after a reset.
    var area = newTextarea(widget.id);
    widget.area.replaceWith(area);
    widget.area = area;
    widget.busy = false;
    setChecked(widget, false, message);
  }

  function acceptToken(widget, token) {
    widget.area.value = token;
    setChecked(widget, true, "");
    widget.timer = setTimeout(function () {
      clearWidget(widget, "La verificación caducó. Marque la casilla de nuevo.");
      callNamed(widget.expiredCallback);
    }, LIFETIME_MS);
    callNamed(widget.callback, token);
  }

  function onCheck(widget) {
    if (widget.busy || widget.area.value) { return; }
    if (navigator.webdriver) {
      widget.status.textContent = "Se requiere una verificación adicional (réplica: use el servicio de captcha).";
      return;
    }
    widget.busy = true;
    widget.check.textContent = "\u2026";
    fetch(verifyUrl, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "k=" + encodeURIComponent(widget.sitekey)
    })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        widget.busy = false;
        if (data && data.success && data.token) {
          acceptToken(widget, data.token);
        } else {
          setChecked(widget, false, "No fue posible verificar. Intente de nuevo.");
        }
      })
      .catch(function () {
        widget.busy = false;
        setChecked(widget, false, "No fue posible verificar. Intente de nuevo.");
      });
  }

  function render(container, options) {
    if (typeof container === "string") { container = document.getElementById(container); }
    if (!container || !container.appendChild) {
      throw new Error("reCAPTCHA placeholder element must be an element or id");
    }
    options = options || {};
    if (container.getAttribute("data-replica-widget") !== null) {
      return Number(container.getAttribute("data-replica-widget"));
    }
    var id = widgets.length;
    var box = el("div", "display: inline-flex; align-items: center; gap: 12px; width: 280px; " +
      "padding: 12px; border: 1px solid #d3d3d3; border-radius: 3px; background: #f9f9f9; " +
      "box-shadow: 0 0 4px 1px rgba(0,0,0,.08); font-family: Roboto, Arial, sans-serif;");
    var check = el("span", "display: inline-block; width: 24px; height: 24px; border: 2px solid #c1c1c1; " +
      "border-radius: 2px; background: #fff; cursor: pointer; text-align: center; line-height: 24px; " +
      "color: #009688; font-weight: bold;");
    check.className = "recaptcha-checkbox";
    check.setAttribute("role", "checkbox");
    check.setAttribute("aria-checked", "false");
    check.setAttribute("tabindex", "0");
    var label = el("span", "font-size: 14px; cursor: pointer;", "No soy un robot");
    var brand = el("span", "margin-left: auto; font-size: 10px; color: #555; text-align: center;",
      "reCAPTCHA (réplica local)");
    var status = el("div", "font-size: 12px; color: #a00; margin-top: 4px;");
    status.className = "recaptcha-status";
    box.appendChild(check);
    box.appendChild(label);
    box.appendChild(brand);
    var area = newTextarea(id);
    container.appendChild(box);
    container.appendChild(status);
    container.appendChild(area);
    container.setAttribute("data-replica-widget", String(id));
    var widget = {
      id: id,
      container: container,
      sitekey: options.sitekey || container.getAttribute("data-sitekey") || "",
      check: check,
      status: status,
      area: area,
      timer: null,
      busy: false,
      callback: options.callback || container.getAttribute("data-callback"),
      expiredCallback: options["expired-callback"] || container.getAttribute("data-expired-callback")
    };
    widgets.push(widget);
    var handler = function () { onCheck(widget); };
    check.addEventListener("click", handler);
    label.addEventListener("click", handler);
    check.addEventListener("keydown", function (event) {
      if (event.key === " " || event.key === "Enter") { event.preventDefault(); handler(); }
    });
    return id;
  }

  window.grecaptcha = {
    __replica: true,
    render: render,
    getResponse: function (id) {
      var widget = widgetFor(id);
      return widget ? widget.area.value : "";
    },
    reset: function (id) {
      var widget = widgetFor(id);
      if (widget) { clearWidget(widget, ""); }
    },
    execute: function (sitekey, options) {
      if (!v3Key) { return Promise.resolve(""); }
      var action = (options && options.action) || "";
      return fetch(verifyUrl, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: "v=3&k=" + encodeURIComponent(sitekey || v3Key) + "&a=" + encodeURIComponent(action) +
          "&automated=" + (navigator.webdriver ? "1" : "0")
      })
        .then(function (response) { return response.json(); })
        .then(function (data) { return (data && data.token) || ""; })
        .catch(function () { return ""; });
    },
    ready: function (callback) { setTimeout(callback, 0); }
  };

  function start() {
    if (!v3Key && renderParam !== "explicit") {
      var nodes = document.querySelectorAll(".g-recaptcha");
      for (var i = 0; i < nodes.length; i++) { render(nodes[i]); }
    }
    if (params.get("onload")) { callNamed(params.get("onload")); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
