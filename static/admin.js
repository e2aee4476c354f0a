// Tribune admin: progressive enhancement only. Every feature here has a no-JavaScript path
// (the "Preview" button, the confirmation page…); this file only makes them quicker.
// Loaded as an external file (no inline scripts) so a strict Content-Security-Policy holds.
(function () {
  "use strict";

  // Move focus to the error summary (or alert) so screen readers announce what went wrong.
  function focusProblems() {
    var summary = document.getElementById("error-summary") || document.getElementById("alert");
    if (summary) {
      if (!summary.hasAttribute("tabindex")) summary.setAttribute("tabindex", "-1");
      summary.focus();
    }
  }

  // "12 / 200" under fields with a length limit; turns red past the limit.
  function counters(form) {
    var fields = form.querySelectorAll("[data-max]");
    Array.prototype.forEach.call(fields, function (field) {
      var max = parseInt(field.getAttribute("data-max"), 10);
      var out = document.createElement("p");
      out.className = "counter";
      out.id = field.id + "-counter";
      out.setAttribute("aria-live", "polite");
      field.insertAdjacentElement("afterend", out);
      function update() {
        var length = Array.from(field.value).length;
        out.textContent = length + " / " + max;
        out.classList.toggle("over", length > max);
      }
      field.addEventListener("input", update);
      update();
    });
  }

  // Live preview: re-render the preview a moment after typing stops, through the same server
  // code as the Preview button (so it shows exactly what will be published).
  function livePreview(form) {
    var url = form.getAttribute("data-preview-url");
    var target = document.getElementById("preview");
    if (!url || !target || !window.fetch) return;
    var timer = null;
    var sequence = 0;
    function refresh() {
      var body = new URLSearchParams(new FormData(form));
      body.set("action", "preview");
      var mine = ++sequence;
      fetch(url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" }
      }).then(function (response) {
        return response.text();
      }).then(function (html) {
        if (mine !== sequence) return; // a newer preview is on its way
        target.innerHTML = html; // server-rendered, escaped and sanitized
        target.hidden = false;
      }).catch(function () { /* offline: the Preview button still works */ });
    }
    form.addEventListener("input", function (event) {
      if (event.target && event.target.name === "scheduled_at") return;
      clearTimeout(timer);
      timer = setTimeout(refresh, 800);
    });
  }

  // Shows the local time matching the UTC schedule field, to avoid time-zone mistakes.
  function scheduleHint(form) {
    var input = form.querySelector("input[type=datetime-local]");
    if (!input) return;
    var out = document.createElement("p");
    out.className = "counter";
    out.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", out);
    var lang = document.documentElement.lang || "fr";
    var prefix = lang === "en" ? "Your local time: " : "Votre heure locale : ";
    function update() {
      if (!input.value) { out.textContent = ""; return; }
      // The field holds "YYYY-MM-DDTHH:MM" (seconds optional), meant as UTC.
      var when = new Date(input.value + (input.value.length === 16 ? ":00Z" : "Z"));
      if (isNaN(when.getTime())) { out.textContent = ""; return; }
      out.textContent = prefix + when.toLocaleString(lang, { dateStyle: "full", timeStyle: "short" });
    }
    input.addEventListener("input", update);
    update();
  }

  // Warn before leaving a post with unsaved changes.
  function unsavedGuard(form) {
    var dirty = false;
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = ""; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusProblems();
    var form = document.getElementById("post-form");
    if (form) {
      counters(form);
      livePreview(form);
      scheduleHint(form);
      unsavedGuard(form);
    }
  });
})();
