// Progress bars get their width from data-progress (no inline styles, so the CSP can forbid them).
function portalSetProgress(root) {
  root.querySelectorAll("[data-progress]").forEach(function (bar) {
    bar.style.width = bar.getAttribute("data-progress") + "%";
  });
}
document.addEventListener("DOMContentLoaded", function () { portalSetProgress(document); });
document.addEventListener("htmx:afterSwap", function (event) { portalSetProgress(event.target.parentNode || document); });
// htmx needs the CSRF token for non-GET requests.
document.addEventListener("htmx:configRequest", function (event) {
  var token = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (token) { event.detail.headers["X-CSRFToken"] = token.value; }
});
// A "select all" checkbox ticks every checkbox of the same name in its form (the entries page's bulk actions).
document.addEventListener("change", function (event) {
  var all = event.target.closest("[data-check-all]");
  if (!all || !all.form) { return; }
  all.form.querySelectorAll('input[type=checkbox][name="' + all.getAttribute("data-check-all") + '"]').forEach(function (box) {
    box.checked = all.checked;
  });
});
