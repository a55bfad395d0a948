// The running total (amount + tax) while typing, in cents so 0.1 + 0.2 shows 0.30.
(function () {
  var f = document.getElementById("hand-issued-form");
  function c(v) { var m = /^\s*(\d+)(?:\.(\d{1,2}))?\s*$/.exec(v || ""); return m ? parseInt(m[1], 10) * 100 + parseInt(((m[2] || "") + "00").slice(0, 2), 10) : 0; }
  function update() {
    var t = c(f.elements.amount.value) + c(f.elements.tax.value);
    document.getElementById("hand-total").textContent = Math.floor(t / 100) + "." + String(t % 100).padStart(2, "0");
  }
  f.addEventListener("input", update);
  update();
})();
