// Submission form: check the values as the principal types, with the same service a save uses
// (POST submissions/<id>/check/, submissions/views.py submission_check; nothing is stored). Each figure's
// messages and the "N left" line are replaced by the answer. Without this file the page works as before:
// the messages appear after saving.
(function () {
  "use strict";
  var form = document.getElementById("submission-form");
  if (!form || !window.fetch || !window.FormData) { return; }
  var url = form.getAttribute("data-check-url");
  var counter = document.getElementById("open-problems");
  var showBlocking = form.hasAttribute("data-show-blocking");
  var timer = null;
  var sequence = 0;

  function messageNode(message) {
    var node = document.createElement("div");
    node.className = "msg msg-" + (message.level === "error" ? "error" : "warning");
    node.textContent = message.text;  // user text is data, never markup
    return node;
  }

  function ensureExplanation(cell, key) {
    // A warning that appeared while typing gets its explanation box, as the page renders it after a save.
    var boxes = cell.querySelectorAll("[data-explain]");
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].getAttribute("data-explain") === key) { return boxes[i]; }
    }
    var wrap = document.createElement("div");
    wrap.setAttribute("data-explain", key);
    var label = document.createElement("label");
    label.className = "visually-hidden";
    label.htmlFor = "x_" + key;
    label.textContent = form.getAttribute("data-explain-label") || "";
    var area = document.createElement("textarea");
    area.id = "x_" + key;
    area.name = "x_" + key;
    area.rows = 2;
    area.placeholder = form.getAttribute("data-explain-placeholder") || "";
    wrap.appendChild(label);
    wrap.appendChild(area);
    cell.appendChild(wrap);
    return wrap;
  }

  function apply(data) {
    var figures = data.figures || {};
    form.querySelectorAll(".live-check[data-figure]").forEach(function (box) {
      var code = box.getAttribute("data-figure");
      var entry = figures[code];
      if (!entry) { return; }
      var cell = box.parentNode;
      while (box.firstChild) { box.removeChild(box.firstChild); }
      var warnings = {};
      // After a refused save or submit the page said what blocks the submit on each row: keep saying it.
      var shown = entry.messages.concat(showBlocking ? (entry.blocking || []) : []);
      shown.forEach(function (message) {
        box.appendChild(messageNode(message));
        if (message.level === "warning" && message.key) { warnings[message.key] = true; }
      });
      Object.keys(warnings).forEach(function (key) { ensureExplanation(cell, key).hidden = false; });
      // A box whose warning went away is hidden, not removed: what was typed in it is kept.
      cell.querySelectorAll("[data-explain]").forEach(function (wrap) {
        if (!warnings[wrap.getAttribute("data-explain")]) { wrap.hidden = true; }
      });
      var input = form.querySelector("#id_v_" + code);
      if (input) {
        var hasError = shown.some(function (m) { return m.level === "error" && !m.key; });
        if (hasError) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
      }
    });
    if (counter) {
      counter.textContent = data.open_text || "";
      counter.hidden = !data.open;
    }
  }

  function check() {
    var mine = ++sequence;
    fetch(url, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest", "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { return null; }
      return response.json();
    }).then(function (data) {
      if (data && mine === sequence) { apply(data); }  // an older answer never overwrites a newer one
    }).catch(function () { /* offline: the save still checks everything */ });
  }

  function later() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(check, 400);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
