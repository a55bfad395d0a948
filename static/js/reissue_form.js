/* Reissue request form: running totals of the chosen invoices, checks as people type, manual rows,
   and a copy of unsaved entries in this browser (localStorage) so a closed tab loses nothing.
   Plain JavaScript, no libraries. The server validates everything again. */
(function () {
  "use strict";
  var form = document.getElementById("reissue-form");
  if (!form) return;
  var msg = JSON.parse(document.getElementById("reissue-i18n").textContent);
  var company = form.querySelector("[name=company]");
  var manualBody = document.querySelector("#manual-invoices tbody");
  var totalForms = form.querySelector("[name=manual-TOTAL_FORMS]");

  function cents(text) {
    var m = /^\s*(-?)(\d+)(?:\.(\d{1,2}))?\s*$/.exec(text || "");
    if (!m) return null;
    var value = parseInt(m[2], 10) * 100 + parseInt(((m[3] || "") + "00").slice(0, 2), 10);
    return m[1] ? -value : value;
  }
  function money(c) {
    var sign = c < 0 ? "-" : "";
    c = Math.abs(c);
    var whole = String(Math.floor(c / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + whole + "." + String(c % 100).padStart(2, "0");
  }
  function showError(input, text) {
    input.setCustomValidity(text || "");
    input.classList.toggle("is-invalid", !!text);
    var box = input.parentElement.querySelector('.live-error[data-for="' + input.name + '"]');
    if (box) { box.textContent = text || ""; box.hidden = !text; }
  }
  function digits(value) {
    return (value || "").replace(/[０-９]/g, function (d) { return String.fromCharCode(d.charCodeAt(0) - 0xfee0); })
      .replace(/[\s,，'-]/g, "");
  }

  function checkField(input) {
    var name = input.name || "";
    var value = input.value.trim();
    var error = "";
    if (/invoice_number$/.test(name)) {
      if (value && !/^(\d{8}|\d{20})$/.test(digits(value))) error = msg.number;
      else if (!value && input.closest("tr") && rowHasData(input.closest("tr"))) error = msg.required;
    } else if (/invoice_code$/.test(name)) {
      if (value && !/^(\d{10}|\d{12})$/.test(digits(value))) error = msg.code;
    } else if (/-(amount|tax)$/.test(name)) {
      if (value && cents(value) === null) error = msg.money;
    } else if (name === "contact_email") {
      if (value && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) error = msg.email;
    } else if (name === "contact_phone") {
      if (value && !/^[0-9+\-() ]{5,50}$/.test(value)) error = msg.phone;
    } else if (name === "evidence") {
      error = checkFiles(input);
    }
    showError(input, error);
    return !error;
  }

  function checkFiles(input) {
    var limit = parseInt(form.dataset.maxBytes || "0", 10);
    // The server renders the input's `accept` from the types its checks take: one list, kept there.
    var accepted = (input.getAttribute("accept") || "").toLowerCase().split(",").filter(Boolean);
    for (var i = 0; i < input.files.length; i++) {
      var f = input.files[i];
      var dot = f.name.lastIndexOf(".");
      var extension = dot >= 0 ? f.name.slice(dot).toLowerCase() : "";
      if (accepted.length && accepted.indexOf(extension) < 0) return f.name + ": " + msg.type;
      if (limit && f.size > limit) return f.name + ": " + msg.size;
    }
    return "";
  }

  function rowHasData(row) {
    return Array.prototype.some.call(row.querySelectorAll("input:not([type=checkbox])"), function (i) {
      return i.value.trim() !== "";
    });
  }

  function recompute() {
    var count = 0, total = 0;
    var chosenCompany = company ? company.value : "";
    document.querySelectorAll("#gap-choices tbody tr[data-company]").forEach(function (row) {
      var box = row.querySelector(".gap-check");
      var other = chosenCompany && row.dataset.company !== chosenCompany;
      row.hidden = other || row.dataset.filtered === "1";
      if (other && box.checked) box.checked = false; // a request belongs to one company
      if (box.checked) { count += 1; total += cents(box.dataset.amount) || 0; }
    });
    manualBody.querySelectorAll("tr.manual-row").forEach(function (row) {
      var del = row.querySelector("input[name$=DELETE]");
      var amount = cents((row.querySelector("input[name$=-amount]") || {}).value);
      var tax = cents((row.querySelector("input[name$=-tax]") || {}).value);
      var rowTotal = (amount || 0) + (tax || 0);
      row.querySelector(".row-total").textContent = money(rowTotal);
      if (rowHasData(row) && !(del && del.checked)) { count += 1; total += rowTotal; }
    });
    document.getElementById("selected-count").textContent = String(count);
    document.getElementById("selected-total").textContent = money(total);
    return count;
  }

  // --- manual rows ---
  document.getElementById("add-manual").addEventListener("click", function () {
    var index = parseInt(totalForms.value, 10);
    var html = document.getElementById("manual-template").innerHTML.replace(/__prefix__/g, String(index));
    manualBody.insertAdjacentHTML("beforeend", html);
    totalForms.value = String(index + 1);
    var first = manualBody.lastElementChild.querySelector("input");
    if (first) first.focus();
  });

  // --- search among gaps ---
  var search = document.getElementById("gap-search");
  search.addEventListener("input", function () {
    var q = digits(search.value);
    document.querySelectorAll("#gap-choices tbody tr[data-key]").forEach(function (row) {
      row.dataset.filtered = q && row.dataset.key.indexOf(q) === -1 ? "1" : "0";
    });
    recompute();
  });
  document.getElementById("select-visible").addEventListener("click", function () {
    document.querySelectorAll("#gap-choices tbody tr[data-key]").forEach(function (row) {
      if (!row.hidden) row.querySelector(".gap-check").checked = true;
    });
    recompute();
    saveLocal();
  });

  // --- copy of unsaved entries in this browser ---
  var draftKey = form.dataset.draftKey;
  var keep = ["reason", "reason_detail", "action", "incident", "counterparty_name", "contact_name", "contact_phone", "contact_email"];
  function saveLocal() {
    try {
      var data = {};
      keep.forEach(function (n) { var el = form.elements[n]; if (el) data[n] = el.value; });
      data.gaps = Array.prototype.map.call(form.querySelectorAll(".gap-check:checked"), function (b) { return b.value; });
      window.localStorage.setItem(draftKey, JSON.stringify(data));
      document.getElementById("draft-status").textContent = msg.saved_locally;
    } catch (e) { /* private mode: nothing to do */ }
  }
  function restoreLocal() {
    if (form.querySelector(".is-invalid, .alert-danger")) return; // the server's answer wins
    var raw = null;
    try { raw = window.localStorage.getItem(draftKey); } catch (e) { return; }
    if (!raw) return;
    var data = JSON.parse(raw);
    var changed = false;
    keep.forEach(function (n) {
      var el = form.elements[n];
      if (el && data[n] && !el.value) { el.value = data[n]; changed = true; }
    });
    (data.gaps || []).forEach(function (v) {
      var box = form.querySelector('.gap-check[value="' + v + '"]');
      if (box && !box.checked) { box.checked = true; changed = true; }
    });
    if (changed) document.getElementById("draft-status").textContent = msg.restored;
  }

  form.addEventListener("input", function (e) {
    if (e.target.matches("input, textarea, select")) checkField(e.target);
    recompute();
    saveLocal();
  });
  form.addEventListener("change", function (e) {
    if (e.target.matches("input, select")) checkField(e.target);
    recompute();
    saveLocal();
  });
  form.addEventListener("submit", function (e) {
    var ok = true;
    form.querySelectorAll("input, textarea, select").forEach(function (el) { if (!checkField(el)) ok = false; });
    var submitting = e.submitter && e.submitter.value === "submit";
    if (submitting && recompute() === 0) {
      ok = false;
      document.getElementById("draft-status").textContent = msg.nothing;
    }
    if (!ok) { e.preventDefault(); return; }
    try { window.localStorage.removeItem(draftKey); } catch (err) { /* ignore */ }
  });

  restoreLocal();
  recompute();
})();
