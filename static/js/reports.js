// Report pages: optional enhancements only (every page works without JavaScript).
(function () {
  "use strict";

  // Print button (hidden unless JS runs; the browser's own print works the same).
  document.querySelectorAll(".js-print").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  // Export job page: poll the job's API status instead of reloading the page (<noscript> refresh).
  var box = document.getElementById("export-job");
  if (!box || box.dataset.finished === "1") { return; }
  var url = box.dataset.statusUrl;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (job) {
        box.querySelector(".js-status").textContent = job.status_display;
        var bar = box.querySelector(".js-progress");
        bar.value = job.progress;
        bar.textContent = job.progress + "%";
        box.querySelector(".js-rows").textContent = job.rows_done + " / " + job.rows_total;
        var step = box.querySelector(".js-step");
        if (step) { step.textContent = job.step_display || ""; }
        if (job.status === "pending" || job.status === "running") {
          window.setTimeout(poll, 2000);
        } else {
          // Finished (done, failed, expired): the server-rendered page shows the link or the error.
          window.location.reload();
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
