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
    updateSelected();
    updatePreview();
  }

  // Times default to the browser's zone: the first page of a session without a chosen
  // zone sends it once (the server keeps it in a cookie), then reloads.
  function autoTimeZone() {
    var body = document.body;
    if (!body || body.getAttribute("data-tz-auto") !== "1") return;
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    var form = document.getElementById("tz-form");
    if (!zone || !form) return;
    var data = new FormData(form);
    data.set("tz", zone);
    fetch("/ui/tz", { method: "POST", body: data, credentials: "same-origin", redirect: "manual" })
      .then(function () { if (zone !== body.getAttribute("data-tz")) window.location.reload(); });
  }

  // --- selections (bulk actions) ---------------------------------------------------------
  function updateSelected() {
    document.querySelectorAll("[data-selected-count]").forEach(function (out) {
      var form = out.closest("form");
      if (!form || !form.id) return;
      var n = document.querySelectorAll('input[type=checkbox][form="' + form.id + '"]:checked').length;
      out.textContent = n + " selected";
    });
  }

  // --- message preview ---------------------------------------------------------------------
  function updatePreview() {
    var form = document.getElementById("message-form");
    var bubble = document.getElementById("tg-preview");
    if (!form || !bubble) return;
    var text = form.querySelector("[name=text]");
    var image = form.querySelector("[name=imageSource]");
    var out = bubble.querySelector("[data-preview=text]");
    if (out && text) out.textContent = text.value;
    var count = form.querySelector("[data-char-count]");
    if (count && text) count.textContent = String(text.value.length);
    var img = bubble.querySelector("[data-preview=image]");
    if (img && image) {
      var url = image.value.trim();
      if (/^https?:\/\/\S+$/i.test(url)) { img.src = url; img.hidden = false; }
      else { img.removeAttribute("src"); img.hidden = true; }
    }
    var buttons = document.querySelector("[data-preview=buttons]");
    if (buttons) {
      buttons.textContent = "";
      form.querySelectorAll("[data-button-row]").forEach(function (row) {
        var label = row.querySelector("[name=button_text]");
        if (!label || !label.value.trim()) return;
        var b = document.createElement("span");
        b.className = "tg-button";
        b.textContent = label.value;
        buttons.appendChild(b);
      });
    }
  }

  document.addEventListener("input", function (ev) {
    var el = ev.target;
    if (el instanceof HTMLElement && el.hasAttribute("data-preview-source")) updatePreview();
  });

  document.addEventListener("click", function (ev) {
    var el = ev.target;
    if (!(el instanceof HTMLElement)) return;
    if (el.hasAttribute("data-add-button")) {
      var box = el.closest("fieldset");
      var tpl = document.getElementById("button-row-template");
      if (box && tpl) {
        var max = parseInt(box.getAttribute("data-max") || "100", 10);
        if (box.querySelectorAll("[data-button-row]").length < max) {
          el.before(tpl.content.cloneNode(true));
          var rows = box.querySelectorAll("[data-button-row]");
          var input = rows[rows.length - 1].querySelector("input");
          if (input) input.focus();
        }
      }
    } else if (el.hasAttribute("data-remove-button")) {
      var row = el.closest("[data-button-row]");
      if (row) row.remove();
      updatePreview();
    } else if (el.hasAttribute("data-menu-toggle")) {
      var open = document.body.classList.toggle("menu-open");
      el.setAttribute("aria-expanded", open ? "true" : "false");
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.classList.add("js");
    init(document);
    autoTimeZone();
  });

  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (!(el instanceof HTMLElement)) return;
    if (el.hasAttribute("data-autosubmit") && el.form) el.form.submit();
    if (el.hasAttribute("data-duration")) syncCustom(el);
    if (el instanceof HTMLInputElement && el.hasAttribute("data-select-all")) {
      var id = el.getAttribute("data-select-all");
      document.querySelectorAll('input[type=checkbox][form="' + id + '"]').forEach(function (box) {
        box.checked = el.checked;
      });
    }
    if (el instanceof HTMLInputElement && el.type === "checkbox") updateSelected();
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
