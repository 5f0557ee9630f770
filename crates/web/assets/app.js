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
