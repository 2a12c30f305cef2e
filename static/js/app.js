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
