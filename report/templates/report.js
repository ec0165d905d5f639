(function () {
  "use strict";
  // The report's own code: sorts each scoreboard's ranked table and filters them all, by moving and hiding
  // their existing rows. It never writes markup: data reaches it only through data-* attributes and textContent.
  // Rows never move between tables: a ranking holds the scores of one scoreboard only.
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
  });
  var tables = Array.prototype.slice.call(document.querySelectorAll("table.ranking"));
  if (!tables.length) { return; }
  var text = document.getElementById("filter-text");
  var target = document.getElementById("filter-target");
  var low = document.getElementById("filter-min");
  var high = document.getElementById("filter-max");
  var count = document.getElementById("filter-count");
  var reset = document.getElementById("filter-reset");
  var all = [];

  function value(row, key, type) {
    var raw = row.getAttribute("data-" + key) || "";
    if (type === "number") {
      var number = parseFloat(raw);
      return isNaN(number) ? -Infinity : number;
    }
    return raw.toLowerCase();
  }

  function sortable(table) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var sorted = { key: "rank", direction: 1 };
    all = all.concat(rows);

    function sortBy(button) {
      var key = button.getAttribute("data-key");
      var type = button.getAttribute("data-type");
      sorted.direction = sorted.key === key ? -sorted.direction : 1;
      sorted.key = key;
      var order = rows.slice().sort(function (a, b) {
        var x = value(a, key, type);
        var y = value(b, key, type);
        if (x < y) { return -sorted.direction; }
        if (x > y) { return sorted.direction; }
        return value(a, "rank", "number") - value(b, "rank", "number");
      });
      order.forEach(function (row) { body.appendChild(row); });
      Array.prototype.forEach.call(table.querySelectorAll("th[data-sortable]"), function (th) {
        th.setAttribute("aria-sort", "none");
      });
      button.parentNode.setAttribute("aria-sort", sorted.direction === 1 ? "ascending" : "descending");
    }

    Array.prototype.forEach.call(table.querySelectorAll("th[data-sortable] button"), function (button) {
      button.addEventListener("click", function () { sortBy(button); });
    });
  }

  function bound(input) {
    var number = parseFloat(input.value);
    return isNaN(number) ? null : number;
  }

  function filter() {
    var query = text.value.trim().toLowerCase();
    var wanted = target.value;
    var min = bound(low);
    var max = bound(high);
    var shown = 0;
    all.forEach(function (row) {
      var score = parseFloat(row.getAttribute("data-score"));
      var ok = !query || row.textContent.toLowerCase().indexOf(query) !== -1;
      ok = ok && (!wanted || (row.getAttribute("data-targets") || "").split("|").indexOf(wanted) !== -1);
      ok = ok && (min === null || score >= min) && (max === null || score <= max);
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + all.length + " rows shown";
  }

  tables.forEach(sortable);
  [text, low, high].forEach(function (input) { input.addEventListener("input", filter); });
  target.addEventListener("change", filter);
  reset.addEventListener("click", function () {
    text.value = "";
    target.value = "";
    low.value = "";
    high.value = "";
    filter();
  });
  filter();
})();
