// Import batch page: while a big file is parsed in the background, poll its progress and move the
// bar; when the batch is finished, reload to show the report. Plain JS, no third-party code.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) return;
  var bar = box.querySelector(".progress-bar");
  var rows = box.querySelector("[data-rows]");
  var url = box.getAttribute("data-progress-url");
  var interval = 1000;

  function show(data) {
    var percent = Math.max(0, Math.min(100, data.progress_percent || 0));
    bar.style.width = percent + "%";
    bar.setAttribute("aria-valuenow", String(percent));
    bar.textContent = percent + "%";
    if (rows) rows.textContent = String(data.rows_processed);
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (data) {
        show(data);
        if (data.done) {
          window.location.reload();
        } else {
          window.setTimeout(poll, interval);
        }
      })
      .catch(function () {
        interval = Math.min(interval * 2, 15000); // the server is busy or restarting: back off
        window.setTimeout(poll, interval);
      });
  }

  window.setTimeout(poll, interval);
})();
