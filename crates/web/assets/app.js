// Faultline UI: small progressive enhancements. Every page works without it.
(function () {
  "use strict";
  // Copy buttons: <button data-copy="#input-id">.
  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    var text = field.value || field.textContent;
    navigator.clipboard.writeText(text).then(function () {
      var old = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = old; }, 1500);
    });
  });
  // Confirm dangerous forms: <form data-confirm="Really?">.
  document.addEventListener("submit", function (e) {
    var message = e.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) e.preventDefault();
  });
})();
// ---- Onboarding and settings (ui/onboarding.rs, ui/settings) ----
// The project page waits for the first event: <p data-first-event="<json url>"
// data-issues="<issues url>"> is polled every 3 s until {"received": true}.
(function () {
  "use strict";
  var status = document.querySelector("[data-first-event]");
  if (!status || !window.fetch) return;
  var url = status.getAttribute("data-first-event");
  var timer = setInterval(function () {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body || !body.received) return;
        clearInterval(timer);
        status.textContent = "First event received → ";
        var link = document.createElement("a");
        link.href = status.getAttribute("data-issues");
        link.textContent = "view issues";
        status.appendChild(link);
        status.classList.add("received");
      })
      .catch(function () {});
  }, 3000);
})();
// ---- Issue pages (ui/issues) ----
(function () {
  "use strict";
  // Records Content-Security-Policy violations, for the browser tests and for anyone
  // looking: <html data-csp-violations="N" data-csp-last="directive blocked-uri">.
  document.addEventListener("securitypolicyviolation", function (e) {
    var root = document.documentElement;
    root.dataset.cspViolations = String(Number(root.dataset.cspViolations || 0) + 1);
    root.dataset.cspLast = e.violatedDirective + " " + e.blockedURI;
  });
  // A submit button may ask for confirmation too: <button data-confirm="Really?">.
  document.addEventListener("submit", function (e) {
    var button = e.submitter;
    var message = button && button.getAttribute("data-confirm");
    if (message && !window.confirm(message)) e.preventDefault();
  });
  // <input type="checkbox" data-check-all="class"> toggles every checkbox of that class.
  document.addEventListener("change", function (e) {
    var name = e.target.getAttribute && e.target.getAttribute("data-check-all");
    if (!name) return;
    document.querySelectorAll("input[type=checkbox]." + name).forEach(function (box) {
      box.checked = e.target.checked;
    });
  });
  // Filters apply when changed.
  document.addEventListener("change", function (e) {
    var form = e.target.closest && e.target.closest("form.issue-filters");
    if (form && e.target.tagName === "SELECT" && !e.target.multiple) form.submit();
  });
})();
