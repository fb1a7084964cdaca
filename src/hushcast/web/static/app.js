// Hushcast dashboard behaviour. No inline scripts (the CSP forbids them): everything
// is wired here by event delegation, so rows swapped in by htmx work as well.
(function () {
  "use strict";

  function flash(text) {
    var box = document.getElementById("flash");
    if (!box) return;
    box.textContent = text;
    box.hidden = !text;
  }

  function syncCustom(select) {
    var form = select.form;
    if (!form) return;
    var custom = form.querySelector("[data-custom]");
    if (custom) custom.hidden = select.value !== "custom";
  }

  function init(root) {
    root.querySelectorAll("[data-duration]").forEach(syncCustom);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.classList.add("js");
    init(document);
  });

  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (!(el instanceof HTMLElement)) return;
    if (el.hasAttribute("data-autosubmit") && el.form) el.form.submit();
    if (el.hasAttribute("data-duration")) syncCustom(el);
  });

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) ev.preventDefault();
  }, true);

  document.addEventListener("htmx:afterSwap", function (ev) {
    init(ev.target.parentNode || document);
    flash("");
  });

  document.addEventListener("htmx:responseError", function (ev) {
    var xhr = ev.detail && ev.detail.xhr;
    var text = "Request failed";
    if (xhr) {
      var tmp = document.createElement("div");
      tmp.innerHTML = xhr.responseText || "";
      text = (tmp.textContent || "").trim() || ("Request failed (" + xhr.status + ")");
    }
    flash(text);
  });

  document.addEventListener("htmx:sendError", function () {
    flash("The server did not answer. Check your connection.");
  });
})();
