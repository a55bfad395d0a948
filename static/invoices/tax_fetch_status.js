// While a "fetch now" is queued or running, reload the fetch-status block from the server every
// couple of seconds (the server renders it, translated) and stop once nothing is running.
(function () {
  "use strict";
  var INTERVAL_MS = 1500;

  function poll() {
    var block = document.getElementById("tax-fetch-status");
    if (!block || block.dataset.running !== "true") {
      return;
    }
    window.setTimeout(function () {
      window
        .fetch(block.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.text();
        })
        .then(function (html) {
          block.outerHTML = html;
          poll();
        })
        .catch(function () {
          poll(); // a dropped request or a restarting server: try again on the next tick
        });
    }, INTERVAL_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", poll);
  } else {
    poll();
  }
})();
