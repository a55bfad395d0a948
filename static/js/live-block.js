// Blocks the server keeps current while work runs in the background (an import's progress, a fetch
// from the tax system). An element with an id, data-live-url and data-live="running" is replaced by
// the copy the server renders at that URL (translated, like the rest of the page) every
// INTERVAL_MS, until a copy says data-live="done". With data-live-reload the whole page is reloaded
// then, for what only the full page shows (an import's report). Plain JS, no third-party code.
(function () {
  "use strict";
  var INTERVAL_MS = 1500;
  var MAX_BACKOFF_MS = 15000;

  // A bar's width comes from data-progress: the Content-Security-Policy refuses style="width: …" in
  // markup, while a width set from script is allowed.
  function paintProgress(root) {
    root.querySelectorAll("[data-progress]").forEach(function (bar) {
      bar.style.width = Math.max(0, Math.min(100, Number(bar.dataset.progress) || 0)) + "%";
    });
  }

  function follow(id, delay) {
    var block = document.getElementById(id);
    if (!block || block.dataset.live !== "running") {
      return;
    }
    window.setTimeout(function () {
      window
        .fetch(block.dataset.liveUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.text();
        })
        .then(function (html) {
          var reload = block.hasAttribute("data-live-reload");
          block.outerHTML = html;
          var fresh = document.getElementById(id);
          paintProgress(fresh || document);
          if (reload && (!fresh || fresh.dataset.live !== "running")) {
            window.location.reload();
          } else {
            follow(id, INTERVAL_MS);
          }
        })
        .catch(function () {
          follow(id, Math.min(delay * 2, MAX_BACKOFF_MS)); // busy or restarting: back off, keep trying
        });
    }, delay);
  }

  function start() {
    paintProgress(document);
    document.querySelectorAll("[data-live-url][id]").forEach(function (block) {
      follow(block.id, INTERVAL_MS);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
