// Inline checks while typing; the server checks the same rules again (notices.forms / services).
(function () {
  const form = document.getElementById("notice-form");
  if (!form) return;
  const start = form.querySelector("#id_window_start"), end = form.querySelector("#id_window_end");
  function parse(text) {
    const m = /^\s*(\d{4})\D+(\d{1,2})\D+(\d{1,2})\D*?\s*[T ]?\s*(\d{1,2})[:：](\d{2})/.exec(text || "");
    if (!m) return null;
    // "24:00" is the next day's 00:00 (Date rolls 24 h over by itself).
    return new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]).getTime();
  }
  function note(field, message, id) {
    let box = document.getElementById(id);
    if (!message) { if (box) box.remove(); field.classList.remove("is-invalid"); return; }
    if (!box) { box = document.createElement("div"); box.id = id; box.className = "invalid-feedback d-block inline-check"; field.after(box); }
    box.textContent = message; field.classList.add("is-invalid");
  }
  function checkOrder() {
    const a = parse(start.value), b = parse(end.value);
    note(end, a !== null && b !== null && b <= a ? form.dataset.msgOrder : "", "window-order-check");
  }
  start.addEventListener("input", checkOrder);
  end.addEventListener("input", checkOrder);
  form.addEventListener("submit", function (event) {
    if (event.submitter && event.submitter.name === "parse") return;
    const box = document.getElementById("id_functions") || form.querySelector(".field-functions");
    const chosen = form.querySelectorAll("input[name=functions]:checked").length;
    note(box, chosen ? "" : form.dataset.msgFunctions, "functions-check");
    checkOrder();
    if (!chosen || document.getElementById("window-order-check")) event.preventDefault();
  });
})();
