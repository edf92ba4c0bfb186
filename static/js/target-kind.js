// Target form: show only the fields of the chosen kind, labelled in that kind's words, without a reload.
// The table comes from the server (targets/kind_fields.py through json_script): the server renders the same
// rows hidden or shown for the kind it was given and ignores fields of other kinds on save, so the page works
// without this file (the 预览 button re-renders the form in the newly chosen kind).
(function () {
  "use strict";
  var form = document.getElementById("target-form");
  var data = document.getElementById("target-kind-fields");
  if (!form || !data) { return; }
  var table = JSON.parse(data.textContent);
  var kindSelect = form.querySelector("select[name=kind]");
  if (!kindSelect) { return; }

  function apply(kind) {
    var fields = table[kind] || table.threshold;
    form.querySelectorAll(".field[data-field]").forEach(function (row) {
      var name = row.getAttribute("data-field");
      var text = fields[name];
      if (!isKindField(name)) { return; }  // not a field of any kind (the reason for a change, …)
      row.hidden = !text;
      if (!text) { return; }
      var label = row.querySelector("label");
      if (label && text.label) {
        // Keep Django's label suffix ("：" / ": ") as rendered.
        var suffix = label.getAttribute("data-suffix");
        if (suffix === null) {
          var current = label.textContent;
          var match = current.match(/[:：]\s*$/);
          suffix = match ? match[0] : "";
          label.setAttribute("data-suffix", suffix);
        }
        label.textContent = text.label + suffix;
      }
      var help = row.querySelector("p.help");
      if (help) {
        help.textContent = text.help || "";
        help.hidden = !text.help;
      }
    });
  }

  function isKindField(name) {
    return Object.keys(table).some(function (kind) { return name in table[kind]; });
  }

  // The direction (越高越好 / 越低越好) only means something for "较上年有提高" (comparator improves); it stays
  // in the form (the server ignores it for other comparators' judgement), it is only hidden.
  var comparatorSelect = form.querySelector("select[name=comparator]");
  function applyComparator() {
    var row = form.querySelector('.field[data-field="direction"]');
    if (!row || !comparatorSelect) { return; }
    var fields = table[kindSelect.value] || table.threshold;
    row.hidden = !("direction" in fields) || comparatorSelect.value !== "improves";
  }

  kindSelect.addEventListener("change", function () { apply(kindSelect.value); applyComparator(); });
  if (comparatorSelect) { comparatorSelect.addEventListener("change", applyComparator); }
  applyComparator();
})();
