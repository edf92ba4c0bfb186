// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.classList && el.classList.contains("js-autosubmit") && el.form) {
    el.form.submit();
  }
});

// 不适用 beside a figure's input: ticking it disables the input (a disabled input is not posted). The server
// still refuses a number sent together with 不适用, so the page works the same without this.
document.addEventListener("change", (event) => {
  const box = event.target;
  const target = box.dataset && box.dataset.naFor ? document.getElementById(box.dataset.naFor) : null;
  if (target) {
    target.disabled = box.checked;
  }
});
