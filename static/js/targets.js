// Indicator form: show only the inputs the chosen aggregation uses (no inline script: CSP).
(function () {
  "use strict";
  var form = document.getElementById("indicator-form");
  if (!form) { return; }
  var select = form.querySelector("[name=aggregation]");
  var uses = {
    ratio: ["numerator", "denominator", "factor"],
    mean: ["numerator", "denominator", "factor", "weight"],
    stddev: ["numerator", "denominator", "factor", "weight"],
    cv: ["numerator", "denominator", "factor", "weight"],
    sum: ["numerator"], max: ["numerator"], min: ["numerator"],
    count_units_where: ["condition"],
    count_designations: ["designation_kind", "designation_level"],
    count_opened_units: []
  };
  var optional = ["numerator", "denominator", "factor", "weight", "condition", "designation_kind", "designation_level"];
  function update() {
    var wanted = uses[select.value] || optional;
    optional.forEach(function (name) {
      var box = form.querySelector('[data-field="' + name + '"]');
      if (!box) { return; }
      var hasError = box.querySelector(".errorlist");
      box.hidden = wanted.indexOf(name) === -1 && !hasError;
    });
  }
  if (select) { select.addEventListener("change", update); update(); }
})();
