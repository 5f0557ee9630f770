/* Faultline user feedback dialog, loaded by Sentry.showReportDialog().
   Served by GET /api/embed/error-page/; the server fills in OPTIONS. */
(function () {
  "use strict";
  var o = /*OPTIONS*/ {};
  if (document.getElementById("faultline-feedback")) return;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text) e.textContent = text;
    return e;
  }
  function style(e, css) { for (var k in css) e.style[k] = css[k]; return e; }

  var overlay = style(el("div", { id: "faultline-feedback", role: "dialog", "aria-modal": "true", "aria-labelledby": "faultline-feedback-title" }), {
    position: "fixed", inset: "0", background: "rgba(0,0,0,.45)", zIndex: "2147483647",
    display: "flex", alignItems: "center", justifyContent: "center", fontFamily: "system-ui, sans-serif"
  });
  var box = style(el("div"), { background: "#fff", color: "#1d1d1f", borderRadius: "8px", padding: "24px", width: "min(92vw, 480px)", boxShadow: "0 10px 40px rgba(0,0,0,.3)" });
  var title = style(el("h2", { id: "faultline-feedback-title" }, o.title), { margin: "0 0 4px", fontSize: "20px" });
  var subtitle = style(el("p", {}, o.subtitle + (o.subtitle2 ? " " + o.subtitle2 : "")), { margin: "0 0 16px", color: "#555" });
  var form = el("form", { novalidate: "novalidate" });
  var message = style(el("p", { role: "status" }), { color: "#b00020", minHeight: "1em", margin: "8px 0" });

  function field(name, label, type, value) {
    var id = "faultline-feedback-" + name;
    var wrap = style(el("div"), { margin: "0 0 12px" });
    var l = style(el("label", { "for": id }, label), { display: "block", fontWeight: "600", margin: "0 0 4px" });
    var input = type === "textarea" ? el("textarea", { id: id, name: name, rows: "4", required: "required" }) : el("input", { id: id, name: name, type: type, required: "required" });
    style(input, { width: "100%", boxSizing: "border-box", padding: "8px", border: "1px solid #bbb", borderRadius: "4px", font: "inherit" });
    if (value) input.value = value;
    wrap.appendChild(l); wrap.appendChild(input);
    return wrap;
  }
  form.appendChild(field("name", o.labelName, "text", o.name));
  form.appendChild(field("email", o.labelEmail, "email", o.email));
  form.appendChild(field("comments", o.labelComments, "textarea", ""));
  form.appendChild(message);
  var buttons = style(el("div"), { display: "flex", gap: "8px", justifyContent: "flex-end" });
  var close = style(el("button", { type: "button" }, o.labelClose), { padding: "8px 14px", border: "1px solid #bbb", background: "#fff", borderRadius: "4px", cursor: "pointer" });
  var submit = style(el("button", { type: "submit" }, o.labelSubmit), { padding: "8px 14px", border: "0", background: "#3b4cc0", color: "#fff", borderRadius: "4px", cursor: "pointer" });
  buttons.appendChild(close); buttons.appendChild(submit);
  form.appendChild(buttons);

  function dismiss() {
    if (overlay.parentNode) overlay.parentNode.removeChild(overlay);
    window.postMessage("__sentry_reportdialog_closed__", "*");
  }
  close.addEventListener("click", dismiss);
  overlay.addEventListener("keydown", function (e) { if (e.key === "Escape") dismiss(); });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var data = new URLSearchParams(new FormData(form));
    if (!data.get("name") || !data.get("email") || !data.get("comments")) { message.textContent = o.errorFormEntry; return; }
    submit.disabled = true;
    fetch(o.endpoint, { method: "POST", body: data, headers: { "Content-Type": "application/x-www-form-urlencoded" } })
      .then(function (r) {
        submit.disabled = false;
        if (r.ok) {
          box.innerHTML = "";
          var done = style(el("p", { role: "status" }, o.successMessage), { fontSize: "16px" });
          box.appendChild(done);
          var ok = style(el("button", { type: "button" }, o.labelClose), { marginTop: "12px", padding: "8px 14px", cursor: "pointer" });
          ok.addEventListener("click", dismiss);
          box.appendChild(ok);
          ok.focus();
        } else {
          message.textContent = r.status === 400 ? o.errorFormEntry : o.errorGeneric;
        }
      })
      .catch(function () { submit.disabled = false; message.textContent = o.errorGeneric; });
  });

  box.appendChild(title); box.appendChild(subtitle); box.appendChild(form);
  overlay.appendChild(box);
  document.body.appendChild(overlay);
  var first = form.querySelector("input, textarea");
  if (first) first.focus();
})();
