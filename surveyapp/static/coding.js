// The reviewers' pages (/coding). Served as a file: the Content-Security-Policy allows no inline script.
// Keyboard shortcuts of the coding screen: a code's key toggles it, arrows move, Enter saves and goes on.
(function () {
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target && (target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
        (target.tagName === "INPUT" && target.type !== "checkbox"))) { return; }
    var link = null;
    if (event.key === "ArrowRight") { link = document.getElementById("next"); }
    if (event.key === "ArrowLeft") { link = document.getElementById("prev"); }
    if (link) { event.preventDefault(); window.location.href = link.href; return; }
    var form = document.getElementById("coding-form");
    if (!form) { return; }
    if (event.key === "Enter") {
      event.preventDefault();
      form.querySelector("button[value=next]").click();
      return;
    }
    var key = event.key.length === 1 ? event.key.toLowerCase() : "";
    if (!/^[0-9a-z]$/.test(key)) { return; }
    var box = form.querySelector('input[data-key="' + key + '"]');
    if (box) { event.preventDefault(); box.checked = !box.checked; }
  });
})();
// "+" accepts the top suggestion (the code keys are 1-9 and a-z, the arrows move, Enter saves: no clash).
// Reject is sent in the background and the row hidden, so unsaved ticks in the coding form are kept.
(function () {
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey || event.key !== "+") { return; }
    if (target && (target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
        (target.tagName === "INPUT" && target.type !== "checkbox"))) { return; }
    var accept = document.querySelector("button.assist-accept");
    if (accept) { event.preventDefault(); accept.click(); }
  });
  document.querySelectorAll("form.assist-reject").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.fetch) { return; }
      event.preventDefault();
      fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                          headers: {"X-Requested-With": "fetch"}})
        .then(function (response) {
          if (response.ok) { form.closest("tr").remove(); } else { form.submit(); }
        })
        .catch(function () { form.submit(); });
    });
  });
})();
// A code's colour swatch: the colour travels as data-color (a checked #RRGGBB), set through the CSSOM,
// which the Content-Security-Policy allows where a style attribute would be refused.
(function () {
  document.querySelectorAll(".swatch[data-color]").forEach(function (swatch) {
    var colour = swatch.getAttribute("data-color");
    if (/^#[0-9A-Fa-f]{6}$/.test(colour)) { swatch.style.backgroundColor = colour; }
  });
})();
