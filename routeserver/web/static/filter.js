// Filter-as-you-type for the tables of a page: an input with
// data-filter="SELECTOR" hides the body rows of the tables SELECTOR
// matches that do not contain every word typed (case-insensitive).
// Without JavaScript the tables show every row.
(function () {
  "use strict";
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var tables = document.querySelectorAll(input.getAttribute("data-filter"));
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      tables.forEach(function (table) {
        table.querySelectorAll("tbody tr").forEach(function (row) {
          var text = row.textContent.toLowerCase();
          row.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
        });
      });
    });
  });
})();
