// Sorts the resets table by the column whose header is clicked, again
// to reverse; a cell's data-v, when it has one, is what it sorts by.
document.querySelectorAll("table.sortable th button").forEach(function (b) {
  b.addEventListener("click", function () {
    var th = b.parentElement, col = th.cellIndex, body = th.closest("table").tBodies[0];
    var up = th.getAttribute("aria-sort") !== "ascending", num = th.dataset.type === "num";
    th.parentElement.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
    var key = function (r) { var c = r.cells[col]; return c.dataset.v !== undefined ? c.dataset.v : c.textContent; };
    var rows = Array.from(body.rows).sort(function (x, y) {
      var a = key(x), b = key(y), d = num ? a - b : a.localeCompare(b);
      return up ? d : -d;
    });
    body.append.apply(body, rows);
  });
});
