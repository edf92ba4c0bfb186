// Target form: live preview of the current value and status while the form changes. It sends the whole form
// (as the "预览" button does) and the server builds the preview from it with the same code as saving; the page
// works without this file: the button posts the form and the server renders the same preview.
(function () {
  "use strict";
  var form = document.getElementById("target-form");
  var box = document.querySelector("#target-preview .js-preview-body");
  if (!form || !box || !window.fetch) { return; }
  var url = form.getAttribute("data-preview-url");
  var timer = null;

  function text(tag, content, className) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    el.textContent = content;
    return el;
  }

  function render(data) {
    box.textContent = "";
    var line = document.createElement("p");
    if (data.period) { line.appendChild(document.createTextNode(data.period + (box.getAttribute("data-label-suffix") || ": "))); }
    line.appendChild(text("span", data.status_label, "badge badge-" + data.status));
    if (data.actual !== null && data.actual !== undefined) {
      line.appendChild(document.createTextNode(" " + box.getAttribute("data-label-actual") + " "));
      line.appendChild(text("span", String(data.actual), "num"));
    }
    if (data.expected !== null && data.expected !== undefined) {
      line.appendChild(document.createTextNode(" · " + box.getAttribute("data-label-expected") + " "));
      line.appendChild(text("span", String(data.expected), "num"));
    }
    box.appendChild(line);
    var failing = (data.detail && data.detail.failing_units) || [];
    if (failing.length) {
      box.appendChild(text("p", box.getAttribute("data-label-failing") + (box.getAttribute("data-label-suffix") || ": ") + failing.map(function (u) { return u.name; }).join(box.getAttribute("data-list-separator") || "、")));
    }
    // What saving would refuse (the target service's own messages): shown as text, never as markup.
    Object.keys(data.errors || {}).forEach(function (name) {
      (data.errors[name] || []).forEach(function (message) { box.appendChild(text("p", String(message), "errorlist")); });
    });
  }

  function refresh() {
    var target = new URL(url, window.location.href);
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrfmiddlewaretoken" && typeof value === "string") { target.searchParams.append(name, value); }
    });
    fetch(target.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { render(data); } })
      .catch(function () { /* the server-side preview button still works */ });
  }

  form.addEventListener("change", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
})();
