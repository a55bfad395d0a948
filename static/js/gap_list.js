/* Gap list: the bulk buttons wait for a ticked gap, "select all" ticks the page, and the count of
   ticked gaps is said. Without JavaScript the server refuses an empty selection with a message. */
(function () {
  "use strict";
  var form = document.getElementById("gap-bulk");
  if (!form) return;
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input.gap-check"));
  var all = document.getElementById("select-all");
  var count = document.getElementById("selection-count");
  function update() {
    var n = boxes.filter(function (b) { return b.checked; }).length;
    form.querySelectorAll(".needs-selection").forEach(function (button) { button.disabled = n === 0; });
    if (count) count.textContent = n ? count.dataset.some.replace("{n}", n) : count.dataset.none;
    if (all) {
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
  }
  boxes.forEach(function (b) { b.addEventListener("change", update); });
  if (all) all.addEventListener("change", function () {
    boxes.forEach(function (b) { b.checked = all.checked; });
    update();
  });
  update();
})();
