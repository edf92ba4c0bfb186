// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.classList && el.classList.contains("js-autosubmit") && el.form) {
    el.form.submit();
  }
});
