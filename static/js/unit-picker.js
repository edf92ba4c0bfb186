// Search-as-you-type for unit pickers: a plain <select data-unit-picker> (bounded options rendered by the
// server) gets a search box above it; typing asks /schools/units/search/ (only units in the user's scope come
// back), choosing a result adds it to the select and selects it, so the form still posts the select's value.
// Keyboard: ↓/↑ move through the results, Enter chooses, Escape closes. Without this file the select works.
(function () {
  "use strict";
  var text = document.getElementById("unit-picker-text");
  if (!text || !window.fetch) { return; }
  var url = text.getAttribute("data-search-url");
  var counter = 0;

  function enhance(select) {
    counter += 1;
    var listId = "unit-picker-list-" + counter;
    var valueField = select.getAttribute("data-value-field") || "id";
    var box = document.createElement("input");
    box.type = "search";
    box.className = "unit-picker-search";
    box.setAttribute("role", "combobox");
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-expanded", "false");
    box.setAttribute("aria-controls", listId);
    box.setAttribute("autocomplete", "off");
    box.placeholder = text.getAttribute("data-placeholder") || "";
    var label = select.id ? document.querySelector("label[for='" + select.id + "']") : null;
    if (label) { box.setAttribute("aria-label", label.textContent.replace(/[:：]\s*$/, "") + " · " + box.placeholder); }
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "unit-picker-results";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    select.parentNode.insertBefore(box, select);
    select.parentNode.insertBefore(list, select.nextSibling);
    var results = [];
    var active = -1;
    var timer = null;
    var seq = 0;

    function close() {
      list.hidden = true;
      box.setAttribute("aria-expanded", "false");
      box.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var items = list.querySelectorAll("li[role=option]");
      if (!items.length) { return; }
      active = (index + items.length) % items.length;
      items.forEach(function (item, i) { item.setAttribute("aria-selected", i === active ? "true" : "false"); });
      box.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }

    function choose(index) {
      var unit = results[index];
      if (!unit) { return; }
      var value = String(unit[valueField]);
      var option = Array.prototype.find.call(select.options, function (o) { return o.value === value; });
      if (!option) {
        option = document.createElement("option");
        option.value = value;
        option.textContent = unit.name + "（" + unit.code + "）";
        select.appendChild(option);
      }
      select.value = value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      box.value = "";
      close();
      select.focus();
    }

    function render(units) {
      results = units;
      list.textContent = "";
      if (!units.length) {
        var none = document.createElement("li");
        none.className = "help";
        none.textContent = text.getAttribute("data-none") || "";
        list.appendChild(none);
      }
      units.forEach(function (unit, i) {
        var item = document.createElement("li");
        item.id = listId + "-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = unit.name + "（" + unit.code + "）" + (unit.parent ? " · " + unit.parent : "");
        item.addEventListener("mousedown", function (event) { event.preventDefault(); choose(i); });
        list.appendChild(item);
      });
      list.hidden = false;
      box.setAttribute("aria-expanded", "true");
      active = -1;
    }

    function search() {
      var target = new URL(url, window.location.href);
      target.searchParams.set("q", box.value.trim());
      var levels = select.getAttribute("data-levels");
      if (levels) { target.searchParams.set("level", levels); }
      var perm = select.getAttribute("data-perm");
      if (perm) { target.searchParams.set("perm", perm); }
      var mine = ++seq;
      fetch(target.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) { if (data && mine === seq) { render(data.results || []); } })
        .catch(function () { /* the select still works */ });
    }

    box.addEventListener("input", function () {
      clearTimeout(timer);
      if (!box.value.trim()) { close(); return; }
      timer = setTimeout(search, 200);
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") { event.preventDefault(); if (list.hidden) { search(); } else { highlight(active + 1); } }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
      else if (event.key === "Enter") { event.preventDefault(); if (active >= 0) { choose(active); } }  // never submits
      else if (event.key === "Escape") { close(); }
    });
    box.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  document.querySelectorAll("select[data-unit-picker]").forEach(enhance);
})();
